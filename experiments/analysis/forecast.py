"""Out-of-time scoring: proper scores for interval-censored counts and two naive forecasts.

Pure functions on arrays and tables (no model imports), so the calibrated model's predictive
sample and the naive baselines are scored by the same code.

Observations are interval-censored counts: a report "more than 165 attacks" becomes
``low <= X <= high`` (see experiments/scenario/observed.py); an exact count has ``low == high``.

Scores (lower is better, as in scipy/scoringrules):

* :func:`log_score` -- ``-log P(low <= X <= high)`` under the predictive sample, with the
  Krichevsky-Trofimov ("add one half") estimate ``(m + 1/2) / (n + 1)`` of the probability from m
  of n samples in the interval, so an interval no sample reaches costs ``log(2 (n + 1))``, finite
  and growing only slowly with n instead of infinity.
* :func:`crps` -- the CRPS of the sample's empirical distribution against an exact y, from the
  sorted sample in O(n log n): ``mean|X - y| - (1/n^2) sum_i (2i - n - 1) x_(i)``.
* :func:`crps_interval` -- the CRPS averaged over an observation uniform on the integers
  ``low..high``. Writing ``G_I`` for that uniform distribution, the score equals
  ``integral (F - G_I)^2 + E|Y - Y'| / 2``; the second term does not depend on the forecast F, so the
  score ranks forecasts by their squared distance from ``G_I``. Its expectation over the
  observation is minimised by the forecast that spreads the truth's mass uniformly inside each
  reportable interval: it is proper (not strictly) for the interval-censored observation, i.e. it
  rewards getting the probability of every interval right and is indifferent to where mass sits
  inside an interval, which is all a censored report can tell. It reduces to :func:`crps` when
  ``low == high``. (The threshold-weighted CRPS with the interval zeroed out was the alternative;
  it also ignores mass inside the interval but is not defined for a forecast beside the interval
  without a weight choice, so the average is simpler to state.)

Naive forecasts of daily attack counts, fitted only on the interval counts between running
tallies (date, cumulative count since ``since``):

* :func:`constant_rate_forecast` -- the fit period's mean daily rate; daily counts negative
  binomial with the dispersion estimated from the fit intervals by moments (Poisson when the
  intervals are under-dispersed).
* :func:`random_walk_forecast` -- a weekly random walk of the log rate starting from the last fit
  interval's rate, innovation s.d. from the changes of the intervals' log rates (less their
  Poisson sampling noise), daily counts negative binomial with the constant model's dispersion.

Both return Monte-Carlo samples (n, len(dates)) of cumulative counts, deterministic in the seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

LEVEL = 0.9  # central predictive interval used for coverage


# --------------------------------------------------------------------------- scores


def _targets(samples: Any) -> tuple[np.ndarray, bool]:
    """Samples as (targets, n) floats; whether the input was a single target."""
    x = np.asarray(samples, dtype=float)
    if x.ndim == 1:
        return x[None, :], True
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"samples must have shape (n,) or (targets, n) with n >= 1, got {x.shape}")
    return x, False


def _out(values: np.ndarray, single: bool) -> Any:
    return float(values[0]) if single else values


def _bounds(low: Any, high: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    lo = np.broadcast_to(np.asarray(low, dtype=float), (k,))
    hi = np.broadcast_to(np.asarray(high, dtype=float), (k,))
    if np.any(lo > hi):
        raise ValueError("every interval needs low <= high")
    return lo, hi


def log_score(samples: Any, low: Any, high: Any) -> Any:
    """``-log P(low <= X <= high)`` with the add-one-half estimate ``(m + 1/2) / (n + 1)``."""
    x, single = _targets(samples)
    lo, hi = _bounds(low, high, len(x))
    m = ((x >= lo[:, None]) & (x <= hi[:, None])).sum(axis=1)
    return _out(-np.log((m + 0.5) / (x.shape[1] + 1.0)), single)


def _spread(x: np.ndarray) -> np.ndarray:
    """``E|X - X'| / 2`` of each row's empirical distribution, from the sorted sample."""
    n = x.shape[1]
    s = np.sort(x, axis=1)
    w = 2.0 * np.arange(1, n + 1) - n - 1
    return (s * w).sum(axis=1) / n**2


def crps(samples: Any, y: Any) -> Any:
    """Sample CRPS against exact observations (one per target)."""
    x, single = _targets(samples)
    yy = np.broadcast_to(np.asarray(y, dtype=float), (len(x),))
    return _out(np.abs(x - yy[:, None]).mean(axis=1) - _spread(x), single)


def _abs_to_integers(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``mean over integers y in lo..hi of |x - y|`` in closed form (x: (k, n); lo, hi: (k,))."""
    a, b = lo[:, None], hi[:, None]
    m = b - a + 1
    # integers y <= x in [a, b]: a .. c with c = clip(floor(x), a - 1, b)
    c = np.clip(np.floor(x), a - 1, b)
    k_le = c - a + 1
    sum_le = (a + c) * k_le / 2.0
    sum_all = (a + b) * m / 2.0
    return (k_le * x - sum_le + (sum_all - sum_le) - (m - k_le) * x) / m


