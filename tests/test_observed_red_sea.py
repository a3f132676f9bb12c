"""Red Sea observed data (experiments/scenario/data/observed_red_sea.yaml): every row traces to
shared/data/red_sea_events.csv and every CSV row is there once; nothing is dated after Feb 29, 2024;
the one fitted series (the CENTCOM running count since Nov 19) is a monotone running count reported
by the cut-off; conflicts are flagged; source types follow the CSV's tags; bad files are one-line
UserErrors; the Iraq/Syria loading is unchanged."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from experiments.scenario.errors import UserError
from experiments.scenario.observed import (
    OBSERVED_FILE,
    RED_SEA_COLUMNS,
    RED_SEA_CUTOFF,
    RED_SEA_FILE,
    RED_SEA_QUANTITIES,
    RED_SEA_SOURCE,
    load_events,
    load_observed,
    load_red_sea,
    red_sea_definition,
)

ROOT = Path(__file__).resolve().parents[1]
CSV_FILE = ROOT.parent / RED_SEA_SOURCE
CUTOFF = pd.Timestamp("2024-02-29")
needs_csv = pytest.mark.skipif(not CSV_FILE.exists(), reason="shared data not checked out next to the project")


def _csv_key(r: dict) -> tuple:
    return (r["kind"], r["date"], r["date_end"], float(r["count"]) if r["count"] else None, r["count_kind"],
            r["detail"], r["reported_by"], r["address"])


def _row_key(r) -> tuple:
    return (r.kind, r.csv_date, r.csv_date_end, None if pd.isna(r.count) else float(r.count), r.count_kind,
            r.quote, r.reported_by, r.address)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return load_red_sea()


@pytest.fixture(scope="module")
def fit(rows) -> pd.DataFrame:
    return rows[rows["use"] == "fit"].sort_values(["date_end", "id"]).reset_index(drop=True)


@needs_csv
def test_every_row_traces_to_the_csv_and_every_csv_row_is_here_once(rows):
    table = list(csv.DictReader(CSV_FILE.open(encoding="utf-8")))
    assert Counter(_row_key(r) for r in rows.itertuples()) == Counter(_csv_key(r) for r in table)
    assert len(rows) == len(table) == 90
    counted = rows[rows["use"] != "context"]
    assert (counted["value"] == counted["count"]).all()  # a fitted/checked figure is the CSV's count, unchanged


def test_nothing_dated_after_the_cut_off(rows):
    assert RED_SEA_CUTOFF == CUTOFF.date()
    for c in ("since", "date_start", "date_end"):
        assert (rows[c].dropna() <= CUTOFF).all(), c
    for c in ("csv_date", "csv_date_end"):
        assert all(d[:7] <= "2024-02" for d in rows[c] if d), c  # month-only dates ("2024-02") included
    assert (rows["date_end"] >= rows["date_start"]).all()
    counted = rows[rows["use"] != "context"]
    assert (counted["since"] <= counted["date_start"]).all()
    assert rows["since"][rows["use"] == "context"].isna().all()


def test_the_fitted_series_is_the_centcom_running_count_since_nov19(fit):
    d = red_sea_definition()
    assert (d.quantity, d.measure, str(d.since)) == ("ships_attacked", "centcom_count", "2023-11-19")
    assert d.quantity in RED_SEA_QUANTITIES and "CENTCOM" in RED_SEA_QUANTITIES[d.quantity].meaning
    assert len(d.why.split()) > 40  # the reason is written down
    assert set(fit["quantity"]) == {"ships_attacked"} and set(fit["measure"]) == {"centcom_count"}
    assert set(fit["source_type"]) == {"us_official"}
    assert (fit["reported_on"] <= CUTOFF).all()  # known by the cut-off: no retrospective report is fitted
    running = fit[fit["since"] == pd.Timestamp("2023-11-19")]
    assert running["value"].tolist() == [23, 25, 26, 27, 33]  # Dec 30, Jan 4, Jan 9, Jan 11, Jan 22 (- Feb 3)
    # one increment besides: no attack in Jan 19-23 (the Pentagon on its own series, Jan 24)
    lull = fit[fit["since"] != pd.Timestamp("2023-11-19")]
    assert lull[["id", "value"]].values.tolist() == [["centcom_lull_jan19_23", 0]]


def test_the_running_count_is_monotone(fit):
    """Values grow with the report date, and every earlier figure's interval can lie below every later one's."""
    running = fit[fit["since"] == pd.Timestamp("2023-11-19")].sort_values("date_start")
    assert running["value"].is_monotonic_increasing and running["date_start"].is_monotonic_increasing
    for (_, a), (_, b) in zip(running.iterrows(), running.iloc[1:].iterrows()):
        assert a.date_end <= b.date_start and a.obs_low <= b.obs_high, (a.id, b.id)
    # the checks that are running counts of the same start do not contradict it either (UKMTO's incident
    # reports are left out: 65 by Dec 31 against CENTCOM's 25 on Jan 4 is the definitional gap the file marks)
    same_start = pd.concat([running, load_observed(theatre="red_sea").query(
        "quantity == 'ships_attacked' and use == 'check' and since == '2023-11-19' and measure != 'ukmto_reports'")])
    by_date = same_start.sort_values("date_end")
    for _, later in by_date.iterrows():
        earlier = by_date[by_date["date_end"] < later.date_start]
        assert (earlier["obs_low"] <= later.obs_high).all(), later.id


@needs_csv
def test_conflicts_are_flagged(rows):
    table = {(_csv_key(r)[5]): r for r in csv.DictReader(CSV_FILE.open(encoding="utf-8"))}
    tagged = rows[rows["quote"].str.contains(r"\[CONFLICT", regex=True)]
    assert len(tagged) == sum("[CONFLICT" in k for k in table) == 7
    for r in tagged.itertuples():
        tags = re.findall(r"\[(CONFLICT[^\]]*)\]", r.quote)
        assert r.conflict and all(t in r.conflict for t in tags), r.id
    # conflicts found between rows are marked on both sides: the two UKMTO series, the two CENTCOM baselines
    c = rows.set_index("id")["conflict"]
    for id_ in ("ukmto_reports_late_2023", "ukmto_reports_q4_2023", "ukmto_monthly_dec2023", "centcom_count_oct17_dec23",
                "centcom_count_jan22", "wave1_early_report_jan12", "bab_el_mandeb_week_feb05_11"):
        assert isinstance(c[id_], str) and len(c[id_]) > 10, id_
    assert not rows.set_index("id").loc["wave1_early_report_jan12", "use"] in ("fit", "input")  # superseded


_TAG_TYPES = [  # a leading tag of the CSV's detail -> the row's source_type
    (r"^\[HOUTHI CLAIM", {"houthi_claim"}),
    (r"^\[US/UK OFFICIAL", {"us_uk_official"}),
    (r"^\[UK OFFICIAL", {"uk_official"}),
    (r"^\[US \+ PARTNERS", {"us_and_partners"}),
    (r"^\[US (OFFICIAL|INTEL|via)", {"us_official"}),
    (r"^\[INDEPENDENT", {"independent"}),
    (r"^\[MEDIA", {"media"}),
    (r"^\[(SCA|IMF|UN via)", {"official_other"}),
]


def test_source_types_follow_the_csv_tags(rows):
    for r in rows.itertuples():
        for pattern, types in _TAG_TYPES:
            if re.match(pattern, r.quote):
                assert r.source_type in types, (r.id, r.source_type)
                break
    claims = rows[rows["measure"] == "houthi_claims"]
    assert len(claims) == 1 and set(claims["use"]) == {"separate"} and set(claims["source_type"]) == {"houthi_claim"}
    assert not rows.loc[rows["source_type"] == "houthi_claim", "use"].isin(["fit", "check"]).any()


def test_uses_of_the_other_counts(rows):
    by = rows.set_index("id")
    ukmto = rows[rows["measure"] == "ukmto_monthly"]
    assert ukmto[["csv_date", "value", "use"]].values.tolist() == [["2023-12-01", 24, "check"], ["2024-01-01", 24, "check"]]
    assert set(rows.loc[rows["measure"].isin(["media_tally", "ukmto_reports", "independent_incidents"]), "use"]) == {"check"}
    # the four U.S./UK joint waves (issue 21: Jan 11-12, Jan 22, Feb 3, Feb 24) are replayed inputs, in targets
    waves = rows[rows["id"].str.match(r"wave\d_targets_") & (rows["use"] != "context")]
    assert waves["date_end"].dt.strftime("%m-%d").tolist() == ["01-12", "01-22", "02-03", "02-24"]
    assert set(waves["use"]) == {"input"} and set(waves["quantity"]) == {"us_strikes_yemen"}
    assert set(rows.loc[rows["use"] == "input", "quantity"]) == {"us_strikes_yemen"}
    assert by.loc["wave1_targets_jan11_12", "bound"] == "more_than"  # "more than 60 individual Houthi targets"
    # the wording of a figure sets its bound
    counted = rows[rows["use"] != "context"]
    for r in counted.itertuples():
        lower = "lower bound" in r.count_kind
        assert lower == (r.bound in ("more_than", "at_least")), r.id
        if r.bound == "more_than":
            assert re.search(r"more than|greater than", r.quote), r.id
        if r.bound == "at_least":
            assert re.search(r"at least|minimum", r.quote), r.id


def test_reports_later_than_the_cut_off_are_never_fitted(rows):
    later = rows[rows["reported_on"] > CUTOFF]
    assert len(later) == 14 and not later["use"].isin(["fit", "input"]).any()
    assert {"ukmto_monthly_dec2023", "ukmto_monthly_jan2024", "ydp_strikes_feb2024"} <= set(later["id"])
    assert rows.loc[rows["reported_on"].isna(), "id"].tolist() == ["houthi_boats_sunk_dec31", "wave1_early_report_jan12"]


def test_loaders_and_columns(rows):
    assert list(rows.columns) == list(RED_SEA_COLUMNS)
    counts = load_observed(theatre="red_sea")
    assert list(counts.columns) == list(RED_SEA_COLUMNS) and (counts["use"] != "context").all()
    assert len(counts) == (rows["use"] != "context").sum() == 42
    assert counts["obs_low"].dtype == "int64" and (counts["obs_low"] <= counts["obs_high"]).all()
    assert set(counts["report"]) == {"secondary"} and set(counts["source"]) == {RED_SEA_SOURCE}
    assert rows.loc[rows["use"] == "context", "obs_low"].isna().all()
    events = load_events(theatre="red_sea")
    assert set(events["use"]) == {"input", "context"} and len(events) == 90 - 42 + (rows["use"] == "input").sum()
    assert events["date_start"].is_monotonic_increasing


def test_iraq_syria_loading_is_unchanged():
    default, named = load_observed(), load_observed(theatre="iraq_syria")
    pd.testing.assert_frame_equal(default, named)
    assert not set(default["id"]) & set(load_red_sea()["id"])
    pd.testing.assert_frame_equal(load_events(), load_events(theatre="iraq_syria"))
    assert OBSERVED_FILE != RED_SEA_FILE


def test_the_docs_describe_the_data_and_the_definition():
    doc = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    begin, end = doc.index("<!-- red-sea-data:begin -->"), doc.index("<!-- red-sea-data:end -->")
    section = doc[begin:end]
    for needed in ("observed_red_sea.yaml", "CENTCOM", "Nov 19", "UKMTO", "Houthi claim", "Feb 29, 2024", "ships_attacked"):
        assert needed in section, needed


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(RED_SEA_FILE.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "red_sea.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _row(data: dict, id_: str) -> dict:
    return next(r for r in data["rows"] if r["id"] == id_)


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda d: _row(d, "wave4_targets_feb24").update(date_end="2024-03-02"), "after the cut-off 2024-02-29"),
        (lambda d: d.update(cutoff="2024-03-31"), "cutoff"),
        (lambda d: _row(d, "houthi_claim_feb22").update(use="fit"), "use: fit is only the definition's series"),
        (lambda d: _row(d, "media_tally_feb23").update(use="fit"), "use: fit is only the definition's series"),
        (lambda d: _row(d, "centcom_count_jan11").update(use="check"), "is the fitted series"),
        (lambda d: _row(d, "houthi_claim_feb22").update(measure="houthi_claims", use="check"), "separate measurement"),
        (lambda d: _row(d, "centcom_count_jan11").update(reported_on="2024-03-05"), "reported by the cut-off"),
        (lambda d: _row(d, "centcom_count_jan11").update(count=27.5), "whole number"),
        (lambda d: _row(d, "centcom_count_jan11").update(quantity="ships_sunk"), "quantity"),
        (lambda d: _row(d, "galaxy_leader_crew_nov19").update(quantity="ships_attacked"), "context row"),
        (lambda d: _row(d, "centcom_count_jan11").pop("since"), "needs a count, quantity, measure, since and bound"),
        (lambda d: d["rows"].append(dict(d["rows"][0])), "ids must be unique"),
        (lambda d: d.update(source="shared/data/pentagon_tallies.csv"), "source"),
    ],
)
def test_bad_file_is_a_user_error(tmp_path, mutate, where):
    path = _write(tmp_path, mutate)
    with pytest.raises(UserError) as exc:
        load_observed(path, theatre="red_sea")
    assert str(path) in str(exc.value) and where in str(exc.value)
    assert "\n" not in str(exc.value)


def test_unknown_theatre_is_a_user_error():
    with pytest.raises(UserError, match="unknown theatre 'yemen'"):
        load_observed(theatre="yemen")
