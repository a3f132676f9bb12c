"""Behaviour tables for the militia, Iran and Iraq rules, and the Mesa contract at R = 1."""

from __future__ import annotations

import datetime as dt
import math

import mesa
import numpy as np
import pytest

from conftest import START, config, make_model, militia
from model.actors.iran import Iran
from model.actors.iraq import IraqGovernment
from model.actors.militias import Militia
from model.actors.united_states import UnitedStates
from model.batch import StrikeOrder
from model.streams import ModelStream


def one_militia_model(behaviours, replicates=4, **fields):
    cfg = config(militias=[militia("A", behaviours=behaviours, **fields)])
    model = make_model(cfg, replicates=replicates)
    return model, model.militias[0]


# --------------------------------------------------------------------------- tit for tat

TFT = {"per_killed": 0.1, "per_leader": 2.0, "max_boost": 1.0, "half_life": 10.0}


@pytest.mark.parametrize(
    "killed, leader, grievance",
    [(0, 0, 0.0), (10, 0, 1.0), (0, 1, 2.0), (5, 1, 2.5), (100, 0, 10.0)],
)
def test_tit_for_tat_raises_multiplier_after_losses(killed, leader, grievance):
    model, m = one_militia_model({"tit_for_tat": TFT})
    b = m.behaviours[0]
    assert np.allclose(b.multiplier(model.groups, m.index), 1.0)  # no losses, no grievance
    model.groups.killed_yesterday[m.index] = np.full(model.R, float(killed))
    model.groups.leader_lost_yesterday[m.index] = np.full(model.R, float(leader))
    b.observe(model.groups, m.index)
    assert np.allclose(model.groups.grievance[m.index], grievance)
    expected = 1.0 + TFT["max_boost"] * (1.0 - math.exp(-grievance))
    assert np.allclose(b.multiplier(model.groups, m.index), expected)
    assert (b.multiplier(model.groups, m.index) <= 1.0 + TFT["max_boost"]).all()


def test_tit_for_tat_grievance_decays_with_half_life():
    model, m = one_militia_model({"tit_for_tat": TFT})
    b = m.behaviours[0]
    model.groups.killed_yesterday[m.index] = np.full(model.R, 20.0)
    b.observe(model.groups, m.index)
    peak = b.multiplier(model.groups, m.index).copy()
    model.groups.killed_yesterday[m.index] = np.zeros(model.R)
    mults = []
    for _ in range(10):
        b.observe(model.groups, m.index)
        mults.append(b.multiplier(model.groups, m.index)[0])
    assert np.allclose(model.groups.grievance[m.index], 1.0)  # 2.0 halved after 10 days
    assert all(a > c for a, c in zip([peak[0]] + mults, mults))  # strictly decreasing
    assert mults[-1] > 1.0


# --------------------------------------------------------------------------- deterred

DET = {"per_target": 0.1, "per_leader": 1.0, "half_life": 10.0}


@pytest.mark.parametrize("targets, leader, fear", [(0, 0, 0.0), (5, 0, 0.5), (0, 1, 1.0), (20, 1, 3.0)])
def test_deterred_lowers_multiplier_after_strikes(targets, leader, fear):
    model, m = one_militia_model({"deterred": DET})
    b = m.behaviours[0]
    model.groups.targets_yesterday[m.index] = np.full(model.R, float(targets))
    model.groups.leader_lost_yesterday[m.index] = np.full(model.R, float(leader))
    b.observe(model.groups, m.index)
    assert np.allclose(model.groups.fear[m.index], fear)
    assert np.allclose(b.multiplier(model.groups, m.index), math.exp(-fear))


def test_deterred_fear_decays():
    model, m = one_militia_model({"deterred": DET})
    b = m.behaviours[0]
    model.groups.targets_yesterday[m.index] = np.full(model.R, 10.0)
    b.observe(model.groups, m.index)
    low = b.multiplier(model.groups, m.index)[0]
    model.groups.targets_yesterday[m.index] = np.zeros(model.R)
    for _ in range(10):
        b.observe(model.groups, m.index)
    assert np.allclose(model.groups.fear[m.index], 0.5)
    assert low < b.multiplier(model.groups, m.index)[0] < 1.0


