"""Designs: points (scenario variants) x replicates x blocks -> tasks (point, block) -> a resumable
Parquet store. A sweep (a scenario's ``sweep:`` block), a compare (levers = points) and a phase map
(grid cells = points) are each a :class:`Design` run by :func:`run_design`.

* Common random numbers: every point runs with the same seed, and block b always draws the
  streams SeedSequence(entropy=seed, spawn_key=(b,)), so replicate k of every point sees the same
  random numbers and differences between points are paired.
* One interface for serial, process-pool and Dask execution; results come back to this process
  as tasks finish and are written at once (one file per task, atomically), with a bounded number
  of tasks in flight, so memory stays bounded by a few tasks whatever the sweep's size.
* The store: ``points.parquet`` (the design), ``tasks/summary/p<point>-b<block>.parquet``
  (and ``tasks/daily/...`` unless summary-only; ``pd.read_parquet(out / "tasks" / "summary")`` reads
  a table whole), ``receipts/p<point>-b<block>.json`` (each task's receipt: its name, replicates and
  every file's rows, bytes and SHA-256), ``store.json`` (identity and plan of tasks), ``errors.parquet``
  (tasks that raised) and ``manifest.json`` with the spec's hash. ``resume=True`` runs only the missing
  tasks; loading checks every task against its receipt and the plan.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from experiments.scenario.errors import MAX_SEED, UserError, check_option
from experiments.runner.budget import MAX_REPLICATES, check_budget, check_points
from experiments.scenario.identification import Notice, drop_covered, notice_for, notice_manifest
from experiments.scenario.held import check_point_paths, held_fixed
from experiments.runner.executors import Executor, as_executor
from experiments.runner.plan import Limits, Output, check_out_dir, claim, claimed, plan_output
from experiments.runner.run import load_draws, manifest
from experiments.runner.runner import Job, blocks, simulate, varying_for_block
from experiments.runner.store import RECEIPTS, STORE_FILE, TASKS, TaskStore, atomic_write_json, atomic_write_parquet, output_lock
from experiments.scenario.schema import Overrides, Scenario, as_scenario, with_overrides
from experiments.runner.progress import ProgressBar
from experiments.runner.stream import TableWriter
from experiments.runner.streams import StreamKey, keyed_generator
from experiments.scenario.blocks import POLICY_PATH, Range, SweepSpec

SUMMARY_ONLY_ABOVE = 100_000  # runs; larger sweeps keep only per-replicate summaries unless told otherwise
STORE_VERSION = 3  # 2: per-task receipts (rows, bytes, SHA-256) and store.json; 3: tasks/<table>/, receipts/, plan
STORE = "store"  # the subfolder of a compare's or phase map's output folder holding its resumable task store
OWN_FILES = ("points.parquet", "errors.parquet", "manifest.json")


# --------------------------------------------------------------------------- design


def _levels(spec: list[Any] | Range) -> list[Any]:
    """The values a parameter takes in a grid."""
    if isinstance(spec, list):
        return list(spec)
    values = np.linspace(spec.low, spec.high, spec.levels or 1)
    return [int(round(v)) for v in values] if spec.integer else [float(v) for v in values]


def _from_unit(spec: list[Any] | Range, u: np.ndarray) -> list[Any]:
    """Map uniform [0, 1) draws onto a parameter (categorical: equal-width bins)."""
    if isinstance(spec, list):
        idx = np.minimum((u * len(spec)).astype(int), len(spec) - 1)
        return [spec[i] for i in idx]
    values = spec.low + u * (spec.high - spec.low)
    return [int(round(v)) for v in values] if spec.integer else [float(v) for v in values]


def _unit_sample(spec: SweepSpec, seed: int) -> np.ndarray:
    """(n, d) uniform design for lhs / sobol / saltelli."""
    d, n = len(spec.uncertainties), spec.samples or 1
    rng = keyed_generator(seed, StreamKey.DESIGN)
    from scipy.stats import qmc

    if spec.design == "lhs":
        return qmc.LatinHypercube(d=d, seed=rng).random(n)
    if spec.design == "sobol":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # balance warning when n is not a power of two
            return qmc.Sobol(d=d, scramble=True, seed=rng).random(n)
    from SALib.sample import sobol as salib_sobol

    problem = {"num_vars": d, "names": list(spec.uncertainties), "bounds": [[0.0, 1.0]] * d}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u = salib_sobol.sample(problem, n, calc_second_order=False, seed=int(rng.integers(2**31)))
    return np.clip(u, 0.0, np.nextafter(1.0, 0.0))


def uncertainty_points(spec: SweepSpec, seed: int) -> list[dict[str, Any]]:
    """The uncertainty design: one mapping of dotted path -> value per sample."""
    if spec.design == "list":
        return [dict(p) for p in spec.points or []]
    paths = list(spec.uncertainties)
    if spec.design == "grid":
        return [dict(zip(paths, combo)) for combo in itertools.product(*(_levels(spec.uncertainties[p]) for p in paths))]
    u = _unit_sample(spec, seed)
    columns = [_from_unit(spec.uncertainties[p], u[:, j]) for j, p in enumerate(paths)]
    return [dict(zip(paths, row)) for row in zip(*columns)]


POLICY_NAME = f"{POLICY_PATH}.name"
POLICY_PARAMS = f"{POLICY_PATH}.params."


def policy_grid(spec: SweepSpec) -> list[dict[str, Any]]:
    """The per-policy sub-grids, one mapping per (policy, combination of its own parameters):
    ``united_states.policy.name`` and ``united_states.policy.params.<name>`` -> value (only the policy's own)."""
    out = []
    for name, grid in spec.policies.items():
        params = list(grid)
        for combo in itertools.product(*(_levels(grid[p]) for p in params)):
            out.append({POLICY_NAME: name, **{POLICY_PARAMS + p: v for p, v in zip(params, combo)}})
    return out


def policy_paths(spec: SweepSpec) -> list[str]:
    """The table columns the per-policy sub-grids make (policy name first, then each parameter once)."""
    if not spec.policies:
        return []
    return [POLICY_NAME, *dict.fromkeys(POLICY_PARAMS + p for grid in spec.policies.values() for p in grid)]


def design_points(spec: SweepSpec, seed: int) -> list[dict[str, Any]]:
    """Levers (full grid, outer; the per-policy sub-grids outermost) x uncertainty design (inner):
    point id = position in this list."""
    lever_paths = list(spec.levers)
    lever_grid = [dict(zip(lever_paths, c)) for c in itertools.product(*(_levels(spec.levers[p]) for p in lever_paths))]
    if spec.policies:
        lever_grid = [{**pol, **lev} for pol in policy_grid(spec) for lev in lever_grid]
    inner = uncertainty_points(spec, seed)
    return [{**lev, **unc} for lev in lever_grid for unc in inner]


def point_overrides(base: Scenario, point: dict[str, Any]) -> dict[str, Any]:
    """A design point as overrides: a per-policy sub-grid point sets the policy whole (its name and params:
    the scenario's params when it is the scenario's rule, else the rule's defaults, updated by the point's)."""
    if POLICY_NAME not in point:
        return point
    name = point[POLICY_NAME]
    params = dict(base.united_states.policy.params) if name == base.united_states.policy.name else {}
    params.update({k[len(POLICY_PARAMS):]: v for k, v in point.items() if k.startswith(POLICY_PARAMS)})
    rest = {k: v for k, v in point.items() if k != POLICY_NAME and not k.startswith(POLICY_PARAMS)}
    return {POLICY_PATH: {"name": name, "params": params}, **rest}


def design_frame(points: list[dict[str, Any]]) -> pd.DataFrame:
    """points.parquet: ``point`` plus one column per dotted path."""
    df = pd.DataFrame(points)
    df.insert(0, "point", np.arange(len(points), dtype=np.int64))
    import pyarrow as pa

    for col in df.columns[1:]:
        try:
            pa.array(df[col].tolist())
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):  # mixed kinds: keep a readable text form
            df[col] = df[col].map(repr)
    return df


