"""`escalation compare` on the Red Sea with the same policies (issue 21 item 5).

The comparison's table, verdicts and robustness rows cover the Red Sea outcomes: ships attacked (the CENTCOM
unit) has a better direction, its own label, a verdict line in the console and the report, and robustness rows
for the Houthi parameters a posterior carries but the data do not identify.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.runner.store import write_posterior
from tests.conftest import ROOT, invoke, write_yaml

RED_SEA = ROOT / "scenarios" / "red_sea.yaml"
PER_TARGET = "houthis.behaviours.strike_response.per_target"


@pytest.fixture(autouse=True)
def png_only(monkeypatch):
    monkeypatch.setattr("experiments.analysis.plots.FIGURE_FORMATS", ("png",))


def red_sea_compare(folder, posterior: bool):
    data = {"name": "compare_red_sea_small", "extends": str(RED_SEA), "attack_effects": {"us_deaths": "endogenous"},
            "compare": {"reference": "historical", "replicates": 12, "robustness_replicates": 8,
                        "bootstrap": {"resamples": 200},
                        "levers": [{"policy": "historical", "params": {"strikes": []}}, "restraint", "proportional"]}}
    if posterior:
        rng = np.random.default_rng(1)
        draws = pd.DataFrame({"houthis.base_rate": rng.uniform(0.5, 0.9, 200), PER_TARGET: rng.uniform(-0.05, 0.05, 200)})
        write_posterior(draws, folder / "post.parquet", {"houthis.base_rate": 0.3, PER_TARGET: 1.0})
        data["uncertainty"] = {"posterior": "post.parquet"}
    return write_yaml(folder / "compare_red_sea_small.yaml", data)


def test_the_shipped_red_sea_comparison_is_valid():
    res = invoke("validate", ROOT / "scenarios" / "compare_red_sea.yaml")
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rs")
    out = folder / "out"
    res = invoke("compare", red_sea_compare(folder, posterior=True), "--out", out)
    assert res.exit_code == 0, res.output
    return out, res.output


def test_the_red_sea_outcomes_are_in_the_table_with_labels_and_directions(compared):
    out, _ = compared
    table = pd.read_parquet(out / "table.parquet")
    ships = table[table.outcome == "ships_attacked"]
    assert set(ships.policy) == {"historical", "restraint", "proportional"}
    assert (ships.label == "Ships attacked (Red Sea)").all()
    assert ships[ships.policy != "historical"].p_better.between(0, 1).all()
    assert (ships.estimate > 0).all()  # the Houthis attack under every policy
    # restraint strikes nothing in Yemen; the reference replays the 145 targets of the data
    strikes = table[table.outcome == "us_strikes_yemen"].set_index("policy").estimate
    assert strikes["restraint"] == 0 and strikes["historical"] == 145


def test_the_verdicts_lead_with_the_red_sea(compared):
    """Fails on a compare whose verdict lines read only the Iraq/Syria outcomes (zero in the Red Sea alone)."""
    out, text = compared
    assert "Ships attacked (Red Sea):" in text
    lines = [line for line in text.splitlines() if " vs historical: " in line]
    assert len(lines) == 2 and not any("Total attacks" in line for line in lines)  # the quiet theatre: no verdict
    verdicts = pd.read_parquet(out / "verdicts.parquet")
    v = verdicts[verdicts.outcome == "ships_attacked"]
    assert len(v) == 2 and not v.verdict.str.startswith("not assessed").any()


def test_robustness_covers_the_unidentified_houthi_parameter(compared):
    out, _ = compared
    rob = pd.read_parquet(out / "robustness.parquet")
    rows = rob[(rob.outcome == "ships_attacked") & (rob.parameter == PER_TARGET)]
    assert set(rows.policy) == {"restraint", "proportional"}
    assert (rows.low < 0).all() and (rows.high > 0).all()  # the strike response spans provocation and deterrence
    assert "houthis.base_rate" not in set(rob.parameter)  # identified: not a corner


def test_the_report_reads_the_red_sea(compared):
    out, _ = compared
    res = invoke("report", out)
    assert res.exit_code == 0, res.output
    page = (out / "report.html").read_text()
    assert "Ships attacked (Red Sea): " in page
