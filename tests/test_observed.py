"""Observed data: every quote is verbatim in its source (articles and the tallies CSV), key counts are as
reported, worded figures become the right intervals, bad files are one-line UserErrors."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from experiments.scenario.errors import UserError
from experiments.scenario.observed import OBSERVED_FILE, SECONDARY_SOURCE, ObservationModel, load_events, load_observed

SOURCES = Path(__file__).resolve().parents[2] / "shared" / "sources"
TALLIES = Path(__file__).resolve().parents[2] / SECONDARY_SOURCE


def _norm(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text)


def test_columns_and_types():
    obs = load_observed()
    assert list(obs.columns[:9]) == ["id", "quantity", "since", "date_start", "date_end", "value", "bound", "source", "quote"]
    assert pd.api.types.is_datetime64_any_dtype(obs["date_start"])
    assert (obs["date_end"] >= obs["date_start"]).all() and (obs["since"] <= obs["date_start"]).all()
    ev = load_events()
    assert list(ev.columns[:6]) == ["id", "date_start", "date_end", "what", "source", "quote"]


@pytest.mark.parametrize(
    "id_, quantity, value, bound",
    [
        ("attacks_total_mid_nov", "attacks_total", 61, "exact"),
        ("attacks_iraq_mid_nov", "attacks_iraq", 29, "exact"),
        ("attacks_syria_mid_nov", "attacks_syria", 32, "exact"),
        ("us_injured_mid_nov", "us_injured", 60, "at_least"),
        ("attacks_total_feb6_000", "attacks_total", 165, "more_than"),
        ("attacks_total_early_feb_001", "attacks_total", 150, "more_than"),
        ("us_injured_tower22", "us_injured", 40, "about"),
        ("tally_nov14_total", "attacks_total", 55, "exact"),
        ("tally_nov21_injured", "us_injured", 62, "about"),
        ("tally_dec07_total", "attacks_total", 78, "about"),
        ("us_killed_tower22", "us_killed", 3, "exact"),
        ("us_strikes_syria_mid_nov", "us_strikes_syria", 5, "exact"),
        ("us_strikes_iraq_mid_nov", "us_strikes_iraq", 0, "exact"),
        ("militia_killed_feb2", "militia_killed", 34, "at_least"),
    ],
)
def test_reported_counts(id_, quantity, value, bound):
    row = load_observed().set_index("id").loc[id_]
    assert (row.quantity, row.value, row.bound) == (quantity, value, bound)


def test_intervals_of_worded_figures():
    """exact = N; more than N = (N, N + tol]; at least N = [N, N + tol]; about N = [N - tol, N + tol];
    tol = max(minimum, ceil(relative * N))."""
    obs = load_observed().set_index("id")
    assert obs.loc["attacks_total_feb6_000", ["obs_low", "obs_high"]].tolist() == [166, 182]  # tol ceil(16.5) = 17
    assert obs.loc["us_injured_mid_nov", ["obs_low", "obs_high"]].tolist() == [60, 66]
    assert obs.loc["tally_dec07_total", ["obs_low", "obs_high"]].tolist() == [70, 86]
    assert obs.loc["attacks_jordan_tower22", ["obs_low", "obs_high"]].tolist() == [1, 3]  # the 2-count minimum
    assert obs.loc["tally_nov14_total", ["obs_low", "obs_high"]].tolist() == [55, 55]
    wide = load_observed(observation=ObservationModel(relative=0.2, minimum=0)).set_index("id")
    assert wide.loc["attacks_total_feb6_000", ["obs_low", "obs_high"]].tolist() == [166, 198]
    assert wide.loc["tally_nov14_total", ["obs_low", "obs_high"]].tolist() == [55, 55]  # exact stays exact
    m = ObservationModel(relative=0.0, minimum=0)
    low, high = m.interval(np.array([10, 10, 10, 10]), np.array(["exact", "more_than", "at_least", "about"]))
    assert low.tolist() == [10, 11, 10, 10] and high.tolist() == [10, 11, 10, 10]  # "more than" never empty


def test_tallies_support_the_default_tolerance():
    """The ObservationModel default (10 %) is what separates 004's 61 from the tallies of its week."""
    obs = load_observed().set_index("id")
    before, after = obs.loc["tally_nov14_total", "value"], obs.loc["tally_nov21_total", "value"]
    assert before < 61 < after
    assert (after - before) / 61 <= ObservationModel().relative + 0.1 and (61 - before) / 61 <= ObservationModel().relative


# counts read from the words of the Feb 13 tally ("the last on Feb 4; none since"): none Feb 5-13, one or more on Feb 4
DATED_LAST_ATTACK = ("tally_feb13_none_since_feb4", "tally_feb13_attack_feb4")


def test_no_secondary_count_after_the_data_cut_off():
    """shared/data stops at Feb 13, 2024 for Iraq, Syria and Jordan: nothing later may enter (it judges forecasts)."""
    obs, ev = load_observed(), load_events()
    secondary = obs[obs["report"] == "secondary"]
    assert len(secondary) == 41 + len(DATED_LAST_ATTACK) and (secondary["date_end"] <= pd.Timestamp("2024-02-13")).all()
    assert (obs["date_end"] <= pd.Timestamp("2024-02-13")).all() and (ev["date_end"] <= pd.Timestamp("2024-02-14")).all()
    assert (secondary.loc[~secondary["id"].isin(DATED_LAST_ATTACK), "since"] == pd.Timestamp("2023-10-17")).all()
    assert (obs.loc[obs["id"] == "attacks_total_early_feb_001", "measure"] == "militia_claims").all()


