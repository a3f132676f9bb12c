"""Sobol/Morris through the same code path as the model, the model evaluator, discovery boxes, phase maps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from SALib.test_functions import Ishigami
from typer.testing import CliRunner

from experiments.cli.main import app
from experiments.analysis.discovery import limits_table, prim_boxes, tree_boxes
from experiments.scenario.schema import load_scenario
from experiments.analysis.sensitivity import model_evaluator, sensitivity_indices
from experiments.scenario.blocks import SensitivitySpec

ROOT = Path(__file__).resolve().parent.parent
PI = np.pi


def ishigami(names, X):
    return {"y": Ishigami.evaluate(X)}


def test_sobol_indices_of_ishigami_match_the_analytic_values():
    # a = 7, b = 0.1: S1 = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437)
    spec = SensitivitySpec(samples=2048, uncertainties={"x1": (-PI, PI), "x2": (-PI, PI), "x3": (-PI, PI)}, discovery=[])
    spec = spec.model_copy(update={"outcomes": ["y"]})  # the toy's outcome name (validation knows model outcomes only)
    ind, samples = sensitivity_indices(spec, ishigami, seed=1)
    ind = ind.set_index("parameter")
    assert len(samples) == 2048 * 5
    np.testing.assert_allclose(ind.S1.to_numpy(), [0.3139, 0.4424, 0.0], atol=0.04)
    np.testing.assert_allclose(ind.ST.to_numpy(), [0.5576, 0.4424, 0.2437], atol=0.04)
    assert (ind.S1_conf > 0).all() and (ind.S1_conf < 0.1).all()


def test_sobol_and_morris_of_a_linear_model():
    # y = x1 + 2 x2 + 0 x3 on [0, 1]^3: variances 1/12, 4/12, 0 -> S1 = ST = (0.2, 0.8, 0)
    lin = lambda names, X: {"y": X[:, 0] + 2 * X[:, 1]}
    unc = {"x1": (0.0, 1.0), "x2": (0.0, 1.0), "x3": (0.0, 1.0)}
    spec = SensitivitySpec(samples=1024, uncertainties=unc, discovery=[]).model_copy(update={"outcomes": ["y"]})
    ind = sensitivity_indices(spec, lin, seed=2)[0].set_index("parameter")
    np.testing.assert_allclose(ind.S1.to_numpy(), [0.2, 0.8, 0.0], atol=0.03)
    np.testing.assert_allclose(ind.ST.to_numpy(), [0.2, 0.8, 0.0], atol=0.03)
    morris = spec.model_copy(update={"method": "morris", "samples": 20})
    ind = sensitivity_indices(morris, lin, seed=2)[0].set_index("parameter")
    np.testing.assert_allclose(ind.mu_star.to_numpy(), [1.0, 2.0, 0.0], atol=1e-9)  # elementary effects of a linear map


def test_model_evaluator_gives_each_replicate_its_parameter_row():
    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml").model_copy(update={"end": pd.Timestamp("2023-11-10").date(), "block_size": 16})
    names = ["attack_effects.p_harm.drone", "attack_effects.p_harm.rocket", "attack_effects.p_harm.missile"]
    X = np.zeros((40, 3))
    X[20:] = 1.0  # every attack harms someone
    y = model_evaluator(sc, seed=3, outcomes=["us_injured", "attacks_total"])(names, X)
    assert y["us_injured"].shape == (40,)
    assert (y["us_injured"][:20] == 0).all()
    assert (y["us_injured"][20:] > 0).all()
    # common random numbers: rows at the same place in their group share random streams
    Xg = np.repeat(np.linspace(0.0, 0.3, 12)[:, None], 3, axis=1).repeat(2, axis=0)  # groups of 2 identical rows
    same = model_evaluator(sc, seed=3, outcomes=["attacks_total", "us_injured"], crn_group=2)(names, Xg)
    apart = model_evaluator(sc, seed=3, outcomes=["attacks_total", "us_injured"])(names, Xg)
    assert np.array_equal(same["us_injured"][0::2], same["us_injured"][1::2])
    assert not np.array_equal(apart["us_injured"][0::2], apart["us_injured"][1::2])
    # averaging replicates per point: same shape, less spread
    y4 = model_evaluator(sc, seed=3, outcomes=["attacks_total"], replicates_per_point=4)(names, X)
    assert y4["attacks_total"].shape == (40,) and y4["attacks_total"].std() < y["attacks_total"].std()



def _posterior_scenario():
    """The calibrated scenario (posterior draws resampled per block) cut short, in small blocks."""
    from experiments.runner.run import load_draws

    sc = load_scenario(ROOT / "scenarios" / "calibrated.yaml").model_copy(update={"end": pd.Timestamp("2023-11-20").date(), "block_size": 16})
    return sc, load_draws(sc, ROOT / "scenarios")


NAMES = ["iran.war_hazard", "militias.*.base_rate"]
X_POINTS = np.column_stack([np.linspace(0.0, 0.05, 24), np.linspace(0.05, 2.0, 24)[::-1]])


def test_model_evaluator_runs_each_block_on_its_own_streams():
    """Block b of the sample rows is the model run on stream block b with its resample of the posterior."""
    from experiments.scenario.blocks import SUMMARY_OUTCOMES
    from experiments.runner.runner import varying_for_block
    from model import EscalationModel

    from experiments.runner.outputs import outcomes_off

    sc, draws = _posterior_scenario()
    written = [o for o in SUMMARY_OUTCOMES if o not in outcomes_off(sc)]  # (an optional actor that is off writes none)
    y = model_evaluator(sc, seed=4, outcomes=written, draws=draws)(NAMES, X_POINTS)
    start, size = 16, 8  # block 1 holds rows 16..23
    varying = {**varying_for_block(draws, 4, 1, size), **{n: X_POINTS[start:, j] for j, n in enumerate(NAMES)}}
    s = EscalationModel(sc, replicates=size, seed=4, block=1, replicate_offset=start, varying=varying).run().summary_arrays()
    s["attacks_stopped"] = s["attacks_stop_day"] >= 0
    for o in written:
        np.testing.assert_array_equal(y[o][start:], np.asarray(s[o], dtype=float), err_msg=o)


def _executors():
    from experiments.runner.executors import DaskExecutor, PoolExecutor

    return [pytest.param(PoolExecutor(2), id="pool"), pytest.param(DaskExecutor("local", 2), marks=pytest.mark.slow, id="dask")]


@pytest.mark.parametrize("executor", _executors())
def test_model_evaluator_is_identical_serial_pooled_and_on_dask(executor):
    from experiments.scenario.blocks import SUMMARY_OUTCOMES

    from experiments.runner.outputs import outcomes_off

    sc, draws = _posterior_scenario()
    outcomes = [o for o in SUMMARY_OUTCOMES if o not in outcomes_off(sc)]
    for kw in ({"crn_group": 4}, {"crn_group": 3, "method": "morris", "replicates_per_point": 2}):
        one = model_evaluator(sc, seed=4, outcomes=outcomes, draws=draws, **kw)(NAMES, X_POINTS)
        other = model_evaluator(sc, seed=4, outcomes=outcomes, draws=draws, executor=executor, **kw)(NAMES, X_POINTS)
        assert one.keys() == other.keys()
        for o in outcomes:
            np.testing.assert_array_equal(one[o], other[o], err_msg=f"{kw} {o}")
        assert np.std(one["attacks_total"]) > 0

def test_tree_boxes_find_the_box():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.uniform(0, 1, 2000), "b": rng.uniform(0, 1, 2000), "c": rng.uniform(0, 1, 2000)})
    y = (X.a > 0.7) & (X.b < 0.3)
    boxes = tree_boxes(X, y.to_numpy(), "war", max_depth=3)
    top = boxes.iloc[0]
    assert top.density > 0.95 and top.coverage > 0.9
    assert "a" in top.rule and "b" in top.rule and " c " not in top.rule
    assert boxes.n.sum() == 2000 and boxes.positives.sum() == y.sum()
    assert boxes.coverage.sum() == pytest.approx(1.0)
    lim = limits_table(boxes.iloc[:1], "tree", X).set_index("parameter")  # tidy: one row per restricted parameter
    assert set(lim.index) == {"a", "b"} and lim.loc["a", "low"] == pytest.approx(0.7, abs=0.02)
    assert lim.loc["b", "high"] == pytest.approx(0.3, abs=0.02) and lim.loc["b", "low"] == pytest.approx(X.b.min())


def test_prim_peels_to_the_box_and_reports_its_limits():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.uniform(0, 1, 3000), "b": rng.uniform(0, 1, 3000), "c": rng.uniform(0, 1, 3000)})
    y = ((X.a > 0.6) & (X.b < 0.4)).to_numpy()
    traj, lim = prim_boxes(X, y, "war", density_threshold=0.9)
    assert traj.coverage.iloc[0] == pytest.approx(1.0) and traj.density.iloc[0] == pytest.approx(y.mean())
    assert (np.diff(traj.mass) <= 0).all()  # peeling only shrinks the box
    chosen = traj[traj.chosen].iloc[0]
    assert chosen.density >= 0.9 and chosen.coverage > 0.8
    assert (traj[traj.density >= 0.9].coverage <= chosen.coverage).all()
    lim = lim.set_index("parameter")
    assert set(lim.index) == {"a", "b"}  # c is not restricted
    # density 0.9 allows a little slack around the true box (a > 0.6, b < 0.4)
    assert lim.loc["a", "low"] == pytest.approx(0.6, abs=0.05) and lim.loc["b", "high"] == pytest.approx(0.4, abs=0.05)


def test_cli_sensitivity_and_phase_map(tmp_path):
    base = str(ROOT / "scenarios" / "baseline.yaml")
    sens = {"name": "sens_t", "extends": base, "end": "2023-11-05", "block_size": 512,
            "sensitivity": {"samples": 16, "uncertainties": {"militias.*.behaviours.tit_for_tat.max_boost": [0.5, 3.0],
                                                            "iran.war_hazard": [0.0, 0.05]},
                            "outcomes": ["attacks_total", "war"], "discovery": ["war"]}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(sens))
    res = CliRunner().invoke(app, ["sensitivity", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "s")], terminal_width=200)
    assert res.exit_code == 0, res.output
    ind = pd.read_parquet(tmp_path / "s" / "indices.parquet")
    assert len(ind) == 4 and set(ind.outcome) == {"attacks_total", "war"}
    assert len(pd.read_parquet(tmp_path / "s" / "samples.parquet")) == 16 * 4
    assert json.loads((tmp_path / "s" / "manifest.json").read_text())["kind"] == "sensitivity"
    cases = pd.read_parquet(tmp_path / "s" / "samples.parquet").war >= 0.5
    if 0 < cases.sum() < len(cases):  # PRIM has something to peel
        traj = pd.read_parquet(tmp_path / "s" / "prim_trajectory.parquet")
        assert set(traj.outcome) == {"war"} and traj.chosen.sum() == 1
    else:
        assert pd.read_parquet(tmp_path / "s" / "prim_trajectory.parquet").empty
    disc = pd.read_csv(tmp_path / "s" / "discovery.csv")
    assert "bounds" not in disc and "limits" not in disc  # no stringified dicts; limits are in box_limits
    assert {"outcome", "method", "box", "parameter", "low", "high"} <= set(pd.read_csv(tmp_path / "s" / "box_limits.csv"))
    res = CliRunner().invoke(app, ["sensitivity", str(tmp_path / "s.yaml"), "--method", "morris", "--samples", "4", "--out", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    assert "mu_star" in pd.read_parquet(tmp_path / "m" / "indices.parquet")
    # a lever is not a per-replicate parameter: one clear line, exit 2
    bad = {**sens, "sensitivity": {**sens["sensitivity"], "uncertainties": {"united_states.policy.params.targets": [1, 5]}}}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(bad))
    res = CliRunner().invoke(app, ["sensitivity", str(tmp_path / "b.yaml"), "--out", str(tmp_path / "b")], terminal_width=300)
    assert res.exit_code == 2 and "is not a float parameter" in res.output

    pm = {"name": "pm_t", "extends": base, "end": "2023-11-05", "united_states": {"policy": {"name": "proportional"}},
          "phase_map": {"x": {"path": "united_states.policy.params.targets_per_attack", "values": [0.0, 3.0]},
                        "y": {"path": "militias.*.behaviours.tit_for_tat.max_boost", "values": [0.5, 3.0]}, "replicates": 30}}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(pm))
    res = CliRunner().invoke(app, ["phase-map", str(tmp_path / "p.yaml"), "--out", str(tmp_path / "p")], terminal_width=200)
    assert res.exit_code == 0, res.output
    grid = pd.read_parquet(tmp_path / "p" / "phase_map.parquet")
    assert len(grid) == 4
    X = "united_states.policy.params.targets_per_attack"  # the table names its axes by parameter
    assert {X, "militias.*.behaviours.tit_for_tat.max_boost"} <= set(grid.columns) and "x" not in grid
    # no retaliation -> no strikes -> no IRGC deaths: the war hazard never fires. The default strike response is
    # neutral (issue 18: strikes may deter or provoke), so with a strong tit-for-tat retaliation provokes attacks
    assert (grid[grid[X] == 0].p_war == 0).all()
    Y = "militias.*.behaviours.tit_for_tat.max_boost"
    at = grid.set_index([X, Y]).attacks_mean
    assert at[(3.0, 3.0)] > 1.2 * at[(0.0, 3.0)]
    assert at[(0.0, 0.5)] == at[(0.0, 3.0)]  # without strikes there is no grievance: the boost changes nothing
    assert (tmp_path / "p" / "figures" / "phase_map.png").exists()


def test_flags_mark_indices_that_are_noise():
    from experiments.analysis.sensitivity import flag_indices

    df = pd.DataFrame({"method": "sobol", "outcome": ["war"] * 3, "parameter": ["a", "b", "c"],
                       "S1": [0.6, -0.24, 0.7], "S1_conf": [0.05, 0.25, 0.05], "ST": [0.7, 0.1, 1.04],
                       "ST_conf": [0.05, 0.05, 0.02], "note": ""})
    out = flag_indices(df, tolerance=0.03).set_index("parameter")
    assert out.loc["b", "S1_low"] == pytest.approx(-0.49) and out.loc["b", "S1_high"] == pytest.approx(0.01)
    assert "S1 interval spans 0" in out.loc["b", "flag"] and "S1 < 0" in out.loc["b", "flag"]
    assert "ST > 1" in out.loc["c", "flag"] and "ST > 1" not in out.loc["a", "flag"]
    assert all("sum of S1 = 1.06" in f for f in out.flag)  # 0.6 - 0.24 + 0.7 > 1.03


def test_morris_shares_random_numbers_along_each_trajectory():
    """Under restraint the U.S. never strikes, so strike effects change nothing: with common random
    numbers along each trajectory their elementary effects are exactly 0, while attack rates matter."""
    sc = load_scenario(ROOT / "scenarios" / "restraint.yaml").model_copy(
        update={"end": pd.Timestamp("2023-11-20").date(), "block_size": 64})
    spec = SensitivitySpec(method="morris", samples=4, uncertainties={
        "united_states.strike_effects.militia_killed_per_target": (0.1, 1.0),
        "militias.*.base_rate": (0.2, 1.5),
        "united_states.strike_effects.irgc_killed_per_target": (0.0, 0.5)}, outcomes=["attacks_total"], discovery=[],
        replicates_per_point=3)
    evaluator = model_evaluator(sc, seed=5, outcomes=["attacks_total"], replicates_per_point=3, crn_group=4, method="morris")
    ind = sensitivity_indices(spec, evaluator, seed=5)[0].set_index("parameter")
    assert ind.loc["united_states.strike_effects.militia_killed_per_target", "mu_star"] == 0.0
    assert ind.loc["united_states.strike_effects.irgc_killed_per_target", "mu_star"] == 0.0
    assert ind.loc["militias.*.base_rate", "mu_star"] > 5


def test_each_method_writes_its_own_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = str(ROOT / "scenarios" / "baseline.yaml")
    sens = {"name": "sens_f", "extends": base, "end": "2023-10-25", "block_size": 256,
            "sensitivity": {"samples": 4, "uncertainties": {"militias.*.base_rate": [0.2, 1.5],
                                                           "iran.war_hazard": [0.0, 0.005]},
                            "outcomes": ["attacks_total"], "discovery": []}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(sens))
    for method in ("sobol", "morris"):
        res = CliRunner().invoke(app, ["sensitivity", str(tmp_path / "s.yaml"), "--method", method, "-q"])
        assert res.exit_code == 0, res.output
    for method in ("sobol", "morris"):  # default folders results/<name>/<method>, under tmp_path in ("sobol", "morris"):
        m = json.loads((Path("results") / "sens_f" / method / "manifest.json").read_text())
        assert m["sensitivity"]["method"] == method
    # the same indices on two worker processes; a wrong executor option is one line, exit code 2
    res = CliRunner().invoke(app, ["sensitivity", str(tmp_path / "s.yaml"), "-w", "2", "--out", "pooled", "-q"])
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_parquet("pooled/indices.parquet"), pd.read_parquet("results/sens_f/sobol/indices.parquet"))
    res = CliRunner().invoke(app, ["sensitivity", str(tmp_path / "s.yaml"), "--dask", "remote", "--out", "x", "-q"])
    assert res.exit_code == 2 and "--dask" in res.output and not Path("x").exists()
