"""Exogenous drivers: the Gaza-war intensity series and dated events.

Both are given in the scenario, not produced by the agents: they are what the model
takes as the world outside the U.S.-militia contest.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum

import numpy as np
from pydantic import Field, model_validator

from model.params import Strict, sourced


class EventKind(str, Enum):
    """What a dated event does while it lasts."""

    IRAQ_DIPLOMACY = "iraq_diplomacy"  # raises Iraqi government pressure on the militias by `magnitude`
    IRAN_RESTRAINT = "iran_restraint"  # raises Iran's restraint signal by `magnitude`
    SUPPLY_CUT = "supply_cut"  # cuts Iranian supply by the fraction `magnitude`


class SeriesPoint(Strict):
    date: dt.date
    value: float = Field(ge=0, le=100)


class Event(Strict):
    name: str = Field(min_length=1)
    kind: EventKind
    start: dt.date
    end: dt.date
    magnitude: float = Field(ge=0, le=1)
    source: str = Field("assumption", description="seed file + quote, or 'assumption'")

    @model_validator(mode="after")
    def _ordered(self) -> "Event":
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


def default_gaza() -> list[SeriesPoint]:
    return [
        SeriesPoint(date=dt.date(2023, 10, 7), value=0.1),
        SeriesPoint(date=dt.date(2023, 10, 16), value=0.1),
        SeriesPoint(date=dt.date(2023, 10, 17), value=1.0),
    ]


class Exogenous(Strict):
    gaza_intensity: list[SeriesPoint] = sourced(
        None,
        "004: 'since Oct. 17, as civilian deaths in Israel's war against Hamas began to skyrocket, there has been "
        "a dramatic spike in attacks'; 'The latest jump in attacks began 10 days after Hamas' Oct. 7 incursion'. "
        "Levels (0.1 before, 1.0 after) are assumptions",
        description="piecewise-linear multiplier on militia attack propensity, constant beyond its ends",
    )
    events: list[Event] = Field(default_factory=list)

    @model_validator(mode="after")
    def _defaults_and_order(self) -> "Exogenous":
        if self.gaza_intensity is None:
            object.__setattr__(self, "gaza_intensity", default_gaza())
        if not self.gaza_intensity:
            raise ValueError("gaza_intensity needs at least one point")
        dates = [p.date for p in self.gaza_intensity]
        if dates != sorted(dates):
            raise ValueError("gaza_intensity points must be in date order")
        return self


def series_on_days(points: list[SeriesPoint], days: list[dt.date]) -> np.ndarray:
    """Piecewise-linear interpolation of a dated series onto ``days``."""
    x = np.array([p.date.toordinal() for p in points], dtype=float)
    y = np.array([p.value for p in points], dtype=float)
    return np.interp(np.array([d.toordinal() for d in days], dtype=float), x, y)


def event_levels(events: list[Event], days: list[dt.date]) -> dict[EventKind, np.ndarray]:
    """Per-day strength of each event kind (overlapping events of one kind add, capped at 1)."""
    out = {kind: np.zeros(len(days)) for kind in EventKind}
    ordinals = np.array([d.toordinal() for d in days])
    for ev in events:
        active = (ordinals >= ev.start.toordinal()) & (ordinals <= ev.end.toordinal())
        out[ev.kind][active] += ev.magnitude
    return {k: np.minimum(v, 1.0) for k, v in out.items()}
