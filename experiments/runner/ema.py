"""The model as an EMA Workbench model: ``experiments.ema_model(scenario_path)``.

EMA users otherwise wrap the model by hand (a function around :func:`experiments.run` and
:func:`experiments.with_overrides`), and in doing so drop the scenario's posterior draws and trip over
``policy``, a name EMA reserves for its own column. This adapter builds the ``ema_workbench.Model``
from what the project already declares:

* **uncertainties** and **levers** from the scenario's ``sweep:`` block (``uncertainties:`` ranges become
  ``RealParameter`` / ``IntegerParameter``, value lists ``CategoricalParameter``; ``levers:`` likewise), or
  from a ``compare:`` block (its policies as one categorical lever), a ``sensitivity:`` block (its ranges), or
  given as arguments (``{dotted path: (low, high)}`` or ``{dotted path: [values]}``);
* **outcomes** from the output declaration (:data:`model.outputs.SUMMARY_OUTCOMES`): one ``ScalarOutcome``
  per per-replicate outcome, the mean over the experiment's replicates (a share for yes/no outcomes);
* the scenario's **posterior draws are kept**: every experiment runs ``replicates`` replicates, each with its
  own draw from ``uncertainty.posterior``, except for the paths EMA sets (they are held at EMA's value);
* EMA names are Python identifiers (``iran_obedience``, ``us_policy`` for ``united_states.policy.name``,
  since EMA reserves ``policy``); each parameter's ``variable_name`` is the dotted scenario path.

Every experiment runs on the same seed (common random numbers, as sweeps do), so differences between
experiments come from their parameters, not from noise. Needs the ``ema`` extra (``pip install -e '.[ema]'``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from experiments.scenario.errors import UserError

POLICY_PATH = "united_states.policy.name"
RESERVED = {"policy", "scenario", "model"}  # columns of EMA's experiments table


def ema_name(path: str, taken: set[str]) -> str:
    """A Python identifier for a dotted scenario path: its last part (``iran_obedience``), the last two where
    that is taken, the whole path otherwise; ``united_states.policy.name`` is ``us_policy``."""
    if path == POLICY_PATH:
        return "us_policy"
    parts = [p for p in path.split(".") if p not in ("*", "militias", "behaviours", "params") and not p.isdigit()]
    for k in (1, 2, len(parts)):
        name = re.sub(r"\W", "_", "_".join(parts[-k:])) if parts else ""
        if name and name.isidentifier() and name not in taken and name not in RESERVED:
            return name
    name = re.sub(r"\W", "_", path).strip("_")
    while name in taken or name in RESERVED or not name.isidentifier():
        name = f"p_{name}"
    return name


def _parameter(name: str, path: str, spec: Any):
    """An EMA parameter from a range ``(low, high)`` / ``{low, high, integer}`` or a list of values."""
    from ema_workbench import CategoricalParameter, IntegerParameter, RealParameter

    if hasattr(spec, "low") and hasattr(spec, "high"):  # a blocks.Range
        spec = {"low": spec.low, "high": spec.high, "integer": getattr(spec, "integer", False)}
    if isinstance(spec, Mapping) and {"low", "high"} <= set(spec):
        lo, hi, integer = spec["low"], spec["high"], bool(spec.get("integer", False))
    elif isinstance(spec, tuple) and len(spec) == 2 and all(isinstance(v, (int, float)) for v in spec):
        (lo, hi), integer = spec, all(isinstance(v, int) and not isinstance(v, bool) for v in spec)
    elif isinstance(spec, (list, tuple)) and len(spec) >= 1:
        values = list(spec)
        return CategoricalParameter(name, values if len(values) > 1 else values * 2, variable_name=path)
    else:
        raise UserError(f"expected a range (low, high) or a list of values, got {spec!r}"[:200], path=path)
    if not lo < hi:
        raise UserError(f"low must be below high, got [{lo}, {hi}]", path=path)
    if integer:
        return IntegerParameter(name, int(lo), int(hi), variable_name=path)
    return RealParameter(name, float(lo), float(hi), variable_name=path)


def _probes(spec: Any) -> list[Any]:
    """The values of a parameter spec that decide whether the scenario accepts it: a range's bounds, a list's values."""
    if hasattr(spec, "low"):
        return [spec.low, spec.high]
    if isinstance(spec, Mapping):
        return [spec.get("low"), spec.get("high")]
    return list(spec)[:50] if isinstance(spec, (list, tuple)) else [spec]


def _from_blocks(scenario: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(uncertainties, levers) declared by the scenario's analysis block, if any."""
    sweep = getattr(scenario, "sweep", None)
    if sweep is not None:
        unc = dict(getattr(sweep, "uncertainties", None) or {}) or dict(getattr(sweep, "parameters", None) or {})
        lev = {k: v for k, v in (getattr(sweep, "levers", None) or {}).items() if isinstance(v, (list, tuple)) or hasattr(v, "low")}
        return unc, lev
    return {}, {}


BLOCKS = {"compare": "CompareSpec", "sensitivity": "SensitivitySpec", "phase_map": "PhaseMapSpec"}


def load_with_block(path: Path) -> tuple[Any, str | None, Any]:
    """(scenario, block name, block spec) of a scenario file that may carry a compare, sensitivity or phase_map block."""
    import experiments.scenario.blocks as blocks
    from experiments.scenario.schema import load_block, load_scenario, resolve_raw

    raw = resolve_raw(path)
    for key, cls in BLOCKS.items():
        if key in raw:
            scenario, spec, _ = load_block(path, key, getattr(blocks, cls), {})
            return scenario, key, spec
    return load_scenario(path), None, None


