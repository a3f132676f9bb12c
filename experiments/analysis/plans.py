"""``escalation compare``, ``sensitivity`` and ``phase-map``, planned: the options, the scenario and its
block, the budget and the output folder each checked once before any simulating; executed under the
folder's lock, taken once (:mod:`experiments.runner.plan`), which also covers the task store inside
the folder. The CLI builds the plan, executes it and prints."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments.runner.budget import MAX_REPLICATES, check_budget
from experiments.runner.executors import Executor, as_executor
from experiments.runner.plan import Limits, Output, claim, plan_output
from experiments.scenario.errors import MAX_SEED, check_option
from experiments.runner.run import default_out
from experiments.scenario.schema import Overrides, Scenario, load_block, spec_hash


def _check_options(seed: int | None, replicates: int | None = None) -> None:
    """Command-line overrides out of range: one line naming the option, before anything is loaded."""
    check_option(seed, "--seed", 0, MAX_SEED)
    check_option(replicates, "--replicates", 1, MAX_REPLICATES)


@dataclass
class BlockPlan:
    """A scenario's analysis block checked and ready: what to run, where (checked once), with what options."""

    kind: str  # compare | sensitivity | phase_map (the manifest's kind)
    file: Path
    scenario: Scenario
    spec: Any
    output: Output
    overrides: Overrides
    seed: int | None = None
    replicates: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # the block's own: resume, allow_unpaired, samples, method

    @property
    def out(self) -> Path:
        return self.output.folder

    @property
    def spec_hash(self) -> str:
        return self.output.identity

    def execute(self, executor: Executor | int | None = None) -> Any:
        """Claim the folder and run the block: compare -> :class:`CompareOutcome`, sensitivity and
        phase map -> their result mappings."""
        executor = as_executor(executor)
        with claim(self.output):
            return _EXECUTE[self.kind](self, executor)


def _plan_block(file: str | Path, key: str, spec_type: type, out: str | Path | None, force: bool, overrides: Overrides,
                method: str | None = None) -> tuple[Scenario, Any, Path, str]:
    """The scenario and its block, and the output folder (blocks with a ``method`` get a folder per method)."""
    scenario, spec, _ = load_block(file, key, spec_type, overrides)
    target = Path(out) if out is not None else default_out(scenario)
    if hasattr(spec, "method"):
        spec = spec.model_copy(update={"method": method or spec.method})
        target = target if out is not None else target / spec.method
    return scenario, spec, target, spec_hash(scenario, spec)


# --------------------------------------------------------------------------- compare


@dataclass
class CompareOutcome:
    scenario: Scenario
    spec: Any
    result: Any  # experiments.analysis.compare.CompareResult
    info: dict[str, Any]
    replicates: int
    seconds: float
    files: list[str]


def plan_compare(file: str | Path, out: str | Path | None = None, *, replicates: int | None = None, seed: int | None = None,
                 resume: bool = False, force: bool = False, overrides: Overrides | None = None, allow_unpaired: bool = False,
                 limits: Limits = Limits()) -> BlockPlan:
    from experiments.analysis.compare import DAILY_HELD_BYTES, corner_count
    from experiments.runner.sweep import STORE
    from experiments.scenario.blocks import CompareSpec

    _check_options(seed, replicates)
    changes = overrides or {}
    scenario, spec, target, h = _plan_block(file, "compare", CompareSpec, out, force, changes)
    output = plan_output(target, h, force, kind="compare", markers=(STORE,))  # tasks of an interrupted compare
    n = spec.replicates if replicates is None else replicates
    # the robustness corners run too: each unidentified parameter at two values, every lever (an upper bound on memory)
    corner_runs = 2 * corner_count(scenario, spec, file) * min(spec.robustness_replicates, n) if spec.robustness_replicates >= 2 else 0
    check_budget(scenario, n + corner_runs, points=len(spec.levers), daily_bytes=DAILY_HELD_BYTES, workers=limits.workers,
                 max_memory=limits.max_memory, max_hours=limits.max_hours)
    return BlockPlan("compare", Path(file), scenario, spec, output, changes, seed, replicates,
                     {"resume": resume, "allow_unpaired": allow_unpaired})


