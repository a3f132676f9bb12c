"""The whole model configuration, and per-replicate parameter overlays.

``ModelConfig`` is what one model instance needs. ``ParamOverlay`` lets float
parameters differ between the replicates of one batch (an array of shape (R,) per
dotted path), which is how calibration and uncertainty runs put thousands of parameter
draws through one batched model.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from model.actors.houthis import HouthiParams
from model.drivers import Exogenous
from model.params import (
    AttackEffects,
    IranParams,
    IraqParams,
    LadderParams,
    MilitiaParams,
    Strict,
    UnitedStatesParams,
    default_militias,
    sourced,
)
from model.rule import RuleError
from model.rules import make_rule


class ModelConfig(Strict):
    start: dt.date = sourced(dt.date(2023, 10, 7), "000: 'Since the Hamas-Israel war erupted Oct. 7'", ge=dt.date(1900, 1, 1), le=dt.date(2200, 12, 31))
    end: dt.date = sourced(
        dt.date(2024, 3, 31),
        "assumption: the horizon of the out-of-time forecast (Dec 8 2023 - Mar 31 2024), seven weeks past the last "
        "dated event in the sources (Feb 7, 003)",
        ge=dt.date(1900, 1, 1),
        le=dt.date(2200, 12, 31),
    )
    militias: list[MilitiaParams] = Field(default_factory=default_militias, min_length=1, max_length=100)
    attack_effects: AttackEffects = Field(default_factory=AttackEffects)
    united_states: UnitedStatesParams = Field(default_factory=UnitedStatesParams)
    iran: IranParams = Field(default_factory=IranParams)
    iraq: IraqParams = Field(default_factory=IraqParams)
    ladder: LadderParams = Field(default_factory=LadderParams)
    exogenous: Exogenous = Field(default_factory=Exogenous)
    iraq_syria: bool = sourced(
        True, "design: false runs the Red Sea theatre alone (the militias, the U.S. there and its strikes are not stepped; "
              "their columns stay zero)", description="step the Iraq/Syria/Jordan theatre")
    houthis: HouthiParams | None = Field(
        None, description="the Houthis' campaign against Red Sea shipping (model/actors/houthis.py); absent = off")

    # Field validators (not a model validator) so that errors name the field: ``end``, ``militias``.
    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is None:
            return end
        if end <= start:
            raise ValueError(f"end ({end}) must be after start ({start})")
        if (end - start).days > 3650:
            raise ValueError("a run may cover at most ten years")
        return end

    @field_validator("militias")
    @classmethod
    def _unique_shorts(cls, militias: list[MilitiaParams]) -> list[MilitiaParams]:
        shorts = [m.short for m in militias]
        if len(set(shorts)) != len(shorts):
            raise ValueError(f"militia short names must be unique, got {shorts}")
        return militias

    @property
    def days(self) -> list[dt.date]:
        n = (self.end - self.start).days + 1
        return [self.start + dt.timedelta(days=i) for i in range(n)]


def validate_rules(config: ModelConfig) -> list[tuple[tuple[Any, ...], str]]:
    """Check every named rule and its parameters; returns (field path, message) pairs."""
    errors: list[tuple[tuple[Any, ...], str]] = []

    def check(prefix: tuple[Any, ...], kind: str, name: str, params: dict | None) -> Any:
        try:
            return make_rule(kind, name, params)
        except RuleError as exc:
            path = prefix + exc.path if exc.path != ("name",) else prefix
            errors.append((path, exc.message))
            return None

    policy = config.united_states.policy
    rule = check(("united_states", "policy"), "us_policy", policy.name, policy.params)
    if rule is not None and hasattr(rule, "check_config"):
        for path, msg in rule.check_config(config):
            errors.append((("united_states", "policy") + path, msg))
    for i, m in enumerate(config.militias):
        if not m.behaviours:
            errors.append((("militias", i, "behaviours"), "a militia needs at least one behaviour"))
        for name, params in m.behaviours.items():
            check(("militias", i, "behaviours", name), "militia", name, params)
    if config.houthis is not None and not config.houthis.enabled:
        set_here = sorted(k for k in config.houthis.model_fields_set if k != "enabled")
        if set_here:  # an accepted input must change what it names
            errors.append((("houthis", set_here[0]), "has no effect while the Houthis are off; set houthis.enabled: true"))
    if config.houthis is not None and config.houthis.enabled:
        for name, params in config.houthis.behaviours.items():
            check(("houthis", "behaviours", name), "houthi", name, params)
        if config.houthis.policy is not None:
            check(("houthis", "policy"), "us_policy", config.houthis.policy.name, config.houthis.policy.params)
    check(("iran", "rule"), "iran", config.iran.rule, None)
    check(("iraq", "rule"), "iraq", config.iraq.rule, None)
    return errors


# --------------------------------------------------------------------------- overlays


def _float_leaves(prefix: str, obj: BaseModel, out: set[str]) -> None:
    for name, field in type(obj).model_fields.items():
        value = getattr(obj, name)
        path = f"{prefix}.{name}" if prefix else name
        if isinstance(value, BaseModel):
            _float_leaves(path, value, out)
        elif isinstance(value, float) and field.annotation in (float, "float"):
            out.add(path)


def float_paths(config: ModelConfig) -> set[str]:
    """Every float parameter that may vary between replicates, as a dotted path.

    U.S. policy parameters are levers, fixed for a model instance, so they are not included.
    """
    out: set[str] = set()
    _float_leaves("", config, out)
    if config.houthis is not None and not config.houthis.enabled:  # an actor that is off has no parameters to vary
        out = {p for p in out if not p.startswith("houthis.")}
    for i, m in enumerate(config.militias):
        _float_leaves(f"militias.{i}", m, out)  # list items are not reached by the recursion above
        for name, params in m.behaviours.items():
            _float_leaves(f"militias.{i}.behaviours.{name}", make_rule("militia", name, params).params, out)
    if config.houthis is not None and config.houthis.enabled:
        for name, params in config.houthis.behaviours.items():
            _float_leaves(f"houthis.behaviours.{name}", make_rule("houthi", name, params).params, out)
    return out


class ParamOverlay:
    """Per-replicate values for float parameters, addressed by dotted path.

    ``militias.*.x`` sets ``x`` for every militia. Unknown paths and wrong shapes are errors.
    """

    def __init__(self, config: ModelConfig, replicates: int, varying: dict[str, Any] | None = None):
        self.values: dict[str, np.ndarray] = {}
        if not varying:
            return
        allowed = float_paths(config)
        for key, arr in varying.items():
            arr = np.asarray(arr, dtype=float)
            if arr.shape not in ((replicates,), ()):
                raise ValueError(f"varying parameter {key!r} has shape {arr.shape}, expected ({replicates},)")
            keys = [key.replace("*", str(i)) for i in range(len(config.militias))] if "*" in key else [key]
            for k in keys:
                if k not in allowed:
                    raise ValueError(f"{k!r} is not a float parameter of this scenario")
                self.values[k] = arr

    def view(self, prefix: str, obj: BaseModel) -> SimpleNamespace:
        """The parameters of ``obj`` with overlaid arrays in place of scalars (recursively)."""
        ns: dict[str, Any] = {}
        for name in type(obj).model_fields:
            value = getattr(obj, name)
            path = f"{prefix}.{name}" if prefix else name
            if isinstance(value, BaseModel):
                ns[name] = self.view(path, value)
            else:
                ns[name] = self.values.get(path, value)
        return SimpleNamespace(**ns)
