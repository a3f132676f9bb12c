"""Observed counts and dated events from the source articles (experiments/data/observed.yaml).

``load_observed()`` gives one row per reported count: which model daily column it measures
(``quantity``), the day the count starts (``since``), the report date as a window
(``date_start``..``date_end``, equal when the source prints the date), the value, whether it is
``exact``, a ``lower`` bound ("more than 165" -> 166) or ``approx``, the source file number and
the verbatim quote. ``load_events()`` gives the dated events (with windows where the date is not
printed). The file is validated with pydantic; a bad file is a :class:`UserError` naming the file
and the field path.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field, ValidationError, model_validator

from experiments.errors import UserError
from model.model import DAILY_COLUMNS
from model.params import Strict

OBSERVED_FILE = Path(__file__).resolve().parent / "data" / "observed.yaml"
QUANTITIES = tuple(c for c in DAILY_COLUMNS[:11])  # count columns: cumulative sums make sense
COUNT_COLUMNS = ("id", "quantity", "since", "date_start", "date_end", "value", "bound", "source", "quote", "note")
EVENT_COLUMNS = ("id", "date_start", "date_end", "what", "source", "quote", "note")


class _Dated(Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    date_start: dt.date
    date_end: dt.date
    source: str = Field(pattern=r"^\d{3}$", description="source file number, e.g. '004'")
    quote: str = Field(min_length=10, description="verbatim from the source file")
    note: str = ""

    @model_validator(mode="after")
    def _window(self) -> "_Dated":
        if self.date_end < self.date_start:
            raise ValueError(f"date_end {self.date_end} is before date_start {self.date_start}")
        return self


class ObservedCount(_Dated):
    quantity: Literal[QUANTITIES]  # type: ignore[valid-type]
    since: dt.date = Field(description="first day counted (inclusive)")
    value: float = Field(ge=0)
    bound: Literal["exact", "lower", "approx"]

    @model_validator(mode="after")
    def _since(self) -> "ObservedCount":
        if self.since > self.date_start:
            raise ValueError(f"since {self.since} is after date_start {self.date_start}")
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
    from experiments.scenario import read_yaml

    path = Path(path) if path is not None else OBSERVED_FILE
    data = read_yaml(path)
    try:
        return ObservedFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        got = err.get("input")
        shown = "" if isinstance(got, dict) or err["type"] == "missing" else f"; got {got!r}"
        msg = err["msg"].removeprefix("Value error, ")
        raise UserError(f"{msg}{shown}", file=path, path=loc) from None


def load_observed(path: str | Path | None = None) -> pd.DataFrame:
    """One row per observed count; date columns are ``datetime64``; ordered by report date."""
    obs = read_observed(path)
    df = pd.DataFrame([c.model_dump() for c in obs.counts], columns=list(COUNT_COLUMNS))
    for c in ("since", "date_start", "date_end"):
        df[c] = pd.to_datetime(df[c])
    df["value"] = df["value"].astype(float)
    return df.sort_values(["date_end", "id"], kind="stable").reset_index(drop=True)


def load_events(path: str | Path | None = None) -> pd.DataFrame:
    """One row per dated event (id, date_start, date_end, what, source, quote, note)."""
    obs = read_observed(path)
    df = pd.DataFrame([e.model_dump() for e in obs.events], columns=list(EVENT_COLUMNS))
    for c in ("date_start", "date_end"):
        df[c] = pd.to_datetime(df[c])
    return df.sort_values(["date_start", "id"], kind="stable").reset_index(drop=True)
