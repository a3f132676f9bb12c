"""Policy comparison: intervals, paired differences, common random numbers, CLI outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from experiments.cli.main import app
from experiments.analysis.compare import compare, lever_scenarios, outcome_table
from experiments.scenario.blocks import BootstrapSpec, CompareSpec
from experiments.scenario.schema import load_block
from experiments.runner.runner import Job, day_by_replicate, tables

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def png_only(monkeypatch):
    """SVG output is the same code path with another format; PNG alone keeps the tests quick."""
    monkeypatch.setattr("experiments.analysis.plots.FIGURE_FORMATS", ("png",))


def write_compare(tmp: Path, name: str = "cmp_small", **compare_block) -> Path:
    spec = {"reference": "historical", "replicates": 120, "uncertainties": "fixed", "bootstrap": {"resamples": 500},
            "levers": ["historical", "restraint", "proportional"], **compare_block}
    data = {"name": name, "extends": str(ROOT / "scenarios" / "baseline.yaml"), "end": "2023-11-15", "block_size": 40, "compare": spec}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = write_compare(tmp_path_factory.mktemp("cmp"))
    scenario, spec, result, info = compare(path)
    return path, result, info


def test_intervals_contain_estimates_and_reference_differences_are_zero(small):
    _, result, _ = small
    t = result.table
    assert len(t) == 3 * 12
    assert (t.ci_low <= t.estimate + 1e-12).all() and (t.estimate <= t.ci_high + 1e-12).all()
    assert (t.diff_low <= t["diff"] + 1e-12).all() and (t["diff"] <= t.diff_high + 1e-12).all()
    ref = t[t.policy == "historical"]
    assert (ref[["diff", "diff_low", "diff_high"]].to_numpy() == 0).all()
    # estimates are the replicate means of the summary
    s = result.summary
    est = t[(t.policy == "proportional") & (t.outcome == "attacks_total")].estimate.item()
    assert est == pytest.approx(s[s.policy == "proportional"].attacks_total.mean())


def test_intervals_narrow_with_more_replicates(small):
    _, result, _ = small
    s = result.summary
    width = {}
    for n in (30, 120):
        t = outcome_table(s[s.replicate < n], "historical").set_index(["policy", "outcome"])
        width[n] = (t.ci_high - t.ci_low).loc[[("proportional", "attacks_total"), ("historical", "us_injured"), ("restraint", "attacks_total")]]
    assert (width[120] < width[30]).all()
    assert (width[120] < 0.75 * width[30]).all()  # ~ 1/sqrt(4) = 0.5 expected


def test_paired_difference_of_a_constant_shift_is_exact():
    rng = np.random.default_rng(0)
    x = rng.poisson(20, 200).astype(float)
    rows = [pd.DataFrame({"policy": p, "replicate": np.arange(200), "attacks_total": x + shift}) for p, shift in (("a", 0.0), ("b", 3.0))]
    t = outcome_table(pd.concat(rows), "a", BootstrapSpec(resamples=500), outcomes=(("attacks_total", "Attacks", "mean"),))
    b = t[t.policy == "b"].iloc[0]
    assert (b["diff"], b.diff_low, b.diff_high) == (3.0, 3.0, 3.0)
    assert b.ci_high - b.ci_low > 0.5  # the unpaired interval is wide; the paired one is exact


def test_common_random_numbers(small):
    path, result, _ = small
    s = result.summary.set_index(["policy", "replicate"])
    strikes = s.us_strikes_iraq + s.us_strikes_syria
    assert (strikes.loc["restraint"] <= strikes.loc["proportional"]).all()
    assert strikes.loc["proportional"].gt(0).any()
    # the same replicate under two policies shares its random streams: identical histories until the first
    # U.S. strike differs (historical strikes first on 2023-10-27, day 20)
    _, spec, raw = load_block(path, "compare", CompareSpec)
    levers = lever_scenarios(raw, spec, path)
    a, b = (day_by_replicate(tables(Job(levers[p], 5, 1, 40, 40))["daily"], "attacks_total", 40) for p in ("historical", "restraint"))
    assert np.array_equal(a[:21], b[:21])
    assert not np.array_equal(a, b)


def test_workers_do_not_change_results(tmp_path, small):
    path, result, _ = small
    _, _, again, _ = compare(path, replicates=40, executor=2)
    first = result.summary[result.summary.replicate < 40].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, again.summary)


def test_cli_compare_writes_tables_figures_manifest(tmp_path):
    path = write_compare(tmp_path, levers=["historical", "restraint", {"name": "prop_x2", "policy": "proportional", "params": {"targets_per_attack": 2.0}}])
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["compare", str(path), "-n", "40", "--out", str(out)], terminal_width=200)
    assert res.exit_code == 0, res.output
    assert "prop_x2" in res.output and "fixed parameters" in res.output
    table = pd.read_csv(out / "table.csv")
    assert set(table.policy) == {"historical", "restraint", "prop_x2"}
    assert pd.read_parquet(out / "table.parquet").shape == table.shape
    man = json.loads((out / "manifest.json").read_text())
    assert man["kind"] == "compare" and man["replicates"] == 40 and man["reference"] == "historical"
    for f in ("pointrange", "tradeoff", "escalation_curves", "ladder", "ladder_daily"):
        assert (out / "figures" / f"{f}.png").stat().st_size > 1000
    # the ladder per day: shares of runs over the 8 levels sum to 1 for every policy and day
    ld = pd.read_parquet(out / "ladder_daily.parquet")
    assert set(ld.policy) == set(table.policy) and set(ld.level) == set(range(8))
    assert np.allclose(ld.groupby(["policy", "day"]).share.sum(), 1.0)
    daily = pd.read_parquet(out / "daily_quantiles.parquet")
    mean_level = daily[daily.variable == "escalation_level"].set_index(["policy", "day"])["mean"]
    from_shares = (ld.level * ld.share).groupby([ld.policy, ld.day]).sum()
    assert np.allclose(from_shares.loc[mean_level.index], mean_level)
    assert set(daily.variable) == {"attacks_total", "cum_attacks", "escalation_level", "war"}
    # another comparison may not overwrite this folder
    other = write_compare(tmp_path, name="other", levers=["historical", "threshold"])
    res = CliRunner().invoke(app, ["compare", str(other), "-n", "10", "--out", str(out)])
    assert res.exit_code == 2 and "different compare" in res.output


@pytest.mark.parametrize("block, expect", [
    ({"levers": ["historical", "no_such_policy"]}, "compare.levers.1"),
    ({"reference": "graduated"}, "reference 'graduated' is not one of the levers"),
    ({"uncertainties": {"united_states.policy.params.targets": [0, 1]}}, "is not a float parameter"),
    ({"levers": ["historical", "historical"]}, "unique"),
])
def test_cli_compare_bad_input_is_one_line(tmp_path, block, expect):
    path = write_compare(tmp_path, **block)
    res = CliRunner().invoke(app, ["compare", str(path), "-n", "5", "--out", str(tmp_path / "o")], terminal_width=300)
    assert res.exit_code == 2
    assert expect in res.output and "Traceback" not in res.output
    assert not (tmp_path / "o").exists()
