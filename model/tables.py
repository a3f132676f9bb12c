"""The tables a stepped model gives: daily (replicate x date), summary (replicate) and groups
(replicate x date x group), built from the records the actors wrote (``model.records``, ``model.groups.records``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from model.outputs import COUNT_COLUMNS, DAILY_COLUMNS, GROUP_COLUMNS, QUIET_DAYS


class Tables:
    """Mixin of :class:`~model.model.EscalationModel`: its output tables."""

    records: dict[str, np.ndarray]

    @property
    def group_records(self) -> dict[str, np.ndarray]:
        return self.groups.records

    def summary_arrays(self) -> dict[str, np.ndarray]:
        """Per-replicate outcomes over the days stepped so far (arrays of shape (R,))."""
        T = self.day
        rec = {c: v[:T] for c, v in self.records.items()}
        out: dict[str, np.ndarray] = {c: rec[c].sum(axis=0) for c in COUNT_COLUMNS if c in rec}
        out["max_escalation_level"] = rec["escalation_level"].max(axis=0) if T else np.zeros(self.R, dtype=np.int64)
        out["mean_escalation_level"] = rec["escalation_level"].mean(axis=0) if T else np.zeros(self.R)
        out["first_us_death_day"] = _first_true(rec["us_killed"] > 0)
        out["war"] = rec["war"].any(axis=0) if T else np.zeros(self.R, dtype=bool)
        out["first_war_day"] = _first_true(rec["war"].astype(bool))
        out["max_withdrawal_pressure"] = rec["iraq_withdrawal_pressure"].max(axis=0) if T else np.zeros(self.R)
        out["withdrawal_demanded"] = out["max_withdrawal_pressure"] >= self.config.iraq.withdrawal_threshold
        out["attacks_stop_day"] = _quiet_from(rec["attacks_total"], QUIET_DAYS)
        for actor in self.actor_modules:  # an actor's own per-replicate outcomes (model/actors/__init__.py)
            if hasattr(actor, "summary"):
                out.update(actor.summary(self))
        return out

    def summary_frame(self) -> pd.DataFrame:
        """One row per replicate (day numbers turned into dates, nulls where it never happened)."""
        s = self.summary_arrays()
        df = pd.DataFrame({"replicate": self.replicate_ids(), **s})
        for col, new in (("first_us_death_day", "first_us_death_date"), ("first_war_day", "first_war_date")):
            df[new] = self._day_to_date(df.pop(col))
        df["attacks_stop_date"] = self._day_to_date(df["attacks_stop_day"])
        df["attacks_stop_day"] = df["attacks_stop_day"].astype("float64").where(df["attacks_stop_day"] >= 0)
        return df

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


def _first_true(x: np.ndarray) -> np.ndarray:
    """Index of the first True along axis 0, -1 where none (x: (T, R))."""
    if x.shape[0] == 0:
        return np.full(x.shape[1], -1, dtype=np.int64)
    return np.where(x.any(axis=0), x.argmax(axis=0), -1).astype(np.int64)


def _quiet_from(attacks: np.ndarray, quiet: int) -> np.ndarray:
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
