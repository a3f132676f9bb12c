"""The output declaration (``model.outputs``) and the ladder's size, for the analysis layer, which does not
import ``model``: analyses take their column lists, dtypes and labels from here."""

from model.ladder import LADDER_LEVELS, LADDER_MAX, EscalationLevel
from model.outputs import (
    COUNT_COLUMNS,
    DAILY,
    DAILY_COLUMNS,
    DERIVED,
    DTYPES,
    GROUP_COLUMNS,
    GROUPS,
    LABELS,
    QUIET_DAYS,
    SUMMARY,
    SUMMARY_OUTCOMES,
    TABLES,
    Column,
    attacks_stopped,
    days_until_stop,
    outcome_rows,
)

from model.actors import ACTORS, enabled


def optional_outcomes(config) -> tuple[str, ...]:
    """The per-replicate outcomes (summary columns) of the optional actors ``config`` enables (e.g. the Houthis':
    ships_attacked, warship_attacks, us_strikes_yemen); none when every optional actor is off."""
    return tuple(c.name for a in ACTORS if getattr(a, "OPTIONAL", False) and enabled(a, config)
                 for c in (*(d for d in a.DAILY if d.kind == "count"), *getattr(a, "SUMMARY", ())))


def outcomes_off(config) -> tuple[str, ...]:
    """Declared outcomes a run of ``config`` does not write: the count columns of the optional actors it leaves off."""
    return tuple(c.name for a in ACTORS if getattr(a, "OPTIONAL", False) and not enabled(a, config)
                 for c in (*(d for d in a.DAILY if d.kind == "count"), *getattr(a, "SUMMARY", ())))


__all__ = [
    "COUNT_COLUMNS", "DAILY", "DAILY_COLUMNS", "DERIVED", "DTYPES", "GROUP_COLUMNS", "GROUPS", "LABELS", "LADDER_LEVELS",
    "LADDER_MAX", "QUIET_DAYS", "SUMMARY", "SUMMARY_OUTCOMES", "TABLES", "Column", "EscalationLevel", "attacks_stopped",
    "days_until_stop", "optional_outcomes", "outcomes_off", "outcome_rows",
]
