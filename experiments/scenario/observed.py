"""Observed counts and dated events (experiments/scenario/data/observed.yaml) and how a reported figure is read.

``load_observed()`` gives one row per reported count: which model daily column it measures
(``quantity``), the day the count starts (``since``), the report date as a window
(``date_start``..``date_end``, equal when the report prints the date), the reported figure
(``value``) and how it was worded (``bound``), where it comes from (``report``: one of the five
``article``\\s, cited by file number in ``source``, or a ``secondary`` press report of a Pentagon
tally from ``shared/data/pentagon_tallies.csv`` with its outlet ``reported_by`` and date
``reported_on``), what it counts (``measure``: the Pentagon's tally or the militias' own claims),
the verbatim quote, and the interval ``[obs_low, obs_high]`` (inclusive, whole counts) that the
figure stands for under an :class:`ObservationModel`. ``load_events()`` gives the dated events.

The file is validated with pydantic; a bad file is a one-line :class:`UserError` naming the file
and the field path.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, model_validator

from experiments.scenario.errors import from_validation
from experiments.scenario.yamlfile import read_yaml
from model import outputs
from model.params import Strict

OBSERVED_FILE = Path(__file__).resolve().parent / "data" / "observed.yaml"
SECONDARY_SOURCE = "shared/data/pentagon_tallies.csv"  # cited as "<file>, <reported_by>, <reported_on>"
QUANTITIES = outputs.COUNT_COLUMNS  # count columns: cumulative sums make sense
BOUNDS = ("exact", "more_than", "at_least", "about")
COUNT_COLUMNS = ("id", "quantity", "since", "date_start", "date_end", "value", "bound", "source", "quote", "note",
                 "report", "reported_by", "reported_on", "measure", "obs_low", "obs_high")
EVENT_COLUMNS = ("id", "date_start", "date_end", "what", "source", "quote", "note", "report", "reported_by", "reported_on")


class ObservationModel(Strict):
    """How a reported figure N maps to an interval of the true count (the ``observation:`` block).

    A press figure is the latest official tally, possibly a few days old, rounded to a reporting
    figure. So a worded figure is interval-censored, never an open bound:

    * ``exact``: the count is N;
    * ``more_than``: N < count <= N + tol;
    * ``at_least``: N <= count <= N + tol;
    * ``about``: N - tol <= count <= N + tol;

    with ``tol = max(minimum, ceil(relative * N))``. Default ``relative`` 0.10: press figures lag the
    Pentagon's tally by up to about a week, and at the Oct-Dec 2023 rate (13 attacks on Oct 24 to 78
    on Dec 7: ~1.5/day) a week is ~10 attacks, ~10 % of the figures of 60-170 involved. The tallies
    bear this out: 004's "61" (mid-Nov) lies between the Nov 14 tally 55 and the Nov 21 tally 66,
    i.e. ~10 % above the tally of its own week; 004's "at least 60" injured against 59 on Nov 14 and
    about 62 on Nov 21 is within 5 %. ``minimum`` 2 counts gives small figures ("at least 1") some
    room. Sensitivity: run with ``relative`` 0.05 and 0.20.
    """

    relative: float = Field(0.10, ge=0, le=1, description="tolerance as a share of the reported figure")
    minimum: int = Field(2, ge=0, le=1000, description="smallest tolerance, in counts")

    def tolerance(self, value: np.ndarray) -> np.ndarray:
        v = np.asarray(value, dtype=float)
        return np.maximum(self.minimum, np.ceil(self.relative * v - 1e-9))

    def interval(self, value: np.ndarray, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inclusive integer bounds ``(obs_low, obs_high)`` of each reported figure (vectorised)."""
        v = np.asarray(value, dtype=float)
        b = np.asarray(bound, dtype=object)
        tol = self.tolerance(v)
        low = np.select([b == "more_than", b == "about"], [v + 1, np.maximum(v - tol, 0)], v)
        high = np.select([b == "more_than", b == "at_least", b == "about"], [v + np.maximum(tol, 1), v + tol, v + tol], v)
        return low.astype(np.int64), high.astype(np.int64)


