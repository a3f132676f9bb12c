"""The joint calibration of both theatres (issue 21 item 4): scenarios/calibration_axis.yaml extends the
Iraq/Syria calibration, adds the Red Sea's CENTCOM count as targets and a strike-pattern summary, pools the
strike response across theatres, and --publish points red_sea.yaml and axis.yaml at the joint posterior."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from experiments.analysis.calibration.config import load_calibration, without_theatre
from experiments.analysis.calibration.priors import varying_from
from experiments.scenario.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
JOINT = ROOT / "scenarios" / "calibration_axis.yaml"
POOLED = "militias.*.behaviours.strike_response.per_target"
HOUTHI_RESPONSE = "houthis.behaviours.strike_response.per_target"


def test_joint_config_extends_the_iraq_calibration_and_adds_the_red_sea():
    iraq = load_calibration(ROOT / "scenarios" / "calibration.yaml")
    joint = load_calibration(JOINT)
    # every Iraq/Syria prior and target is the parent's (the pooled one replaced in place, same range)
    assert joint.labels[: len(iraq.labels)] == iraq.labels
    parent = {p.label: p for p in iraq.config.parameters}
    for p in joint.config.parameters[: len(iraq.labels)]:
        assert (p.low, p.high, p.scale) == (parent[p.label].low, parent[p.label].high, parent[p.label].scale)
    assert set(iraq.targets["id"]) < set(joint.targets["id"])
    red = joint.targets[joint.targets["theatre"] == "red_sea"]
    assert set(red["quantity"]) == {"ships_attacked"}
    # the fitted Red Sea targets read only the chosen definition (the `use: fit` rows)
    rows = load_calibration(JOINT).observed.set_index("id")
    assert set(rows.loc[red["count_id"], "use"]) == {"fit"}
    assert set(red.loc[red["fit"], "count_id"]) | set(red.loc[red["fit"], "minus"].replace("", np.nan).dropna()) <= set(
        rows.index[rows["use"] == "fit"])
    # the Iraq-only calibration is untouched: one theatre, no Red Sea summary
    assert iraq.config.theatres == ["iraq_syria"] and iraq.red_sea_pattern is None
    assert (iraq.targets["theatre"] == "iraq_syria").all()
    # observed: +0.52 (attacks rose after the first wave: 4 in 12 days before, [33, 37] - 27 in 11 days after)
    assert joint.red_sea_pattern["observed"] == pytest.approx(np.log((8 / 11 + 0.25) / (4 / 12 + 0.25)))


def test_pooled_parameter_sets_both_theatres_paths_to_one_draw():
    cal = load_calibration(JOINT)
    j = cal.labels.index(POOLED)
    values = np.tile([p.low for p in cal.config.parameters], (3, 1)).astype(float)
    values[:, j] = [-0.05, 0.0, 0.07]
    v = varying_from(cal, values)
    np.testing.assert_array_equal(v[POOLED], v[HOUTHI_RESPONSE])
    np.testing.assert_array_equal(v[HOUTHI_RESPONSE], [-0.05, 0.0, 0.07])
    # separate parameters stay separate: the Houthis' obedience is not the groups'
    assert "houthis.iran_obedience" in v and not any(k.startswith("militias.") and k.endswith("iran_obedience") for k in v)


def test_without_a_theatre_leaves_its_summaries_out_of_the_fit():
    cal = load_calibration(JOINT)
    wo = without_theatre(cal, "red_sea")
    assert not wo.targets.loc[wo.targets["theatre"] == "red_sea", "fit"].any()
    assert wo.targets.loc[wo.targets["theatre"] == "iraq_syria", "fit"].equals(cal.targets.loc[cal.targets["theatre"] == "iraq_syria", "fit"])
    assert not wo.red_sea_pattern["fit"] and wo.pattern["fit"]
    only = without_theatre(cal, "iraq_syria")
    assert not only.targets.loc[only.targets["theatre"] == "iraq_syria", "fit"].any() and only.red_sea_pattern["fit"]
    assert not only.pattern["fit"] and not only.dispersion["fit"]


def _joint(tmp_path: Path, text: str, parent: str | None = None) -> Path:
    folder = tmp_path / "scen"
    if not folder.exists():
        shutil.copytree(ROOT / "scenarios", folder)
    (folder / "child.yaml").write_text(text)
    return folder / "child.yaml"


@pytest.mark.parametrize("text, where", [
    ("extends: calibration.yaml\nbase: axis.yaml\nred_sea_pattern: {windows: [{strike: x, before: [centcom_count_dec30, centcom_count_jan11], "
     "after: [centcom_count_jan11, centcom_count_jan22]}]}\n", "red_sea_pattern"),  # windowed count, report_day exact
    ("extends: calibration.yaml\nbase: axis.yaml\ntargets: [{id: centcom_count_dec30, scale: 3}]\n", "centcom_count_dec30"),  # theatre missing
    ("extends: calibration.yaml\nbase: baseline.yaml\ntheatres: [iraq_syria, red_sea]\nparameters: [{path: " + POOLED
     + ", also: [" + HOUTHI_RESPONSE + "], low: -0.1, high: 0.1, source: test}]\n", HOUTHI_RESPONSE),  # Houthis off in the base
    ("extends: nothere.yaml\nbase: axis.yaml\n", "extends"),
    ("extends: child.yaml\nbase: axis.yaml\n", "cycle"),
])
def test_bad_joint_config_is_one_user_error(tmp_path, text, where):
    with pytest.raises(UserError) as err:
        load_calibration(_joint(tmp_path, text))
    assert where in str(err.value)


@pytest.fixture(scope="module")
def joint_result():
    from experiments.analysis.calibration.pipeline import calibrate

    cal = load_calibration(JOINT, budget=400, chunk_size=200, predictive_draws=40, min_accept=20)
    return calibrate(cal, executor=1)


def test_joint_fit_reports_width_ratios_with_and_without_the_red_sea(joint_result):
    res = joint_result
    wc = res.tables["width_comparison"]
    assert list(wc["parameter"]) == res.cal.labels
    theatre = dict(zip(wc["parameter"], wc["theatre"]))
    assert theatre[POOLED] == "shared" and theatre["iran.restraint_per_us_killed"] == "shared"
    assert theatre["houthis.base_rate"] == "red_sea" and theatre["militias.*.base_rate:multiplier"] == "iraq_syria"
    for col in ("width_ratio_joint", "width_ratio_without_red_sea", "width_ratio_red_sea_only"):
        assert wc[col].between(0, 1.5).all()
    # without the Red Sea, the fit reads none of its summaries: the same distance as the Iraq-only summaries
    from experiments.analysis.calibration.abc import fitted_deviations

    z_wo = fitted_deviations(without_theatre(res.cal, "red_sea"), {k: v for k, v in res.predictive.items()})
    z_all = fitted_deviations(res.cal, res.predictive)
    assert z_all.shape[1] == z_wo.shape[1] + 4 + 1  # four Red Sea targets and its strike pattern
    assert "red_sea_pattern_check" in res.fit and "width_ratios_without_red_sea" in res.fit
    fc = res.fit["red_sea_forecast"]
    after = fc["after_2024-02-29"]
    assert 0 <= after["q05"] <= after["median"] <= after["q95"]
    assert fc["end"] == "2024-12-31" and fc["strike_targets_after_cut_median"] == 0  # no strikes replayed after the data


def test_publish_points_both_scenarios_at_the_joint_posterior(joint_result, tmp_path):
    from experiments.analysis.calibration.write import POSTERIOR_BEGIN, publish
    from experiments.runner.run import load_draws
    from experiments.scenario.schema import load_scenario

    folder = tmp_path / "scen"
    shutil.copytree(ROOT / "scenarios", folder)
    calibrated_before = (folder / "calibrated.yaml").read_bytes()
    written = publish(joint_result, folder)
    assert (folder / "calibrated.yaml").read_bytes() == calibrated_before  # the Iraq-only scenario is not republished
    for _ in range(2):  # publishing again replaces the block, never stacks it
        axis, red = load_scenario(folder / "axis.yaml"), load_scenario(folder / "red_sea.yaml")
        da, dr = load_draws(axis), load_draws(red)
        assert len(da) == len(dr) == len(joint_result.posterior.values)
        assert HOUTHI_RESPONSE in da and POOLED in da and "militias.0.base_rate" in da
        # red_sea.yaml's placeholder group takes no group's draws; the Houthis' (pooled response included) it does
        # the Houthis' columns and the Gaza war's level after the truce (the driver of both theatres); no group's
        assert all(c.startswith(("houthis.", "exogenous.")) for c in dr.columns.drop("weight")) and HOUTHI_RESPONSE in dr
        assert "houthis.base_rate" in dr and "exogenous.gaza_after_truce" in dr
        np.testing.assert_array_equal(dr[HOUTHI_RESPONSE], da[HOUTHI_RESPONSE])
        np.testing.assert_array_equal(da[HOUTHI_RESPONSE], da[POOLED])
        assert (folder / "red_sea.yaml").read_text().count(POSTERIOR_BEGIN) == 1
        written = publish(joint_result, folder)
    assert folder / "data" / "joint_posterior.parquet" in written


def test_red_sea_scenario_with_the_posterior_runs(joint_result, tmp_path):
    from experiments.analysis.calibration.write import publish
    from experiments.runner.run import load_draws
    from experiments.runner.runner import Job, day_by_replicate, run_jobs
    from experiments.scenario.schema import load_scenario

    folder = tmp_path / "scen"
    shutil.copytree(ROOT / "scenarios", folder)
    publish(joint_result, folder)
    sc = load_scenario(folder / "red_sea.yaml")
    draws = load_draws(sc).drop(columns="weight").iloc[:8]
    out = run_jobs([Job(sc, 1, 0, 0, 8, {c: draws[c].to_numpy() for c in draws}, tables=("daily",), columns=("ships_attacked",))],
                   1, lambda job, t: {"n": day_by_replicate(t["daily"], "ships_attacked", job.size).sum(axis=0)}, None)
    assert out[0]["n"].shape == (8,) and out[0]["n"].sum() > 0


def test_publish_into_a_scenario_that_sets_its_own_uncertainty_is_refused_before_simulating(tmp_path):
    from experiments.analysis.calibration.plan import plan_calibration

    folder = tmp_path / "scen"
    shutil.copytree(ROOT / "scenarios", folder)
    red = folder / "red_sea.yaml"
    red.write_text(red.read_text().split("# --- joint posterior")[0] + "uncertainty:\n  posterior: data/joint_posterior.parquet\n")
    with pytest.raises(UserError) as err:
        plan_calibration(folder / "calibration_axis.yaml", tmp_path / "out", budget=64, publish=True)
    assert "uncertainty" in str(err.value) and "red_sea.yaml" in str(err.value)
    assert not (tmp_path / "out").exists()
