"""Single runs: a scenario -> batched model blocks -> tidy tables and a manifest.

A run of N replicates is cut into blocks of ``scenario.block_size``; block b is one batched
model seeded from (seed, b), so the tables do not depend on how blocks are scheduled.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import platform
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

from experiments.errors import UserError
from experiments.identification import Notice, drop_covered, notice_for, notice_manifest, read_identification
from experiments.scenario import Scenario, as_scenario
from model import EscalationModel

PROJECT_ROOT = Path(__file__).resolve().parent.parent
POSTERIOR_STREAM = 1_000_003  # spawn-key slot for posterior resampling, apart from the model's streams


@dataclass
class RunResult:
    scenario: Scenario
    daily: pd.DataFrame
    summary: pd.DataFrame
    groups: pd.DataFrame
    seed: int
    replicates: int
    notice: Notice | None = None  # unidentified parameters this run depends on

    def __iter__(self) -> Iterator[pd.DataFrame]:
        """``daily, summary = experiments.run(...)``."""
        yield self.daily
        yield self.summary


def blocks(replicates: int, block_size: int) -> list[tuple[int, int, int]]:
    """(block index, first replicate, size) for a run of ``replicates``."""
    return [(b, start, min(block_size, replicates - start)) for b, start in enumerate(range(0, replicates, block_size))]


def load_draws(scenario: Scenario, base_dir: Path | None = None) -> pd.DataFrame | None:
    """The parameter draws named by ``uncertainty.posterior`` (columns = dotted float paths, optional weight)."""
    if scenario.uncertainty is None or scenario.uncertainty.posterior is None:
        return None
    path = Path(scenario.uncertainty.posterior)
    # relative to the scenario file first (``extends`` rebases a parent's path onto the child's folder)
    candidates = [path] if path.is_absolute() else ([base_dir / path] if base_dir else []) + [Path.cwd() / path, PROJECT_ROOT / path]
    for cand in candidates:
        if cand.exists():
            try:
                draws = pd.read_parquet(cand)
            except Exception as exc:  # pyarrow raises several types for a bad file
                raise UserError(f"cannot read parameter draws: {exc}", file=cand, path=("uncertainty", "posterior")) from None
            record = read_identification(cand)
            if record is not None:
                draws.attrs.update(identification=record, source=str(cand))
            return draws
    raise UserError(
        f"parameter draws {str(path)!r} not found (run `escalation calibrate` first)", path=("uncertainty", "posterior")
    )


def varying_for_block(draws: pd.DataFrame | None, seed: int, block: int, size: int) -> dict[str, np.ndarray] | None:
    """Resample ``size`` rows of the draws (by weight) for one block, reproducibly from (seed, block)."""
    if draws is None:
        return None
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=seed, spawn_key=(block, POSTERIOR_STREAM))))
    weights = draws["weight"].to_numpy(float) if "weight" in draws else np.ones(len(draws))
    rows = rng.choice(len(draws), size=size, p=weights / weights.sum())
    return {c: draws[c].to_numpy(float)[rows] for c in draws.columns if c != "weight"}


def run_block(
    scenario: Scenario,
    seed: int,
    block: int,
    start: int,
    size: int,
    draws: pd.DataFrame | None = None,
    on_day: Callable[[], None] | None = None,
) -> EscalationModel:
    """Step one batched model to the end and return it."""
    try:
        model = EscalationModel(
            scenario, replicates=size, seed=seed, block=block, replicate_offset=start,
            varying=varying_for_block(draws, seed, block, size),
        )
    except ValueError as exc:
        raise UserError(str(exc), path=("uncertainty", "posterior")) from None
    while model.running:
        model.step()
        if on_day is not None:
            on_day()
    return model


def run(
    scenario_or_path: Scenario | str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    *,
    progress: bool = False,
    hold: tuple[str, ...] = (),
) -> RunResult:
    """Run a scenario; returns daily, summary and per-group tables (long form).

    ``hold``: dotted parameter paths kept at the scenario's values even when its posterior draws
    carry them (e.g. to show a result's sensitivity to one unidentified parameter).
    """
    scenario, seed, replicates, draws, models = run_models(scenario_or_path, replicates, seed, progress=progress, hold=hold)
    daily, summary, groups = [], [], []
    for model in models:
        daily.append(model.daily_frame())
        summary.append(model.summary_frame())
        groups.append(model.groups_frame())
    frames = [pd.concat(x, ignore_index=True) for x in (daily, summary, groups)]
    for df in frames:
        df.insert(0, "scenario", scenario.name)
    return RunResult(scenario, frames[0], frames[1], frames[2], seed, replicates, notice_for(scenario, draws))


def run_models(
    scenario_or_path: Scenario | str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    *,
    progress: bool = False,
    hold: tuple[str, ...] = (),
) -> tuple[Scenario, int, int, pd.DataFrame | None, Iterator[EscalationModel]]:
    """A run's scenario, seed, replicates, posterior draws and its blocks' stepped models (lazily, one at a time)."""
    scenario = as_scenario(scenario_or_path)
    base_dir = Path(scenario_or_path).parent if not isinstance(scenario_or_path, Scenario) else None
    replicates = scenario.replicates if replicates is None else replicates
    seed = scenario.seed if seed is None else seed
    if replicates < 1:
        raise UserError(f"replicates must be at least 1, got {replicates}", path=("replicates",))
    draws = load_draws(scenario, base_dir)
    if draws is not None and hold:
        draws = drop_covered(draws, hold)
    plan = blocks(replicates, scenario.block_size)

    def models() -> Iterator[EscalationModel]:
        with _progress(progress, len(plan) * len(scenario.days), scenario.name) as tick, young_gc():
            for b, start, size in plan:
                model = run_block(scenario, seed, b, start, size, draws, on_day=tick)
                yield model
                del model
                gc.collect()  # a model is a reference cycle (Mesa agents <-> model): free its arrays before the next block

    return scenario, seed, replicates, draws, models()


@contextmanager
def young_gc() -> Iterator[None]:
    """Make the per-block ``gc.collect()`` cheap: objects alive before the run (modules, caches) are
    moved out of the collector's way while it lasts (``gc.freeze``), so each collection scans only
    what the run made (~1 ms instead of ~60 ms a block)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


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


def stream_run(
    scenario_or_path: Scenario | str | Path,
    out: Path | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    *,
    force: bool = False,
    progress: bool = False,
) -> StreamedRun:
    """Run a scenario block by block, appending each block's tables to daily/summary/groups.parquet as
    Parquet row groups (peak memory: one block, whatever the number of replicates); manifest.json last."""
    from experiments.stream import TableWriter, model_tables

    scenario, seed, replicates, draws, models = run_models(scenario_or_path, replicates, seed, progress=progress)
    out = Path(out) if out is not None else default_out(scenario)
    check_out_dir(out, scenario.identity_hash(), force)
    kept: dict[str, list[np.ndarray]] = {"attacks_total": [], "us_killed": [], "war": []}
    with TableWriter(out) as writer:
        for model in models:
            for name, table in model_tables(model, {"scenario": scenario.name}):
                writer.write(name, table)
                if name == "summary":
                    for col, values in kept.items():
                        values.append(table.column(col).to_numpy())
    notice = notice_for(scenario, draws)
    atomic_write_json(
        manifest(scenario, seed, replicates, files=["daily.parquet", "summary.parquet", "groups.parquet"], **notice_manifest(notice)),
        out / "manifest.json",
    )
    return StreamedRun(out, scenario, replicates, *(np.concatenate(v) for v in kept.values()), notice=notice)


class _progress:
    """A rich progress bar over model-days, or nothing."""

    def __init__(self, enabled: bool, total: int, label: str):
        self.enabled, self.total, self.label = enabled, total, label

    def __enter__(self) -> Callable[[], None] | None:
        if not self.enabled:
            return None
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(), transient=True)
        self._bar.__enter__()
        task = self._bar.add_task(f"run {self.label}", total=self.total)
        return lambda: self._bar.advance(task)

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self._bar.__exit__(*exc)


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


