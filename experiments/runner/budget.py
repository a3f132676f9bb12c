"""Refuse oversized work before allocating: estimate memory and time from replicates x days x points.

The figures are rough upper estimates measured on the baseline scenario (see ``benchmarks/``):
per replicate-day a run's daily table takes about 110 bytes in memory and its per-group table
about 70 bytes per militia; tables are built in blocks and concatenated (twice the memory at the
peak). One core steps roughly 10^5 replicate-days a second with five militias; the time estimate
assumes twice that, so it errs towards running. Limits are options the user can raise knowingly
(``--max-memory``, ``--max-hours``); the error names the option.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any

from experiments.scenario.errors import UserError

DAILY_BYTES = 110  # per replicate-day, daily table in memory
GROUP_BYTES = 70  # per replicate-day and militia, groups table in memory
SUMMARY_BYTES = 200  # per replicate, summary table in memory
MODEL_BYTES = 120  # per replicate-day inside one batched model (records), plus per militia the same again / 4
RATE = 2e5  # replicate-days per second per core with five militias (optimistic on purpose)
MAX_POINTS = 1_000_000  # design points a sweep may have (the design is held in memory and written as one table)
MAX_REPLICATES = 10_000_000  # same bound as the scenario field `replicates`
DEFAULT_MAX_HOURS = 1.0  # work estimated to take longer needs an explicit --max-hours
_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def default_max_memory() -> int:
    """8 GiB, or 80% of this machine's memory if that is less."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        physical = 16 * 2**30
    return int(min(8 * 2**30, 0.8 * physical))


def parse_size(text: str | int | float | None, option: str = "--max-memory") -> int:
    """'8GiB', '500MB', '2e9' -> bytes."""
    if text is None:
        return default_max_memory()
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?(?:e[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
        if not m or m.group(2).lower() not in _UNITS:
            raise UserError(f"expected a size such as 8GiB, 500MB or 2e9 (bytes), got {text!r}", path=option)
        value, unit = float(m.group(1)), m.group(2).lower()
    size = value * _UNITS[unit]
    if not math.isfinite(size) or size <= 0:
        raise UserError(f"expected a positive size, got {text!r}", path=option)
    return int(size)


def human(n: float) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} bytes"


def _duration(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.1f} minutes"


@dataclass
class Estimate:
    memory: float  # bytes at the peak
    seconds: float
    replicate_days: float


def estimate(scenario: Any, replicates: int, *, points: int = 1, daily: bool = True, in_memory: bool = True,
             workers: int = 1, daily_bytes: float | None = None) -> Estimate:
    """Peak memory and run time of ``points`` x ``replicates`` runs of ``scenario``.

    ``in_memory``: all tables are held until the end (``run``, ``compare``); otherwise (sweeps) each
    task is written as it finishes and only the tasks in flight are held. ``daily_bytes``: what the
    caller holds per replicate-day when it keeps only a few daily columns (default: the daily and
    groups tables whole).
    """
    days, militias = len(scenario.days), len(scenario.militias)
    per_day = DAILY_BYTES + GROUP_BYTES * militias
    block = min(scenario.block_size, replicates)
    block_memory = block * days * (MODEL_BYTES * (1 + militias / 4) + (2 * per_day if daily else 0))
    runs = float(points) * replicates
    if in_memory:
        held = per_day if daily_bytes is None else daily_bytes
        memory = runs * (SUMMARY_BYTES + (2 * days * held if daily else 0)) + block_memory * max(1, workers)
    else:
        memory = block_memory * 3 * max(1, workers)  # each worker's block, plus results queued in this process
    rep_days = runs * days
    seconds = rep_days * max(militias, 1) / 5 / (RATE * max(1, workers))
    return Estimate(memory, seconds, rep_days)


def check_budget(scenario: Any, replicates: int, *, points: int = 1, summary_only: bool = False, in_memory: bool = True,
                 workers: int = 1, max_memory: str | int | None = None, max_hours: float | None = None,
                 daily_bytes: float | None = None) -> Estimate:
    """Refuse (one-line error, exit 2) work whose estimate passes the limits; nothing is allocated yet."""
    if not 1 <= replicates <= MAX_REPLICATES:
        raise UserError(f"expected 1 to {MAX_REPLICATES:,} replicates, got {replicates:,}", path="--replicates")
    est = estimate(scenario, replicates, points=points, daily=not summary_only, in_memory=in_memory, workers=workers,
                   daily_bytes=daily_bytes)
    limit = parse_size(max_memory)
    what = f"{points:,} point(s) x {replicates:,} replicates x {len(scenario.days):,} days"
    if est.memory > limit:
        raise UserError(
            f"{what} would need about {human(est.memory)} of memory, above the limit of {human(limit)}; "
            "use fewer replicates or days (a sweep keeps memory per task), or raise --max-memory if the machine has it",
            path="--max-memory",
        )
    hours = DEFAULT_MAX_HOURS if max_hours is None else max_hours
    if not (isinstance(hours, (int, float)) and math.isfinite(hours) and hours > 0):
        raise UserError(f"expected a positive number of hours, got {max_hours!r}", path="--max-hours")
    if est.seconds > hours * 3600:
        raise UserError(
            f"{what} would take about {_duration(est.seconds)} on {workers} worker(s), above the limit of {hours:g} hours; "
            "use fewer points or replicates, or raise --max-hours",
            path="--max-hours",
        )
    return est


def count_points(spec: Any) -> int:
    """How many design points a sweep block makes, computed without making them."""
    levers = math.prod(len(v) if isinstance(v, list) else (v.levels or 1) for v in spec.levers.values())
    policies = getattr(spec, "policies", None) or {}
    if policies:  # per-policy sub-grids: each policy times the grid of its own parameters
        levers *= sum(math.prod(len(v) if isinstance(v, list) else (v.levels or 1) for v in grid.values()) for grid in policies.values())
    if spec.design == "list":
        inner = len(spec.points or [])
    elif spec.design == "grid":
        inner = math.prod(len(v) if isinstance(v, list) else (v.levels or 1) for v in spec.uncertainties.values())
    elif spec.design == "saltelli":
        inner = (spec.samples or 1) * (len(spec.uncertainties) + 2)
    else:
        inner = spec.samples or 1
    return levers * inner


def check_points(spec: Any, file: Any = None) -> int:
    n = count_points(spec)
    if n > MAX_POINTS:
        raise UserError(f"the design has {n:,} points; at most {MAX_POINTS:,} are allowed (split the sweep or sample it with lhs/sobol)",
                        file=file, path="sweep")
    return n
