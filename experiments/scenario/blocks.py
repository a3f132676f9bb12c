"""The ``sweep:`` block of a scenario: what to vary, how to sample it, how many replicates.

Vocabulary of exploratory modelling (EMA workbench / SALib):

* ``levers`` -- choices the analyst controls (e.g. ``united_states.policy.name``). Always crossed
  as a full grid with the uncertainty design, so every lever setting meets the same sampled worlds.
* ``uncertainties`` -- what we do not know (e.g. ``militias.*.iran_obedience``), sampled by
  ``design``: ``grid`` (full factorial), ``lhs`` (Latin hypercube), ``sobol`` (scrambled Sobol
  sequence), ``saltelli`` (SALib's Saltelli scheme for Sobol indices) or ``list`` (explicit
  ``points``).

A parameter is a dotted path into the scenario (``experiments.scenario.schema.with_overrides``) and
either a list of values (categorical or discrete levels) or a range ``{low, high}`` (with
``levels`` for a grid, ``integer: true`` to round). Example::

    sweep:
      design: lhs
      samples: 8
      replicates: 200
      levers:
        united_states.policy.name: [restraint, proportional, historical]
      uncertainties:
        militias.*.iran_obedience: {low: 0.2, high: 0.9}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from model.params import Strict

FORBIDDEN_PATHS = ("name", "seed", "replicates", "block_size", "sweep", "extends", "description")


class Range(Strict):
    """A numeric range. A grid takes ``levels`` evenly spaced values; samplers draw uniformly."""

    low: float
    high: float
    levels: int | None = Field(None, ge=1, description="number of grid values (grid design only)")
    integer: bool = Field(False, description="round sampled values to whole numbers")

    @model_validator(mode="after")
    def _ordered(self) -> "Range":
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must not be below low ({self.low})")
        return self


Parameter = list[Any] | Range


class SweepSpec(Strict):
    """Design of a sweep: levers x uncertainty design, replicates per point, seed."""

    design: Literal["grid", "lhs", "sobol", "saltelli", "list"] = Field(
        "grid", description="how uncertainties are sampled: grid | lhs | sobol | saltelli | list"
    )
    levers: dict[str, Parameter] = Field(
        default_factory=dict, description="dotted path -> list of values; full grid, crossed with the uncertainties"
    )
    uncertainties: dict[str, Parameter] = Field(
        default_factory=dict, description="dotted path -> list of values or {low, high}; sampled by `design`"
    )
    parameters: dict[str, Parameter] = Field(
        default_factory=dict, description="another name for `uncertainties` (use one of the two)"
    )
    points: list[dict[str, Any]] | None = Field(
        None, description="explicit points (design: list): one mapping of dotted path -> value each"
    )
    samples: int | None = Field(
        None, ge=1, description="points drawn by lhs / sobol; base sample N for saltelli (N*(D+2) points)"
    )
    replicates: int = Field(100, ge=1, le=10_000_000, description="replicates per point")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="root seed of the design and of every run (default: scenario seed)")
    summary_only: bool | None = Field(
        None, description="keep only per-replicate summaries (default: yes when the sweep has > 100,000 runs)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> "SweepSpec":
        if self.parameters and self.uncertainties:
            raise ValueError("give either `uncertainties` or `parameters`, not both")
        if self.parameters:
            self.__dict__["uncertainties"], self.__dict__["parameters"] = self.parameters, {}
        for group in ("levers", "uncertainties"):
            for path, spec in getattr(self, group).items():
                if path.split(".")[0] in FORBIDDEN_PATHS:
                    raise ValueError(f"{group}.{path}: {path.split('.')[0]!r} cannot be swept (it defines the sweep itself)")
                if isinstance(spec, list) and not spec:
                    raise ValueError(f"{group}.{path}: expected at least one value, got an empty list")
                if isinstance(spec, Range) and spec.levels is None and self.design == "grid" and group == "uncertainties":
                    raise ValueError(f"{group}.{path}: a range in a grid design needs `levels` (how many values)")
                if isinstance(spec, Range) and group == "levers" and spec.levels is None:
                    raise ValueError(f"levers.{path}: a lever range needs `levels` (levers are always a grid)")
        both = set(self.levers) & set(self.uncertainties)
        if both:
            raise ValueError(f"{sorted(both)[0]!r} is both a lever and an uncertainty")
        if self.design == "list":
            if not self.points:
                raise ValueError("design 'list' needs `points` (a list of mappings of dotted path -> value)")
            if self.uncertainties:
                raise ValueError("design 'list' takes its values from `points`; leave `uncertainties` empty")
        elif self.points is not None:
            raise ValueError(f"`points` is only used by design 'list' (design is {self.design!r})")
        if self.design in ("lhs", "sobol", "saltelli"):
            if self.samples is None:
                raise ValueError(f"design {self.design!r} needs `samples`")
            if not self.uncertainties:
                raise ValueError(f"design {self.design!r} needs at least one entry in `uncertainties`")
        return self