def check_out_dir(out: Path, scenario_hash: str, force: bool, kind: str = "run") -> None:
    """Refuse to write over results of a different scenario (unless forced)."""
    existing = out / "manifest.json"
    if out.exists() and not out.is_dir():
        raise UserError("output path exists and is not a folder", file=out)
    if not existing.exists() or force:
        return
    try:
        old = json.loads(existing.read_text())
    except (OSError, json.JSONDecodeError):
        raise UserError("holds a manifest.json that cannot be read; use --force to overwrite or --out for another folder", file=out) from None
    if old.get("scenario_hash") != scenario_hash or old.get("kind", "run") != kind:
        raise UserError(
            f"holds results of a different {old.get('kind', 'run')} ({old.get('scenario_name')!r}, hash {old.get('scenario_hash')}); "
            "use --force to overwrite or --out for another folder",
            file=out,
        )


def _atomic(path: Path, write: Callable[[str], None]) -> None:
    """Write through a temporary file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    _atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_parquet(df: pd.DataFrame, path: Path) -> None:
    _atomic(path, lambda tmp: df.to_parquet(tmp, index=False))


def atomic_write_json(obj: Any, path: Path) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=str) + "\n").encode())


def default_out(scenario: Scenario) -> Path:
    return Path("results") / scenario.name


def write_run(result: RunResult, out: Path | None = None, force: bool = False) -> Path:
    """Write daily/summary/groups Parquet tables and manifest.json into ``out``."""
    out = Path(out) if out is not None else default_out(result.scenario)
    check_out_dir(out, result.scenario.identity_hash(), force)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(result.daily, out / "daily.parquet")
    atomic_write_parquet(result.summary, out / "summary.parquet")
    atomic_write_parquet(result.groups, out / "groups.parquet")
    atomic_write_json(
        manifest(result.scenario, result.seed, result.replicates, files=["daily.parquet", "summary.parquet", "groups.parquet"],
                 **notice_manifest(result.notice)),
        out / "manifest.json",
    )
    return out