def test_windows_where_dates_are_not_printed():
    obs = load_observed().set_index("id")
    mid_nov = obs.loc["attacks_total_mid_nov"]
    assert mid_nov.date_start > pd.Timestamp("2023-11-14") and mid_nov.date_end > mid_nov.date_start  # after the 55 tally
    assert mid_nov.date_end < pd.Timestamp("2023-11-21")  # before the first U.S. strike inside Iraq
    assert mid_nov.since == pd.Timestamp("2023-10-17")
    ev = load_events().set_index("id")
    kh = ev.loc["kh_suspension"]
    assert pd.Timestamp("2024-01-28") < kh.date_start <= kh.date_end < pd.Timestamp("2024-02-02")
    assert ev.loc["nujaba_leader_strike_baghdad"].date_start.month == 1
    assert ev.loc["kh_leader_strike_baghdad"].date_start > pd.Timestamp("2024-02-02")
    assert {"us_strike_oct27", "us_strike_nov8", "us_strike_nov12", "tower22_attack", "feb2_strikes"} <= set(ev.index)


@pytest.mark.skipif(not SOURCES.exists(), reason="source articles not checked out next to the project")
def test_quotes_are_verbatim():
    texts = {p.name[:3]: _norm(p.read_text(encoding="utf-8")) for p in SOURCES.glob("*.txt")}
    rows = pd.concat([load_observed()[["id", "source", "quote", "report"]], load_events()[["id", "source", "quote", "report"]]])
    rows = rows[rows["report"] == "article"]
    assert len(rows) >= 30  # 14 counts and 16 events from the five articles
    missing = [r.id for r in rows.itertuples() if _norm(r.quote) not in texts[r.source]]
    assert not missing, f"quotes not found verbatim in their source: {missing}"


@pytest.mark.skipif(not TALLIES.exists(), reason="shared data not checked out next to the project")
def test_secondary_rows_match_the_tallies_csv():
    """Every secondary row is a CSV row (date, outlet and detail verbatim, value as in its column) and every
    CSV row is in observed.yaml: each tally figure as a count, each driver/strike as an event."""
    table = list(csv.DictReader(TALLIES.open(encoding="utf-8")))
    by_key = {(r["date"], r["reported_by"], r["detail"]): r for r in table}
    obs, ev = load_observed(), load_events()
    counts, events = obs[obs["report"] == "secondary"], ev[ev["report"] == "secondary"]
    wrong = []
    dated = counts[counts["id"].isin(DATED_LAST_ATTACK)]
    counts = counts[~counts["id"].isin(DATED_LAST_ATTACK)]
    for r in dated.itertuples():  # read from the Feb 13 row's words, not its columns
        row = by_key.get((f"{r.reported_on:%Y-%m-%d}", r.reported_by, r.quote))
        if row is None or "the last on Feb 4; none since" not in row["detail"]:
            wrong.append(r.id)
    for r in counts.itertuples():
        row = by_key.get((f"{r.reported_on:%Y-%m-%d}", r.reported_by, r.quote))
        if row is None or row["kind"] != "tally" or float(row[r.quantity]) != r.value or r.date_start != r.reported_on:
            wrong.append(r.id)
    for r in events.itertuples():
        row = by_key.get((f"{r.date_start:%Y-%m-%d}", r.reported_by, r.quote))
        if row is None or row["kind"] == "tally" or f"{r.date_end:%Y-%m-%d}" != (row["date_end"] or row["date"]):
            wrong.append(r.id)
    assert not wrong, f"secondary rows that do not match {SECONDARY_SOURCE}: {wrong}"
    expected = sum(bool(r[c]) for r in table if r["kind"] == "tally"
                   for c in ("attacks_total", "attacks_iraq", "attacks_syria", "us_injured"))
    assert len(counts) == expected
    assert len(events) == sum(r["kind"] != "tally" for r in table)
    about = counts[counts["bound"] == "about"]
    assert all("about" in q for q in about["quote"]) and len(about) == sum("about" in r["detail"] for r in table if r["kind"] == "tally")


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(OBSERVED_FILE.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "obs.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda d: d["counts"][0].update(bound="roughly"), "counts.0.bound"),
        (lambda d: d["counts"][0].update(bound="lower"), "counts.0.bound"),  # the old open bound is gone
        (lambda d: _secondary(d).pop("reported_by"), "reported_by: required for report: secondary"),
        (lambda d: _secondary(d).pop("reported_on"), "reported_on: required"),
        (lambda d: _secondary(d).update(source="004"), "source: a secondary report is cited as"),
        (lambda d: d["counts"][0].update(source="shared/data/pentagon_tallies.csv"), "source: an article is cited by its file number"),
        (lambda d: d["counts"][0].update(measure="rumours"), "counts.0.measure"),
        (lambda d: d["counts"][0].update(value=60.5), "whole number"),
        (lambda d: d["counts"][0].update(quantity="attacks_mars"), "counts.0.quantity"),
        (lambda d: d["counts"][1].update(date_end="2023-01-01"), "counts.1"),
        (lambda d: d["counts"][0].pop("quote"), "counts.0.quote"),
        (lambda d: d["events"].append(dict(d["events"][0])), "ids must be unique"),
    ],
)
def test_bad_file_is_a_user_error(tmp_path, mutate, where):
    path = _write(tmp_path, mutate)
    with pytest.raises(UserError) as exc:
        load_observed(path)
    assert str(path) in str(exc.value) and where in str(exc.value)
    assert "\n" not in str(exc.value)  # one line


def _secondary(data: dict) -> dict:
    return next(c for c in data["counts"] if c.get("report") == "secondary")


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_events(tmp_path / "nope.yaml")
