"""Every analysis block a scenario file may carry, and the calibration file's schema, in one place.

``sweep:`` (below), ``compare:``, ``sensitivity:``, ``phase_map:``; calibration files (``scenarios/calibration.yaml``).

The ``sweep:`` block: what to vary, how to sample it, how many replicates.

Vocabulary of exploratory modelling (EMA workbench / SALib):

* ``levers`` -- choices the analyst controls (e.g. ``united_states.policy.name``). Always crossed
  as a full grid with the uncertainty design, so every lever setting meets the same sampled worlds.
* ``uncertainties`` -- what we do not know (e.g. ``militias.*.iran_obedience``), sampled by
  ``design``: ``grid`` (full factorial), ``lhs`` (Latin hypercube), ``sobol`` (scrambled Sobol
  sequence), ``saltelli`` (SALib's Saltelli scheme for Sobol indices) or ``list`` (explicit
  ``points``).

* ``policies`` -- per-policy sub-grids: U.S. policy name -> that policy's own parameters (short names,
  e.g. ``targets_per_attack``) -> values. Each policy runs over the grid of its own parameters (a policy
  without any runs once, ``{}``), so a sweep crosses a policy with its own parameters; the result is one
  more lever, crossed with ``levers`` and the uncertainty design like any other. A policy starts from its
  parameters in the scenario when the scenario's policy is the same rule, else from the rule's
  defaults. In tables the columns are ``united_states.policy.name`` and
  ``united_states.policy.params.<name>`` (empty where a policy has no such parameter).

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

and with per-policy sub-grids (scenarios/sweep_policy_params.yaml)::

    sweep:
      policies:
        restraint: {}
        proportional:
          targets_per_attack: [0.5, 1.0, 2.0]
        threshold:
          attacks: {low: 2, high: 10, levels: 3, integer: true}
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from experiments.scenario.observed import ObservationModel
from model.outputs import SUMMARY_OUTCOMES
from model.params import Strict
from experiments.scenario.held import POINT_FIXED

POLICY_PATH = "united_states.policy"
FORBIDDEN_PATHS = tuple(POINT_FIXED)  # what a design point cannot change (experiments.scenario.held)


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


def _value_key(value: Any) -> str:
    """A value as comparable text (1 and 1.0 are the same level; lists and mappings by content)."""
    import json

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = float(value)
    return json.dumps(value, sort_keys=True, default=str)


def repeated_value(values: list[Any]) -> Any | None:
    """The first value given twice in ``values`` (None when every value is distinct)."""
    seen: set[str] = set()
    for v in values:
        key = _value_key(v)
        if key in seen:
            return v
        seen.add(key)
    return None


def paths_overlap(a: str, b: str) -> bool:
    """Whether two dotted paths can name the same field (``militias.*.x`` and ``militias.0.x`` do)."""
    pa, pb = a.split("."), b.split(".")
    return len(pa) == len(pb) and all(x == y or "*" in (x, y) for x, y in zip(pa, pb))


def overlapping_paths(paths: list[str]) -> tuple[str, str] | None:
    """The first pair of paths that name the same field, or None."""
    for i, a in enumerate(paths):
        for b in paths[i + 1:]:
            if paths_overlap(a, b):
                return a, b
    return None


def check_axis(where: str, spec: Any) -> None:
    """A design's axis: no value twice, and a range with several levels spans something."""
    if isinstance(spec, list):
        dup = repeated_value(spec)
        if dup is not None:
            raise ValueError(f"{where}: the value {dup!r} is given twice; each level must be distinct")
    elif isinstance(spec, Range) and spec.levels is not None and spec.levels > 1 and spec.high == spec.low:
        raise ValueError(f"{where}: {spec.levels} levels between low and high = {spec.low} are all the same value")


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
    policies: dict[str, dict[str, Parameter]] = Field(
        default_factory=dict, description="per-policy sub-grids: U.S. policy name -> its parameter name -> values "
        "(a list, or {low, high, levels}); {} runs the policy with its defaults"
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
                    raise ValueError(f"{group}.{path}: {path!r} cannot be swept: {POINT_FIXED[path.split('.')[0]]}")
                if isinstance(spec, list) and not spec:
                    raise ValueError(f"{group}.{path}: expected at least one value, got an empty list")
                check_axis(f"{group}.{path}", spec)
                if isinstance(spec, Range) and spec.levels is None and self.design == "grid" and group == "uncertainties":
                    raise ValueError(f"{group}.{path}: a range in a grid design needs `levels` (how many values)")
                if isinstance(spec, Range) and group == "levers" and spec.levels is None:
                    raise ValueError(f"levers.{path}: a lever range needs `levels` (levers are always a grid)")
        for name, grid in self.policies.items():
            for param, spec in grid.items():
                where = f"policies.{name}.{param}"
                if "." in param:
                    raise ValueError(f"{where}: give the policy parameter's own name (e.g. 'targets_per_attack'), not a path")
                if isinstance(spec, list) and not spec:
                    raise ValueError(f"{where}: expected at least one value, got an empty list")
                if isinstance(spec, Range) and spec.levels is None:
                    raise ValueError(f"{where}: a range needs `levels` (policy parameters are a grid)")
        if self.policies:
            clash = [p for p in [*self.levers, *self.uncertainties] if p == POLICY_PATH or p.startswith(POLICY_PATH + ".")]
            if clash:
                raise ValueError(f"{clash[0]!r} is set by `policies` (the per-policy sub-grids); drop it from levers/uncertainties")
        both = set(self.levers) & set(self.uncertainties)
        if both:
            raise ValueError(f"{sorted(both)[0]!r} is both a lever and an uncertainty")
        pair = overlapping_paths([*self.levers, *self.uncertainties])
        if pair:
            raise ValueError(f"{pair[0]!r} and {pair[1]!r} name the same field; vary it once")
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


# --------------------------------------------------------------------------- compare:


NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class Lever(Strict):
    """One policy to compare: a policy name (+ params, + other overrides) or a scenario file."""

    name: str | None = Field(None, pattern=NAME_RE.pattern, description="label in tables; default the policy or file name")
    policy: str | None = Field(None, description="U.S. policy rule name (see `escalation rules`)")
    params: dict[str, Any] = Field(default_factory=dict, description="policy parameters")
    overrides: dict[str, Any] = Field(default_factory=dict, description="other dotted-path overrides")
    scenario: str | None = Field(None, description="a scenario file (relative to this file) instead of a policy")

    @model_validator(mode="after")
    def _one_kind(self) -> "Lever":
        if (self.policy is None) == (self.scenario is None):
            raise ValueError("give either 'policy' or 'scenario'")
        return self

    @property
    def label(self) -> str:
        return self.name or self.policy or Path(self.scenario or "").stem


class BootstrapSpec(Strict):
    resamples: int = Field(2000, ge=100, le=100_000)
    confidence: float = Field(0.95, gt=0, lt=1)
    random_state: int = Field(12345, ge=0)


class CompareSpec(Strict):
    reference: str = Field("historical", description="lever label the paired differences are taken against")
    replicates: int = Field(1000, ge=2, le=10_000_000)
    levers: list[Union[str, Lever]] = Field(min_length=1)
    uncertainties: Union[str, dict[str, tuple[float, float]]] = Field(
        "posterior", description="posterior | fixed | {dotted float path: [low, high]} (uniform)"
    )
    bootstrap: BootstrapSpec = Field(default_factory=BootstrapSpec)
    robustness_replicates: int = Field(
        200, ge=0, le=1_000_000,
        description="replicates per lever at each corner (an unidentified parameter at its 5th or 95th posterior "
                    "percentile) of the robustness check, at most compare.replicates; 0 skips it")

    @field_validator("levers", mode="after")
    @classmethod
    def _names(cls, levers: list[Union[str, Lever]]) -> list[Lever]:
        return [Lever(policy=x) if isinstance(x, str) else x for x in levers]

    @model_validator(mode="after")
    def _check(self) -> "CompareSpec":
        labels = [x.label for x in self.levers]
        dup = {x for x in labels if labels.count(x) > 1}
        if dup:
            raise ValueError(f"lever labels must be unique, got {sorted(dup)} twice (give them a 'name')")
        if self.reference not in labels:
            raise ValueError(f"reference {self.reference!r} is not one of the levers {labels}")
        for i, lever in enumerate(self.levers):
            for path in lever.overrides:
                top = path.split(".")[0]
                if top in POINT_FIXED:
                    raise ValueError(f"levers[{i}].overrides.{path}: {path!r} cannot be a lever's override: {POINT_FIXED[top]}")
        if isinstance(self.uncertainties, str) and self.uncertainties not in ("posterior", "fixed"):
            raise ValueError(f"uncertainties must be 'posterior', 'fixed' or a mapping of ranges, got {self.uncertainties!r}")
        if isinstance(self.uncertainties, dict):
            for path, (lo, hi) in self.uncertainties.items():
                if not lo < hi:
                    raise ValueError(f"uncertainty {path!r}: low must be below high, got [{lo}, {hi}]")
        return self


# --------------------------------------------------------------------------- sensitivity:




class SensitivitySpec(Strict):
    method: str = Field("sobol", pattern="^(sobol|morris)$")
    samples: int = Field(256, ge=2, le=1_000_000, description="Sobol base N (a power of 2) or Morris trajectories")
    replicates_per_point: int = Field(1, ge=1, le=10_000)
    common_random_numbers: bool = Field(True, description="rows compared by the estimators share random streams")
    uncertainties: dict[str, tuple[float, float]] = Field(min_length=1)
    outcomes: list[str] = Field(default_factory=lambda: ["attacks_total", "war", "withdrawal_demanded"], min_length=1)
    discovery: list[str] = Field(default_factory=lambda: ["war", "withdrawal_demanded"])
    morris_levels: int = Field(4, ge=2, le=20)
    confidence: float = Field(0.95, gt=0, lt=1, description="level of the bootstrap intervals of the indices")
    sum_tolerance: float = Field(0.05, ge=0, le=1, description="flag outcomes whose first-order indices sum above 1 + this")
    discovery_threshold: float = Field(0.5, gt=0, le=1, description="a sample point is a case when its outcome (mean over its replicates) reaches this")
    max_depth: int = Field(3, ge=1, le=8, description="decision-tree depth for scenario discovery")
    prim_density: float = Field(0.8, gt=0, le=1, description="PRIM reports the widest box at least this dense (EMA's default threshold)")

    @model_validator(mode="after")
    def _check(self) -> "SensitivitySpec":
        for path, (lo, hi) in self.uncertainties.items():
            if not lo < hi:
                raise ValueError(f"uncertainty {path!r}: low must be below high, got [{lo}, {hi}]")
        pair = overlapping_paths(list(self.uncertainties))
        if pair:
            raise ValueError(f"uncertainties {pair[0]!r} and {pair[1]!r} name the same field; give it once")
        for o in [*self.outcomes, *self.discovery]:
            if o not in SUMMARY_OUTCOMES:
                raise ValueError(f"unknown outcome {o!r}; expected one of {', '.join(SUMMARY_OUTCOMES)}")
        if self.method == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"Sobol samples must be a power of 2, got {self.samples}")
        return self