class _Dated(Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    date_start: dt.date
    date_end: dt.date
    report: Literal["article", "secondary"] = Field(
        "article", description="'article': one of the five source files; 'secondary': a press report in " + SECONDARY_SOURCE)
    source: str = Field(description="article file number ('004') or, for secondary reports, " + SECONDARY_SOURCE)
    reported_by: str | None = Field(None, min_length=2, description="outlet, verbatim from the CSV (secondary reports)")
    reported_on: dt.date | None = Field(None, description="date of the secondary report")
    quote: str = Field(min_length=10, description="verbatim from the source file (for secondary reports: the CSV's detail)")
    note: str = ""

    @model_validator(mode="after")
    def _window(self) -> "_Dated":
        if self.date_end < self.date_start:
            raise ValueError(f"date_end {self.date_end} is before date_start {self.date_start}")
        if self.report == "article":
            if not (len(self.source) == 3 and self.source.isdigit()):
                raise ValueError(f"source: an article is cited by its file number, e.g. '004'; got {self.source!r}")
        else:
            if self.source != SECONDARY_SOURCE:
                raise ValueError(f"source: a secondary report is cited as {SECONDARY_SOURCE!r}; got {self.source!r}")
            for name in ("reported_by", "reported_on"):
                if getattr(self, name) is None:
                    raise ValueError(f"{name}: required for report: secondary (the outlet and its date, from the CSV)")
        return self


class ObservedCount(_Dated):
    quantity: Literal[QUANTITIES]  # type: ignore[valid-type]
    since: dt.date = Field(description="first day counted (inclusive)")
    value: float = Field(ge=0, description="the reported figure N")
    bound: Literal[BOUNDS] = Field(description="exact | more_than | at_least | about (see ObservationModel)")  # type: ignore[valid-type]
    measure: Literal["pentagon_tally", "militia_claims"] = Field(
        "pentagon_tally", description="what is counted: the Pentagon's tally of attacks/casualties, or the militias' claims")

    @model_validator(mode="after")
    def _since(self) -> "ObservedCount":
        if self.since > self.date_start:
            raise ValueError(f"since {self.since} is after date_start {self.date_start}")
        if self.value != int(self.value):
            raise ValueError(f"value: a count is a whole number; got {self.value}")
        return self


class ObservedEvent(_Dated):
    what: str = Field(min_length=3)


class ObservedFile(Strict):
    counts: list[ObservedCount] = Field(min_length=1)
    events: list[ObservedEvent] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> "ObservedFile":
        ids = [c.id for c in self.counts] + [e.id for e in self.events]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"ids must be unique, repeated: {dup}")
        return self


def read_observed(path: str | Path | None = None) -> ObservedFile:
    """Parse and validate the observed-data YAML (default: the project's file)."""
    path = Path(path) if path is not None else OBSERVED_FILE
    data = read_yaml(path)
    try:
        return ObservedFile.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, path) from None


def load_observed(path: str | Path | None = None, observation: ObservationModel | None = None) -> pd.DataFrame:
    """One row per observed count with its interval ``[obs_low, obs_high]``; dates are ``datetime64``.

    ``observation`` sets the tolerance of worded figures (default: :class:`ObservationModel()`).
    """
    obs = read_observed(path)
    df = pd.DataFrame([c.model_dump() for c in obs.counts])
    df["obs_low"], df["obs_high"] = (observation or ObservationModel()).interval(df["value"], df["bound"])
    df = df[list(COUNT_COLUMNS)]
    for c in ("since", "date_start", "date_end", "reported_on"):
        df[c] = pd.to_datetime(df[c])
    df["value"] = df["value"].astype(float)
    return df.sort_values(["date_end", "id"], kind="stable").reset_index(drop=True)


def load_events(path: str | Path | None = None) -> pd.DataFrame:
    """One row per dated event (id, date_start, date_end, what, source, quote, note, report, ...)."""
    obs = read_observed(path)
    df = pd.DataFrame([e.model_dump() for e in obs.events], columns=list(EVENT_COLUMNS))
    for c in ("date_start", "date_end", "reported_on"):
        df[c] = pd.to_datetime(df[c])
    return df.sort_values(["date_start", "id"], kind="stable").reset_index(drop=True)
