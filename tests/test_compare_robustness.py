"""Rankings with their conditions (issue 18 item 7) and mixed arms refused (issue 20 item 5).

A small comparison on the calibrated posterior writes robustness.parquet (each unidentified parameter at
its 5th/95th posterior percentile, common random numbers) and verdicts.parquet, leads its console output
with the verdicts, and ``compare FILE --set <parameter>=<low>`` reproduces a row's ``diff_low``.
Levers whose U.S. deaths arise differently, or whose dates differ, are refused unless --allow-unpaired.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from experiments.analysis.robustness import (ROBUSTNESS_COLUMNS, crossing, flipped, regret_ranking, verdict,
                                             weighted_quantile)
from experiments.analysis.compare import BETTER, p_better
from experiments.cli.main import app
from experiments.runner.run import load_draws
from experiments.scenario.identification import unidentified
from experiments.scenario.schema import load_scenario

from tests.conftest import ROOT, write_yaml

COMPARE = ROOT / "scenarios" / "compare_policies.yaml"
runner = CliRunner()
N_ROB = 10


@pytest.fixture(autouse=True)
def png_only(monkeypatch):
    monkeypatch.setattr("experiments.analysis.plots.FIGURE_FORMATS", ("png",))


def small_compare(folder: Path, **spec) -> Path:
    block = {"reference": "historical", "replicates": 14, "robustness_replicates": N_ROB, "bootstrap": {"resamples": 200},
             "levers": ["historical", "restraint", "proportional"], **spec}
    return write_yaml(folder / "rob.yaml", {"name": "rob", "extends": str(COMPARE), "end": "2023-12-05", "block_size": 20,
                                            "compare": block})


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rob")
    path = small_compare(tmp)
    res = runner.invoke(app, ["compare", str(path), "--out", str(tmp / "out"), "-w", "1"])
    assert res.exit_code == 0, res.output
    return path, tmp / "out", res.output


def test_robustness_table_names_every_unidentified_parameter(done):
    path, out, _ = done
    rob = pd.read_parquet(out / "robustness.parquet")
    assert list(rob.columns[:len(ROBUSTNESS_COLUMNS)]) == list(ROBUSTNESS_COLUMNS)
    draws = load_draws(load_scenario(ROOT / "scenarios" / "counterfactual.yaml"))
    expected = {c for c in unidentified(draws.attrs["identification"]) if c in draws.columns}
    assert set(rob.parameter) == expected
    table = pd.read_parquet(out / "table.parquet")
    assert set(rob.outcome) == set(table.outcome)  # named as in table.parquet
    assert set(rob.policy) == {"restraint", "proportional"}
    assert (rob.low < rob.high).all() and rob.flips.dtype == bool
    for p, g in rob.groupby("parameter"):  # the corners are the posterior's 5th and 95th percentiles
        w = draws["weight"].to_numpy(float)
        assert g.low.iloc[0] == pytest.approx(weighted_quantile(draws[p].to_numpy(float), 0.05, w), rel=1e-4)
        assert g.high.iloc[0] == pytest.approx(weighted_quantile(draws[p].to_numpy(float), 0.95, w), rel=1e-4)
    manifest = json.loads((out / "manifest.json").read_text())
    assert "robustness.parquet" in manifest["files"] and manifest["robustness"]["replicates"] == N_ROB


def test_verdicts_lead_the_console_and_p_better_is_per_draw(done):
    _, out, text = done
    verdicts = pd.read_parquet(out / "verdicts.parquet")
    assert set(verdicts.policy) == {"restraint", "proportional"}
    assert verdicts.verdict.map(lambda v: v == "robust" or v.startswith("depends on ")).all()
    dep = verdicts[verdicts.verdict.str.startswith("depends on ")]
    assert (dep.verdict.str.contains(" does better below | is higher below ")).all()
    assert text.splitlines()[0].startswith("restraint vs historical: ")
    table = pd.read_parquet(out / "table.parquet")
    summary = pd.read_parquet(out / "summary.parquet")
    row = table[(table.policy == "restraint") & (table.outcome == "attacks_total")].iloc[0]
    a = summary[summary.policy == "restraint"].sort_values("replicate").attacks_total.to_numpy(float)
    b = summary[summary.policy == "historical"].sort_values("replicate").attacks_total.to_numpy(float)
    assert row.p_better == pytest.approx((a < b).mean() + 0.5 * (a == b).mean())
    assert table.paired.all()
    ranked = verdicts.dropna(subset=["regret_rank"])
    assert len(ranked) and ranked.regret_rank.between(1, 3).all()


def test_set_at_the_low_corner_reproduces_diff_low(done, tmp_path):
    path, out, _ = done
    rob = pd.read_parquet(out / "robustness.parquet")
    rows = rob[rob.outcome == "attacks_total"]
    row = rows.loc[rows.diff_low.abs().idxmax()]
    res = runner.invoke(app, ["compare", str(path), "--out", str(tmp_path / "low"), "-w", "1", "-n", str(N_ROB),
                              "--set", f"{row.parameter}={float(row.low)!r}", "--set", "compare.robustness_replicates=0"])
    assert res.exit_code == 0, res.output
    table = pd.read_parquet(tmp_path / "low" / "table.parquet")
    diff = table[(table.policy == row.policy) & (table.outcome == "attacks_total")]["diff"].item()
    assert np.sign(diff) == np.sign(row.diff_low) != 0
    assert diff == pytest.approx(row.diff_low)  # the same runs: common random numbers, the parameter held fixed
    manifest = json.loads((tmp_path / "low" / "manifest.json").read_text())
    assert row.parameter in manifest["held_fixed"][row.policy]


def test_mixed_arms_are_refused_naming_both_unless_allowed(tmp_path):
    deaths = small_compare(tmp_path, replicates=6, robustness_replicates=0, levers=[
        "historical", {"name": "replay", "policy": "historical", "overrides": {"attack_effects.us_deaths": "replayed"}}])
    res = runner.invoke(app, ["compare", str(deaths), "--out", str(tmp_path / "o1")])
    assert res.exit_code == 2 and "\n" not in res.output.strip(), res.output
    for word in ("'replay'", "'historical'", "replays U.S. deaths", "draws U.S. deaths", "--allow-unpaired"):
        assert word in res.output, (word, res.output)
    res = runner.invoke(app, ["compare", str(deaths), "--out", str(tmp_path / "o2"), "--allow-unpaired", "-w", "1"])
    assert res.exit_code == 0, res.output
    table = pd.read_parquet(tmp_path / "o2" / "table.parquet").set_index("policy")
    assert not table.loc["replay", "paired"].any() and table.loc["historical", "paired"].all()
    assert table.loc["replay", "p_better"].isna().all()
    assert "unpaired" in res.output

    dates = small_compare(tmp_path, replicates=6, robustness_replicates=0, levers=[
        "historical", {"name": "short", "policy": "restraint", "overrides": {"end": "2023-12-01"}}])
    res = runner.invoke(app, ["compare", str(dates), "--out", str(tmp_path / "o3")])
    assert res.exit_code == 2 and "'short'" in res.output and "2023-12-01" in res.output and "2023-12-05" in res.output
    res = runner.invoke(app, ["compare", str(dates), "--out", str(tmp_path / "o4"), "--allow-unpaired", "-w", "1"])
    assert res.exit_code == 0, res.output
    daily = pd.read_parquet(tmp_path / "o4" / "daily_quantiles.parquet")
    assert daily[daily.policy == "short"].date.max() < daily[daily.policy == "historical"].date.max()


# --------------------------------------------------------------------------- the pieces


def test_verdict_words_and_crossing():
    rows = pd.DataFrame([dict(policy="a", outcome="attacks_total", parameter="p", low=0.0, high=0.2, diff_low=-10.0,
                              diff_high=30.0, flips=True),
                         dict(policy="a", outcome="attacks_total", parameter="q", low=1.0, high=2.0, diff_low=-1.0,
                              diff_high=1.0, flips=True)])
    text, param, value = verdict("a", "ref", "attacks_total", rows, BETTER)
    assert param == "p" and value == pytest.approx(0.05)  # the larger swing decides
    assert text == "depends on p: a does better below 0.05"
    text, _, _ = verdict("a", "ref", "attacks_stopped", rows.assign(outcome="attacks_stopped"), BETTER)
    assert text == "depends on p: ref does better below 0.05"  # higher is better there
    assert verdict("a", "ref", "war", rows.assign(flips=False), BETTER)[0] == "robust"
    assert crossing(0, 1, 2.0, -2.0) == pytest.approx(0.5)
    assert not flipped(0.1, -0.1, 0.5, 0.5) and flipped(3.0, -3.0, 1.0, 1.0)


def test_weighted_quantile_and_regret_and_p_better():
    x = np.arange(1, 101, dtype=float)
    assert weighted_quantile(x, 0.5) == pytest.approx(np.quantile(x, 0.5), abs=0.5)
    assert weighted_quantile(np.array([0.0, 1.0]), 0.9, np.array([1.0, 9.0])) == pytest.approx(1.0)
    corners = {("p", "low"): pd.DataFrame({"policy": ["a", "b"], "outcome": "war", "mean": [0.1, 0.3]}),
               ("p", "high"): pd.DataFrame({"policy": ["a", "b"], "outcome": "war", "mean": [0.5, 0.2]})}
    r = regret_ranking(corners, ["war"], BETTER).set_index("policy")
    assert r.loc["a", "max_regret"] == pytest.approx(0.3) and r.loc["b", "max_regret"] == pytest.approx(0.2)
    assert r.loc["b", "regret_rank"] == 1
    assert p_better(np.array([-1.0, 0.0, 2.0]), "attacks_total") == pytest.approx(0.5)
    assert np.isnan(p_better(np.array([1.0]), "militia_killed"))