# --------------------------------------------------------------------------- phase_map:


class Axis(Strict):
    """One axis of a phase map: numbers (cells drawn at their values, the P(war) boundary drawn as a contour)
    or names (a categorical axis, e.g. U.S. policy names: cells in the given order, cells at or above
    the threshold outlined instead of a contour, which has no meaning between categories)."""

    path: str = Field(description="dotted scenario path, e.g. united_states.policy.params.targets_per_attack")
    values: list[Union[float, str]] = Field(min_length=2, description="numbers, or names (a categorical axis)")

    @field_validator("path")
    @classmethod
    def _changes_a_cell(cls, path: str) -> str:
        if path.split(".")[0] in POINT_FIXED:
            raise ValueError(f"{path!r} cannot be a phase-map axis: {POINT_FIXED[path.split('.')[0]]}")
        return path

    label: str | None = None

    @field_validator("values", mode="after")
    @classmethod
    def _one_kind(cls, values: list[Union[float, str]]) -> list[Union[float, str]]:
        names = [v for v in values if isinstance(v, str)]
        if names and len(names) != len(values):
            raise ValueError(f"give all numbers or all names, got {values!r}")
        if len(set(values)) != len(values):
            raise ValueError(f"values must be distinct, got {values!r}")
        return values

    @property
    def categorical(self) -> bool:
        return isinstance(self.values[0], str)


