"""An output column's declaration: name, numpy dtype, kind, meaning and unit.

Each actor module declares the columns it records (``DAILY``, and ``GROUPS`` for the militias);
``model/outputs.py`` collects them through the actor registry into the published tables.
Kinds: ``key`` columns identify a row; ``count`` columns count events of a day (they add up over
days, so the summary holds their totals); ``state`` columns are a level read at the end of a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("key", "count", "state")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: Any  # numpy dtype of the recorded / written column (object: strings)
    kind: str  # one of KINDS
    meaning: str
    unit: str = ""
    label: str = ""  # short label in the analyses' tables and figures (summary outcomes)
    outcome: bool = True  # one of SUMMARY_OUTCOMES: a per-replicate number a sensitivity or sweep block may name

    @property
    def is_probability(self) -> bool:
        """Boolean per replicate: analyses report the share of replicates where it is true."""
        return np.dtype(self.dtype) == np.bool_


def key(name: str, dtype: Any, meaning: str, unit: str = "") -> Column:
    return Column(name, dtype, "key", meaning, unit)


def fits(values: np.ndarray, dtype, what: str) -> np.ndarray:
    """``values`` unchanged if they fit ``dtype``; otherwise a clear error (not a wrapped-around count): counts that
    a schema-valid scenario could push past their compact dtype's range are checked as they are recorded."""
    limit = np.iinfo(dtype).max
    if values.size and values.max() > limit:
        raise OverflowError(f"{what} exceeded {limit} (the {np.dtype(dtype).name} record); the scenario's rates are out of range")
    return values