# --------------------------------------------------------------------------- points -> scenarios


def point_scenario(base: Scenario, overrides: dict[str, Any]) -> Scenario:
    """The base scenario with one design point's values applied (validated)."""
    return with_overrides(base, overrides)


def _validate_design(base: Scenario, spec: SweepSpec, points: list[dict[str, Any]], file: Path | None) -> None:
    """Check every path and value range up front: one clear error naming the sweep field."""
    checks: list[tuple[str, dict[str, Any]]] = []
    for group in ("levers", "uncertainties"):
        for path, pspec in getattr(spec, group).items():
            values = _levels(pspec) if isinstance(pspec, list) or group == "levers" else _from_unit(pspec, np.array([0.0, 1.0]))
            if isinstance(pspec, Range) and group == "uncertainties" and spec.design == "grid":
                values = _levels(pspec)
            checks += [(f"sweep.{group}.{path}", {path: v}) for v in values]
    checks += [(f"sweep.policies.{pol[POLICY_NAME]}", point_overrides(base, pol)) for pol in policy_grid(spec)]
    if spec.design == "list":
        checks += [(f"sweep.points.{i}", p) for i, p in enumerate((spec.points or [])[:1000])]
    if points:
        checks.append(("sweep (point 0)", point_overrides(base, points[0]) if spec.policies else points[0]))
    seen: set[str] = set()
    for where, overrides in checks:
        key = json.dumps(overrides, sort_keys=True, default=repr)
        if key in seen:
            continue
        seen.add(key)
        try:
            point_scenario(base, overrides)
        except UserError as exc:
            value = next(iter(overrides.values())) if len(overrides) == 1 else overrides
            raise UserError(f"value {value!r} is not valid: {exc}", file=file, path=where) from None