class PhaseMapSpec(Strict):
    x: Axis
    y: Axis
    replicates: int = Field(200, ge=2, description="replicates per grid cell")
    war_threshold: float = Field(0.1, gt=0, lt=1, description="P(war) level drawn as the escalation boundary")

    @model_validator(mode="after")
    def _whole(self) -> "PhaseMapSpec":
        """The grid is checked whole before anything runs: two different parameters on the axes."""
        if paths_overlap(self.x.path, self.y.path):
            raise ValueError(f"x and y both vary {self.x.path!r}" + ("" if self.x.path == self.y.path else f" (as {self.y.path!r})")
                             + "; a phase map needs two different parameters")
        return self  # each axis's values are distinct: Axis checks them


# --------------------------------------------------------------------------- calibration files (scenarios/calibration.yaml)


class Prior(Strict):
    """One calibrated parameter: a dotted float path of the base scenario and its prior."""

    path: str = Field(description="dotted float path ('militias.*.x' = every militia)")
    low: float
    high: float
    scale: Literal["linear", "log"] = Field("linear", description="uniform on the value or on its logarithm")
    mode: Literal["value", "multiplier"] = Field(
        "value", description="'multiplier': the draw multiplies each militia's own value (keeps the split between groups)"
    )
    source: str = Field(min_length=3, description="why this range (source quote, literature or 'assumption')")
    also: list[str] = Field(default_factory=list, description="further dotted float paths that take the same draw: one "
                                                               "parameter pooled across theatres (e.g. the Houthis' rule of the same name)")

    @model_validator(mode="after")
    def _range(self) -> "Prior":
        if not self.high > self.low:
            raise ValueError(f"high ({self.high}) must be greater than low ({self.low})")
        if self.scale == "log" and self.low <= 0:
            raise ValueError("a log-scale prior needs low > 0")
        return self

    @property
    def label(self) -> str:
        return f"{self.path}:multiplier" if self.mode == "multiplier" else self.path


