"""Behaviour tables for `strike_response` (strikes deter or provoke) and `avoid_exposure` (strikes inside
Iraq move a group's attacks to Syria), and the calibration's prior for the strike response spanning both signs
(issue 18 items 2 and 4)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from conftest import config, make_model, militia
from model.batch import StrikeOrder
from model.actors.militias import MilitiaParams
from model.rules import REGISTRY

SR = {"per_target": 0.1, "per_leader": 0.0, "max_boost": 1.0, "half_life": 10.0}
ROOT = Path(__file__).resolve().parents[1]


def one_militia_model(behaviours, replicates=4, **fields):
    cfg = config(militias=[militia("A", behaviours=behaviours, **fields)])
    model = make_model(cfg, replicates=replicates)
    return model, model.militias[0]


@pytest.mark.parametrize(
    "per_target, targets, expected",
    [
        (0.1, 0, 1.0),
        (0.1, 5, math.exp(-0.5)),  # deterred: exp(-S)
        (0.1, 20, math.exp(-2.0)),
        (-0.1, 5, 1.0 + (1.0 - math.exp(-0.5))),  # provoked: 1 + max_boost (1 - exp(S))
        (-0.1, 100, 1.0 + (1.0 - math.exp(-10.0))),  # saturates below 1 + max_boost
        (0.0, 50, 1.0),  # no net effect
    ],
)
def test_strike_response_deters_or_provokes_by_the_sign_of_per_target(per_target, targets, expected):
    model, m = one_militia_model({"strike_response": {**SR, "per_target": per_target}})
    b = m.behaviours[0]
    model.groups.targets_yesterday[m.index] = np.full(model.R, float(targets))
    b.observe(model.groups, m.index)
    np.testing.assert_allclose(b.multiplier(model.groups, m.index), expected)
    assert (b.multiplier(model.groups, m.index) <= 1.0 + SR["max_boost"]).all() and (b.multiplier(model.groups, m.index) > 0).all()


def test_strike_response_stock_decays_both_ways():
    for sign in (1.0, -1.0):
        model, m = one_militia_model({"strike_response": {**SR, "per_target": sign * 0.1}})
        b = m.behaviours[0]
        model.groups.targets_yesterday[m.index] = np.full(model.R, 10.0)
        b.observe(model.groups, m.index)
        first = abs(b.multiplier(model.groups, m.index)[0] - 1.0)
        model.groups.targets_yesterday[m.index] = np.zeros(model.R)
        for _ in range(10):
            b.observe(model.groups, m.index)
        np.testing.assert_allclose(model.groups.fear[m.index], sign * 0.5)  # halved after one half-life
        assert 0 < abs(b.multiplier(model.groups, m.index)[0] - 1.0) < first


def test_a_provoking_strike_raises_attacks_and_a_deterring_one_lowers_them():
    """End to end: the same dated strikes, the sign of per_target decides which way attacks move."""
    def attacks(per_target):
        cfg = config(policy="historical", days=60, policy_params={"strikes": [{"date": "2023-10-20", "syria": 20}]},
                     militias=[militia("A", base_rate=2.0, behaviours={"strike_response": {**SR, "per_target": per_target}})])
        model = make_model(cfg, replicates=400, seed=3)
        model.run()
        return model.records["attacks_total"][20:50].sum(axis=0).mean()

    none, deter, provoke = attacks(0.0), attacks(0.1), attacks(-0.1)
    assert deter < 0.75 * none
    assert provoke > 1.25 * none


def test_strike_response_is_a_default_behaviour_and_deterred_is_not():
    defaults = MilitiaParams(name="x", short="X").behaviours
    assert "strike_response" in defaults and "avoid_exposure" in defaults and "deterred" not in defaults
    assert REGISTRY["militia"]["strike_response"].Params.model_fields["per_target"].metadata  # bounded both ways


def test_calibration_prior_for_the_strike_response_spans_deterrence_and_provocation():
    import yaml

    cal = yaml.safe_load((ROOT / "scenarios" / "calibration.yaml").read_text())
    prior = next(p for p in cal["parameters"] if p["path"] == "militias.*.behaviours.strike_response.per_target")
    assert prior["low"] < 0 < prior["high"]
    for ref in ("Abrahams", "Haushofer", "Jaeger", "Dell"):
        assert ref in prior["source"]


# --------------------------------------------------------------------------- avoid_exposure

AX = {"per_iraq_target": 0.5, "per_pressure": 0.0, "half_life": 10.0}


def test_avoid_exposure_moves_the_iraq_share_not_the_total():
    model, m = one_militia_model({"avoid_exposure": AX}, target_weights={"iraq": 1.0, "syria": 1.0, "jordan": 0.0})
    g = model.groups
    before = g.target_shares()[0, ..., 0].copy()
    np.testing.assert_allclose(before, 0.5)
    model.us.order = StrikeOrder.none(model.R)
    model.us.order.iraq[:] = 2
    m.behaviours[0].observe(model.groups, m.index)
    np.testing.assert_allclose(model.groups.exposure[m.index], 1.0)
    shares = np.broadcast_to(g.target_shares(), (1, model.R, 3))[0]
    np.testing.assert_allclose(shares[:, 0], math.exp(-1.0) / (1.0 + math.exp(-1.0)))
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    np.testing.assert_allclose(m.behaviours[0].multiplier(model.groups, m.index), 1.0)  # the rate is untouched


def test_strikes_in_syria_do_not_move_the_split():
    model, m = one_militia_model({"avoid_exposure": AX})
    model.us.order = StrikeOrder.none(model.R)
    model.us.order.syria[:] = 10
    m.behaviours[0].observe(model.groups, m.index)
    np.testing.assert_allclose(model.groups.exposure[m.index], 0.0)


def test_strikes_inside_iraq_shift_attacks_to_syria_end_to_end():
    def split(per_iraq_target):
        cfg = config(policy="historical", days=60, policy_params={"strikes": [{"date": "2023-10-20", "iraq": 3}]},
                     militias=[militia("A", base_rate=2.0, target_weights={"iraq": 1.0, "syria": 1.0, "jordan": 0.0},
                                       behaviours={"avoid_exposure": {**AX, "per_iraq_target": per_iraq_target}})])
        model = make_model(cfg, replicates=200, seed=5)
        model.run()
        r = model.records
        return r["attacks_iraq"][15:40].sum() / r["attacks_total"][15:40].sum(), r["attacks_total"][15:40].sum()

    (share0, n0), (share1, n1) = split(0.0), split(0.5)
    assert share0 > 0.45 and share1 < 0.35
    assert n0 == n1  # same draws, same totals: only the place moves


@pytest.mark.parametrize("displacement", [0.0, 0.3, 1.0])
def test_avoid_exposure_displaces_only_its_share_of_the_attacks_moved_off_iraq(displacement):
    """Behaviour table: Iraq share p = 1/2, Iraq weight m = exp(-1) after two targets struck in Iraq. The rate
    loses (1 - displacement) p (1 - m) and is split with the renormalised weights; at 0 the group makes p m in
    Iraq and 1 - p in Syria (the Syria rate it had before the strikes)."""
    model, m = one_militia_model({"avoid_exposure": {**AX, "displacement": displacement}},
                                 target_weights={"iraq": 1.0, "syria": 1.0, "jordan": 0.0})
    g, rule = model.groups, m.behaviours[0]
    model.us.order = StrikeOrder.none(model.R)
    model.us.order.iraq[:] = 2
    rule.observe(g, m.index)
    p, w = 0.5, math.exp(-1.0)
    rate = np.broadcast_to(rule.multiplier(g, m.index), (model.R,))
    shares = np.broadcast_to(g.target_shares(), (1, model.R, 3))[0]
    total = 1.0 - (1.0 - displacement) * p * (1.0 - w)
    np.testing.assert_allclose(rate, total)
    np.testing.assert_allclose(rate * shares[:, 0], total * p * w / (1.0 - p + p * w))
    np.testing.assert_allclose(rate * shares[:, 1], total * (1.0 - p) / (1.0 - p + p * w))
    if displacement == 0.0:
        np.testing.assert_allclose(rate[:, None] * shares[:, :2], np.broadcast_to([p * w, 1.0 - p], (model.R, 2)))


def test_partial_displacement_lowers_the_total_end_to_end():
    """Same draws: with displacement 0 the attacks moved off Iraq are forgone (the total falls, Syria keeps its
    pre-strike rate); with 1 (the default) they all land in Syria and the total is that of no shift at all."""
    def counts(per_iraq_target, displacement=None):
        ax = {**AX, "per_iraq_target": per_iraq_target, **({} if displacement is None else {"displacement": displacement})}
        cfg = config(policy="historical", days=60, policy_params={"strikes": [{"date": "2023-10-20", "iraq": 3}]},
                     militias=[militia("A", base_rate=2.0, target_weights={"iraq": 1.0, "syria": 1.0, "jordan": 0.0},
                                       behaviours={"avoid_exposure": ax})])
        model = make_model(cfg, replicates=200, seed=5)
        model.run()
        r = model.records
        return {k: int(r[f"attacks_{k}"][15:40].sum()) for k in ("total", "iraq", "syria")}

    none, full, default, forgone = counts(0.0, 0.0), counts(0.5, 1.0), counts(0.5), counts(0.5, 0.0)
    assert default == full and full["total"] == none["total"]
    assert forgone["total"] < 0.85 * none["total"]
    assert forgone["iraq"] < 0.7 * none["iraq"]
    assert abs(forgone["syria"] - none["syria"]) < 0.1 * none["syria"]
    assert forgone["syria"] < 0.8 * full["syria"]


def test_calibration_prior_for_displacement_cites_the_substitution_literature():
    import yaml

    cal = yaml.safe_load((ROOT / "scenarios" / "calibration.yaml").read_text())
    prior = next((p for p in cal["parameters"] if p["path"] == "militias.*.behaviours.avoid_exposure.displacement"), None)
    if prior is None:  # not calibrated: the default keeps full displacement
        assert REGISTRY["militia"]["avoid_exposure"].Params().displacement == 1.0
    else:
        assert 0.0 <= prior["low"] < prior["high"] <= 1.0 and "Enders" in prior["source"]


# --------------------------------------------------------------------------- the summaries that identify them


def test_strike_pattern_statistic_is_the_mean_log_rate_ratio():
    from experiments.analysis.calibration.statistics import strike_pattern

    cum = np.array([[0], [10], [20], [20], [50]], dtype=float)  # day 0..4
    windows = np.array([[0, 2, 2, 4], [1, 2, 2, 3]])  # rates 10 -> 15; 10 -> 0
    expected = (math.log((15 + 0.25) / (10 + 0.25)) + math.log(0.25 / 10.25)) / 2
    np.testing.assert_allclose(strike_pattern(cum, windows, 0.25), [expected])


def test_shipped_calibration_fits_the_pattern_and_the_suspension_only_once_they_are_reported():
    """The strike pattern reads the Feb 13 tally and the suspension the Jan 29 - Feb 1 window: refits at earlier
    origins (out-of-time check, rolling forecasts) must leave them out, or later data leak into earlier forecasts."""
    from experiments.analysis.calibration.abc import fitted_deviations
    from experiments.analysis.calibration.config import load_calibration, summaries_known_by
    from experiments.analysis.rolling import at_origin
    import datetime as dt

    cal = load_calibration(ROOT / "scenarios" / "calibration.yaml", out_of_time=False)
    assert cal.pattern["fit"] and cal.suspension_fit["fit"]
    assert -0.5 < cal.pattern["observed"] < 0.5
    sims = {"stats": np.zeros((3, len(cal.targets), 2), dtype=np.float32), "pattern": np.zeros(3, dtype=np.float32),
            "suspended_in_window": np.array([True, False, True]), "suspended_before": np.array([False, False, True])}
    full = fitted_deviations(cal, sims)
    np.testing.assert_allclose(full[:, -1], [0.0, 1.0, 1.0])  # suspended in the window, not before
    for early in (summaries_known_by(cal, dt.date(2024, 1, 18)), at_origin(cal, dt.date(2023, 12, 7))):
        assert not early.pattern["fit"] and not early.suspension_fit["fit"]
        assert fitted_deviations(early, sims).shape[1] == full.shape[1] - 2
    assert summaries_known_by(cal, dt.date(2024, 2, 13)).pattern["fit"]


def test_preposterior_narrows_a_parameter_the_weekly_count_reads_and_not_one_it_does_not():
    """The week after the Dec 25 strike on KH says something about the strike response (it moves KH's attacks),
    nothing about the war hazard (no IRGC losses then): the first narrows, the second stays at chance (~1)."""
    import datetime as dt

    import pandas as pd

    from experiments.analysis.calibration.config import load_calibration
    from experiments.analysis.preposterior import preposterior

    cal = load_calibration(ROOT / "scenarios" / "calibration.yaml", out_of_time=False)
    rng = np.random.default_rng(0)
    n = 600
    sr = rng.uniform(-0.1, 0.1, size=n)
    draws = pd.DataFrame({**{f"militias.{i}.behaviours.strike_response.per_target": sr for i in range(5)},
                          "iran.war_hazard": rng.uniform(5e-5, 5e-3, size=n)})
    t = preposterior(cal, draws, strikes=(dt.date(2023, 12, 25),),
                     parameters=("militias.*.behaviours.strike_response.per_target", "iran.war_hazard"), chunk=300)
    r = t.set_index("parameter")["expected_width_ratio"]
    assert r["iran.war_hazard"] > 0.96
    assert r["militias.*.behaviours.strike_response.per_target"] < r["iran.war_hazard"] - 0.02
    assert t.set_index("parameter").loc["militias.*.behaviours.strike_response.per_target", "corr"] < -0.2  # deterrence: fewer
