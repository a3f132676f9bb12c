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

The Red Sea theatre has its own file (experiments/scenario/data/observed_red_sea.yaml: every row of
``shared/data/red_sea_events.csv`` with its outlet, source type, conflicts and how it is used) and
one attack definition for the fit, the Pentagon/CENTCOM running count since Nov 19, 2023 (the
file's ``definition:`` block says why). ``load_observed(theatre="red_sea")`` gives its count rows
in the same columns as above plus the Red Sea ones; ``load_red_sea()`` gives every row;
``RED_SEA_QUANTITIES`` declares what those counts measure.

The file is validated with pydantic; a bad file is a one-line :class:`UserError` naming the file
and the field path.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, model_validator

from experiments.scenario.errors import UserError, from_validation
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

THEATRES = ("iraq_syria", "red_sea")
RED_SEA_FILE = OBSERVED_FILE.with_name("observed_red_sea.yaml")
RED_SEA_SOURCE = "shared/data/red_sea_events.csv"
RED_SEA_CUTOFF = dt.date(2024, 2, 29)  # nothing later enters (shared/data/README.md)


class Quantity(NamedTuple):
    meaning: str
    unit: str


# What the Red Sea counts measure: the names a Houthi actor's daily output columns should carry.
RED_SEA_QUANTITIES: dict[str, Quantity] = {
    "ships_attacked": Quantity("Houthi attacks on commercial shipping, in the unit of the Pentagon/CENTCOM running count "
                               "since Nov 19, 2023 (each numbered attack on a merchant ship)", "attacks"),
    "us_strikes_yemen": Quantity("targets struck by U.S./UK strikes in Yemen (joint waves and 'dynamic' strikes)", "targets"),
    "transits_bab_el_mandeb": Quantity("ship passings through the Bab el-Mandeb strait", "transits"),
    "transits_suez": Quantity("Suez Canal transits", "transits"),
    "transits_cape": Quantity("passings around the Cape of Good Hope", "transits"),
}
RED_SEA_KINDS = ("attack_tally", "attack_period", "us_strike", "effect", "driver", "transit")
RED_SEA_USES = ("fit", "check", "separate", "input", "context")
SOURCE_TYPES = ("us_official", "uk_official", "us_uk_official", "us_and_partners", "official_other", "independent",
                "media", "houthi_claim")
RED_SEA_EXTRA = ("kind", "use", "source_type", "conflict", "address", "count", "count_kind", "csv_date", "csv_date_end")
RED_SEA_COLUMNS = COUNT_COLUMNS + RED_SEA_EXTRA


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


def _read_validated(model: type[Any], path: Path) -> Any:
    """A data file read and validated as ``model``; a bad file is one line naming the field."""
    data = read_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, path) from None


def read_observed(path: str | Path | None = None) -> ObservedFile:
    """Parse and validate the observed-data YAML (default: the project's file)."""
    return _read_validated(ObservedFile, Path(path) if path is not None else OBSERVED_FILE)


def load_observed(path: str | Path | None = None, observation: ObservationModel | None = None, *,
                  theatre: str = "iraq_syria") -> pd.DataFrame:
    """One row per observed count with its interval ``[obs_low, obs_high]``; dates are ``datetime64``.

    ``observation`` sets the tolerance of worded figures (default: :class:`ObservationModel()`).
    ``theatre="red_sea"`` reads the Red Sea file instead (``path`` then names a Red Sea file): its
    count rows (every ``use`` but ``context``) in :data:`RED_SEA_COLUMNS`; filter on ``use`` for the
    fitted series (``use == "fit"``), the checks and the Houthis' claims (``"separate"``).
    """
    if _theatre(theatre) == "red_sea":
        df = load_red_sea(path, observation)
        df = df[df["use"] != "context"].reset_index(drop=True)
        df["value"] = df["value"].astype(float)
        for c in ("obs_low", "obs_high"):
            df[c] = df[c].astype(np.int64)
        return df
    obs = read_observed(path)
    df = pd.DataFrame([c.model_dump() for c in obs.counts])
    df["obs_low"], df["obs_high"] = (observation or ObservationModel()).interval(df["value"], df["bound"])
    df = df[list(COUNT_COLUMNS)]
    for c in ("since", "date_start", "date_end", "reported_on"):
        df[c] = pd.to_datetime(df[c])
    df["value"] = df["value"].astype(float)
    return df.sort_values(["date_end", "id"], kind="stable").reset_index(drop=True)


