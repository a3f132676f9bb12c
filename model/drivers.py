"""Exogenous drivers: the Gaza-war intensity series and dated events.

Both are given in the scenario, not produced by the agents: they are what the model
takes as the world outside the U.S.-militia contest.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from model.params import Strict, sourced


class EventKind(str, Enum):
    """What a dated event does while it lasts."""

    IRAQ_DIPLOMACY = "iraq_diplomacy"  # raises Iraqi government pressure on the militias by `magnitude`
    IRAN_RESTRAINT = "iran_restraint"  # raises Iran's restraint signal by `magnitude`
    SUPPLY_CUT = "supply_cut"  # cuts Iranian supply by the fraction `magnitude`
    US_CASUALTIES = "us_casualties"  # a replayed attack that killed/injured U.S. personnel (an input, like a replayed strike)


class SeriesPoint(Strict):
    date: dt.date
    value: float = Field(ge=0, le=100)


class Event(Strict):
    """A dated event. Kinds other than ``us_casualties`` act with ``magnitude`` from ``start`` to ``end``.

    ``us_casualties`` replays one reported attack on ``start`` (= ``end``): it adds ``attacks`` attacks in
    ``country`` (credited to the militia ``group`` when given) that killed ``killed`` and injured
    ``injured`` U.S. personnel. Replayed casualties are inputs, used when ``attack_effects.us_deaths`` is
    ``replayed`` (the historical scenario); with ``endogenous`` deaths (counterfactuals) they are ignored
    and attacks draw their own casualties.
    """

    name: str = Field(min_length=1)
    kind: EventKind
    start: dt.date
    end: dt.date | None = Field(None, description="last day (inclusive); defaults to start")
    magnitude: float | None = Field(None, ge=0, le=1, description="strength 0..1 (not used by us_casualties)")
    country: Literal["iraq", "syria", "jordan"] | None = Field(None, description="us_casualties: where the attack landed")
    killed: int = Field(0, ge=0, le=10_000, description="us_casualties: U.S. personnel killed")
    injured: int = Field(0, ge=0, le=10_000, description="us_casualties: U.S. personnel injured")
    attacks: int = Field(1, ge=0, le=100, description="us_casualties: attacks the event adds to the day's count")
    group: str | None = Field(None, description="us_casualties: short name of the militia credited with the attack")
    source: str = Field("assumption", description="seed file + quote, or 'assumption'")

    @model_validator(mode="after")
    def _ordered(self) -> "Event":
        if self.end is None:
            object.__setattr__(self, "end", self.start)
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if self.kind == EventKind.US_CASUALTIES:
            if self.country is None:
                raise ValueError("a us_casualties event needs a country (iraq, syria or jordan)")
            if self.end != self.start:
                raise ValueError("a us_casualties event is one day: end must equal start")
            if self.killed + self.injured == 0:
                raise ValueError("a us_casualties event needs killed or injured > 0")
        elif self.magnitude is None:
            raise ValueError(f"a {self.kind.value} event needs a magnitude between 0 and 1")
        return self


TRUCE_END = dt.date(2023, 12, 1)  # the first day of fighting after the truce (TRUCE_SOURCE)
GAZA_CALM = 0.1  # assumption: propensity without the Gaza war (before Oct 17; during the Nov 24 - Dec 1 truce)
TRUCE_SOURCE = (
    "shared/data/pentagon_tallies.csv, widely reported; Menafn, 2023-11-24: 'Israel-Hamas truce: fighting in Gaza "
    "paused from the morning of Nov 24 to the morning of Dec 1, 2023'. Level during the truce = the pre-war level (assumption)"
)


def default_gaza() -> list[SeriesPoint]:
    """Oct 7 - Oct 16 calm, the war from Oct 17 (004), the truce Nov 24 - Nov 30 (secondary report), war again from Dec 1."""
    return [
        SeriesPoint(date=dt.date(2023, 10, 7), value=GAZA_CALM),
        SeriesPoint(date=dt.date(2023, 10, 16), value=GAZA_CALM),
        SeriesPoint(date=dt.date(2023, 10, 17), value=1.0),
        SeriesPoint(date=dt.date(2023, 11, 23), value=1.0),
        SeriesPoint(date=dt.date(2023, 11, 24), value=GAZA_CALM),
        SeriesPoint(date=dt.date(2023, 11, 30), value=GAZA_CALM),
        SeriesPoint(date=TRUCE_END, value=1.0),
    ]


class Exogenous(Strict):
    gaza_intensity: list[SeriesPoint] = sourced(
        None,
        "004: 'since Oct. 17, as civilian deaths in Israel's war against Hamas began to skyrocket, there has been "
        "a dramatic spike in attacks'; 'The latest jump in attacks began 10 days after Hamas' Oct. 7 incursion'. "
        "Truce Nov 24 - Dec 1 2023: " + TRUCE_SOURCE + ". Levels (0.1 calm, 1.0 war) are assumptions",
        description="piecewise-linear multiplier on militia attack propensity, constant beyond its ends",
    )
    gaza_after_truce: float = sourced(
        1.0,
        "assumption: the war after the Nov 24 - Dec 1 2023 truce is another phase whose intensity, relative to "
        "Oct 17 - Nov 23, no source gives; 004 ties the attacks to the war's intensity ('as civilian deaths ... "
        "began to skyrocket'). 1 = no change (the series as given). An uncertainty on an input, not a behaviour: "
        "the tallies before the truce cannot inform it, those after it can. Alone in the calibration (U[0.5, 1.5], "
        "U[0.25, 1.5]) it fixed the Nov 23 forecast but cost the Jan 9 one; calibrated (U[0.5, 1.5]) together with "
        "militias' iran_following.restraint_lag and carried as posterior draws by scenarios/calibrated.yaml (docs/calibration.md)",
        ge=0.0,
        le=10.0,
        description="multiplier on gaza_intensity from truce_end onward (the level of the war after the truce "
        "relative to the series); applies to any series, default or given; 1 leaves the series unchanged",
    )
    truce_end: dt.date = sourced(
        TRUCE_END,
        TRUCE_SOURCE,
        ge=dt.date(1900, 1, 1),
        le=dt.date(2200, 12, 31),
        description="first day of the war after the truce: gaza_after_truce scales the series from this day on",
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
    """Per-day strength of each magnitude event kind (overlapping events of one kind add, capped at 1)."""
    out = {kind: np.zeros(len(days)) for kind in EventKind if kind != EventKind.US_CASUALTIES}
    ordinals = np.array([d.toordinal() for d in days])
    for ev in events:
        if ev.kind == EventKind.US_CASUALTIES:
            continue
        active = (ordinals >= ev.start.toordinal()) & (ordinals <= ev.end.toordinal())
        out[ev.kind][active] += ev.magnitude
    return {k: np.minimum(v, 1.0) for k, v in out.items()}


def casualty_events(events: list[Event], start: dt.date, n_days: int) -> dict[int, list[Event]]:
    """Replayed U.S.-casualty events by day index within the run (days outside the run are dropped)."""
    out: dict[int, list[Event]] = {}
    for ev in events:
        day = (ev.start - start).days
        if ev.kind == EventKind.US_CASUALTIES and 0 <= day < n_days:
            out.setdefault(day, []).append(ev)
    return out
