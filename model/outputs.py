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

# the summary's own columns (beyond each count's total), declared where they are computed: the ladder, the
# battlespace and each actor (their ``SUMMARY``); published in this order, then any other actor's
PUBLISHED_SUMMARY_ORDER = (
    "max_escalation_level", "mean_escalation_level", "war", "max_withdrawal_pressure", "withdrawal_demanded",
    "attacks_stop_day", "first_us_death_date", "first_war_date", "attacks_stop_date",
)
_SUMMARISED = {c.name: c for part in (ladder, battlespace, *ACTORS) for c in getattr(part, "SUMMARY", ())}
SUMMARY: tuple[Column, ...] = (
    SCENARIO, REPLICATE,
    *(Column(c.name, np.int64, "count", f"total over the run: {c.meaning}", c.unit, c.label or _TOTAL_LABELS.get(c.name, ""))
      for c in DAILY if c.kind == "count"),
    *(_SUMMARISED[n] for n in PUBLISHED_SUMMARY_ORDER),
    *(c for c in _SUMMARISED.values() if c.name not in PUBLISHED_SUMMARY_ORDER),
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
SUMMARY_COLUMNS = tuple(c.name for c in SUMMARY if c.kind != "key")  # the summary table's columns, in order
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
