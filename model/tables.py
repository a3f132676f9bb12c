"""The tables a stepped model gives: daily (replicate x date), summary (replicate) and groups
(replicate x date x group), built from the records the actors wrote (``model.records``, ``model.groups.records``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from model import battlespace, ladder
from model.outputs import COUNT_COLUMNS, DAILY_COLUMNS, GROUP_COLUMNS, SUMMARY_COLUMNS


class Tables:
    """Mixin of :class:`~model.model.EscalationModel`: its output tables."""

    records: dict[str, np.ndarray]

    @property
    def group_records(self) -> dict[str, np.ndarray]:
        return self.groups.records

    def summary_arrays(self) -> dict[str, np.ndarray]:
        """Per-replicate outcomes over the days stepped so far (arrays of shape (R,)): each count column's total,
        then what the ladder, the battlespace and each actor summarise (their ``summary(model)``). ``*_day``
        entries are day numbers, -1 where it never happened."""
        rec = {c: v[: self.day] for c, v in self.records.items()}
        out: dict[str, np.ndarray] = {c: rec[c].sum(axis=0) for c in COUNT_COLUMNS if c in rec}
        for part in (ladder, battlespace, *self.actor_modules):
            if hasattr(part, "summary"):
                out.update(part.summary(self))
        return out

    def summary_frame(self) -> pd.DataFrame:
        """One row per replicate, columns in the declared order (model/outputs.py): a ``*_date`` column is its
        ``*_day`` entry as a date, null where it never happened; a declared ``*_day`` column is NaN there."""
        s = self.summary_arrays()
        data: dict[str, Any] = {"replicate": self.replicate_ids()}
        for name in SUMMARY_COLUMNS:
            if name in s and name.endswith("_day"):
                data[name] = pd.Series(s[name]).astype("float64").where(s[name] >= 0)
            elif name in s:
                data[name] = s[name]
            elif name.endswith("_date") and name.removesuffix("_date") + "_day" in s:
                data[name] = self._day_to_date(pd.Series(s[name.removesuffix("_date") + "_day"]))
        return pd.DataFrame(data)

    def daily_columns(self, days: slice = slice(None)) -> dict[str, Any]:
        """The daily table's columns for a range of the days stepped (rows: day, then replicate)."""
        t0, t1, _ = days.indices(self.day)
        n, R = max(t1 - t0, 0), self.R
        data: dict[str, Any] = {
            "replicate": np.tile(self.replicate_ids(), n),
            "day": np.repeat(np.arange(t0, t0 + n, dtype=np.int64), R),
            "date": np.repeat(np.array(self.dates[t0 : t0 + n], dtype="datetime64[s]"), R),
        }
        for c in DAILY_COLUMNS:
            if c in self.records:  # (an optional actor that is off records nothing)
                data[c] = self.records[c][t0 : t0 + n].reshape(-1)
        return data

    def group_columns(self, days: slice = slice(None)) -> dict[str, Any]:
        """The per-group table's columns for a range of the days stepped (rows: day, group, replicate);
        ``group`` is categorical (codes, not one string per row)."""
        t0, t1, _ = days.indices(self.day)
        n, M, R = max(t1 - t0, 0), len(self.militias), self.R
        codes = np.tile(np.repeat(np.arange(M, dtype=np.int8), R), n)
        data: dict[str, Any] = {
            "replicate": np.tile(self.replicate_ids(), n * M),
            "day": np.repeat(np.arange(t0, t0 + n, dtype=np.int64), M * R),
            "date": np.repeat(np.array(self.dates[t0 : t0 + n], dtype="datetime64[s]"), M * R),
            "group": pd.Categorical.from_codes(codes, [m.short for m in self.militias]),
        }
        for c in GROUP_COLUMNS:
            data[c] = self.group_records[c][t0 : t0 + n].reshape(-1)
        return data

    def daily_frame(self) -> pd.DataFrame:
        """One row per (replicate, date), long form."""
        return pd.DataFrame(self.daily_columns())

    def groups_frame(self) -> pd.DataFrame:
        """One row per (replicate, date, group): attacks, fighters killed, suspended, stock."""
        df = pd.DataFrame(self.group_columns())
        df["group"] = df["group"].astype(str)
        return df

    def replicate_ids(self) -> np.ndarray:
        return np.arange(self.replicate_offset, self.replicate_offset + self.R, dtype=np.int64)

    def _day_to_date(self, days: pd.Series) -> pd.Series:
        dates = pd.to_datetime(pd.Series(self.dates))
        valid = days >= 0
        out = pd.Series(pd.NaT, index=days.index, dtype="datetime64[ns]")
        out[valid] = dates.iloc[days[valid].astype(int)].to_numpy()
        return out