# --------------------------------------------------------------------------- designs


@dataclass(frozen=True)
class Task:
    point: int
    block: int
    start: int
    size: int

    @property
    def stem(self) -> str:
        return f"p{self.point}-b{self.block}"


@dataclass
class Design:
    """Points (scenario variants) x replicates x blocks: what a sweep, a compare and a phase map run.

    Point i is ``base`` with ``overrides[i]`` applied (built in the worker: a sweep of 100,000
    points stays small) or, when ``scenarios`` is given, that scenario whole (compare levers from
    other files, phase-map cells built from the raw mapping). Every point runs the same seed and
    blocks (common random numbers) with the same per-block resample of ``draws``. ``points`` are the
    columns of points.parquet; ``identity`` is what the store's key hashes (a store of another
    identity is refused)."""

    kind: str  # "sweep" | "compare" | "phase_map": the manifest's kind
    scenario: Scenario  # the base scenario (manifest, identity)
    points: list[dict[str, Any]]
    seed: int
    replicates: int
    identity: dict[str, Any]
    tables: tuple[str, ...] = ("daily", "summary")  # summary last: it marks a task done
    block_size: int | None = None  # default: the scenario's
    overrides: list[dict[str, Any]] | None = None
    scenarios: list[Scenario] | None = None
    draws: pd.DataFrame | None = None
    notice: Notice | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # extra manifest fields
    columns: dict[str, tuple[str, ...]] | None = None  # per table, the columns stored (None: all); part of the key

    @property
    def key(self) -> str:
        ident = self.identity if self.columns is None else {**self.identity, "columns": self.columns}
        return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]

    @property
    def summary_only(self) -> bool:
        return "daily" not in self.tables

    @property
    def runs(self) -> int:
        return len(self.points) * self.replicates

    @property
    def blocks(self) -> list[tuple[int, int, int]]:
        return blocks(self.replicates, self.block_size or self.scenario.block_size)

    @property
    def tasks(self) -> list[Task]:
        plan = self.blocks
        return [Task(p, b, start, size) for p in range(len(self.points)) for b, start, size in plan]

    def payload(self, task: Task, task_dir: Path | None) -> "TaskPayload":
        if self.scenarios is not None:
            return TaskPayload(self.scenarios[task.point], self.key, None, task, self.seed, self.tables, self.draws, task_dir,
                               self.columns)
        return TaskPayload(self.scenario, self.key, (self.overrides or self.points)[task.point], task, self.seed, self.tables,
                           self.draws, task_dir, self.columns)


@dataclass
class TaskPayload:
    """Everything a worker needs (pickled to it): small, independent of the design's size."""

    base: Scenario  # the point's scenario, or the base to apply ``overrides`` to
    key: str
    overrides: dict[str, Any] | None
    task: Task
    seed: int
    tables: tuple[str, ...]
    draws: pd.DataFrame | None = None  # posterior draws of the parameters the design does not set
    task_dir: Path | None = None  # the worker writes its tables there itself (same file system); else returns them
    columns: dict[str, tuple[str, ...]] | None = None  # per table, the columns stored (None: all)


