"""Single runs: a scenario -> jobs (one per block) through an executor -> tidy tables and a manifest.

A run of N replicates is cut into blocks of ``scenario.block_size``; block b is one batched
model seeded from (seed, b), so the tables do not depend on how blocks are scheduled.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from experiments.runner.budget import MAX_REPLICATES, check_budget
from experiments.scenario.errors import MAX_SEED, UserError, check_option
from experiments.scenario.identification import Notice, drop_covered, notice_for, notice_manifest, read_identification
from experiments.scenario.schema import Scenario, as_scenario, posterior_candidates
from experiments.scenario.held import check_dated_inputs, dated_outside, held_fixed, held_line, outside_line  # noqa: F401  (re-exported for the commands)
from experiments.runner.store import (  # noqa: F401  (re-exported: analyses write through these)
    bind_tables,
    check_path,
    check_tables,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_parquet,
    check_writable,
    output_lock,
    swap_in,
)
from experiments.runner.plan import Limits, Output, check_out_dir, claim, plan_output  # noqa: F401  (check_out_dir: re-exported)
from experiments.runner.progress import ProgressBar
from experiments.runner.executors import Executor, SerialExecutor, _Indexed, as_executor, young_gc  # noqa: F401  (young_gc: re-exported)
from experiments.runner.runner import TABLES, Job, blocks, plan_jobs, simulate, varying_for_block  # noqa: F401  (re-exported)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunResult:
    scenario: Scenario
    daily: pd.DataFrame
    summary: pd.DataFrame
    groups: pd.DataFrame
    seed: int
    replicates: int
    notice: Notice | None = None  # unidentified parameters this run depends on
    held: list[str] | None = None  # explicit values that displaced posterior draws (held fixed in every replicate)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        """``daily, summary = experiments.run(...)``."""
        yield self.daily
        yield self.summary


def load_draws(scenario: Scenario, base_dir: Path | None = None) -> pd.DataFrame | None:
    """The parameter draws named by ``uncertainty.posterior`` (columns = dotted float paths, optional weight)."""
    if scenario.uncertainty is None or scenario.uncertainty.posterior is None:
        return None
    path = Path(scenario.uncertainty.posterior)
    # relative to the scenario file first (``extends`` rebases a parent's path onto the child's folder)
    base_dir = base_dir or scenario.base_dir
    for cand in posterior_candidates(path, base_dir):  # only inside the project or the scenario's folder
        if cand.is_file():
            try:
                draws = pd.read_parquet(cand)
            except Exception as exc:  # pyarrow raises several types for a bad file
                raise UserError(f"cannot read parameter draws: {type(exc).__name__}", file=cand, path=("uncertainty", "posterior")) from None
            check_draws(scenario, draws, cand)
            record = read_identification(cand)
            if record is not None:
                draws.attrs.update(identification=record, source=str(cand))
            return draws
    raise UserError(
        f"parameter draws {str(path)!r} not found (run `escalation calibrate` first)", path=("uncertainty", "posterior")
    )


def check_draws(scenario: Scenario, draws: pd.DataFrame, file: Path) -> None:
    """Parameter draws obey the same bounds as the scenario fields they replace.

    Every column must be a finite number; its smallest and largest values are put into the scenario
    and validated there (bounds are intervals, so the extremes decide). Weights must be finite,
    non-negative and not all zero.
    """
    from experiments.scenario.schema import with_overrides

    if draws.empty:
        raise UserError("holds no parameter draws (no rows)", file=file)
    from experiments.scenario.inputs import float_paths
    from experiments.scenario.held import covers

    allowed = float_paths(scenario)
    for col in draws.columns:
        if col == "weight" or any(covers(h, col) for h in scenario.held):
            continue
        concrete = [col.replace("*", str(i)) for i in range(len(scenario.militias))] if "*" in col else [col]
        missing = [c for c in concrete if c not in allowed]
        if missing:
            parts = missing[0].split(".")
            why = (f"this scenario has {len(scenario.militias)} group(s)" if parts[0] == "militias" and parts[1].isdigit()
                   and int(parts[1]) >= len(scenario.militias) else "this scenario has no such parameter")
            raise UserError(f"the posterior was fitted for another structure: its column {col!r} names {missing[0]!r}, but {why}; "
                            "drop it with `uncertainty: {posterior: null}` or give a posterior fitted for this scenario",
                            file=file, path=("uncertainty", "posterior"))
    for col in draws.columns:
        try:
            values = pd.to_numeric(draws[col], errors="raise").to_numpy(float)
        except (ValueError, TypeError):
            raise UserError(f"column {col!r} is not numeric", file=file) from None
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise UserError(f"column {col!r} row {row}: expected a finite number, got {values[row]}", file=file)
        if col == "weight":
            if (values < 0).any() or values.sum() <= 0:
                raise UserError("column 'weight': expected non-negative weights that are not all zero", file=file)
            continue
        for row in {int(values.argmin()), int(values.argmax())}:
            try:
                with_overrides(scenario, {col: float(values[row])})
            except UserError as exc:
                raise UserError(f"column {col!r} row {row}: value {values[row]!r} is outside the field's bounds ({exc.message})",
                                file=file) from None


def plan_blocks(
    scenario_or_path: Scenario | str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    *,
    hold: tuple[str, ...] = (),
    max_memory: str | int | None = None,
    max_hours: float | None = None,
    workers: int = 1,
    streamed: bool = False,
) -> tuple[Scenario, int, int, pd.DataFrame | None, list[Job]]:
    """A run's scenario, seed, replicates, posterior draws and jobs (one per block of ``scenario.block_size``).

    Everything is checked (options, budget, draws) before any work; ``streamed``: the tables go to disk
    block by block (memory: the blocks in flight), not held whole."""
    scenario = as_scenario(scenario_or_path)
    base_dir = Path(scenario_or_path).parent if not isinstance(scenario_or_path, Scenario) else None
    check_option(seed, "--seed", 0, MAX_SEED)
    check_option(replicates, "--replicates", 1, MAX_REPLICATES)
    replicates = scenario.replicates if replicates is None else replicates
    seed = scenario.seed if seed is None else seed
    check_budget(scenario, replicates, workers=workers, in_memory=not streamed, max_memory=max_memory, max_hours=max_hours)
    check_dated_inputs(scenario)
    draws = load_draws(scenario, base_dir)
    if draws is not None and hold:
        draws = drop_covered(draws, hold)
    return scenario, seed, replicates, draws, plan_jobs(scenario, replicates, seed, draws, keys={"scenario": scenario.name})


def _pieces(job: Job) -> list[tuple[str, pa.Table]]:
    """A job's table pieces as the worker made them (picklable, module level: runs in a worker)."""
    return list(simulate(job))


