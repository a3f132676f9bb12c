"""The one runner: jobs (a scenario x per-replicate parameter draws x a block of replicates) -> tidy
tables, through an executor. Every command simulates through here; none touches model objects.

* A :class:`Job` is one batched model: replicates ``[start, start + size)`` of a scenario, in
  random-stream block ``block`` of ``seed`` (so its numbers do not depend on where it runs), with
  optional per-replicate parameter values (``varying``: dotted float path -> array of ``size``).
* :func:`simulate` runs a job in whatever process holds it and yields its tables in pieces
  (``daily``, ``summary``, ``groups``: the long-form tables a run writes, with the job's ``keys``
  as leading constant columns). :func:`tables` collects the pieces.
* :func:`run_jobs` maps jobs through an :class:`~experiments.runner.executors.Executor`; a
  ``reduce(job, tables)`` applied in the worker turns each job's tables into what the caller needs
  (a summary statistic, a file written), so little travels back.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from experiments.runner.executors import Executor, OnError, as_executor
from experiments.runner.stream import model_tables
from experiments.runner.streams import StreamKey, keyed_generator
from experiments.scenario.errors import UserError
from experiments.scenario.held import hold_varying
from experiments.scenario.schema import Scenario
from model import EscalationModel

TABLES = ("daily", "summary", "groups")


@dataclass
class Job:
    """One batched model's worth of work (small and picklable: it travels to a worker)."""

    scenario: Scenario
    seed: int
    block: int
    start: int = 0
    size: int = 1
    varying: dict[str, np.ndarray] | None = None  # per-replicate parameter values (arrays of ``size``)
    tables: tuple[str, ...] = TABLES  # which tables to build
    keys: dict[str, Any] = field(default_factory=dict)  # constant leading columns of every table (e.g. point)
    columns: tuple[str, ...] | dict[str, tuple[str, ...]] | None = None  # columns to build (None: all; a dict: per table)


def job_varying(job: Job) -> dict[str, np.ndarray] | None:
    """The per-replicate values a job's model runs with: its draws, less the parameters its scenario holds
    fixed (an explicit value -- --set, a lever, an override -- is never overridden by the posterior's draws)."""
    return hold_varying(job.varying, getattr(job.scenario, "held", ()), len(job.scenario.militias))


def step_model(job: Job, on_day: Callable[[], None] | None = None) -> EscalationModel:
    """Build and step a job's batched model to its end (runner-internal: nothing outside the runner sees it)."""
    varying = job_varying(job)
    try:
        model = EscalationModel(job.scenario, replicates=job.size, seed=job.seed, block=job.block,
                                replicate_offset=job.start, varying=varying)
    except ValueError as exc:
        raise UserError(str(exc), path=("uncertainty", "posterior")) from None
    while model.running:
        model.step()
        if on_day is not None:
            on_day()
    return model


def simulate(job: Job, on_day: Callable[[], None] | None = None) -> Iterator[tuple[str, pa.Table]]:
    """Run a job; yield (table name, Arrow table) pieces (daily and groups cut by days, summary whole)."""
    model = step_model(job, on_day)
    try:
        yield from model_tables(model, job.keys, job.tables, columns=job.columns)
    finally:
        del model
        gc.collect()  # a model is a reference cycle (Mesa agents <-> model): free its arrays before the next job


def tables(job: Job, on_day: Callable[[], None] | None = None) -> dict[str, pa.Table]:
    """A job's tables, whole."""
    pieces: dict[str, list[pa.Table]] = {}
    for name, piece in simulate(job, on_day):
        pieces.setdefault(name, []).append(piece)
    return {name: pa.concat_tables(p) for name, p in pieces.items()}


def frames(job: Job) -> dict[str, pd.DataFrame]:
    """A job's tables as pandas DataFrames."""
    return {name: t.to_pandas() for name, t in tables(job).items()}


def day_by_replicate(table: pa.Table, column: str, replicates: int) -> np.ndarray:
    """A daily-table column as a (days, replicates) array (daily rows run day-major, replicate-minor)."""
    return table.column(column).to_numpy().reshape(-1, replicates)


def blocks(replicates: int, block_size: int) -> list[tuple[int, int, int]]:
    """(block index, first replicate, size) for a run of ``replicates``."""
    return [(b, start, min(block_size, replicates - start)) for b, start in enumerate(range(0, replicates, block_size))]


def varying_for_block(draws: pd.DataFrame | None, seed: int, block: int, size: int) -> dict[str, np.ndarray] | None:
    """Resample ``size`` rows of the draws (by weight) for one block, reproducibly from (seed, block)."""
    if draws is None:
        return None
    rng = keyed_generator(seed, block, StreamKey.POSTERIOR)
    weights = draws["weight"].to_numpy(float) if "weight" in draws else np.ones(len(draws))
    rows = rng.choice(len(draws), size=size, p=weights / weights.sum())
    return {c: draws[c].to_numpy(float)[rows] for c in draws.columns if c != "weight"}


def plan_jobs(scenario: Scenario, replicates: int, seed: int, draws: pd.DataFrame | None = None,
              keys: dict[str, Any] | None = None, tables: tuple[str, ...] = TABLES) -> list[Job]:
    """A scenario's ``replicates`` cut into blocks of ``scenario.block_size`` (block b: random streams (seed, b)),
    each block carrying its resample of the posterior ``draws`` (if any)."""
    return [Job(scenario, seed, b, start, size, varying_for_block(draws, seed, b, size), tables, dict(keys or {}))
            for b, start, size in blocks(replicates, scenario.block_size)]


class _Reduced:
    """Picklable: job -> reduce(job, tables(job)), run in the worker."""

    def __init__(self, reduce: Callable[[Job, dict[str, pa.Table]], Any]):
        self.reduce = reduce

    def __call__(self, job: Job) -> Any:
        return self.reduce(job, tables(job))


def _identity(job: Job, t: dict[str, pa.Table]) -> dict[str, pa.Table]:
    return t


def run_jobs(jobs: Iterable[Job], executor: Executor | int | None = None,
             reduce: Callable[[Job, dict[str, pa.Table]], Any] | None = None,
             on_done: Callable[[int], None] | None = None) -> list[Any]:
    """``reduce(job, tables)`` of every job (default: the tables), in the jobs' order."""
    return as_executor(executor).map(_Reduced(reduce or _identity), jobs, on_done)


def imap_jobs(jobs: Iterable[Job], executor: Executor | int | None, reduce: Callable[[Job, dict[str, pa.Table]], Any],
              on_error: OnError | None = None) -> Iterator[Any]:
    """As :func:`run_jobs`, in completion order (``reduce`` should name the job in its result)."""
    return as_executor(executor).imap(_Reduced(reduce), jobs, on_error)


__all__ = ["Job", "TABLES", "blocks", "day_by_replicate", "plan_jobs", "varying_for_block", "frames", "imap_jobs", "run_jobs", "simulate", "step_model", "tables"]