_CACHE: dict[tuple[str, int], Scenario] = {}


def _point_scenario(payload: TaskPayload) -> Scenario:
    if payload.overrides is None:
        return payload.base
    cache_key = (payload.key, payload.task.point)
    scenario = _CACHE.get(cache_key)
    if scenario is None:
        _CACHE.clear()
        scenario = _CACHE[cache_key] = point_scenario(payload.base, payload.overrides)
    return scenario


def run_task(payload: TaskPayload) -> dict[str, Any]:
    """Run one (point, block); never raises: errors come back as a record."""
    t = payload.task
    try:
        job = Job(_point_scenario(payload), payload.seed, t.block, t.start, t.size,
                  varying_for_block(payload.draws, payload.seed, t.block, t.size), payload.tables, {"point": np.int64(t.point)},
                  payload.columns)
        pieces = simulate(job)
        if payload.task_dir is not None:  # written here, row group by row group: nothing big goes back to the parent
            write_task(payload.task_dir, t, pieces)
            return {"task": t, "tables": None, "error": None}
        return {"task": t, "tables": list(pieces), "error": None}
    except Exception as exc:  # recorded in errors.parquet; the run goes on
        return {"task": t, "tables": None, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}


def write_task(task_dir: Path, task: Task, tables: Iterable[tuple[str, Any]]) -> None:
    """A task's tables as tasks/<kind>/<stem>.parquet, each renamed into place once complete."""
    import contextlib

    with contextlib.ExitStack() as stack:
        writers: dict[str, TableWriter] = {}
        for kind, table in tables:
            if kind not in writers:
                writers[kind] = stack.enter_context(TableWriter(task_dir / kind))
            writers[kind].write(task.stem, table)


# --------------------------------------------------------------------------- the sweep


def plan_sweep(
    scenario_or_path: Scenario | str | Path,
    *,
    seed: int | None = None,
    replicates: int | None = None,
    summary_only: bool | None = None,
    overrides: Overrides | None = None,
) -> Design:
    """Design, validation and task list of a scenario's sweep (``overrides``: ``--set`` values)."""
    scenario = as_scenario(scenario_or_path, overrides)
    file = Path(scenario_or_path) if not isinstance(scenario_or_path, Scenario) else None
    if scenario.sweep is None:
        raise UserError("has no `sweep:` block (see experiments/scenario/blocks.py for its fields)", file=file, path="sweep")
    spec = scenario.sweep
    check_option(seed, "--seed", 0, MAX_SEED)
    check_option(replicates, "--replicates", 1, MAX_REPLICATES)
    seed = spec.seed if seed is None and spec.seed is not None else (scenario.seed if seed is None else seed)
    replicates = spec.replicates if replicates is None else replicates
    check_points(spec, file)
    swept = [*spec.levers, *spec.uncertainties, *dict.fromkeys(k for p in (spec.points or []) for k in p)]
    check_point_paths(swept, "swept", file, ("sweep",))
    points = design_points(spec, seed)
    base = scenario.model_copy(update={"sweep": None})
    _validate_design(base, spec, points, file)
    if summary_only is None:
        summary_only = spec.summary_only if spec.summary_only is not None else len(points) * replicates > SUMMARY_ONLY_ABOVE
    ident = {"v": STORE_VERSION, "scenario": scenario.identity_hash(), "seed": seed, "replicates": replicates, "summary_only": summary_only}
    swept = [*policy_paths(spec), *swept]
    loaded = load_draws(scenario, file.parent if file else None)
    held = [*held_fixed(scenario.held, loaded.columns), *held_fixed(swept, loaded.columns)] if loaded is not None else []
    draws = drop_covered(loaded, swept)
    overrides = [point_overrides(base, p) for p in points] if spec.policies else None
    return Design("sweep", base, points, seed, replicates, ident, ("summary",) if summary_only else ("daily", "summary"),
                  overrides=overrides, draws=draws, notice=notice_for(scenario, draws, [*swept, *scenario.held]),
                  block_size=scenario.block_size,
                  meta={"design": spec.design, "levers": [*policy_paths(spec), *spec.levers], "uncertainties": list(spec.uncertainties),
                        **({"policies": {k: list(v) for k, v in spec.policies.items()}} if spec.policies else {}),
                        **({"held_fixed": held} if held else {})})