def job_pieces(jobs: list[Job], executor: Executor | int | None = None, progress: bool = False) -> Iterator[list[tuple[str, pa.Table]]]:
    """Each job's table pieces, in the jobs' order, simulated through ``executor``.

    Pieces that finish early wait for their predecessors; at most a few jobs' tables are held
    (the executor keeps two per worker in flight), so memory stays at a few blocks."""
    executor = as_executor(executor)
    if len(jobs) <= 1:
        executor = SerialExecutor()
    days = len(jobs[0].scenario.days) if jobs else 0
    waiting: dict[int, list[tuple[str, pa.Table]]] = {}
    nxt = 0
    with ProgressBar(progress, len(jobs) * days, f"run {jobs[0].scenario.name if jobs else ''}", percent=True) as tick:
        for i, pieces in executor.imap(_Indexed(_pieces), enumerate(jobs)):
            waiting[i] = pieces
            tick(days)
            while nxt in waiting:
                yield waiting.pop(nxt)
                nxt += 1


def run(
    scenario_or_path: Scenario | str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    *,
    executor: Executor | int | None = None,
    progress: bool = False,
    hold: tuple[str, ...] = (),
    max_memory: str | int | None = None,
    max_hours: float | None = None,
) -> RunResult:
    """Run a scenario; returns daily, summary and per-group tables (long form).

    ``hold``: dotted parameter paths kept at the scenario's values even when its posterior draws
    carry them (e.g. to show a result's sensitivity to one unidentified parameter).
    Work whose estimated memory or time passes ``max_memory`` / ``max_hours`` is refused up front.
    """
    executor = as_executor(executor)
    scenario, seed, replicates, draws, jobs = plan_blocks(scenario_or_path, replicates, seed, hold=hold, max_memory=max_memory,
                                                       max_hours=max_hours, workers=executor.workers)
    parts: dict[str, list[pa.Table]] = {name: [] for name in TABLES}
    for pieces in job_pieces(jobs, executor, progress):
        for name, table in pieces:
            parts[name].append(table)
    frames = [pa.concat_tables(parts[name]).to_pandas() for name in TABLES]
    held = held_fixed(scenario.held, draws.columns) if draws is not None else []
    return RunResult(scenario, frames[0], frames[1], frames[2], seed, replicates, notice_for(scenario, draws, scenario.held), held)


