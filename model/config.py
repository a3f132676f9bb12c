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
from pydantic import BaseModel, Field, ValidationInfo, create_model, field_validator

from model.actors import ACTORS, enabled
from model.battlespace import AttackEffects
from model.drivers import Exogenous
from model.params import LadderParams, Strict, sourced
from model.rule import RuleError
from model.rules import make_rule


class _Dates(Strict):
    """The fields of the model configuration that belong to no actor (the actors' sections follow)."""

    start: dt.date = sourced(dt.date(2023, 10, 7), "000: 'Since the Hamas-Israel war erupted Oct. 7'", ge=dt.date(1900, 1, 1), le=dt.date(2200, 12, 31))
    end: dt.date = sourced(
        dt.date(2024, 3, 31),
        "assumption: the horizon of the out-of-time forecast (Dec 8 2023 - Mar 31 2024), seven weeks past the last "
        "dated event in the sources (Feb 7, 003)",
        ge=dt.date(1900, 1, 1),
        le=dt.date(2200, 12, 31),
    )

    # A field validator (not a model validator) so that errors name the field: ``end``.
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

    @property
    def days(self) -> list[dt.date]:
        n = (self.end - self.start).days + 1
        return [self.start + dt.timedelta(days=i) for i in range(n)]


# The whole configuration: the dates, one section per actor of the registry (model/actors/, in its order,
# each with the actor's ``Params`` and defaults), the battlespace's attack effects, the ladder and the inputs.
ModelConfig = create_model(
    "ModelConfig",
    __base__=_Dates,
    __module__=__name__,
    __doc__="What one model instance needs: the dates, each actor's section (model/actors/), attack effects, ladder, inputs.",
    **{actor.FIELD: (actor.Params, Field(default_factory=actor.default_params)) for actor in ACTORS},
    attack_effects=(AttackEffects, Field(default_factory=AttackEffects)),
    ladder=(LadderParams, Field(default_factory=LadderParams)),
    exogenous=(Exogenous, Field(default_factory=Exogenous)),
)


def validate_rules(config: ModelConfig) -> list[tuple[tuple[Any, ...], str]]:
    """Check every named rule and its parameters, actor by actor; returns (field path, message) pairs."""
    errors: list[tuple[tuple[Any, ...], str]] = []
    for actor in ACTORS:
        section = getattr(config, actor.FIELD)
        for path, msg in getattr(actor, "check", lambda _: [])(section):
            errors.append(((actor.FIELD, *path), msg))
        for path, kind, name, params in actor.rule_specs(section):
            prefix = (actor.FIELD, *path)
            try:
                rule = make_rule(kind, name, params)
            except RuleError as exc:
                errors.append((prefix + exc.path if exc.path != ("name",) else prefix, exc.message))
                continue
            if hasattr(rule, "check_config"):
                errors.extend((prefix + p, msg) for p, msg in rule.check_config(config))
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

    U.S. policy parameters are levers, fixed for a model instance, so they are not included; nor are the
    parameters of an optional actor the configuration leaves off (varying them would change nothing).
    """
    out: set[str] = set()
    _float_leaves("", config, out)
    for actor in ACTORS:
        if not enabled(actor, config):
            out = {p for p in out if not p.startswith(actor.FIELD + ".")}
    for i, m in enumerate(config.militias):
        _float_leaves(f"militias.{i}", m, out)  # list items are not reached by the recursion above
        for name, params in m.behaviours.items():
            _float_leaves(f"militias.{i}.behaviours.{name}", make_rule("militia", name, params).params, out)
    for actor in ACTORS:  # an actor's other float paths (an optional actor's rule parameters; none while it is off)
        if hasattr(actor, "float_paths"):
            out = (out - {p for p in out if p.startswith(f"{actor.FIELD}.")}) | set(actor.float_paths(getattr(config, actor.FIELD)))
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