@dataclass
class SweepOutcome:
    out: Path
    tasks: int
    done: int  # finished in this call
    skipped: int  # already on disk (resume)
    failed: int
    runs: int
    seconds: float
    errors: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None  # unidentified parameters (experiments.scenario.identification)
    repaired: int = 0  # tasks found damaged on resume (deleted and rerun)
    complete: bool = False  # every task of the design is in the store with a matching receipt

    @property
    def exit_code(self) -> int:
        return min(self.failed, 125)


@dataclass
class SweepPlan:
    """``escalation sweep``, checked and ready: the design (options, points, values), the budget and the
    output folder each checked once; :meth:`execute` claims the folder once and runs the missing tasks."""

    design: Design
    output: Output
    resume: bool = False
    max_tasks: int | None = None

    @property
    def out(self) -> Path:
        return self.output.folder

    def execute(self, executor: Executor | int | None = None, progress: bool = False) -> SweepOutcome:
        with claim(self.output):
            return run_design(self.design, self.out, executor, resume=self.resume, force=self.output.force,
                              max_tasks=self.max_tasks, progress=progress)


def plan_sweep_run(
    scenario_or_path: Scenario | str | Path,
    out: str | Path | None = None,
    *,
    resume: bool = False,
    force: bool = False,
    seed: int | None = None,
    replicates: int | None = None,
    summary_only: bool | None = None,
    max_tasks: int | None = None,
    overrides: Overrides | None = None,
    limits: Limits = Limits(),
) -> SweepPlan:
    """Check a sweep before any work: options, design, budget (tasks written as they finish), output folder."""
    if max_tasks is not None and max_tasks < 0:
        raise UserError(f"expected 0 or more, got {max_tasks}", path="--max-tasks")
    design = plan_sweep(scenario_or_path, seed=seed, replicates=replicates, summary_only=summary_only, overrides=overrides)
    check_budget(design.scenario, design.replicates, points=len(design.points), summary_only=design.summary_only,
                 in_memory=False, workers=limits.workers, max_memory=limits.max_memory, max_hours=limits.max_hours)
    folder = Path(out) if out is not None else Path("results") / design.scenario.name
    output = plan_output(folder, design.key, force, kind=design.kind, markers=(STORE_FILE, TASKS, RECEIPTS))
    return SweepPlan(design, output, resume, max_tasks)


def run_sweep(
    scenario_or_path: Scenario | str | Path,
    out: str | Path | None = None,
    *,
    executor: Executor | int | None = None,
    resume: bool = False,
    force: bool = False,
    seed: int | None = None,
    replicates: int | None = None,
    summary_only: bool | None = None,
    max_tasks: int | None = None,
    progress: bool = False,
    max_memory: str | int | None = None,
    max_hours: float | None = None,
    overrides: Overrides | None = None,
) -> SweepOutcome:
    """Run (or finish, with ``resume``) a sweep into ``out`` (default results/<scenario name>).

    ``max_tasks`` stops after that many tasks (resume later). With ``resume``, every task already on
    disk is verified against its receipt (rows, bytes, SHA-256) and rerun if missing or damaged.
    :func:`plan_sweep_run`, then :meth:`SweepPlan.execute`.
    """
    executor = as_executor(executor)
    plan = plan_sweep_run(scenario_or_path, out, resume=resume, force=force, seed=seed, replicates=replicates,
                          summary_only=summary_only, max_tasks=max_tasks, overrides=overrides,
                          limits=Limits(executor.workers, max_memory, max_hours))
    return plan.execute(executor, progress)


def run_design(design: Design, out: str | Path, executor: Executor | int | None = None, *, resume: bool = False,
               force: bool = False, max_tasks: int | None = None, progress: bool = False) -> SweepOutcome:
    """Run (or finish, with ``resume``) a design's tasks into the resumable store ``out``.

    A store of another design is refused; finished tasks are refused without ``resume`` (run only
    the missing ones) or ``force`` (start again). ``outcome.complete`` says whether every task is
    in the store with its receipt."""
    t0 = time.perf_counter()
    out = Path(out)
    if claimed(out):  # a compare's or phase map's store, in the folder its command claimed (checked and locked once)
        return _run_locked(design, out, t0, executor=as_executor(executor), resume=resume, force=force,
                           max_tasks=max_tasks, progress=progress, checked=True)
    with output_lock(out):
        return _run_locked(design, out, t0, executor=as_executor(executor), resume=resume, force=force,
                           max_tasks=max_tasks, progress=progress)