@dataclass
class StreamedRun:
    """What a streamed run keeps in memory: where it wrote, and the few per-replicate outcomes the console reports."""

    out: Path
    scenario: Scenario
    replicates: int
    attacks_total: np.ndarray
    us_killed: np.ndarray
    war: np.ndarray
    notice: Notice | None = None
    held: list[str] | None = None


@dataclass
class RunPlan:
    """``escalation run``, checked and ready: the scenario, seed, replicates and jobs (options and budget
    checked once, :func:`plan_blocks`), the output folder (checked once, :func:`~experiments.runner.plan.plan_output`)
    and what the run will replace. :meth:`execute` takes the folder's lock once and streams the run into it."""

    scenario: Scenario
    seed: int
    replicates: int
    draws: pd.DataFrame | None
    jobs: list[Job]
    output: Output
    previous: str = ""  # the same scenario's run with other replicates or seed that this run replaces ('' if none)

    @property
    def out(self) -> Path:
        return self.output.folder

    @property
    def outside(self) -> list[str]:
        """Dated inputs from the file that fall outside the run's dates (they change nothing: a note)."""
        return [what for _, what in dated_outside(self.scenario)]

    def execute(self, executor: Executor | int | None = None, progress: bool = False,
                note: Callable[[str], None] | None = None) -> StreamedRun:
        """Claim the folder, tell ``note`` what the run replaces (if anything), run."""
        with claim(self.output):
            if note is not None and self.previous:
                note(self.previous)
            return _stream_into(self, as_executor(executor), progress)


def plan_run(
    scenario_or_path: Scenario | str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    *,
    out: str | Path | None = None,
    force: bool = False,
    overrides: Any = None,
    limits: Limits = Limits(),
) -> RunPlan:
    """Check a streamed run before any work: options, budget (as streamed: a few blocks in memory),
    dated inputs, draws, and the output folder (default results/<scenario name>); nothing is written."""
    source = as_scenario(scenario_or_path, overrides) if overrides else scenario_or_path
    scenario, seed, replicates, draws, jobs = plan_blocks(source, replicates, seed, streamed=True, max_memory=limits.max_memory,
                                                          max_hours=limits.max_hours, workers=limits.workers)
    folder = Path(out) if out is not None else default_out(scenario)
    output = plan_output(folder, scenario.identity_hash(), force)
    return RunPlan(scenario, seed, replicates, draws, jobs, output, previous_run(folder, replicates, seed))


def previous_run(target: Path, replicates: int, seed: int) -> str:
    """What a run is about to replace when the folder holds the same scenario run with other replicates
    or another seed, and which files in it (figures, report) then no longer match the tables."""
    try:
        old = json.loads((target / "manifest.json").read_text())
    except (OSError, ValueError):
        return ""
    if not isinstance(old, dict) or (old.get("replicates"), old.get("seed")) == (replicates, seed):
        return ""
    stale = [name for name in ("figures", "report.html") if (target / name).exists()]
    return (f"{target} holds this scenario run with {old.get('replicates')} replicates and seed {old.get('seed')}; "
            f"overwriting with {replicates} replicates and seed {seed}"
            + (f" ({' and '.join(stale)} of the old run are removed with its tables: redraw with `escalation plot {target}`"
               + (f" and `escalation report {target}`" if "report.html" in stale else "") + ")" if stale else ""))