# --------------------------------------------------------------------------- Iran-following

FOLLOW = {"suspend_threshold": 0.25, "suspend_gain": 1000.0, "iraq_weight": 0.0, "resume_rate": 0.0}


@pytest.mark.parametrize(
    "obedience, restraint, suspends",
    [
        (0.0, 1.0, False),
        (0.5, 0.4, False),  # 0.20 below the threshold
        (0.5, 0.5, False),  # 0.25 equals the threshold: not above it
        (1.0, 0.3, True),  # 0.30 above it
        (0.8, 1.0, True),
    ],
)
def test_iran_following_suspends_only_above_threshold(obedience, restraint, suspends):
    model, m = one_militia_model({"iran_following": FOLLOW}, replicates=200)
    b = m.behaviours[0]
    model.groups.iran_obedience[m.index] = obedience
    model.iran.restraint = np.full(model.R, restraint)
    model.iraq.pressure = np.ones(model.R)  # ignored: iraq_weight = 0
    b.observe(model.groups, m.index)
    assert model.groups.suspended[m.index].all() if suspends else not model.groups.suspended[m.index].any()
    expected = 0.0 if suspends else 1.0 - obedience * restraint
    assert np.allclose(b.multiplier(model.groups, m.index), expected)


def test_iran_following_iraq_pressure_adds_to_the_drive():
    model, m = one_militia_model({"iran_following": {**FOLLOW, "iraq_weight": 1.0}}, replicates=100)
    model.groups.iran_obedience[m.index], model.groups.iraq_susceptibility[m.index] = 0.5, 0.5
    model.iran.restraint = np.full(model.R, 0.4)  # 0.20 from Iran alone: below
    model.iraq.pressure = np.full(model.R, 0.2)  # + 1.0 * 0.5 * 0.2 = 0.30: above
    m.behaviours[0].observe(model.groups, m.index)
    assert model.groups.suspended[m.index].all()


@pytest.mark.parametrize("restraint, resume_rate, resumes", [(1.0, 1.0, False), (0.0, 1.0, True), (0.0, 0.0, False)])
def test_iran_following_resume(restraint, resume_rate, resumes):
    model, m = one_militia_model({"iran_following": {**FOLLOW, "resume_rate": resume_rate}}, replicates=50)
    model.groups.suspended[m.index][:] = True
    model.groups.iran_obedience[m.index] = 0.0  # no new suspension drive
    model.iran.restraint = np.full(model.R, restraint)
    m.behaviours[0].observe(model.groups, m.index)
    assert (not model.groups.suspended[m.index].any()) if resumes else model.groups.suspended[m.index].all()


# --------------------------------------------------------------------------- umbrella-following


@pytest.mark.parametrize("conformity", [0.0, 0.7, 1.0])
def test_umbrella_following_slows_a_group_by_the_base_rate_share_of_the_others_that_suspended(conformity):
    """Base rates 1, 2, 3; group B suspended yesterday: A sees 2/(2+3) of the others suspended, C sees 2/(1+2),
    B none; on the first day nobody has suspended yet."""
    follow = {"umbrella_following": {"conformity": conformity}}
    cfg = config(militias=[militia(s, base_rate=r, behaviours=follow) for s, r in (("A", 1.0), ("B", 2.0), ("C", 3.0))])
    model = make_model(cfg, replicates=2)
    g = model.groups
    (rule, rows), = g.rules
    assert np.allclose(rule.multiplier(g, rows), 1.0)  # day 0: no yesterday
    model.day = 1
    g.records["suspended"][0, 1] = True  # B, yesterday, in every replicate
    share = np.array([2 / 5, 0.0, 2 / 3])[:, None]
    assert np.allclose(rule.multiplier(g, rows), 1.0 - conformity * share)


# --------------------------------------------------------------------------- Iraq-pressured