def _execute_compare(plan: BlockPlan, executor: Executor) -> CompareOutcome:
    from experiments.analysis.compare import compare, write_compare
    from experiments.runner.run import manifest
    from experiments.runner.sweep import STORE

    t0 = time.perf_counter()
    scenario, spec, result, info = compare(plan.file, replicates=plan.replicates, seed=plan.seed, executor=executor,
                                           overrides=plan.overrides, store=plan.out / STORE, resume=plan.options["resume"],
                                           force=plan.output.force, allow_unpaired=plan.options["allow_unpaired"])
    elapsed = time.perf_counter() - t0
    n = int(result.summary.groupby("policy").size().iloc[0])
    seed_used = scenario.seed if plan.seed is None else plan.seed
    data = manifest(scenario, seed_used, n, kind="compare", scenario_hash=plan.spec_hash, runtime_seconds=round(elapsed, 2),
                    **executor.describe(), **info)
    files = write_compare(result, plan.out, data)
    return CompareOutcome(scenario, spec, result, info, n, elapsed, files)


# --------------------------------------------------------------------------- sensitivity


def _sensitivity_points(spec: Any, samples: int | None) -> int:
    """Sample points of a sensitivity design (SALib: Sobol N (D + 2) without second order, Morris N (D + 1))."""
    n, d = samples or spec.samples, len(spec.uncertainties)
    return max(1, n * (d + 2) if spec.method == "sobol" else n * (d + 1))


def plan_sensitivity(file: str | Path, out: str | Path | None = None, *, method: str | None = None, samples: int | None = None,
                     replicates: int | None = None, seed: int | None = None, force: bool = False,
                     overrides: Overrides | None = None, limits: Limits = Limits()) -> BlockPlan:
    from experiments.scenario.blocks import SensitivitySpec

    _check_options(seed, replicates)
    # -n is the block's replicates_per_point: set like --set, so it is checked and hashed as the file's value would be
    changes = {**(overrides or {}), **({"sensitivity.replicates_per_point": replicates} if replicates is not None else {})}
    # each method has its own folder (results/<name>/sobol, .../morris): a Morris run never replaces Sobol results
    scenario, spec, target, h = _plan_block(file, "sensitivity", SensitivitySpec, out, force, changes, method=method)
    output = plan_output(target, h, force, kind="sensitivity")
    check_budget(scenario, spec.replicates_per_point, points=_sensitivity_points(spec, samples), summary_only=True,
                 workers=limits.workers, max_memory=limits.max_memory, max_hours=limits.max_hours)
    return BlockPlan("sensitivity", Path(file), scenario, spec, output, changes, seed, replicates, {"method": method, "samples": samples})


def _execute_sensitivity(plan: BlockPlan, executor: Executor) -> dict[str, Any]:
    from experiments.analysis.sensitivity import run_sensitivity

    return run_sensitivity(plan.file, plan.out, method=plan.options["method"], samples=plan.options["samples"], seed=plan.seed,
                           scenario_hash=plan.spec_hash, overrides=plan.overrides, executor=executor)


# --------------------------------------------------------------------------- phase map


def plan_phase_map(file: str | Path, out: str | Path | None = None, *, replicates: int | None = None, seed: int | None = None,
                   resume: bool = False, force: bool = False, overrides: Overrides | None = None,
                   limits: Limits = Limits()) -> BlockPlan:
    from experiments.runner.sweep import STORE
    from experiments.scenario.blocks import PhaseMapSpec

    _check_options(seed, replicates)
    changes = overrides or {}
    scenario, spec, target, h = _plan_block(file, "phase_map", PhaseMapSpec, out, force, changes)
    output = plan_output(target, h, force, kind="phase_map", markers=(STORE,))  # tasks of an interrupted phase map
    check_budget(scenario, spec.replicates if replicates is None else replicates, points=len(spec.x.values) * len(spec.y.values),
                 summary_only=True, workers=limits.workers, max_memory=limits.max_memory, max_hours=limits.max_hours)
    return BlockPlan("phase_map", Path(file), scenario, spec, output, changes, seed, replicates, {"resume": resume})


def _execute_phase_map(plan: BlockPlan, executor: Executor) -> dict[str, Any]:
    from experiments.analysis.discovery import run_phase_map

    return run_phase_map(plan.file, plan.out, replicates=plan.replicates, seed=plan.seed, scenario_hash=plan.spec_hash,
                         overrides=plan.overrides, executor=executor, resume=plan.options["resume"], force=plan.output.force)


_EXECUTE = {"compare": _execute_compare, "sensitivity": _execute_sensitivity, "phase_map": _execute_phase_map}