def stream_run(
    scenario_or_path: Scenario | str | Path,
    out: Path | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    *,
    force: bool = False,
    executor: Executor | int | None = None,
    progress: bool = False,
    max_memory: str | int | None = None,
    max_hours: float | None = None,
) -> StreamedRun:
    """Run a scenario block by block through ``executor``, appending each block's tables to
    daily/summary/groups.parquet as Parquet row groups in block order (peak memory: a few blocks,
    whatever the number of replicates); manifest.json last. The files do not depend on the executor.

    As :func:`write_run`, the folder is written as one unit: into a temporary sibling that replaces
    ``out`` under the folder's lock, so a failed or interrupted run leaves the previous results whole.
    :func:`plan_run` then :meth:`RunPlan.execute`."""
    executor = as_executor(executor)
    plan = plan_run(scenario_or_path, replicates, seed, out=out, force=force,
                    limits=Limits(executor.workers, max_memory, max_hours))
    return plan.execute(executor, progress)


def _stream_into(plan: RunPlan, executor: Executor, progress: bool) -> StreamedRun:
    """The run itself, into the claimed folder (no checks: the plan made them)."""
    from experiments.runner.stream import TableWriter

    scenario, seed, replicates, draws, jobs, out = plan.scenario, plan.seed, plan.replicates, plan.draws, plan.jobs, plan.out
    kept: dict[str, list[np.ndarray]] = {"attacks_total": [], "us_killed": [], "war": []}
    notice = notice_for(scenario, draws, scenario.held)
    held = held_fixed(scenario.held, draws.columns) if draws is not None else []

    def write(tmp: Path) -> None:
        with TableWriter(tmp) as writer:
            for pieces in job_pieces(jobs, executor, progress):
                for name, table in pieces:
                    writer.write(name, table)
                    if name == "summary":
                        for col, values in kept.items():
                            values.append(table.column(col).to_numpy())
        atomic_write_json(manifest(scenario, seed, replicates, files=list(RUN_FILES[:3]), tables=bind_tables(tmp, RUN_FILES[:3]), **notice_manifest(notice),
                                   **held_manifest(held), **outside_manifest(scenario)), tmp / "manifest.json")

    swap_in(out, write, keep=lambda name: name not in RUN_FILES + DERIVED and not name.startswith("."))
    return StreamedRun(out, scenario, replicates, *(np.concatenate(v) for v in kept.values()), notice=notice, held=held)


def outside_manifest(scenario: Scenario) -> dict[str, Any]:
    """The manifest's record of dated inputs outside the run's dates (they changed nothing)."""
    found = check_dated_inputs(scenario)
    return {"inputs_outside_run": found} if found else {}


def held_manifest(held: list[str] | None) -> dict[str, Any]:
    """The manifest's record of explicit values that displaced posterior draws."""
    return {"held_fixed": list(held)} if held else {}


# --------------------------------------------------------------------------- writing


def versions() -> dict[str, str]:
    import importlib.metadata as md

    import mesa

    out = {"python": platform.python_version(), "mesa": mesa.__version__, "numpy": np.__version__, "pandas": pd.__version__}
    try:
        out["escalation-model"] = md.version("escalation-model")
    except md.PackageNotFoundError:
        out["escalation-model"] = "unknown"
    return out