@pytest.mark.parametrize("susceptibility, pressure, mult", [(0.0, 1.0, 1.0), (0.5, 0.2, 0.9), (1.0, 1.0, 0.0), (0.3, 0.0, 1.0)])
def test_iraq_pressured_multiplier(susceptibility, pressure, mult):
    model, m = one_militia_model({"iraq_pressured": {}}, iraq_susceptibility=susceptibility)
    model.iraq.pressure = np.full(model.R, pressure)
    assert np.allclose(m.behaviours[0].multiplier(model.groups, m.index), mult)


def test_propensity_is_rate_times_supply_times_behaviours():
    model, m = one_militia_model({"tit_for_tat": TFT, "deterred": DET}, base_rate=2.0, stock_reference=10.0)
    model.groups.grievance[m.index] = np.full(model.R, 1.0)
    model.groups.fear[m.index] = np.full(model.R, 0.5)
    model.groups.stock[:, m.index] = np.array([[5.0] * model.R, [0.0] * model.R, [0.0] * model.R])  # (weapon, R): half the reference
    expected = 2.0 * 1.0 * 0.5 * (1.0 + (1.0 - math.exp(-1.0))) * math.exp(-0.5)
    assert np.allclose(m.propensity(), expected)


# --------------------------------------------------------------------------- Iran

IRAN = {
    "restraint_per_us_killed": 0.5,
    "restraint_per_irgc_killed": 0.1,
    "restraint_per_target": 0.01,
    "restraint_half_life": 10.0,
    "supply_rate": 2.0,
    "war_hazard": 0.0,
}


def iran_model(rule="show_force_avoid_war", replicates=4, events=(), **params):
    cfg = config(iran={"rule": rule, **IRAN, **params}, exogenous={"events": list(events)})
    return make_model(cfg, replicates=replicates)


def iran_day(model, us_killed=0, irgc_killed=0, targets=0):
    model.us.killed_today = np.full(model.R, us_killed)
    model.battlespace.irgc_killed_today = np.full(model.R, irgc_killed)
    model.us.targets_today = np.full(model.R, targets)
    model.iran.rule.step(model.iran)
    return model.iran.restraint.copy()


@pytest.mark.parametrize(
    "us_killed, irgc_killed, targets, risk",
    [(0, 0, 0, 0.0), (1, 0, 0, 0.5), (3, 0, 0, 1.5), (0, 5, 0, 0.5), (0, 0, 85, 0.85), (1, 2, 10, 0.8)],
)
def test_iran_restraint_rises_with_us_deaths_irgc_deaths_and_strikes(us_killed, irgc_killed, targets, risk):
    model = iran_model()
    restraint = iran_day(model, us_killed, irgc_killed, targets)
    assert np.allclose(restraint, 1.0 - math.exp(-risk))
    assert np.allclose(model.iran.supply, IRAN["supply_rate"] * (1.0 - restraint))
    assert not model.iran.strikes_us.any()


def test_iran_restraint_decays_with_half_life():
    model = iran_model()
    first = iran_day(model, us_killed=2)
    for _ in range(10):
        last = iran_day(model)
    assert np.allclose(last, first / 2)


def test_iran_restraint_event_sets_a_floor():
    ev = {"name": "Qaani", "kind": "iran_restraint", "start": START, "end": START, "magnitude": 0.7}
    model = iran_model(events=[ev])
    assert np.allclose(iran_day(model), 0.7)


@pytest.mark.parametrize("hazard, irgc_killed, war", [(0.0, 10, False), (1.0, 0, False), (1.0, 50, True)])
def test_iran_strikes_us_only_after_irgc_deaths(hazard, irgc_killed, war):
    model = iran_model(war_hazard=hazard, restraint_per_irgc_killed=0.0, replicates=50)
    iran_day(model, irgc_killed=irgc_killed)
    assert model.iran.strikes_us.all() if war else not model.iran.strikes_us.any()


