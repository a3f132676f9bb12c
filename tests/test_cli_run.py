"""End-to-end `escalation run` of a short scenario: columns, invariants, manifest, overwrite rules."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import short_scenario
from experiments.cli.main import app
from experiments.scenario.schema import load_scenario
from model.ladder import LADDER_MAX, EscalationLevel
from model.outputs import COUNT_COLUMNS

runner = CliRunner()
REPLICATES = 20
DAILY_REQUIRED = [
    "scenario", "replicate", "day", "date", "attacks_iraq", "attacks_syria", "attacks_jordan", "attacks_total",
    "us_strikes_syria", "us_strikes_iraq", "us_injured", "us_killed", "militia_killed", "escalation_level", "war",
    "iraq_withdrawal_pressure", "iran_restraint",
]
SUMMARY_REQUIRED = [
    "scenario", "replicate", "attacks_total", "us_killed", "max_escalation_level", "first_us_death_date", "war",
]


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    # five weeks from Oct 7: the Gaza spike (Oct 17) and the Oct 27 / Nov 8 strikes are inside
    src = short_scenario(tmp, name="e2e", days=35, replicates=REPLICATES)
    out = tmp / "out"
    result = runner.invoke(app, ["run", str(src), "--out", str(out), "--seed", "11"])
    assert result.exit_code == 0, result.output
    daily = pd.read_parquet(out / "daily.parquet")
    summary = pd.read_parquet(out / "summary.parquet")
    manifest = json.loads((out / "manifest.json").read_text())
    return src, out, daily, summary, manifest, result.output


def test_columns_and_shape(ran):
    src, out, daily, summary, manifest, output = ran
    assert set(DAILY_REQUIRED) <= set(daily.columns)
    assert set(SUMMARY_REQUIRED) <= set(summary.columns)
    assert len(daily) == REPLICATES * 35 and len(summary) == REPLICATES
    assert sorted(daily.replicate.unique()) == list(range(REPLICATES))
    assert (daily.scenario == "e2e").all() and (summary.scenario == "e2e").all()
    assert daily.groupby("replicate").day.apply(lambda d: list(d) == list(range(35))).all()
    assert daily.date.min() == pd.Timestamp("2023-10-07") and daily.date.max() == pd.Timestamp("2023-11-10")
    assert "e2e" in output and "wrote" in output


def test_counts_invariants(ran):
    daily = ran[2]
    assert (daily.attacks_total == daily.attacks_iraq + daily.attacks_syria + daily.attacks_jordan).all()
    counts = [c for c in COUNT_COLUMNS if c in daily]  # (an optional actor that is off writes none)
    for col in counts:
        assert (daily[col] >= 0).all(), col
    cum = daily.sort_values(["replicate", "day"]).groupby("replicate")[counts].cumsum()
    assert (cum.groupby(daily.replicate).diff().fillna(0) >= 0).all().all()
    assert daily.attacks_total.sum() > 0
    # historical strikes replayed on their dates in every replicate
    strikes = daily.groupby("date").us_strikes_syria.agg(["min", "max"])
    for date, n in (("2023-10-27", 2), ("2023-11-08", 1)):
        assert tuple(strikes.loc[pd.Timestamp(date)]) == (n, n)


def test_ladder_invariants(ran):
    daily = ran[2]
    assert daily.escalation_level.between(0, LADDER_MAX).all()
    assert (daily.escalation_level[daily.war] == EscalationLevel.DIRECT_EXCHANGE).all()
    assert (daily.escalation_level[daily.us_killed > 0] >= EscalationLevel.US_KILLED).all()
    assert (daily.escalation_level[daily.us_strikes_syria > 0] >= EscalationLevel.STRIKES_SYRIA).all()
    # war never ends once it starts
    assert (daily.sort_values("day").groupby("replicate").war.cummax() == daily.sort_values("day").war).all()
    assert daily.iran_restraint.between(0, 1).all() and (daily.iraq_withdrawal_pressure >= 0).all()


def test_summary_matches_daily(ran):
    daily, summary = ran[2], ran[3].set_index("replicate").sort_index()
    counts = [c for c in COUNT_COLUMNS if c in daily]  # (an optional actor that is off writes none)
    sums = daily.groupby("replicate")[counts].sum()
    for col in counts:
        assert (summary[col] == sums[col]).all(), col
    assert (summary.max_escalation_level == daily.groupby("replicate").escalation_level.max()).all()
    assert (summary.war == daily.groupby("replicate").war.any()).all()
    first_death = daily[daily.us_killed > 0].groupby("replicate").date.min()
    expected = first_death.reindex(summary.index)
    assert summary.first_us_death_date.isna().equals(expected.isna())
    assert (summary.first_us_death_date.dropna() == expected.dropna()).all()


def test_manifest(ran):
    src, out, daily, summary, manifest, _ = ran
    assert manifest["scenario_hash"] == load_scenario(src).identity_hash()
    assert manifest["scenario_name"] == "e2e"
    assert manifest["seed"] == 11 and manifest["replicates"] == REPLICATES
    for pkg in ("mesa", "numpy", "escalation-model"):
        assert manifest["versions"].get(pkg), pkg
    assert manifest["scenario"]["end"] == "2023-11-10"
    assert "git_commit" in manifest


def test_python_api_matches_cli(ran):
    import experiments

    src, out, daily, *_ = ran
    api_daily, api_summary = experiments.run(src, seed=11)
    as_ns = lambda df: df.assign(date=df.date.astype("datetime64[ns]"))  # noqa: E731  (parquet stores ms)
    pd.testing.assert_frame_equal(as_ns(api_daily), as_ns(daily), check_exact=True)


def test_refuses_to_overwrite_other_scenario_without_force(ran, tmp_path):
    src, out, *_ = ran
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    other = short_scenario(tmp_path, name="other", days=14, replicates=3)
    refused = runner.invoke(app, ["run", str(other), "--out", str(out), "-q"])
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert "--force" in refused.output and str(out) in refused.output.replace("\n", "")
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before

    forced = runner.invoke(app, ["run", str(other), "--out", str(out), "-q", "--force"])
    assert forced.exit_code == 0, forced.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario_name"] == "other" and manifest["replicates"] == 3
    assert len(pd.read_parquet(out / "daily.parquet")) == 3 * 14

    # same scenario again (different seed/replicates) needs no --force
    again = runner.invoke(app, ["run", str(other), "--out", str(out), "-q", "-n", "2", "--seed", "5"])
    assert again.exit_code == 0, again.output
    assert np.array_equal(pd.read_parquet(out / "summary.parquet").replicate, [0, 1])
