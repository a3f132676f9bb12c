"""Random draws with a fixed budget, so common random numbers stay paired.

Attack counts are drawn by inverting the Poisson CDF at uniforms that are drawn in a
fixed number per day. Two runs that share a seed but differ in policy then use the
same uniform for replicate k, group m, day t, and a higher rate can only give as many
or more attacks (monotone coupling), which keeps differences between policies paired.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

_NORMAL_ABOVE = 30.0  # rates above this use the (monotone) normal approximation


def poisson_inverse(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Poisson(lam) quantile at uniforms ``u`` (same shapes), vectorised.

    The CDF is summed term by term only where the uniform is still above it, so a day on which
    most rates are small costs about one pass over the array.
    """
    lam = np.asarray(lam, dtype=float)
    u = np.asarray(u, dtype=float)
    k = np.zeros(lam.shape, dtype=np.int64)
    big = lam > _NORMAL_ABOVE
    # above the switch, the exact quantile at the switch rate is a floor, so k never drops as lam crosses it
    small_lam = np.where(big, _NORMAL_ABOVE, lam).reshape(-1)
    p = np.exp(-small_lam)
    active = np.flatnonzero(u.reshape(-1) > p)  # flat indices whose uniform is above the CDF so far
    uu, ll, pp, cdf = u.reshape(-1)[active], small_lam[active], p[active], p[active]
    flat_k = k.reshape(-1)
    i = 0
    while active.size and i <= 200:
        i += 1
        pp = pp * ll / i
        grown = cdf + pp
        flat_k[active] = i
        # a CDF that rounding keeps below u stops where it stops growing: the tail's last representable step,
        # which moves up with the rate (a fixed cap of 200 terms would put a small rate above a larger one)
        still = (uu > grown) & (grown > cdf)
        cdf = grown
        active, uu, ll, pp, cdf = active[still], uu[still], ll[still], pp[still], cdf[still]
    if big.any():
        approx = np.rint(lam + np.sqrt(lam) * ndtri(np.clip(u, 1e-12, 1 - 1e-12)))
        k = np.where(big, np.maximum(approx.astype(np.int64), k), k)
    return k


def poisson_where_positive(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    """``rng.poisson(lam)``, with draws made only where lam > 0: the same numbers (numpy returns 0 for
    lam = 0 without drawing), at a cost proportional to the cells that can have any."""
    lam = np.asarray(lam, dtype=float)
    out = np.zeros(lam.shape, dtype=np.int64)
    where = np.flatnonzero(lam)
    out.reshape(-1)[where] = rng.poisson(lam.reshape(-1)[where])
    return out


def decay_factor(half_life: float) -> float:
    """Per-day multiplier for a quantity with the given half-life in days."""
    return np.power(0.5, 1.0 / np.asarray(half_life, dtype=float))