def _days_per_point(plan: Design) -> int | list[int]:
    """Days each point simulates (one number when all points share them): a daily table of a task holds exactly
    replicates x days rows, so a receipt whose rows were forged to match a shortened table is still refused."""
    if plan.scenarios is not None:
        days = [len(sc.days) for sc in plan.scenarios]
    elif not any(k in ("start", "end") for ov in (plan.overrides or plan.points) for k in ov):
        return len(plan.scenario.days)
    else:
        days = [len(point_scenario(plan.scenario, ov).days) for ov in (plan.overrides or plan.points)]
    return days[0] if len(set(days)) == 1 else days


def _run_locked(plan: Design, out: Path, t0: float, *, executor: Executor, resume: bool, force: bool,
                max_tasks: int | None, progress: bool, checked: bool = False) -> SweepOutcome:
    store = TaskStore(out, {"v": STORE_VERSION, "spec_hash": plan.key, **plan.identity,
                            "plan": {"points": len(plan.points), "blocks": [list(b) for b in plan.blocks], "tables": list(plan.tables),
                                     "days": _days_per_point(plan)}})
    if force:
        ours = (out / STORE_FILE).exists() or _manifest_kind(out) == plan.kind
        store.wipe(OWN_FILES if ours else ())
    if not checked:
        check_out_dir(out, plan.key, force, kind=plan.kind, markers=(STORE_FILE, TASKS, RECEIPTS))
    store.check_identity()
    foreign = store.has_foreign_task_files() if store.recorded_identity() is None else []  # else: partial tasks, redone
    if foreign:
        raise UserError(f"tasks/ holds {len(foreign)} table(s) without a receipt (e.g. {foreign[0]}); use --force to start again", file=out)
    all_tasks = plan.tasks
    stems = [t.stem for t in all_tasks]
    finished, damaged = store.scan(stems) if store.task_dir.is_dir() or store.receipt_dir.is_dir() else (set(), {})
    if (finished or damaged) and not resume:
        raise UserError(
            f"already holds {len(finished)} finished task(s) of this {plan.kind.replace('_', ' ')}; use --resume to run the "
            "missing ones or --force to start again",
            file=out,
        )
    store.start()
    atomic_write_parquet(design_frame(plan.points), out / "points.parquet")
    meta = dict(
        scenario_hash=plan.key, spec_hash=plan.key, points=len(plan.points), tasks=len(all_tasks),
        runs=plan.runs, summary_only=plan.summary_only, **plan.meta, **notice_manifest(plan.notice),
    )
    atomic_write_json(manifest(plan.scenario, plan.seed, plan.replicates, kind=plan.kind, status="running", **meta), out / "manifest.json")

    todo = [t for t in all_tasks if t.stem not in finished]
    if max_tasks is not None:
        todo = todo[:max_tasks]
    task_dir = store.task_dir if executor.shares_files else None  # Dask workers may not share this file system
    payloads = (plan.payload(t, task_dir) for t in todo)
    outcome = SweepOutcome(out, len(all_tasks), 0, len(finished), 0, 0, 0.0, note=plan.notice.line if plan.notice else None,
                           repaired=len(damaged))
    try:
        with ProgressBar(progress, len(todo), f"{plan.kind.replace('_', '-')} {plan.scenario.name}", "tasks", rate_of="runs") as tick:
            for res in executor.imap(run_task, payloads, on_error=_died):
                task: Task = res["task"]
                if res["error"] is not None:
                    outcome.failed += 1
                    outcome.errors.append(
                        {"point": task.point, "block": task.block, "error": res["error"], "traceback": res["traceback"]}
                    )
                else:
                    if res["tables"] is not None:
                        write_task(store.task_dir, task, res["tables"])
                    store.record(task.stem, plan.tables, task.size)
                    outcome.done += 1
                    outcome.runs += task.size
                tick(1, runs=task.size)
    finally:
        _write_errors(outcome.errors, out / "errors.parquet")
        outcome.seconds = time.perf_counter() - t0
        whole = sum(store.verify(stem, deep=False) is None for stem in stems)  # receipts and sizes: cheap
        outcome.complete = whole == len(stems)
        atomic_write_json(
            manifest(
                plan.scenario, plan.seed, plan.replicates, kind=plan.kind, status="complete" if outcome.complete else "incomplete",
                tasks_done=whole, tasks_failed=outcome.failed, tasks_repaired=len(damaged), **meta,
            ),
            out / "manifest.json",
        )
    return outcome