def test_war_hazard_is_a_decaying_pressure_damped_by_restraint():
    """Pressure = decaying stock of IRGC deaths; daily hazard = 1 - exp(-h x pressure x (1 - restraint))."""
    h, half_life = 0.01, 7.0
    model = iran_model(war_hazard=h, war_pressure_half_life=half_life, restraint_per_irgc_killed=0.0,
                       restraint_per_us_killed=0.5, replicates=20000)
    iran_day(model, irgc_killed=20)
    assert np.allclose(model.iran.war_pressure, 20.0)
    assert abs(model.iran.strikes_us.mean() - (1 - math.exp(-h * 20))) < 0.01
    for _ in range(7):
        iran_day(model)
    assert np.allclose(model.iran.war_pressure, 10.0)  # one half-life later
    restraint = iran_day(model, us_killed=2)  # U.S. deaths raise restraint, which damps the hazard
    expected = 1 - math.exp(-h * 10.0 * 0.5 ** (1 / half_life) * (1 - restraint[0]))
    assert abs(model.iran.strikes_us.mean() - expected) < 0.01
    assert restraint[0] > 0.5


def test_unrestrained_iran_never_restrains():
    model = iran_model(rule="unrestrained")
    assert np.allclose(iran_day(model, us_killed=5, irgc_killed=5, targets=100), 0.0)
    assert np.allclose(model.iran.supply, IRAN["supply_rate"])


# --------------------------------------------------------------------------- Iraq


def iraq_model(rule="sudani_balancing", events=()):
    cfg = config(iraq={"rule": rule}, exogenous={"events": list(events)})
    return make_model(cfg, replicates=3)


def iraq_day(model, iraq_targets=0, leader=-1, us_killed=0):
    order = StrikeOrder.none(model.R)
    order.iraq[:] = iraq_targets
    order.leader[:] = leader
    model.us.order = order
    model.us.killed_today = np.full(model.R, us_killed)
    model.battlespace.iraqi_killed_today = np.zeros(model.R, dtype=np.int64)
    model.iraq.rule.step(model.iraq)
    return model.iraq.withdrawal.copy()


@pytest.mark.parametrize("rule", ["sudani_balancing", "passive"])
@pytest.mark.parametrize(
    "iraq_targets, leader, withdrawal",
    [(0, -1, 0.0), (4, -1, 0.2), (1, 0, 0.35), (36, -1, 1.8)],  # 0.05 per target, 0.3 per leader strike
)
def test_iraq_withdrawal_pressure_rises_with_strikes_in_iraq(rule, iraq_targets, leader, withdrawal):
    model = iraq_model(rule)
    assert np.allclose(iraq_day(model, iraq_targets, leader), withdrawal)


def test_iraq_withdrawal_pressure_decays():
    model = iraq_model()
    first = iraq_day(model, iraq_targets=10)
    for _ in range(20):  # half-life 20 days
        last = iraq_day(model)
    assert np.allclose(last, first / 2)


@pytest.mark.parametrize("us_killed, pressure", [(0, 0.1), (1, 0.3), (3, 0.7), (10, 1.0)])
def test_sudani_pressure_rises_after_us_deaths(us_killed, pressure):
    model = iraq_model()
    iraq_day(model, us_killed=us_killed)
    assert np.allclose(model.iraq.pressure, pressure)


def test_sudani_pressure_during_diplomacy_and_passive_never_presses():
    ev = {"name": "Blinken", "kind": "iraq_diplomacy", "start": START, "end": START, "magnitude": 0.5}
    model = iraq_model(events=[ev])
    iraq_day(model)
    assert np.allclose(model.iraq.pressure, 0.6)
    passive = iraq_model(rule="passive", events=[ev])
    iraq_day(passive, us_killed=5)
    assert np.allclose(passive.iraq.pressure, 0.0)


# --------------------------------------------------------------------------- the Mesa contract


def test_r1_is_an_ordinary_mesa_model():
    days = 10
    model = make_model(config(days=days), replicates=1)
    assert isinstance(model, mesa.Model)
    types = sorted(type(a).__name__ for a in model.agents)
    assert types == sorted(["Militia", "Militia", "UnitedStates", "Iran", "IraqGovernment"])
    assert all(isinstance(a, mesa.Agent) for a in model.agents)
    assert len(model.agents_by_type[Militia]) == 2
    for cls in (UnitedStates, Iran, IraqGovernment):
        assert len(model.agents_by_type[cls]) == 1
    assert model.running and model.day == 0
    model.step()
    assert model.day == 1 and model.steps == 1 and model.running
    assert model.date == START + dt.timedelta(days=1)
    model.run()
    assert not model.running and model.day == days and model.steps == days
    assert all(v.shape == (days, 1) for v in model.records.values())
    model.step()  # stepping past the end does nothing
    assert model.day == days
    assert len(model.daily_frame()) == days and len(model.summary_frame()) == 1


