"""The escalation ladder: an ordinal level per replicate per day.

Each day's events reach a rung; the current level is the highest rung reached in the
last ``memory_days`` days (a rung reached stays "current" for a while). A direct U.S.-Iran
exchange is absorbing: once it happens, the level stays at ``DIRECT_EXCHANGE`` and
``war`` is true for the rest of the run.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from model.columns import Column


class EscalationLevel(IntEnum):
    CALM = 0  # no attacks
    HARASSMENT = 1  # attacks without U.S. casualties (004: 'sporadic attacks', 'largely ineffective')
    US_INJURED = 2  # attacks injure U.S. personnel (004: 'at least 60 U.S. personnel have reported minor injuries')
    STRIKES_SYRIA = 3  # U.S. retaliatory strikes confined to Syria (004: 'only against locations in Syria')
    STRIKES_IRAQ = 4  # U.S. strikes on Iraqi soil (004: the U.S. 'doesn't want to risk alienating the Iraqi government')
    US_KILLED = 5  # U.S. service members killed (000: Tower 22, 'killed three American soldiers')
    IRGC_KILLED = 6  # U.S. strikes kill IRGC personnel (004: 'IRGC-related personnel were there and likely struck')
    DIRECT_EXCHANGE = 7  # direct U.S.-Iran exchange of fire: 'war' (000: 'direct U.S.-Iran conflict')


LADDER_MAX = int(max(EscalationLevel))
LADDER_LEVELS = len(EscalationLevel)  # number of rungs, 0 to LADDER_MAX


def daily_rung(
    attacks: np.ndarray,
    injured: np.ndarray,
    killed: np.ndarray,
    strikes_syria: np.ndarray,
    strikes_iraq: np.ndarray,
    irgc_killed: np.ndarray,
    war: np.ndarray,
) -> np.ndarray:
    """Highest rung reached today, per replicate (all inputs shape (R,))."""
    rung = np.where(attacks > 0, EscalationLevel.HARASSMENT, EscalationLevel.CALM).astype(np.int8)
    for cond, level in (
        (injured > 0, EscalationLevel.US_INJURED),
        (strikes_syria > 0, EscalationLevel.STRIKES_SYRIA),
        (strikes_iraq > 0, EscalationLevel.STRIKES_IRAQ),
        (killed > 0, EscalationLevel.US_KILLED),
        (irgc_killed, EscalationLevel.IRGC_KILLED),
        (war, EscalationLevel.DIRECT_EXCHANGE),
    ):
        rung = np.where(cond, np.maximum(rung, level), rung)
    return rung


DAILY: tuple[Column, ...] = (
    Column("escalation_level", np.int8, "state", f"escalation ladder level (0-{LADDER_MAX}): highest rung of the last "
           "`ladder.memory_days` days", "level"),
)


SUMMARY: tuple[Column, ...] = (
    Column("max_escalation_level", np.int8, "state", "highest escalation level reached", "level", "Maximum escalation level"),
    Column("mean_escalation_level", np.float64, "state", "mean daily escalation level", "level", "Mean escalation level"),
)


def summary(model) -> dict[str, np.ndarray]:
    level = model.records["escalation_level"][: model.day]
    if not model.day:
        return {"max_escalation_level": np.zeros(model.R, dtype=np.int64), "mean_escalation_level": np.zeros(model.R)}
    return {"max_escalation_level": level.max(axis=0), "mean_escalation_level": level.mean(axis=0)}


class Ladder:
    """Reads the day's rung from what the actors and the battlespace did, and records the level."""

    def __init__(self, model):
        self.model = model
        self.memory = model.config.ladder.memory_days
        self.rungs = np.zeros((model.n_days, model.R), dtype=np.int8)

    def record(self, t: int) -> None:
        model = self.model
        rec, bs, order, war = model.records, model.battlespace, model.us.order, model.iran.war
        self.rungs[t] = daily_rung(rec["attacks_total"][t], bs.injured, bs.killed, order.syria, order.iraq,
                                   bs.irgc_killed_today > 0, war)
        level = self.rungs[max(0, t - self.memory + 1) : t + 1].max(axis=0)
        rec["escalation_level"][t] = np.where(war, EscalationLevel.DIRECT_EXCHANGE, level)
