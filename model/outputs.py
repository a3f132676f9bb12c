"""Every output column, declared once: name, numpy dtype, kind, meaning and unit.

The model records from these declarations, the runner writes its tables with these dtypes, the
analyses take their outcome lists and labels from them and the README's output tables are
generated from them (``python -m experiments.cli.docs``; tests/test_outputs.py checks the README).

Kinds: ``key`` columns identify a row; ``count`` columns count events of a day (they add up over
days, so the summary holds their totals); ``state`` columns are a level read at the end of a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from model.ladder import LADDER_MAX

KINDS = ("key", "count", "state")
QUIET_DAYS = 14  # attacks have "stopped" once this many days pass without one (assumption)


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


def _key(name: str, dtype: Any, meaning: str, unit: str = "") -> Column:
    return Column(name, dtype, "key", meaning, unit)


SCENARIO = _key("scenario", object, "scenario name (sweep tables add `point` and the lever columns)")
REPLICATE = _key("replicate", np.int64, "replicate number within the run (0 to replicates - 1)")
DAY = _key("day", np.int64, "days since the scenario's start date (0 = start)", "days")
DATE = _key("date", "datetime64[s]", "calendar date of the day")

DAILY: tuple[Column, ...] = (
    SCENARIO, REPLICATE, DAY, DATE,
    Column("attacks_iraq", np.int32, "count", "militia attacks on U.S. forces in Iraq", "attacks"),
    Column("attacks_syria", np.int32, "count", "militia attacks on U.S. forces in Syria", "attacks"),
    Column("attacks_jordan", np.int32, "count", "militia attacks on U.S. forces in Jordan", "attacks"),
    Column("attacks_total", np.int32, "count", "militia attacks on U.S. forces, all countries", "attacks"),
    Column("us_strikes_syria", np.int32, "count", "targets struck by U.S. strikes in Syria", "targets"),
    Column("us_strikes_iraq", np.int32, "count", "targets struck by U.S. strikes in Iraq", "targets"),
    Column("us_injured", np.int32, "count", "U.S. personnel injured", "persons"),
    Column("us_killed", np.int32, "count", "U.S. personnel killed", "persons"),
    Column("militia_killed", np.int32, "count", "militia fighters killed by U.S. strikes", "persons"),
    Column("irgc_killed", np.int32, "count", "IRGC personnel killed by U.S. strikes", "persons"),
    Column("leaders_killed", np.int32, "count", "militia leaders killed by U.S. strikes", "persons"),
    Column("escalation_level", np.int8, "state", f"escalation ladder level (0-{LADDER_MAX}): highest rung of the last "
           "`ladder.memory_days` days", "level"),
    Column("war", np.bool_, "state", "a direct U.S.-Iran exchange has happened (absorbing)"),
    Column("iraq_withdrawal_pressure", np.float32, "state", "Baghdad's pressure for a U.S. withdrawal", "index"),
    Column("iraq_pressure", np.float32, "state", "Baghdad's pressure on the groups to stop", "0-1"),
    Column("iran_restraint", np.float32, "state", "Iran's restraint of the groups", "0-1"),
    Column("us_domestic_pressure", np.float32, "state", "U.S. domestic pressure from casualties (decaying)", "index"),
    Column("groups_suspended", np.int8, "state", "groups that have suspended their attacks", "groups"),
)

_TOTAL_LABELS = {
    "attacks_total": "Total attacks", "us_injured": "U.S. injured", "us_killed": "U.S. killed",
    "militia_killed": "Militia fighters killed", "us_strikes_iraq": "U.S. strike targets in Iraq",
    "us_strikes_syria": "U.S. strike targets in Syria",
}

SUMMARY: tuple[Column, ...] = (
    SCENARIO, REPLICATE,
    *(Column(c.name, np.int64, "count", f"total over the run: {c.meaning}", c.unit, _TOTAL_LABELS.get(c.name, ""))
      for c in DAILY if c.kind == "count"),
    Column("max_escalation_level", np.int8, "state", "highest escalation level reached", "level", "Maximum escalation level"),
    Column("mean_escalation_level", np.float64, "state", "mean daily escalation level", "level", "Mean escalation level"),
    Column("war", np.bool_, "state", "a direct U.S.-Iran exchange happened", "", "P(direct U.S.-Iran war)"),
    Column("max_withdrawal_pressure", np.float32, "state", "highest Iraqi pressure for a U.S. withdrawal", "index"),
    Column("withdrawal_demanded", np.bool_, "state", "the withdrawal pressure reached `iraq.withdrawal_threshold`", "",
           "P(Iraqi withdrawal pressure past threshold)"),
    Column("attacks_stop_day", np.float64, "state", f"first day after the first attack from which no attack happens for "
           f"{QUIET_DAYS} days (or to the end, if at least that many remain); NaN if attacks never stop", "days", outcome=False),
    Column("first_us_death_date", "datetime64[ns]", "state", "date of the first U.S. death (null if none)"),
    Column("first_war_date", "datetime64[ns]", "state", "date of the first direct U.S.-Iran exchange (null if none)"),
    Column("attacks_stop_date", "datetime64[ns]", "state", "date of `attacks_stop_day` (null if attacks never stop)"),
)

GROUPS: tuple[Column, ...] = (
    SCENARIO, REPLICATE, DAY, DATE,
    _key("group", object, "the group's short name"),
    Column("attacks", np.int32, "count", "attacks launched by the group", "attacks"),
    Column("killed", np.int32, "count", "the group's fighters killed by U.S. strikes", "persons"),
    Column("suspended", np.bool_, "state", "the group has suspended its attacks"),
    Column("stock", np.float32, "state", "the group's weapons stock, all weapons", "attack-equivalents"),
)

# per-replicate outcomes the analyses derive from the summary (never written by `escalation run`)
DERIVED: tuple[Column, ...] = (
    Column("attacks_stopped", np.bool_, "state", f"attacks stopped: a quiet spell of {QUIET_DAYS} days began before the end",
           "", "P(attacks stop before the end)"),
    Column("days_until_stop", np.float64, "state", "`attacks_stop_day`, with never counted as the run's length "
           "(a lower bound where attacks never stopped)", "days", "Days until attacks stop (never = run length)",
           outcome=False),
    Column("us_strikes", np.int64, "count", "targets struck by U.S. strikes, Syria and Iraq (daily or total)", "targets",
           "U.S. strike targets", outcome=False),
)

# Columns of an optional actor: only in the tables of a scenario that enables it (the Houthis, model/actors/houthis.py:
# a ``houthis:`` block); without it the tables are exactly the columns above.
RED_SEA_DAILY: tuple[Column, ...] = (
    Column("ships_attacked", np.int32, "count", "Houthi attacks on commercial shipping, in the unit of the Pentagon/CENTCOM "
           "running count since Nov 19, 2023 (experiments/scenario/data/observed_red_sea.yaml, `definition`)", "attacks"),
    Column("warship_attacks", np.int32, "count", "Houthi attacks on U.S./coalition warships", "attacks"),
    Column("us_strikes_yemen", np.int32, "count", "targets struck by U.S./UK strikes in Yemen (waves and dynamic strikes)", "targets"),
    Column("houthi_launchers", np.float32, "state", "Houthi launchers left (launcher-equivalents)", "launchers"),
    Column("houthi_stock", np.float32, "state", "Houthi missiles, drones and boats in stock", "attack-equivalents"),
)
_RED_SEA_LABELS = {"ships_attacked": "Ships attacked (Red Sea)", "warship_attacks": "Attacks on warships (Red Sea)",
                   "us_strikes_yemen": "U.S./UK strike targets in Yemen"}
RED_SEA_SUMMARY: tuple[Column, ...] = tuple(
    Column(c.name, np.int64, "count", f"total over the run: {c.meaning}", c.unit, _RED_SEA_LABELS[c.name])
    for c in RED_SEA_DAILY if c.kind == "count")
OPTIONAL: dict[str, dict[str, tuple[Column, ...]]] = {"houthis": {"daily": RED_SEA_DAILY, "summary": RED_SEA_SUMMARY}}

TABLES: dict[str, tuple[Column, ...]] = {"daily": DAILY, "summary": SUMMARY, "groups": GROUPS}
ROW_PER = {"daily": "replicate x date", "summary": "replicate", "groups": "replicate x date x group"}

DAILY_COLUMNS = tuple(c.name for c in DAILY if c.kind != "key")  # what the model records per day
COUNT_COLUMNS = tuple(c.name for c in DAILY if c.kind == "count")  # cumulative sums make sense
GROUP_COLUMNS = tuple(c.name for c in GROUPS if c.kind != "key")
DTYPES: dict[str, dict[str, np.dtype]] = {t: {c.name: np.dtype(c.dtype) for c in cols} for t, cols in TABLES.items()}
for _actor in OPTIONAL.values():  # an optional actor's columns are written with their declared dtypes too
    for _t, _cols in _actor.items():
        DTYPES[_t].update({c.name: np.dtype(c.dtype) for c in _cols})
# summary columns (and derived ones) that serve as per-replicate outcomes of an analysis: numbers or flags
SUMMARY_OUTCOMES = tuple(c.name for c in SUMMARY + DERIVED if c.kind != "key" and c.outcome and np.dtype(c.dtype).kind in "biuf")
LABELS = {c.name: c.label or c.name for c in SUMMARY + DERIVED + RED_SEA_SUMMARY}
# the optional actors' per-replicate outcomes (in the summary only when the scenario enables the actor)
OPTIONAL_OUTCOMES = tuple(c.name for c in RED_SEA_SUMMARY)


def outcome_rows(names: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    """(column, label, "prob" | "mean") for each named summary or derived outcome."""
    by_name = {c.name: c for c in SUMMARY + DERIVED + RED_SEA_SUMMARY}
    return tuple((n, LABELS[n], "prob" if by_name[n].is_probability else "mean") for n in names)


def attacks_stopped(stop_day):
    """Whether attacks stopped, from ``attacks_stop_day`` (-1 in the model's arrays, NaN in the summary table: never)."""
    return stop_day >= 0


def days_until_stop(stop_day, n_days: int):
    """``attacks_stop_day`` of the summary table with never (NaN) counted as the run's length."""
    return stop_day.fillna(float(n_days))