def git_commit() -> str | None:
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
        return res.stdout.strip() or None if res.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def manifest(scenario: Scenario, seed: int, replicates: int, kind: str = "run", **extra: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "scenario_name": scenario.name,
        "scenario_hash": scenario.identity_hash(),
        "seed": seed,
        "replicates": replicates,
        "block_size": scenario.block_size,
        "versions": versions(),
        "git_commit": git_commit(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "scenario": scenario.model_dump(mode="json"),
        **({"set": scenario.overrides} if scenario.overrides else {}),  # --set values, already in "scenario"
        **extra,
    }


def read_manifest(folder: str | Path, written_by: str = "`escalation run`") -> dict[str, Any]:
    """The manifest of a results folder; every problem is a :class:`UserError` naming the file."""
    folder = Path(folder)
    if not folder.exists():
        raise UserError("results folder not found", file=folder)
    if not folder.is_dir():
        raise UserError(f"expected a results folder written by {written_by}, got a file", file=folder)
    path = folder / "manifest.json"
    if not path.is_file():
        raise UserError(f"manifest.json not found (write it with {written_by})", file=path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"not valid JSON: {exc}", file=path) from None
    if not isinstance(manifest, dict):
        raise UserError("expected a JSON object", file=path)
    return manifest


def check_run_manifest(manifest: dict[str, Any], path: Path) -> None:
    """The fields figures and reports print must have the types a run writes (not null, not text)."""
    checks = [("scenario_name", str), ("scenario", dict), ("seed", int), ("replicates", int)]
    for key, kind in checks:
        value = manifest.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise UserError(f"field {key!r}: expected {kind.__name__}, got {value!r}"[:300], file=path / "manifest.json")
    if manifest["replicates"] < 1 or manifest["seed"] < 0:
        raise UserError(f"seed {manifest['seed']} / replicates {manifest['replicates']} out of range", file=path / "manifest.json")


def check_table(df: pd.DataFrame, file: Path, numeric: tuple[str, ...], replicates: int | None = None, finite: bool = True) -> None:
    """Columns a reader needs are numeric (and finite), and the replicates match the manifest."""
    for col in numeric:
        if col not in df.columns:
            raise UserError(f"missing column {col!r}", file=file)
        if not (pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col])):
            raise UserError(f"column {col!r}: expected numbers, got dtype {df[col].dtype}", file=file)
        if finite and not np.isfinite(df[col].to_numpy(float)).all():
            raise UserError(f"column {col!r}: holds missing or infinite values", file=file)
    if replicates is not None and "replicate" in df.columns and df["replicate"].nunique() != replicates:
        raise UserError(f"holds {df['replicate'].nunique()} replicates, the manifest says {replicates}; "
                        "the folder mixes two runs (rerun `escalation run`)", file=file)


RUN_FILES = ("daily.parquet", "summary.parquet", "groups.parquet", "manifest.json")
DERIVED = ("figures", "report.html")  # made from the tables: dropped when the tables are replaced


def default_out(scenario: Scenario) -> Path:
    return Path("results") / scenario.name


def write_run(result: RunResult, out: Path | None = None, force: bool = False) -> Path:
    """Write daily/summary/groups Parquet tables and manifest.json into ``out`` as one unit.

    The tables are written into a temporary sibling folder that then replaces ``out`` (under a lock),
    so ``out`` always holds the manifest and tables of one run and a failed write leaves the old one.
    Files other than a run's own outputs and derived figures/report are carried over.
    """
    out = Path(out) if out is not None else default_out(result.scenario)
    with output_lock(out):
        check_out_dir(out, result.scenario.identity_hash(), force)

        def write(tmp: Path) -> None:
            atomic_write_parquet(result.daily, tmp / "daily.parquet")
            atomic_write_parquet(result.summary, tmp / "summary.parquet")
            atomic_write_parquet(result.groups, tmp / "groups.parquet")
            atomic_write_json(manifest(result.scenario, result.seed, result.replicates, files=list(RUN_FILES[:3]),
                                       tables=bind_tables(tmp, RUN_FILES[:3]), **notice_manifest(result.notice),
                                       **held_manifest(result.held),
                                       **outside_manifest(result.scenario)), tmp / "manifest.json")

        swap_in(out, write, keep=lambda name: name not in RUN_FILES + DERIVED and not name.startswith("."))
    return out