class Target(Strict):
    """One observed count (or the increment between two) that the simulations are compared with."""

    id: str = Field(description="a count id in experiments/scenario/data/observed.yaml")
    minus: str | None = Field(None, description="another count id: the target is the increment id - minus")
    scale: float = Field(gt=0, description="deviation (in counts) that costs one unit of distance")
    fit: bool = Field(True, description="False: reported (coverage) but not in the distance")

    @property
    def key(self) -> str:
        """The target's name in tables: the count id, or 'id-minus' for an increment."""
        return self.id if self.minus is None else f"{self.id}-{self.minus}"


class FixedParam(Strict):
    path: str
    source: str = Field(min_length=3)


class DispersionTarget(Strict):
    """Over-dispersion of the counts between consecutive reports (a summary of the Hawkes branching ratio).

    Statistic: Pearson's dispersion of the interval counts around a constant rate,
    sum_k (n_k - lambda d_k)^2 / (lambda d_k) / (K - 1) with lambda = sum n / sum d (about 1 for Poisson
    counts, larger when attacks cluster). The intervals run from the first count's ``since`` to each
    listed count's report date, in order.
    """

    counts: list[str] = Field(min_length=3, description="cumulative counts of one quantity, exact report dates, in date order")
    scale: float = Field(0.6, gt=0, description="deviation of the statistic that costs one unit of distance")
    fit: bool = True


class SuspensionCheck(Strict):
    group: str = Field("KH", description="militia short name")
    event: str = Field("kh_suspension", description="event id in observed.yaml giving the window")
    fit: bool = Field(False, description="True: a run in which the group does not newly suspend within the window "
                                         "costs 1/scale of distance (a summary of the fit, not only a check)")
    scale: float = Field(1.0, gt=0, description="distance unit of a missed suspension")


class StrikeWindow(Strict):
    """The tally increments just before and just after a replayed strike (count ids of one quantity, exact dates)."""

    strike: str = Field(min_length=1, description="label, e.g. the strike's date")
    before: tuple[str, str] = Field(description="tallies bounding the interval before the strike")
    after: tuple[str, str] = Field(description="tallies bounding the interval after the strike")


class StrikePattern(Strict):
    """Pattern summary of the response to U.S. strikes: the mean over strikes of
    log((rate after + offset) / (rate before + offset)), rates per day from the tally increments that
    bracket each strike. Deterrence pulls it down, provocation up; it is what identifies the strike response."""

    windows: list[StrikeWindow] = Field(min_length=1)
    offset: float = Field(0.25, gt=0, description="attacks/day added to both rates (keeps quiet intervals finite)")
    scale: float = Field(0.3, gt=0, description="deviation of the statistic that costs one unit of distance")
    fit: bool = True
    report_day: Literal["exact", "first"] = Field(
        "exact", description="'exact': every count needs an exact report date; 'first': a count reported within a window "
                             "is read on the window's first day (an undated briefing that names the strike it followed)")