@dataclass
class EMARunner:
    """The function EMA calls: one experiment = one run of ``replicates`` replicates (picklable, so EMA's
    multiprocessing evaluator can ship it)."""

    scenario_path: str
    replicates: int
    seed: int
    outcomes: tuple[str, ...]
    constants: dict[str, Any] = field(default_factory=dict)
    _base: Any = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_base": None}  # workers read the file themselves

    def __call__(self, **experiment: Any) -> dict[str, float]:
        from experiments.runner.run import run
        from experiments.scenario.schema import with_overrides

        values = {**self.constants, **{k: (v.item() if hasattr(v, "item") else v) for k, v in experiment.items()}}
        if self._base is None:  # read once per process
            self._base = load_with_block(Path(self.scenario_path))[0]
        base = self._base
        scenario = with_overrides(base, values, self.scenario_path) if values else base
        # the posterior draws stay, except for what EMA sets: those paths are held at EMA's values
        res = run(scenario, replicates=self.replicates, seed=self.seed, executor=1, hold=tuple(values))
        summary = res.summary
        if "attacks_stopped" in self.outcomes:  # derived from the summary (model/outputs.py DERIVED)
            from model.outputs import attacks_stopped

            summary = summary.assign(attacks_stopped=attacks_stopped(summary["attacks_stop_day"]))
        return {o: float(summary[o].astype(float).mean()) for o in self.outcomes}


def ema_model(scenario_path: str | Path, *, uncertainties: Mapping[str, Any] | None = None, levers: Mapping[str, Any] | None = None,
              outcomes: Sequence[str] | None = None, constants: Mapping[str, Any] | None = None, replicates: int = 50,
              seed: int | None = None, name: str | None = None):
    """An ``ema_workbench.Model`` that runs the scenario file ``scenario_path``.

    ``uncertainties`` / ``levers``: ``{dotted path: (low, high) | [values]}``; by default those of the
    scenario's ``sweep:`` block, else the policies of its ``compare:`` block as the lever ``us_policy`` and the
    ranges of its ``compare:`` / ``sensitivity:`` uncertainties. ``outcomes``: names from
    :data:`model.outputs.SUMMARY_OUTCOMES` (default all). ``constants``: paths set in every experiment.
    ``replicates`` per experiment (each with its own posterior draw), ``seed`` (default the scenario's) shared
    by all experiments. Bad input: :class:`experiments.UserError` naming the path, before EMA runs anything."""
    try:
        from ema_workbench import Model, ScalarOutcome
    except ImportError:  # pragma: no cover - the optional extra
        raise UserError("the EMA adapter needs the ema extra: pip install -e '.[ema]' (ema_workbench)", path="ema_model") from None
    from model.outputs import LABELS, SUMMARY_OUTCOMES
    from experiments.scenario.schema import with_overrides

    path = Path(scenario_path)
    scenario, kind, spec = load_with_block(path)
    unc_block, lev_block = _from_blocks(scenario)
    if kind == "compare":
        plain = [lv.policy for lv in spec.levers if lv.policy is not None and not lv.params and not lv.overrides]
        if len(plain) < len(spec.levers) and levers is None:
            raise UserError("compare levers with their own parameters, overrides or scenario files cannot be one EMA lever; "
                            "give levers={'united_states.policy.name': [...]} or policy parameters as levers", file=path,
                            path=("compare", "levers"))
        lev_block = {POLICY_PATH: list(dict.fromkeys(plain))}
        if isinstance(spec.uncertainties, Mapping):
            unc_block = {k: tuple(v) for k, v in spec.uncertainties.items()}
    elif kind == "sensitivity":
        unc_block = {k: tuple(v) for k, v in spec.uncertainties.items()}
    uncertainties = dict(unc_block if uncertainties is None else uncertainties)
    levers = dict(lev_block if levers is None else levers)
    constants = dict(constants or {})
    if not uncertainties and not levers:
        raise UserError("no uncertainties or levers: give them, or use a scenario with a sweep, compare or sensitivity block",
                        file=path)
    both = set(uncertainties) & set(levers)
    if both:
        raise UserError(f"{sorted(both)[0]!r} is both an uncertainty and a lever", file=path)
    from experiments.runner.outputs import outcomes_off

    written = tuple(o for o in SUMMARY_OUTCOMES if o not in outcomes_off(scenario))  # (an optional actor that is off writes none)
    outcomes = list(written if outcomes is None else outcomes)
    unknown = [o for o in outcomes if o not in written]
    if unknown:
        raise UserError(f"unknown outcome {unknown[0]!r}; expected one of {', '.join(written)}", path="outcomes")
    if not 1 <= replicates <= 10_000_000:
        raise UserError(f"expected 1 or more replicates, got {replicates}", path="replicates")
    # every value EMA may set must be one the scenario accepts: the bounds of a range and each listed value
    for p, spec in {**uncertainties, **levers}.items():
        for v in _probes(spec):
            with_overrides(scenario, {**constants, p: v}, path)

    taken: set[str] = set()
    params = {}
    for group in (uncertainties, levers):
        for p, spec in group.items():
            n = ema_name(p, taken)
            taken.add(n)
            params[p] = _parameter(n, p, spec)
    model = Model(name or (re.sub(r"[^0-9A-Za-z]", "", scenario.name) or "escalation"),
                  function=EMARunner(str(path.resolve()), replicates, scenario.seed if seed is None else seed, tuple(outcomes), constants))
    model.uncertainties = [params[p] for p in uncertainties]
    model.levers = [params[p] for p in levers]
    model.outcomes = [ScalarOutcome(o) for o in outcomes]
    model.labels = {o: LABELS.get(o, o) for o in outcomes}  # human labels of the outcomes (model/outputs.py)
    model.paths = {params[p].name: p for p in params}  # EMA name -> dotted scenario path
    return model


__all__ = ["EMARunner", "ema_model", "ema_name"]
