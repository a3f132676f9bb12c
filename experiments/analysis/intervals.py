"""Bootstrap intervals of means, per sweep point or lever setting (issue 20: "sweeps with intervals").

A vectorised percentile bootstrap (Efron & Tibshirani 1993, ch. 13): ``resamples`` resamples of the n
runs of a group, drawn once as a (resamples x n) matrix of counts (how often each run is drawn), so the means of every
column (outcomes, or days of a curve) of one group come from ONE matrix product and share their
resamples. The seed is fixed (``SEED``; each group resampled from ``seed`` itself, whatever the order of
the groups), so the same table always gives the same intervals. ``scipy.stats.bootstrap`` computes the
same percentile interval one statistic at a time; the test checks the two agree and that the interval
covers a known mean at its nominal rate.

A share (P(war): the mean of a 0/1 outcome) gets the Wilson score interval instead (Wilson 1927; as
the phase map's cells): the bootstrap of 0/1 runs is close to it, but collapses to the point [0, 0]
when no run of the sample is at war, while Wilson's says how high P(war) could still be (about 3.7/n
at 95 %). :func:`mean_interval` chooses: Wilson for 0/1 values, the bootstrap otherwise.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

SEED = 20_240_213  # fixed: intervals are part of the tables
RESAMPLES = 2000
CONFIDENCE = 0.95
MAX_CELLS = 4_000_000  # resample-count matrix entries held at once (chunks of resamples beyond)


def bootstrap_means(values: np.ndarray, *, confidence: float = CONFIDENCE, resamples: int = RESAMPLES,
                    seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and percentile-bootstrap interval of each column of ``values`` (n runs x m columns, or n).

    Returns (mean, low, high), each of shape (m,) (or scalars for a 1-D input). NaNs are not allowed
    (drop them first). One run: the interval is NaN (nothing to resample)."""
    x = np.asarray(values, dtype=float)
    flat = x.ndim == 1
    x = x.reshape(len(x), -1)
    n, m = x.shape
    if n == 0:
        nan = np.full(m, np.nan)
        return (nan[0], nan[0], nan[0]) if flat else (nan, nan.copy(), nan.copy())
    mean = x.mean(axis=0)
    if n == 1:
        low = high = np.full(m, np.nan)
    else:
        rng = np.random.default_rng(seed)
        chunk = max(1, min(resamples, MAX_CELLS // n))
        means = np.empty((resamples, m))
        for start in range(0, resamples, chunk):
            b = min(chunk, resamples - start)
            idx = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
            counts = np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(float)
            means[start:start + b] = counts @ x / n
        alpha = (1 - confidence) / 2
        low, high = np.quantile(means, [alpha, 1 - alpha], axis=0)
        const = np.ptp(x, axis=0) == 0  # no spread: the interval is the value (no rounding noise)
        low, high = np.where(const, mean, low), np.where(const, mean, high)
    if flat:
        return float(mean[0]), float(low[0]), float(high[0])
    return mean, low, high


def wilson_interval(successes: np.ndarray, n: np.ndarray | int, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a share from ``successes`` of ``n`` runs (honest at 0 and n)."""
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2))
    n = np.asarray(n, dtype=float)
    p = np.asarray(successes, dtype=float) / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    return np.minimum(low, p), np.maximum(high, p)  # contains the share exactly (no rounding at 0 and 1)


def is_share(values: np.ndarray) -> bool:
    """Whether the values are 0/1 (a share's runs)."""
    x = np.asarray(values, dtype=float)
    return x.size > 0 and bool(np.isin(x, (0.0, 1.0)).all())


def mean_interval(values: np.ndarray, *, confidence: float = CONFIDENCE, resamples: int = RESAMPLES, seed: int = SEED):
    """Mean and interval of each column of ``values`` (runs x columns, or runs): Wilson for 0/1 values
    (a share), else the percentile bootstrap (:func:`bootstrap_means`)."""
    x = np.asarray(values, dtype=float)
    if len(x) > 1 and is_share(x):
        mean = x.mean(axis=0)
        low, high = wilson_interval(x.sum(axis=0), len(x), confidence)
        return (float(mean), float(low), float(high)) if x.ndim == 1 else (mean, low, high)
    return bootstrap_means(x, confidence=confidence, resamples=resamples, seed=seed)


def interval_table(df: pd.DataFrame, by: str | list[str], outcomes: Iterable[str], *, confidence: float = CONFIDENCE,
                   resamples: int = RESAMPLES, seed: int = SEED) -> pd.DataFrame:
    """One row per (group, outcome): ``by`` columns, outcome, n (runs), mean, ci_low, ci_high, method
    (``bootstrap`` or ``wilson`` for a share, :func:`mean_interval`).

    Rows with a missing value of an outcome are left out of that outcome's n. Groups keep their order of
    first appearance."""
    by = [by] if isinstance(by, str) else list(by)
    outcomes = [o for o in outcomes if o in df]
    rows = []
    for key, g in df.groupby(by, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        for o in outcomes:
            v = pd.to_numeric(g[o], errors="coerce").astype(float).dropna().to_numpy()
            mean, low, high = mean_interval(v, confidence=confidence, resamples=resamples, seed=seed)
            rows.append({**dict(zip(by, key)), "outcome": o, "n": len(v), "mean": mean, "ci_low": low, "ci_high": high,
                         "method": "wilson" if len(v) > 1 and is_share(v) else "bootstrap"})
    return pd.DataFrame(rows, columns=[*by, "outcome", "n", "mean", "ci_low", "ci_high", "method"])


def curve_intervals(values: np.ndarray, **kw) -> pd.DataFrame:
    """Mean curve and its pointwise band (:func:`mean_interval`): ``values`` is (runs x days); rows per day."""
    mean, low, high = mean_interval(values, **kw)
    return pd.DataFrame({"mean": mean, "ci_low": low, "ci_high": high})


__all__ = ["CONFIDENCE", "RESAMPLES", "SEED", "bootstrap_means", "curve_intervals", "interval_table", "is_share", "mean_interval",
           "wilson_interval"]