class Replacement(Strict):
    """A fixed value whose source postdates the out-of-time cut, and what the refit uses instead."""

    path: str = Field(description="dotted parameter path of the base scenario")
    value: Any = Field(description="value used by the out-of-time refit")
    source: str = Field(min_length=3, description="the later source of the default, and why this value")


class OutOfTime(Strict):
    """Fit strictly on what was known by ``fit_until``; forecast the rest; score against naive forecasts."""

    fit_until: dt.date = Field(description="fit only on targets whose report window ends by this date")
    predict: list[str] = Field(min_length=1, description="target ids to forecast and score")
    replace: list[Replacement] = Field(default_factory=list, description="fixed values whose sources are later than fit_until")
    priors: list[Prior] = Field(default_factory=list, description="priors (same paths) whose ranges use later sources, as the refit uses them")
    naive_samples: int = Field(20_000, ge=100, le=1_000_000)


class SmcSettings(Strict):
    """ABC-SMC (experiments/analysis/calibration/sampler.py): generation 0 is rejection on ``initial`` prior points."""

    population: int = Field(2000, ge=50, le=100_000)
    initial: int = Field(20_000, ge=100, le=10_000_000)
    batch: int = Field(10_000, ge=100, le=1_000_000, description="proposals simulated per batch")
    quantile: float = Field(0.5, gt=0, lt=1, description="next tolerance = this quantile of the population's distances")


class PublishInto(Strict):
    """A scenario that ``--publish`` points at the published posterior."""

    file: str = Field(description="scenario file (relative to the calibration file)")
    columns: list[str] = Field(default_factory=list, description="only the posterior columns starting with one of these "
                                                                 "(e.g. 'houthis.'); default: every column the scenario has")


class CalibrationConfig(Strict):
    name: str = Field("calibration", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    extends: str | None = Field(None, description="another calibration file in the same folder: its fields, with this file's replacing "
                                                   "them; parameters, targets and fixed are added to (same path or id: replaced)")
    base: str = Field(description="scenario file the simulations run (relative to this file)")
    observed: str | None = Field(None, description="observed-data YAML (default: the project's file)")
    end: dt.date | None = Field(None, description="last simulated day (default: the last target or check date)")
    seed: int = Field(20240128, ge=0)
    method: Literal["rejection", "smc"] = Field("rejection", description="rejection + regression adjustment (default) or ABC-SMC")
    smc: SmcSettings = Field(default_factory=SmcSettings)
    budget: int = Field(100_000, ge=16, le=50_000_000)
    chunk_size: int = Field(5000, ge=1, le=100_000, description="draws per batched model (part of the random-stream layout)")
    accept_quantile: float = Field(0.01, gt=0, le=1)
    min_accept: int = Field(50, ge=2)
    regression: bool = True
    predictive_draws: int = Field(2000, ge=10)
    forecast_end: dt.date | None = Field(None, description="posterior-predictive runs go on to this day (forecasts)")
    publish: str | None = Field(None, description="posterior file written by --publish (relative to this file)")
    parameters: list[Prior] = Field(min_length=1)
    fixed: list[FixedParam] = Field(default_factory=list)
    observation: ObservationModel = Field(default_factory=ObservationModel,
                                          description="tolerance of worded figures (more than / at least / about)")
    targets: list[Target] = Field(min_length=1)
    dispersion: DispersionTarget | None = None
    suspension: SuspensionCheck | None = Field(default_factory=SuspensionCheck)
    strike_pattern: StrikePattern | None = None
    out_of_time: OutOfTime | None = None
    theatres: list[Literal["iraq_syria", "red_sea"]] = Field(
        default_factory=lambda: ["iraq_syria"], min_length=1,
        description="theatres whose observed counts the targets may name (iraq_syria: observed.yaml; red_sea: observed_red_sea.yaml)")
    red_sea_pattern: StrikePattern | None = Field(
        None, description="pattern summary of the Red Sea counts around the replayed U.S./UK strike waves (needs theatre red_sea)")
    publish_into: list[PublishInto] = Field(
        default_factory=list, description="scenarios whose uncertainty.posterior --publish points at the published posterior "
                                          "(only the columns each scenario has); empty: calibrated.yaml is written")