class DesignIncomplete(UserError):
    """A compare or phase map whose store misses tasks (failed or not run): one line, exit code 1."""

    exit_code = 1


def design_tables(outcome: SweepOutcome, kind: str = "summary") -> pd.DataFrame:
    """A finished design's ``kind`` table from its store, every task checked against its receipt first
    (never a partial table): rows by point, replicate (daily: point, day, replicate)."""
    if not outcome.complete:
        missing = outcome.tasks - outcome.done - outcome.skipped
        first = f"; first error: {outcome.errors[0]['error']}" if outcome.errors else ""
        raise DesignIncomplete(f"{missing} of {outcome.tasks} task(s) not finished ({outcome.failed} failed{first}); "
                               "rerun with --resume to finish them", file=outcome.out)
    import pyarrow.dataset as ds

    files = _reader_store(outcome.out).files(kind)
    table = ds.dataset([str(f) for f in files], format="parquet").to_table().to_pandas()
    keys = ["point", "day", "replicate"] if kind == "daily" else ["point", "replicate"]
    return table.sort_values(keys, ignore_index=True)


def _manifest_kind(out: Path) -> str | None:
    try:
        data = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return data.get("kind", "run") if isinstance(data, dict) else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _died(payload: TaskPayload, exc: BaseException) -> dict[str, Any]:
    """A worker process that died (killed, out of memory) is a failed task, not a traceback."""
    return {"task": payload.task, "tables": None,
            "error": f"worker process died while running this task ({type(exc).__name__}: {exc})", "traceback": ""}


def _write_errors(errors: list[dict[str, Any]], path: Path) -> None:
    if errors:
        atomic_write_parquet(pd.DataFrame(errors).sort_values(["point", "block"], ignore_index=True), path)
    else:
        path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- reading


def _reader_store(directory: Path) -> TaskStore:
    """The store of a sweep folder, for reading: its identity from store.json (or the manifest)."""
    path = directory / STORE_FILE
    try:
        ident = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        ident = None
    if not isinstance(ident, dict) or "spec_hash" not in ident or ident.get("v") != STORE_VERSION:
        raise UserError("not a sweep store of this version (store.json missing or unreadable); rerun with `escalation sweep --force`",
                        file=directory)
    return TaskStore(directory, ident)


def load_sweep(directory: str | Path, daily: bool = False, partial: bool = False) -> pd.DataFrame:
    """One tidy table: the design joined to the per-replicate outcomes (or daily rows with ``daily``).

    Rows are sorted by point and replicate (and day); columns: point, one per swept dotted path,
    replicate, then the outcomes. Every task of the store's plan is checked against its receipt; a
    damaged or foreign task is refused, and so is an unfinished one unless ``partial`` (then the table
    holds the finished tasks only).
    """
    directory = Path(directory)
    points_file = directory / "points.parquet"
    if not points_file.exists():
        raise UserError("not a sweep folder (no points.parquet)", file=directory)
    kind = "daily" if daily else "summary"
    store = _reader_store(directory)
    if daily and "daily" not in store.tables:
        raise UserError("holds no daily tables (the sweep was summary-only)", file=directory)
    files = store.files(kind, partial=partial)
    if not files:
        raise UserError("holds no finished tasks yet", file=directory)
    import pyarrow.dataset as ds

    outcomes = ds.dataset([str(f) for f in files], format="parquet").to_table().to_pandas()
    design = pd.read_parquet(points_file)
    df = design.merge(outcomes, on="point", how="inner", validate="one_to_many")
    keys = ["point", "replicate"] + (["day"] if daily else [])
    return df.sort_values(keys, ignore_index=True)


__all__ = ["Design", "DesignIncomplete", "STORE", "SweepOutcome", "Task", "design_tables", "run_design", "design_points", "load_sweep", "plan_sweep", "run_sweep"]
