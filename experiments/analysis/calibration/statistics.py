"""The calibration's summary statistics and distance, computed where the simulations run.

:class:`ChunkStatistics` is the runner's ``reduce(job, tables)`` for a chunk of parameter draws: it
reads the chunk's daily (and per-group) tables in the worker and returns only these arrays: each
target's simulated window counts (:func:`target_stats`), the dispersion of the interval counts, the
suspension check and, for the posterior predictive, cumulative daily curves. :func:`deviations` and
:func:`distance` compare the window counts with the interval-censored observations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from experiments.runner.runner import Job, day_by_replicate

PREDICTIVE_QUANTITIES = ("attacks_total", "attacks_iraq", "attacks_syria", "us_strikes", "us_injured", "us_killed")
RED_SEA_QUANTITIES = ("ships_attacked", "us_strikes_yemen")  # curves of the Red Sea theatre (when it is calibrated)


def dispersion_statistic(cumulative: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Pearson dispersion of interval counts around a constant rate; ``cumulative`` (R, K+1) at ``days`` (K+1,)."""
    n = np.diff(cumulative, axis=1)
    d = np.diff(days).astype(float)
    lam = n.sum(axis=1, keepdims=True) / d.sum()
    expected = np.maximum(lam * d, 1e-9)
    return ((n - expected) ** 2 / expected).sum(axis=1) / (n.shape[1] - 1)


def strike_pattern(cum: np.ndarray, windows: np.ndarray, offset: float) -> np.ndarray:
    """Mean over strikes of log((rate after + offset) / (rate before + offset)): ``cum`` (T, R) cumulative
    daily counts, ``windows`` (S, 4) day indices (before from, before to, after from, after to) of the
    bracketing tallies; a rate is (cum[to] - cum[from]) / (to - from). Returns (R,)."""
    w = np.asarray(windows)
    b = (cum[w[:, 1]] - cum[w[:, 0]]) / (w[:, 1] - w[:, 0])[:, None]
    a = (cum[w[:, 3]] - cum[w[:, 2]]) / (w[:, 3] - w[:, 2])[:, None]
    return np.log((a + offset) / (b + offset)).mean(axis=0)


