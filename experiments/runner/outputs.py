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
    OPTIONAL_OUTCOMES,
    QUIET_DAYS,
    RED_SEA_DAILY,
    RED_SEA_SUMMARY,
    SUMMARY,
    SUMMARY_OUTCOMES,
    TABLES,
    Column,
    attacks_stopped,
    days_until_stop,
    outcome_rows,
)

__all__ = [
    "COUNT_COLUMNS", "DAILY", "DAILY_COLUMNS", "DERIVED", "DTYPES", "GROUP_COLUMNS", "GROUPS", "LABELS", "LADDER_LEVELS",
    "LADDER_MAX", "OPTIONAL_OUTCOMES", "QUIET_DAYS", "RED_SEA_DAILY", "RED_SEA_SUMMARY", "SUMMARY", "SUMMARY_OUTCOMES", "TABLES", "Column", "EscalationLevel", "attacks_stopped",
    "days_until_stop", "outcome_rows",
]
