"""Every output column, declared once: name, numpy dtype, kind, meaning and unit.

Each actor module declares the daily columns it records (``DAILY``; ``model/actors/``), as do the battlespace
and the ladder; this module collects them into the published tables. The model records from these declarations, the runner writes its tables with these dtypes, the
analyses take their outcome lists and labels from them and the README's output tables are
generated from them (``python -m experiments.cli.docs``; tests/test_outputs.py checks the README).

Kinds: ``key`` columns identify a row; ``count`` columns count events of a day (they add up over
days, so the summary holds their totals); ``state`` columns are a level read at the end of a day.
"""

from __future__ import annotations

import numpy as np

from model import battlespace, ladder
from model.actors import ACTORS
from model.actors.militias import QUIET_DAYS
from model.columns import KINDS, Column, key as _key  # noqa: F401  (KINDS: re-exported)
from model.ladder import LADDER_MAX  # noqa: F401  (the analyses read the ladder's size from here)

SCENARIO = _key("scenario", object, "scenario name (sweep tables add `point` and the lever columns)")
REPLICATE = _key("replicate", np.int64, "replicate number within the run (0 to replicates - 1)")
DAY = _key("day", np.int64, "days since the scenario's start date (0 = start)", "days")
DATE = _key("date", "datetime64[s]", "calendar date of the day")

# the daily table's columns, as published: the first ones in this order (so tables stay byte-identical as
# columns move between modules), then any other actor's columns in registry order
PUBLISHED_ORDER = (
    "attacks_iraq", "attacks_syria", "attacks_jordan", "attacks_total", "us_strikes_syria", "us_strikes_iraq",
    "us_injured", "us_killed", "militia_killed", "irgc_killed", "leaders_killed", "escalation_level", "war",
    "iraq_withdrawal_pressure", "iraq_pressure", "iran_restraint", "us_domestic_pressure", "groups_suspended",
)
# who records which daily columns: each actor (model/actors/), the battlespace and the ladder
RECORDED_BY: dict[str, tuple[Column, ...]] = {
    **{actor.FIELD: actor.DAILY for actor in ACTORS}, "battlespace": battlespace.DAILY, "ladder": ladder.DAILY,
}
_DECLARED = {c.name: c for cols in RECORDED_BY.values() for c in cols}
DAILY: tuple[Column, ...] = (
    SCENARIO, REPLICATE, DAY, DATE,
    *(_DECLARED[n] for n in PUBLISHED_ORDER), *(c for c in _DECLARED.values() if c.name not in PUBLISHED_ORDER),
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
    *(c for actor in ACTORS for c in getattr(actor, "SUMMARY", ())),  # an actor's own per-replicate outcomes
    Column("first_us_death_date", "datetime64[ns]", "state", "date of the first U.S. death (null if none)"),
    Column("first_war_date", "datetime64[ns]", "state", "date of the first direct U.S.-Iran exchange (null if none)"),
    Column("attacks_stop_date", "datetime64[ns]", "state", "date of `attacks_stop_day` (null if attacks never stop)"),
)

GROUPS: tuple[Column, ...] = (SCENARIO, REPLICATE, DAY, DATE, *(c for actor in ACTORS for c in getattr(actor, "GROUPS", ())))

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

TABLES: dict[str, tuple[Column, ...]] = {"daily": DAILY, "summary": SUMMARY, "groups": GROUPS}
ROW_PER = {"daily": "replicate x date", "summary": "replicate", "groups": "replicate x date x group"}

DAILY_COLUMNS = tuple(c.name for c in DAILY if c.kind != "key")  # what the model records per day
COUNT_COLUMNS = tuple(c.name for c in DAILY if c.kind == "count")  # cumulative sums make sense
GROUP_COLUMNS = tuple(c.name for c in GROUPS if c.kind != "key")
DTYPES: dict[str, dict[str, np.dtype]] = {t: {c.name: np.dtype(c.dtype) for c in cols} for t, cols in TABLES.items()}
# summary columns (and derived ones) that serve as per-replicate outcomes of an analysis: numbers or flags
SUMMARY_OUTCOMES = tuple(c.name for c in SUMMARY + DERIVED if c.kind != "key" and c.outcome and np.dtype(c.dtype).kind in "biuf")
LABELS = {c.name: c.label or c.name for c in SUMMARY + DERIVED}


def outcome_rows(names: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    """(column, label, "prob" | "mean") for each named summary or derived outcome."""
    by_name = {c.name: c for c in SUMMARY + DERIVED}
    return tuple((n, LABELS[n], "prob" if by_name[n].is_probability else "mean") for n in names)


def attacks_stopped(stop_day):
    """Whether attacks stopped, from ``attacks_stop_day`` (-1 in the model's arrays, NaN in the summary table: never)."""
    return stop_day >= 0


def days_until_stop(stop_day, n_days: int):
    """``attacks_stop_day`` of the summary table with never (NaN) counted as the run's length."""
    return stop_day.fillna(float(n_days))