# --------------------------------------------------------------------------- militias as one array


def test_militia_state_is_plain_group_arrays_indexed_by_the_agent():
    model = make_model(config(militias=[militia("A", behaviours={"tit_for_tat": TFT}), militia("B")]), replicates=3)
    a, b = model.militias
    g = model.groups
    assert (a.index, b.index) == (0, 1) and g.militias == [a, b]
    assert g.grievance.shape == (2, 3) and g.stock.shape == (3, 2, 3)  # (M, R); stock weapon-major (3, M, R)
    assert all(type(v) is np.ndarray for v in (g.grievance, g.fear, g.exposure, g.suspended, g.stock))
    g.grievance[b.index] = [1.0, 2.0, 3.0]
    assert np.array_equal(g.grievance[1], [1.0, 2.0, 3.0]) and (g.grievance[0] == 0).all()
    assert g.iran_obedience.shape == (2, 1)  # a parameter shared by every replicate: one column per group
    g.stock[:, a.index] = 1.0
    assert np.allclose(a.propensity(), g.propensity()[0])


def test_a_group_without_a_behaviour_gets_no_multiplier_from_it():
    cfg = config(militias=[militia("A", behaviours={"tit_for_tat": TFT, "iraq_pressured": {}}), militia("B", behaviours={"iraq_pressured": {}})])
    model = make_model(cfg, replicates=2)
    before = model.groups.propensity().copy()
    model.groups.grievance[:] = 2.0  # both rows: only A follows tit-for-tat
    after = model.groups.propensity()
    assert np.allclose(after[0], before[0] * (1.0 + TFT["max_boost"] * (1.0 - math.exp(-2.0))))
    assert np.array_equal(after[1], before[1])
    assert np.allclose(model.militias[0].propensity(), after[0])


def test_behaviour_parameters_are_stacked_per_group():
    cfg = config(militias=[militia("A", behaviours={"deterred": {**DET, "per_target": 0.1}}),
                           militia("B", behaviours={"deterred": {**DET, "per_target": 0.3}})])
    model = make_model(cfg, replicates=2)
    model.groups.targets_yesterday[:] = 10.0
    for rule, rows in model.groups.rules:
        rule.observe(model.groups, rows)
    assert np.allclose(model.groups.fear, [[1.0, 1.0], [3.0, 3.0]])


def test_groups_step_in_one_pass_with_fixed_draws_per_day():
    """Counts use one uniform per group and replicate a day: policies that differ only in their strikes
    see the same attack uniforms (common random numbers)."""
    model = make_model(config(days=5), replicates=7)
    state = model.streams[ModelStream.ATTACKS].bit_generator.state["state"]["state"]
    twin = np.random.Generator(np.random.PCG64())
    twin.bit_generator.state = model.streams[ModelStream.ATTACKS].bit_generator.state
    model.run()
    twin.random((5, 2, 7))  # five days of (M, R) uniforms
    assert model.streams[ModelStream.ATTACKS].bit_generator.state == twin.bit_generator.state
    assert state != model.streams[ModelStream.ATTACKS].bit_generator.state["state"]["state"]


def test_a_count_past_its_record_dtype_is_an_error_not_a_wrapped_number():
    """The schema's bounds keep group counts far below the int32 records (issue 11); should a count ever pass
    its dtype, recording raises instead of wrapping around."""
    from model.columns import fits as _fits
    from model.outputs import DTYPES

    limit = np.iinfo(DTYPES["groups"]["attacks"]).max
    ok = np.array([[0, limit]])
    assert _fits(ok, DTYPES["groups"]["attacks"], "attacks") is ok
    with pytest.raises(OverflowError, match="attacks by one group in a day exceeded"):
        _fits(np.array([[limit + 1]], dtype=np.int64), DTYPES["groups"]["attacks"], "attacks by one group in a day")