def crps_interval(samples: Any, low: Any, high: Any) -> Any:
    """The CRPS averaged over an observation uniform on the integers ``low..high`` (module docstring)."""
    x, single = _targets(samples)
    lo, hi = _bounds(np.floor(np.asarray(low, float) + 1e-9), np.floor(np.asarray(high, float) + 1e-9), len(x))
    if np.any(~np.isfinite(lo) | ~np.isfinite(hi)):
        raise ValueError("crps_interval needs finite bounds (an open bound has no uniform observation)")
    return _out(_abs_to_integers(x, lo, hi).mean(axis=1) - _spread(x), single)


def covered(samples: Any, low: Any, high: Any, level: float = LEVEL) -> Any:
    """Whether the observed interval overlaps the central ``level`` predictive interval."""
    x, single = _targets(samples)
    lo, hi = _bounds(low, high, len(x))
    q = np.quantile(x, [(1 - level) / 2, (1 + level) / 2], axis=1)
    return _out((hi >= q[0]) & (lo <= q[1]), single)


def score_table(forecasts: Iterable[dict[str, Any]] | pd.DataFrame, level: float = LEVEL) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score predictive samples against interval observations.

    ``forecasts``: records (or a frame) with ``model``, ``target``, ``samples`` (1-d array),
    ``obs_low``, ``obs_high``. Returns a tidy table (model, target, obs_low, obs_high, median, q05,
    q95, log_score, crps, covered_90) and a summary by model (targets, mean log score, mean CRPS,
    coverage share), models in the order first given.
    """
    records = forecasts.to_dict(orient="records") if isinstance(forecasts, pd.DataFrame) else list(forecasts)
    if not records:
        raise ValueError("no forecasts to score")
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    cov = f"covered_{round(level * 100)}"
    rows = []
    for r in records:
        x = np.asarray(r["samples"], dtype=float).ravel()
        lo, hi = float(r["obs_low"]), float(r["obs_high"])
        q = np.quantile(x, [lo_q, 0.5, hi_q])
        rows.append({
            "model": r["model"], "target": r["target"], "obs_low": lo, "obs_high": hi,
            "median": q[1], f"q{round(lo_q * 100):02d}": q[0], f"q{round(hi_q * 100):02d}": q[2],
            "log_score": log_score(x, lo, hi), "crps": crps_interval(x, lo, hi), cov: bool(covered(x, lo, hi, level)),
        })
    table = pd.DataFrame(rows)
    g = table.groupby("model", sort=False)
    summary = pd.DataFrame({
        "targets": g.size(), "log_score": g.log_score.mean(), "crps": g.crps.mean(), cov: g[cov].mean(),
    }).reset_index()
    return table, summary


# --------------------------------------------------------------------------- fit intervals


def _day(x: Any) -> dt.date:
    return pd.Timestamp(x).date()


def fit_intervals(tallies: pd.DataFrame, since: Any) -> pd.DataFrame:
    """Interval counts between running tallies.

    ``tallies``: columns ``date`` and ``count`` (cumulative since ``since``, day ``date`` included).
    The first interval runs from ``since``; later ones from the day after the previous tally.
    Returns columns start, end, days, count, rate (per day).
    """
    if not {"date", "count"} <= set(tallies.columns):
        raise ValueError(f"tallies need columns 'date' and 'count', got {list(tallies.columns)}")
    t = tallies[["date", "count"]].copy()
    t["date"] = [_day(d) for d in t["date"]]
    t = t.sort_values("date", ignore_index=True)
    start0 = _day(since)
    if len(t) == 0 or t["date"].iloc[0] < start0:
        raise ValueError("tallies must be non-empty and dated on or after `since`")
    counts = t["count"].to_numpy(float)
    if np.any(np.diff(counts) < 0) or counts[0] < 0:
        raise ValueError("cumulative tallies must not decrease")
    starts = [start0] + [d + dt.timedelta(days=1) for d in t["date"].iloc[:-1]]
    days = np.array([(e - s).days + 1 for s, e in zip(starts, t["date"])], dtype=float)
    if np.any(days < 1):
        raise ValueError("tallies must have distinct dates")
    inc = np.diff(counts, prepend=0.0)
    return pd.DataFrame({"start": starts, "end": list(t["date"]), "days": days, "count": inc, "rate": inc / days})


def nb_dispersion(counts: np.ndarray, days: np.ndarray) -> float:
    """Size k of iid negative-binomial daily counts (interval of L days: mean rL, var rL + r^2 L / k),
    by moments around the pooled rate; ``inf`` (Poisson) when the intervals are not over-dispersed."""
    counts, days = np.asarray(counts, float), np.asarray(days, float)
    rate = counts.sum() / days.sum()
    if rate <= 0 or len(counts) < 2:
        return float("inf")
    mu = rate * days
    excess = ((counts - mu) ** 2 - mu).sum() * len(counts) / (len(counts) - 1)
    return float(rate**2 * days.sum() / excess) if excess > 0 else float("inf")


@dataclass(frozen=True)
class NaiveFit:
    """What a naive forecast learned from the fit period."""

    rate: float  # per day: mean (constant) or last interval's (random walk)
    dispersion: float  # NB size k of daily counts; inf = Poisson
    sigma_week: float  # s.d. of the weekly log-rate innovation (0 for the constant rate)
    fit_end: dt.date
    count_at_end: float  # cumulative count at fit_end (since the tallies' origin)
    origin: dt.date


def fit_constant(tallies: pd.DataFrame, since: Any) -> NaiveFit:
    iv = fit_intervals(tallies, since)
    return NaiveFit(float(iv["count"].sum() / iv["days"].sum()), nb_dispersion(iv["count"], iv["days"]), 0.0,
                    iv["end"].iloc[-1], float(iv["count"].sum()), _day(since))


def fit_random_walk(tallies: pd.DataFrame, since: Any) -> NaiveFit:
    """Log rates of the intervals (counts + 1/2 to keep empty intervals finite); the innovation
    variance per week is the mean of squared changes over the gap between interval midpoints, less
    the Poisson noise of the two log rates (about 1/count each), floored at 0."""
    iv = fit_intervals(tallies, since)
    const = fit_constant(tallies, since)
    c = iv["count"].to_numpy(float) + 0.5
    logr = np.log(c / iv["days"].to_numpy(float))
    mid = np.array([(pd.Timestamp(s) - pd.Timestamp(since)).days + d / 2 for s, d in zip(iv["start"], iv["days"])])
    if len(iv) >= 2:
        gap = np.diff(mid) / 7.0
        var = (np.diff(logr) ** 2 - 1 / c[1:] - 1 / c[:-1]) / gap
        sigma = float(np.sqrt(max(var.mean(), 0.0)))
    else:
        sigma = 0.0
    return NaiveFit(float(np.exp(logr[-1])), const.dispersion, sigma, const.fit_end, const.count_at_end, const.origin)


# --------------------------------------------------------------------------- simulation


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed))


def _counts(rng: np.random.Generator, rate: np.ndarray, k: float) -> np.ndarray:
    """Daily counts with mean ``rate`` (any shape): NB of size k, or Poisson for k = inf."""
    if not np.isfinite(k):
        return rng.poisson(rate).astype(float)
    return rng.negative_binomial(k, k / (k + rate)).astype(float)


def _cumulative(fit: NaiveFit, daily: np.ndarray, dates: Sequence[Any], since: Any) -> np.ndarray:
    """Cumulative counts from ``since`` to each date: the observed part up to fit_end (known only
    when ``since`` is the tallies' origin) plus simulated days after fit_end."""
    since_d = _day(since)
    ends = [_day(d) for d in dates]
    first = fit.fit_end + dt.timedelta(days=1)
    if since_d <= fit.fit_end and since_d != fit.origin:
        raise ValueError(f"`since` {since_d} falls inside the fit period: use the tallies' origin {fit.origin} or a day after {fit.fit_end}")
    if any(e < max(first, since_d) for e in ends):
        raise ValueError(f"forecast dates must be after the fit period ({fit.fit_end}) and on or after `since`")
    cum = np.concatenate([np.zeros((daily.shape[0], 1)), np.cumsum(daily, axis=1)], axis=1)
    skip = max((since_d - first).days, 0)
    base = fit.count_at_end if since_d <= fit.fit_end else 0.0
    return np.stack([base + cum[:, (e - first).days + 1] - cum[:, skip] for e in ends], axis=1)


def _horizon(fit: NaiveFit, dates: Sequence[Any]) -> int:
    return max((_day(d) - fit.fit_end).days for d in dates)


def constant_rate_forecast(tallies: pd.DataFrame, dates: Sequence[Any], since: Any, n: int = 10_000, seed: int = 0,
                           origin: Any | None = None) -> np.ndarray:
    """Samples (n, len(dates)) of cumulative counts from ``since`` at ``dates`` under the fit
    period's constant mean rate with NB (or Poisson) daily counts. ``origin``: the day the
    tallies count from (default ``since``)."""
    fit = fit_constant(tallies, since if origin is None else origin)
    daily = _counts(_rng(seed), np.full((n, _horizon(fit, dates)), fit.rate), fit.dispersion)
    return _cumulative(fit, daily, dates, since)


def random_walk_forecast(tallies: pd.DataFrame, dates: Sequence[Any], since: Any, n: int = 10_000, seed: int = 0,
                         origin: Any | None = None) -> np.ndarray:
    """Samples (n, len(dates)) of cumulative counts under a weekly log-rate random walk from the
    last fit interval's rate (one innovation per 7 days, the first at the start), NB daily counts."""
    fit = fit_random_walk(tallies, since if origin is None else origin)
    horizon = _horizon(fit, dates)
    rng = _rng(seed)
    weeks = -(-horizon // 7)
    logr = np.log(fit.rate) + np.cumsum(rng.normal(0.0, fit.sigma_week, (n, weeks)), axis=1)
    rate = np.repeat(np.exp(logr), 7, axis=1)[:, :horizon]
    return _cumulative(fit, _counts(rng, rate, fit.dispersion), dates, since)


NAIVE_FORECASTS = {"constant rate": constant_rate_forecast, "NB random walk": random_walk_forecast}


# --------------------------------------------------------------------------- rolling-origin scoring
# (experiments/analysis/rolling.py): mid PIT, censored reports, and the four naive forecasters


def pit_mid(samples: Any, low: Any, high: Any) -> Any:
    """Mid PIT of a discrete count: ``P(X < low) + P(low <= X <= high) / 2`` under the sample.

    For an exact count (``low == high == y``) this is the mid-distribution PIT ``F(y - 1) + P(X = y) / 2``
    (Czado, Gneiting & Held 2009 use its randomized form; the mid value is its expectation and is
    deterministic); an interval report puts the observation in the middle of its mass."""
    x, single = _targets(samples)
    lo, hi = _bounds(low, high, len(x))
    below = (x < lo[:, None]).mean(axis=1)
    inside = ((x >= lo[:, None]) & (x <= hi[:, None])).mean(axis=1)
    return _out(below + inside / 2.0, single)


def score_report(samples: Any, low: float, high: float, bound: str = "exact") -> dict[str, float]:
    """CRPS, log score and mid PIT of one report (an increment) under a predictive sample.

    An exact count or a two-sided interval ("about N": ``low..high``) gets the interval CRPS
    (:func:`crps_interval`, the exact sample CRPS when ``low == high``), the log score of the interval
    and the mid PIT. A lower bound ("more than N": ``bound == 'more_than'``, ``low`` = N + 1, no upper
    end) is scored by the log score of ``P(X >= low)`` only: its CRPS and PIT need the count's
    position inside an unbounded interval, which the report does not give, so both are NaN."""
    x = np.asarray(samples, dtype=float).ravel()
    if bound == "more_than":
        return {"crps": float("nan"), "log_score": float(log_score(x, low, np.inf)), "pit": float("nan")}
    return {"crps": float(crps_interval(x, low, high)), "log_score": float(log_score(x, low, high)),
            "pit": float(pit_mid(x, low, high))}


def _naive(fit: NaiveFit, rate: float, k: float, dates: Sequence[Any], since: Any, n: int, seed: int) -> np.ndarray:
    daily = _counts(_rng(seed), np.full((n, _horizon(fit, dates)), rate), k)
    return _cumulative(fit, daily, dates, since)


def poisson_rate_forecast(tallies: pd.DataFrame, dates: Sequence[Any], since: Any, n: int = 10_000, seed: int = 0,
                          origin: Any | None = None) -> np.ndarray:
    """The fit period's mean daily rate with Poisson daily counts."""
    fit = fit_constant(tallies, since if origin is None else origin)
    return _naive(fit, fit.rate, float("inf"), dates, since, n, seed)


def nb_rate_forecast(tallies: pd.DataFrame, dates: Sequence[Any], since: Any, n: int = 10_000, seed: int = 0,
                     origin: Any | None = None) -> np.ndarray:
    """The fit period's mean daily rate with negative-binomial daily counts (size by moments,
    :func:`nb_dispersion`; Poisson when the fit intervals are not over-dispersed)."""
    return constant_rate_forecast(tallies, dates, since, n=n, seed=seed, origin=origin)


def last_increment_forecast(tallies: pd.DataFrame, dates: Sequence[Any], since: Any, n: int = 10_000, seed: int = 0,
                            origin: Any | None = None) -> np.ndarray:
    """The last fit interval's daily rate repeated ("the next weeks as the last"), Poisson daily counts
    (a point forecast would have an infinite log score whenever it misses)."""
    fit = fit_constant(tallies, since if origin is None else origin)
    last = fit_intervals(tallies, since if origin is None else origin).iloc[-1]
    return _naive(fit, float(last["rate"]), float("inf"), dates, since, n, seed)


MODEL = "escalation model"  # the model's name in the rolling-origin score tables
REFERENCE = "constant rate, Poisson"  # the naive forecaster the model must beat (issue 18)
PIT_BAND = (0.1, 0.9)  # every increment's PIT should lie inside

NAIVE_FORECASTERS = {
    REFERENCE: poisson_rate_forecast,
    "constant rate, NB": nb_rate_forecast,
    "NB random walk": random_walk_forecast,
    "last increment": last_increment_forecast,
}


__all__ = [
    "LEVEL", "MODEL", "NAIVE_FORECASTERS", "PIT_BAND", "REFERENCE", "NAIVE_FORECASTS", "NaiveFit", "constant_rate_forecast", "covered", "crps", "crps_interval",
    "fit_constant", "fit_intervals", "fit_random_walk", "last_increment_forecast", "log_score", "nb_dispersion",
    "nb_rate_forecast", "pit_mid", "poisson_rate_forecast", "random_walk_forecast", "score_report", "score_table",
]
