"""Calibration: censored/windowed distance, config errors, determinism, parameter recovery, CLI end to end.

Budgets are a few thousand simulations on short periods so the file runs in well under a minute.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from experiments.calibrate import (
    build_calibration,
    calibrate,
    deviations,
    distance,
    load_calibration,
    simulate,
    target_stats,
    to_values,
    prior_sample,
    CalibrationConfig,
)
from experiments.errors import UserError
from experiments.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def _targets(rows):
    df = pd.DataFrame(rows, columns=["id", "quantity", "since_day", "date_start_day", "date_end_day", "value", "bound", "scale"])
    df["tolerance"] = df.get("tolerance", 0.0)
    df["fit"] = True
    return df


# --------------------------------------------------------------------------- statistics and distance


def test_target_stats_counts_from_since_over_the_window():
    attacks = np.array([[1, 0], [2, 1], [0, 1], [3, 0], [1, 5]])  # (T=5, R=2)
    t = _targets([("a", "attacks_total", 1, 2, 4, 0, "exact", 1)])
    s = target_stats({"attacks_total": attacks}, t)
    # since day 1: day-2 cumulative = 2+0, day-4 cumulative = 2+0+3+1 ; replicate 2: 1+1, 1+1+0+5
    assert s[:, 0, :].tolist() == [[2, 6], [2, 7]]


def test_lower_bound_is_censored_and_window_allows_any_day():
    t = _targets([
        ("low", "attacks_total", 0, 0, 0, 166, "lower", 10),
        ("win", "attacks_total", 0, 0, 0, 61, "exact", 5),
    ])
    stats = np.array([
        [[150, 170], [55, 65]],  # bound reached by the last day; 61 inside [55, 65]
        [[150, 160], [62, 70]],  # 6 short of the bound; 1 above on the first day
        [[300, 300], [40, 50]],  # far above a lower bound costs nothing; 11 below
    ], dtype=float)
    dev = deviations(stats, t)
    assert dev.tolist() == [[0, 0], [-6, 1], [0, -11]]
    assert np.allclose(distance(dev, t), [0, np.hypot(0.6, 0.2), 2.2])


def test_approx_tolerance():
    t = _targets([("x", "us_injured", 0, 0, 0, 40, "approx", 10)])
    t["tolerance"] = 10.0
    dev = deviations(np.array([[[31, 31]], [[25, 25]], [[52, 52]]], dtype=float), t)
    assert dev[:, 0].tolist() == [0, -5, 2]


@settings(max_examples=60, deadline=None)
@given(lo=st.integers(0, 300), extra=st.integers(0, 50), y=st.integers(0, 300), lower=st.booleans())
def test_deviation_is_zero_exactly_when_consistent(lo, extra, y, lower):
    t = _targets([("x", "attacks_total", 0, 0, 1, y, "lower" if lower else "exact", 1)])
    hi = lo + extra
    dev = deviations(np.array([[[lo, hi]]], dtype=float), t)[0, 0]
    consistent = hi >= y if lower else lo <= y <= hi
    assert (dev == 0) == consistent
    assert dev <= 0 if lower else (dev < 0) == (hi < y)


# --------------------------------------------------------------------------- configuration


def _config(tmp_path: Path, **changes) -> Path:
    data = yaml.safe_load((ROOT / "scenarios" / "calibration.yaml").read_text())
    data["base"] = str(BASELINE)
    data.update(changes)
    path = tmp_path / "cal.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(
    "changes, where",
    [
        ({"parameters": [{"path": "iran.nope", "low": 0, "high": 1, "source": "test"}]}, "parameters[0].path"),
        ({"parameters": [{"path": "iran.supply_rate", "low": 2, "high": 1, "source": "test"}]}, "parameters[0]"),
        ({"targets": [{"id": "attacks_on_mars", "scale": 1}]}, "targets[0].id"),
        ({"suspension": {"group": "XX", "event": "kh_suspension"}}, "suspension.group"),
        ({"budget": "lots"}, "budget"),
        ({"accept_quantile": 0}, "accept_quantile"),
        ({"colour": "red"}, "colour"),
        ({"base": "missing.yaml"}, "base"),
    ],
)
def test_bad_config_is_a_user_error(tmp_path, changes, where):
    path = _config(tmp_path, **changes)
    with pytest.raises(UserError) as exc:
        load_calibration(path)
    assert str(path) in str(exc.value) and where in str(exc.value)


def test_shipped_config_loads_and_cuts_the_period():
    cal = load_calibration(ROOT / "scenarios" / "calibration.yaml")
    assert cal.scenario.united_states.policy.name == "historical"
    assert str(cal.scenario.end) == "2024-02-09"  # last target window end (001, early Feb)
    assert "kh_suspension" not in set(cal.targets["id"])  # a check, never a target


# --------------------------------------------------------------------------- simulation


def _short_cal(budget=400, chunk=200, **kw):
    cfg = CalibrationConfig(
        base="baseline.yaml", budget=budget, chunk_size=chunk, seed=7, predictive_draws=100, suspension=None,
        parameters=[
            {"path": "militias.*.base_rate", "mode": "multiplier", "low": 0.3, "high": 2.5, "scale": "log", "source": "test"},
            {"path": "attack_effects.p_harm.drone", "low": 0.01, "high": 0.25, "scale": "log", "source": "test"},
        ],
        targets=[{"id": "attacks_total_mid_nov", "scale": 10}, {"id": "attacks_iraq_mid_nov", "scale": 8},
                 {"id": "us_injured_mid_nov", "scale": 15}],
        **kw,
    )
    return build_calibration(cfg, load_scenario(BASELINE))


def test_results_do_not_depend_on_workers():
    cal = _short_cal()
    values = to_values(cal, prior_sample(cal, 400, 7))
    one = simulate(cal, values, workers=1)["stats"]
    two = simulate(cal, values, workers=2)["stats"]
    assert np.array_equal(one, two)
    assert one.shape == (400, 3, 2)
    # the base-rate multiplier drives the attack count: strong positive rank correlation
    rho = pd.Series(values[:, 0]).corr(pd.Series(one[:, 0, 1]), method="spearman")
    assert rho > 0.6


def test_identifiability_recovers_known_parameters(tmp_path):
    """Data simulated by the model at known parameters -> the posterior brackets them."""
    from model import EscalationModel
    from experiments.calibrate import varying_from

    truth = {"militias.*.base_rate:multiplier": 1.4, "attack_effects.p_harm.drone": 0.03}
    cal = _short_cal(budget=3000, chunk=1500)
    R = 400
    model = EscalationModel(cal.scenario, replicates=R, seed=99, block=5,
                            varying=varying_from(cal, np.tile(list(truth.values()), (R, 1))))
    model.run()
    synthetic = np.median(target_stats(model.records, cal.targets), axis=0)  # (J, 2): typical data at the truth
    obs = yaml.safe_load((ROOT / "experiments" / "data" / "observed.yaml").read_text())
    by_id = {c["id"]: c for c in obs["counts"]}
    for j, tid in enumerate(cal.targets["id"]):
        by_id[tid]["value"] = float(np.round(synthetic[j].mean()))
        by_id[tid]["bound"] = "exact"
    (tmp_path / "obs.yaml").write_text(yaml.safe_dump(obs, sort_keys=False))
    cfg = cal.config.model_copy(update={"observed": str(tmp_path / "obs.yaml")})
    cal2 = build_calibration(cfg, load_scenario(BASELINE))
    res = calibrate(cal2, workers=1)
    iv = res.tables["intervals"].set_index("parameter")
    for name, value in truth.items():
        assert iv.loc[name, "posterior_q05"] <= value <= iv.loc[name, "posterior_q95"], (name, iv.loc[name].to_dict())
    m = iv.loc["militias.*.base_rate:multiplier"]
    assert abs(m.posterior_q50 - 1.4) / 1.4 < 0.15
    assert m.width_ratio < 0.35  # the attack counts pin down the overall rate


# --------------------------------------------------------------------------- CLI end to end


def test_cli_end_to_end_and_posterior_feeds_runs(tmp_path):
    from experiments.cli import app
    from experiments.run import run as run_scenario

    out = tmp_path / "cal"
    shipped = yaml.safe_load((ROOT / "scenarios" / "calibration.yaml").read_text())
    config = _config(tmp_path, parameters=shipped["parameters"][:3], predictive_draws=300)
    res = CliRunner().invoke(app, ["calibrate", str(config), "--budget", "512",
                                   "--workers", "1", "--seed", "3", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    for f in ("posterior.parquet", "intervals.csv", "fit.json", "manifest.json", "targets.parquet", "figures/posterior_predictive.png",
              "figures/pairs.png", "figures/marginals.png"):
        assert (out / f).exists(), f
    post = pd.read_parquet(out / "posterior.parquet")
    assert "weight" in post and np.isclose(post["weight"].sum(), 1.0)
    assert {f"militias.{i}.base_rate" for i in range(5)} <= set(post.columns)
    fit = json.loads((out / "fit.json").read_text())
    assert fit["accepted"] == 50 and 0 <= fit["suspension_check"]["share_suspending_in_window"] <= 1
    assert json.loads((out / "manifest.json").read_text())["kind"] == "calibration"

    # any scenario can draw its parameters from the posterior
    sc = tmp_path / "uncertain.yaml"
    sc.write_text(yaml.safe_dump({"extends": str(BASELINE), "name": "uncertain", "end": "2023-11-30",
                                  "uncertainty": {"posterior": str(out / "posterior.parquet")}}))
    daily, summary = run_scenario(sc, replicates=20)
    assert len(summary) == 20

    # a second run into the same folder with a different calibration is refused, nothing lost
    (tmp_path / "other").mkdir()
    again = CliRunner().invoke(app, ["calibrate", str(_config(tmp_path / "other", end="2024-02-20")), "--budget", "64", "--out", str(out), "--quiet"])
    assert again.exit_code == 2 and "different calibration" in again.output
    assert pd.read_parquet(out / "posterior.parquet").equals(post)


def test_suspension_lag_table():
    """Lag from the first U.S. death to the first suspension, per replicate (behaviour table)."""
    from experiments.calibrate import suspension_lag

    # one column per replicate (days down): death day, suspension day -> expected lag
    cases = [(1, 3, 2.0), (0, None, np.nan), (None, 2, np.nan), (3, 0, -3.0)]
    killed = np.zeros((4, len(cases)), dtype=np.int32)
    susp = np.zeros((4, len(cases)), dtype=bool)
    for r, (death, suspended, _) in enumerate(cases):
        if death is not None:
            killed[death, r] = 3
        if suspended is not None:
            susp[suspended:, r] = True
    np.testing.assert_array_equal(suspension_lag(killed, susp), [c[2] for c in cases])
