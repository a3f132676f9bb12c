"""Helpers shared by the batched agents, rules and model: every state is an array over R replicates."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np


def rowsum(a: np.ndarray) -> np.ndarray:
    """Sum over the last axis of an (R, 3) array; much faster than .sum(axis=1) for 3 columns."""
    return a[:, 0] + a[:, 1] + a[:, 2]


def column(x) -> np.ndarray:
    """A scalar or per-replicate parameter as a column, to broadcast against (R, k) arrays."""
    return np.asarray(x, dtype=float).reshape(-1, 1)


def stack_rows(values: list, replicates: int, width: int | None = None) -> np.ndarray:
    """Per-group values (scalars or (R,) arrays; or (k,) / (R, k) vectors when ``width`` is k) as one
    array with a group axis first: (G, 1[, k]) when no value varies by replicate, else (G, R[, k])."""
    arrs = [np.asarray(v, dtype=float) for v in values]
    plain = 0 if width is None else 1
    if all(a.ndim == plain for a in arrs):
        return np.stack(arrs)[:, None]
    shape = (replicates,) if width is None else (replicates, width)
    return np.stack([np.broadcast_to(a, shape) for a in arrs])


def vec(ns: SimpleNamespace, names: tuple[str, ...]) -> np.ndarray:
    """Stack per-country or per-weapon fields into shape (k,) or (R, k) when any is per-replicate."""
    return np.stack(np.broadcast_arrays(*[np.asarray(getattr(ns, n), dtype=float) for n in names]), axis=-1)


@dataclass
class StrikeOrder:
    """Targets the U.S. strikes today, per replicate (arrays of shape (R,))."""

    syria: np.ndarray
    iraq: np.ndarray
    irgc_share: np.ndarray
    leader: np.ndarray  # index of the group whose leader is targeted, -1 for none
    iran: np.ndarray  # strike on Iranian territory (raises Iran's war pressure)
    group: np.ndarray  # index of the group all targets are aimed at, -1 = split by U.S. blame

    @classmethod
    def none(cls, replicates: int) -> "StrikeOrder":
        return cls(
            syria=np.zeros(replicates, dtype=np.int64),
            iraq=np.zeros(replicates, dtype=np.int64),
            irgc_share=np.zeros(replicates),
            leader=np.full(replicates, -1, dtype=np.int64),
            iran=np.zeros(replicates, dtype=bool),
            group=np.full(replicates, -1, dtype=np.int64),
        )

    @property
    def total(self) -> np.ndarray:
        return self.syria + self.iraq


def first_true(x: np.ndarray) -> np.ndarray:
    """Index of the first True along axis 0, -1 where none (x: (T, R))."""
    if x.shape[0] == 0:
        return np.full(x.shape[1], -1, dtype=np.int64)
    return np.where(x.any(axis=0), x.argmax(axis=0), -1).astype(np.int64)


def quiet_from(attacks: np.ndarray, quiet: int) -> np.ndarray:
    """First day after the first attack from which no attack happens for ``quiet`` days (or to the end
    if at least ``quiet`` days remain); -1 where attacks never stop."""
    T, R = attacks.shape
    out = np.full(R, -1, dtype=np.int64)
    if T == 0:
        return out
    any_attack = attacks > 0
    first = np.where(any_attack.any(axis=0), any_attack.argmax(axis=0), T)
    # days to the next attack, counted backwards
    run = np.zeros((T + 1, R), dtype=np.int64)
    for t in range(T - 1, -1, -1):
        run[t] = np.where(any_attack[t], 0, run[t + 1] + 1)
    ok = (run[:T] >= quiet) & (np.arange(T)[:, None] > first[None, :])
    found = ok.any(axis=0)
    out[found] = ok.argmax(axis=0)[found]
    return out
