"""Observed data: every quote is verbatim in its source, key counts are as reported, bad files are UserErrors."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from experiments.errors import UserError
from experiments.observed import OBSERVED_FILE, load_events, load_observed

SOURCES = Path(__file__).resolve().parents[2] / "shared" / "sources"


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
        ("us_injured_mid_nov", "us_injured", 60, "lower"),
        ("attacks_total_feb6_000", "attacks_total", 166, "lower"),
        ("attacks_total_early_feb_001", "attacks_total", 151, "lower"),
        ("us_killed_tower22", "us_killed", 3, "exact"),
        ("us_strikes_syria_mid_nov", "us_strikes_syria", 5, "exact"),
        ("us_strikes_iraq_mid_nov", "us_strikes_iraq", 0, "exact"),
        ("militia_killed_feb2", "militia_killed", 34, "lower"),
    ],
)
def test_reported_counts(id_, quantity, value, bound):
    row = load_observed().set_index("id").loc[id_]
    assert (row.quantity, row.value, row.bound) == (quantity, value, bound)


def test_windows_where_dates_are_not_printed():
    obs = load_observed().set_index("id")
    mid_nov = obs.loc["attacks_total_mid_nov"]
    assert mid_nov.date_start > pd.Timestamp("2023-11-12") and mid_nov.date_end > mid_nov.date_start
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
    rows = pd.concat([load_observed()[["id", "source", "quote"]], load_events()[["id", "source", "quote"]]])
    missing = [r.id for r in rows.itertuples() if _norm(r.quote) not in texts[r.source]]
    assert not missing, f"quotes not found verbatim in their source: {missing}"


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(OBSERVED_FILE.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "obs.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda d: d["counts"][0].update(bound="roughly"), "counts[0].bound"),
        (lambda d: d["counts"][0].update(quantity="attacks_mars"), "counts[0].quantity"),
        (lambda d: d["counts"][1].update(date_end="2023-01-01"), "counts[1]"),
        (lambda d: d["counts"][0].pop("quote"), "counts[0].quote"),
        (lambda d: d["events"].append(dict(d["events"][0])), "ids must be unique"),
    ],
)
def test_bad_file_is_a_user_error(tmp_path, mutate, where):
    path = _write(tmp_path, mutate)
    with pytest.raises(UserError) as exc:
        load_observed(path)
    assert str(path) in str(exc.value) and where in str(exc.value)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_events(tmp_path / "nope.yaml")
