"""How draws are simulated: chunks of parameter draws as runner jobs (one draw per replicate, chunk k in
random-stream block ``block0 + k``), their statistics computed in the workers
(:class:`~experiments.analysis.calibration.statistics.ChunkStatistics`), so results do not depend on
the executor (serial, pool or Dask)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from experiments.analysis.calibration.config import Calibration
from experiments.analysis.calibration.priors import varying_from
from experiments.analysis.calibration.statistics import ChunkStatistics
from experiments.runner.executors import Executor
from experiments.runner.runner import Job, run_jobs


def _suspension_setup(cal: Calibration) -> tuple[int | None, tuple[int, int] | None]:
    s = cal.config.suspension
    if s is None:
        return None, None
    ev = cal.events.set_index("id").loc[s.event]
    start = pd.Timestamp(cal.scenario.start)
    window = ((ev.date_start - start).days, (ev.date_end - start).days)
    return [m.short for m in cal.scenario.militias].index(s.group), window


def chunk_statistics(cal: Calibration, curves: bool = False) -> ChunkStatistics:
    """The statistics a calibration reads from each chunk's tables (``curves``: posterior-predictive curves too)."""
    group, window = _suspension_setup(cal)
    return ChunkStatistics(cal.targets, len(cal.scenario.militias), group, window, curves, cal.dispersion, cal.pattern,
                           cal.red_sea_pattern, "red_sea" in cal.config.theatres)


def chunk_jobs(cal: Calibration, values: np.ndarray, block0: int = 0, statistics: ChunkStatistics | None = None) -> list[Job]:
    """Runner jobs for parameter values (n, d): chunk k of ``chunk_size`` draws (one per replicate, as
    ``varying``) uses random-stream block ``block0 + k`` of the calibration's seed; each builds only the
    tables and columns ``statistics`` read."""
    stats = statistics or chunk_statistics(cal)
    size = cal.config.chunk_size
    return [Job(cal.scenario, cal.config.seed, block0 + k, 0, len(values[a : a + size]), varying_from(cal, values[a : a + size]),
                tables=stats.tables(), columns=stats.columns())
            for k, a in enumerate(range(0, len(values), size))]


def simulate(cal: Calibration, values: np.ndarray, *, block0: int = 0, executor: Executor | int | None = None, curves: bool = False,
             on_done: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """Simulate parameter values (n, d) through the runner in chunks of ``chunk_size`` (chunk k: block
    ``block0 + k``); the statistics are computed in the workers. ``on_done`` receives the number of
    simulations each finished chunk held."""
    reduce = chunk_statistics(cal, curves)
    jobs = chunk_jobs(cal, values, block0, reduce)
    report = None if on_done is None else (lambda i: on_done(jobs[i].size))
    parts = run_jobs(jobs, executor, reduce, report)
    axis = {k: (1 if k.startswith("cum_") else 0) for k in parts[0]}
    return {k: np.concatenate([p[k] for p in parts], axis=axis[k]) for k in parts[0]}