def target_stats(records: dict[str, np.ndarray], targets: pd.DataFrame) -> np.ndarray:
    """Simulated counts of each target over its report window, as an interval: (R, J, 2).

    [:, j, 0] is the count (from ``since``) at the window's first day, [:, j, 1] at its last day;
    cumulative counts are monotone, so these bound every day of the window. For an increment
    X - Y (``minus``) the interval is [X(first) - Y(last), X(last) - Y(first)] (interval
    arithmetic, like the observed side; for exact dates the plain difference).
    ``records`` are a batched model's (T, R) daily arrays; no DataFrame is built.
    """
    R = next(iter(records.values())).shape[1]
    out = np.empty((R, len(targets), 2), dtype=np.float64)
    cum: dict[str, np.ndarray] = {}

    def window(quantity: str, since: int, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
        if quantity not in cum:
            cum[quantity] = np.cumsum(records[quantity], axis=0, dtype=np.int64)
        c = cum[quantity]
        before = c[since - 1] if since > 0 else 0
        return c[first] - before, c[last] - before

    for j, t in enumerate(targets.itertuples()):
        out[:, j, 0], out[:, j, 1] = window(t.quantity, t.since_day, t.date_start_day, t.date_end_day)
        if getattr(t, "minus_quantity", ""):
            y0, y1 = window(t.minus_quantity, t.minus_since_day, t.minus_date_start_day, t.minus_date_end_day)
            out[:, j, 0] -= y1
            out[:, j, 1] -= y0
    return out


def deviations(stats: np.ndarray, targets: pd.DataFrame) -> np.ndarray:
    """Signed deviation of each simulation from each observed target, 0 when consistent (R, J).

    Interval-censored: 0 when the simulated window interval ``stats[..., 0]..stats[..., 1]``
    overlaps the observed ``[obs_low, obs_high]`` (a "more than N" costs nothing anywhere in
    (N, N + tol], an exact count if some day of the window hits it); otherwise the signed gap
    (positive: the simulation is above the interval, negative: below).
    """
    lo, hi = stats[..., 0], stats[..., 1]
    above = np.maximum(lo - targets["obs_high"].to_numpy(float), 0.0)
    below = np.minimum(hi - targets["obs_low"].to_numpy(float), 0.0)
    return above + below


def distance(dev: np.ndarray, targets: pd.DataFrame, mask: np.ndarray | None = None) -> np.ndarray:
    """Euclidean distance of the deviations / ``scale`` over the fitted (or ``mask``-ed) targets: (R,)."""
    use = targets["fit"].to_numpy(bool) if mask is None else mask
    z = dev[:, use] / targets["scale"].to_numpy(float)[use]
    return np.sqrt((z * z).sum(axis=1))


@dataclass
class ChunkStatistics:
    """``reduce(job, tables)`` run in the worker: a chunk's summary statistics from its tables, so only
    these arrays travel back (never the tables). ``columns`` names the daily and per-group columns read."""

    targets: pd.DataFrame
    militias: int  # number of groups (rows per day and replicate of the groups table)
    group: int | None = None  # militia index for the suspension check
    window: tuple[int, int] | None = None  # day indices of the suspension window
    curves: bool = False  # return cumulative daily curves (posterior predictive)
    dispersion: dict[str, Any] | None = None  # the dispersion summary's setup (Calibration.dispersion)
    pattern: dict[str, Any] | None = None  # the strike-pattern summary's setup (Calibration.pattern)
    red_sea_pattern: dict[str, Any] | None = None  # the Red Sea strike pattern's setup (Calibration.red_sea_pattern)
    red_sea: bool = False  # the Red Sea theatre is calibrated: its curves too

    @property
    def suspension(self) -> bool:
        return self.group is not None and self.window is not None

    def tables(self) -> tuple[str, ...]:
        return ("daily", "groups") if self.suspension else ("daily",)

    def columns(self) -> tuple[str, ...]:
        """The daily (and per-group) columns the statistics read."""
        cols = [*self.targets["quantity"], *(q for q in self.targets.get("minus_quantity", ()) if isinstance(q, str) and q)]
        if self.dispersion is not None:
            cols.append(self.dispersion["quantity"])
        if self.pattern is not None:
            cols.append(self.pattern["quantity"])
        if self.red_sea_pattern is not None:
            cols.append(self.red_sea_pattern["quantity"])
        if self.suspension:
            cols += ["us_killed", "suspended"]
        if self.curves:
            cols += [q for q in PREDICTIVE_QUANTITIES if q != "us_strikes"] + ["us_strikes_syria", "us_strikes_iraq"]
            if self.red_sea:
                cols += list(RED_SEA_QUANTITIES)
        return tuple(dict.fromkeys(cols))

    def __call__(self, job: Job, tables: dict[str, pa.Table]) -> dict[str, np.ndarray]:
        R, daily = job.size, tables["daily"]
        rec = {c: day_by_replicate(daily, c, R) for c in self.columns() if c in daily.column_names}  # (T, R) each
        out: dict[str, np.ndarray] = {"stats": target_stats(rec, self.targets).astype(np.float32)}
        if self.dispersion is not None:
            days = self.dispersion["days"]
            cum = np.cumsum(rec[self.dispersion["quantity"]], axis=0, dtype=np.int64)
            at = np.where(days[:, None] >= 0, cum[np.maximum(days, 0)], 0).T.astype(float)  # (R, K+1)
            out["dispersion"] = dispersion_statistic(at, days).astype(np.float32)
        if self.pattern is not None:
            cum = np.cumsum(rec[self.pattern["quantity"]], axis=0, dtype=np.int64)
            out["pattern"] = strike_pattern(cum, self.pattern["windows"], self.pattern["offset"]).astype(np.float32)
        if self.red_sea_pattern is not None:
            rs = self.red_sea_pattern
            cum = np.cumsum(rec[rs["quantity"]], axis=0, dtype=np.int64)
            out["pattern_red_sea"] = strike_pattern(cum, rs["windows"], rs["offset"]).astype(np.float32)
        if self.suspension:
            a, b = self.window
            # groups rows run day, group, replicate: (T, M, R)
            sus = tables["groups"].column("suspended").to_numpy().reshape(-1, self.militias, R)[:, self.group, :].astype(bool)
            out["suspended_in_window"] = sus[a : b + 1].any(axis=0) & ~sus[a - 1]
            out["suspended_before"] = sus[:a].any(axis=0)
            out["suspension_lag"] = suspension_lag(rec["us_killed"], sus)
        if self.curves:
            for q in PREDICTIVE_QUANTITIES:
                series = rec["us_strikes_syria"].astype(np.int64) + rec["us_strikes_iraq"] if q == "us_strikes" else rec[q]
                out[f"cum_{q}"] = np.cumsum(series, axis=0, dtype=np.int64).astype(np.float32)
            for q in RED_SEA_QUANTITIES if self.red_sea else ():
                out[f"cum_{q}"] = np.cumsum(rec[q], axis=0, dtype=np.int64).astype(np.float32)
        return out


def suspension_lag(us_killed: np.ndarray, suspended: np.ndarray) -> np.ndarray:
    """Days from the first U.S. death to the group's first suspension (NaN without a death or a suspension).

    The model draws the date of the first death itself, so the calendar window of the real suspension
    (Jan 29-Feb 1, two days after the Jan 28 deaths) is checked as this lag: the mechanism, not the date.
    """
    def first(x: np.ndarray) -> np.ndarray:
        return np.where(x.any(axis=0), x.argmax(axis=0), -1).astype(float)

    death, susp = first(us_killed > 0), first(suspended)
    return np.where((death >= 0) & (susp >= 0), susp - death, np.nan)