def load_events(path: str | Path | None = None, *, theatre: str = "iraq_syria") -> pd.DataFrame:
    """One row per dated event (id, date_start, date_end, what, source, quote, note, report, ...).

    ``theatre="red_sea"``: the Red Sea rows that are replayed (``use == "input"``: the strike waves
    and dynamic strikes, with their target counts in ``value``) or context (drivers, effects, ...),
    ``what`` being the CSV's ``count_kind``; the columns ``use``, ``kind`` and ``value`` are added.
    """
    if _theatre(theatre) == "red_sea":
        df = load_red_sea(path)
        df = df[df["use"].isin(["input", "context"])].rename(columns={"count_kind": "what"})
        df = df[list(EVENT_COLUMNS) + ["use", "kind", "value"]]
        return df.sort_values(["date_start", "id"], kind="stable").reset_index(drop=True)
    obs = read_observed(path)
    df = pd.DataFrame([e.model_dump() for e in obs.events], columns=list(EVENT_COLUMNS))
    for c in ("date_start", "date_end", "reported_on"):
        df[c] = pd.to_datetime(df[c])
    return df.sort_values(["date_start", "id"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- Red Sea


class RedSeaRow(Strict):
    """One row of shared/data/red_sea_events.csv (its fields verbatim) and how it is read."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    kind: Literal[RED_SEA_KINDS]  # type: ignore[valid-type]
    csv_date: str = Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$", description="the CSV's date, verbatim")
    csv_date_end: str = Field(pattern=r"^(\d{4}-\d{2}(-\d{2})?)?$", description="the CSV's date_end, verbatim ('' if none)")
    count: float | None = Field(None, description="the CSV's count (None if empty)")
    count_kind: str
    use: Literal[RED_SEA_USES]  # type: ignore[valid-type]
    quantity: Literal[tuple(RED_SEA_QUANTITIES)] | None = None  # type: ignore[valid-type]
    measure: str | None = Field(None, pattern=r"^[a-z0-9_]+$")
    since: dt.date | None = Field(None, description="first day counted (inclusive), count rows only")
    bound: Literal[BOUNDS] | None = None  # type: ignore[valid-type]
    date_start: dt.date
    date_end: dt.date
    source_type: Literal[SOURCE_TYPES]  # type: ignore[valid-type]
    conflict: str | None = Field(None, min_length=5)
    quote: str = Field(min_length=10, description="the CSV's detail, verbatim")
    reported_by: str = Field(min_length=2)
    reported_on: dt.date | None = Field(None, description="latest day of the report (None: the outlet gives no date)")
    address: str = Field(pattern=r"^https?://")
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> "RedSeaRow":
        if self.date_end < self.date_start:
            raise ValueError(f"date_end {self.date_end} is before date_start {self.date_start}")
        counted = (self.quantity, self.measure, self.since, self.bound)
        if self.use == "context":
            if any(v is not None for v in counted):
                raise ValueError("a context row has no quantity, measure, since or bound")
            return self
        if any(v is None for v in counted) or self.count is None:
            raise ValueError(f"use: {self.use} needs a count, quantity, measure, since and bound")
        if self.count < 0 or self.count != int(self.count):
            raise ValueError(f"count: a count is a whole number >= 0; got {self.count}")
        if self.since > self.date_start:
            raise ValueError(f"since {self.since} is after date_start {self.date_start}")
        return self


class RedSeaDefinition(Strict):
    """The one attack definition the fit uses, and why."""

    quantity: Literal[tuple(RED_SEA_QUANTITIES)]  # type: ignore[valid-type]
    measure: str = Field(pattern=r"^[a-z0-9_]+$")
    since: dt.date
    why: str = Field(min_length=40)
    checks: list[str] = Field(default_factory=list)
    separate: list[str] = Field(default_factory=list)


class RedSeaFile(Strict):
    source: Literal[RED_SEA_SOURCE]  # type: ignore[valid-type]
    cutoff: dt.date = Field(le=RED_SEA_CUTOFF, description="no row may be dated later (at most Feb 29, 2024)")
    definition: RedSeaDefinition
    rows: list[RedSeaRow] = Field(min_length=1)

    @model_validator(mode="after")
    def _rules(self) -> "RedSeaFile":
        ids = [r.id for r in self.rows]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"ids must be unique, repeated: {dup}")
        d = self.definition
        for r in self.rows:
            late = [n for n in ("since", "date_start", "date_end") if getattr(r, n) is not None and getattr(r, n) > self.cutoff]
            if late:
                raise ValueError(f"row {r.id}: {late[0]} {getattr(r, late[0])} is after the cut-off {self.cutoff}")
            if r.use == "fit":
                if (r.quantity, r.measure) != (d.quantity, d.measure) or r.since < d.since:
                    raise ValueError(f"row {r.id}: use: fit is only the definition's series ({d.quantity}, {d.measure}, since {d.since})")
                if r.reported_on is None or r.reported_on > self.cutoff:
                    raise ValueError(f"row {r.id}: a fitted row must be reported by the cut-off {self.cutoff}")
            elif r.measure == d.measure:
                raise ValueError(f"row {r.id}: measure {d.measure} is the fitted series; mark it use: fit")
            if r.measure in d.separate and r.use != "separate":
                raise ValueError(f"row {r.id}: measure {r.measure} is a separate measurement; mark it use: separate")
            if r.measure in d.checks and r.use != "check":
                raise ValueError(f"row {r.id}: measure {r.measure} is a check; mark it use: check")
        if not any(r.use == "fit" for r in self.rows):
            raise ValueError("no row has use: fit")
        return self


def read_red_sea(path: str | Path | None = None) -> RedSeaFile:
    """Parse and validate the Red Sea observed-data YAML (default: the project's file)."""
    return _read_validated(RedSeaFile, Path(path) if path is not None else RED_SEA_FILE)


def load_red_sea(path: str | Path | None = None, observation: ObservationModel | None = None) -> pd.DataFrame:
    """Every Red Sea row (counts, strikes, effects, drivers, transits) in :data:`RED_SEA_COLUMNS`.

    Count rows carry ``value`` (= the CSV's count) and ``[obs_low, obs_high]`` as in :func:`load_observed`;
    other rows have them missing. Dates are ``datetime64``; sorted by ``date_end`` then ``id``.
    """
    obs = read_red_sea(path)
    df = pd.DataFrame([r.model_dump() for r in obs.rows])
    counted = df["use"] != "context"
    df["value"] = df["count"].where(counted).astype(float)
    low, high = (observation or ObservationModel()).interval(df["value"].fillna(0).to_numpy(), df["bound"].fillna("exact").to_numpy())
    df["obs_low"] = pd.Series(low, index=df.index, dtype="Int64").where(counted, pd.NA)
    df["obs_high"] = pd.Series(high, index=df.index, dtype="Int64").where(counted, pd.NA)
    df["source"], df["report"] = obs.source, "secondary"
    df = df[list(RED_SEA_COLUMNS)]
    for c in ("since", "date_start", "date_end", "reported_on"):
        df[c] = pd.to_datetime(df[c])
    return df.sort_values(["date_end", "id"], kind="stable").reset_index(drop=True)


def red_sea_definition(path: str | Path | None = None) -> RedSeaDefinition:
    """The attack definition the Red Sea fit uses (quantity, measure, start and why)."""
    return read_red_sea(path).definition


def red_sea_strikes(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The U.S./UK strikes in Yemen to replay (the ``use: input`` rows), as ``houthis.strikes`` entries:
    date (the CSV's date: the first day of a two-day wave), targets (the reported count; "more than 60" is
    60), kind (``wave`` for the joint U.S./UK waves, else ``dynamic``) and the row's id and outlet."""
    obs = read_red_sea(path)
    out = []
    for r in obs.rows:
        if r.use != "input":
            continue
        date = dt.date.fromisoformat(r.csv_date) if len(r.csv_date) == 10 else r.date_start
        out.append({"date": date, "targets": int(r.count), "kind": "wave" if r.id.startswith("wave") else "dynamic",
                    "source": f"{RED_SEA_SOURCE}, {r.reported_by} (row {r.id})"})
    return sorted(out, key=lambda s: s["date"])


def _theatre(theatre: str) -> str:
    if theatre not in THEATRES:
        raise UserError(f"unknown theatre {theatre!r}; expected one of {', '.join(THEATRES)}", path="theatre")
    return theatre
