"""Effects the model applies outside the named rules, as behaviour tables: given this state, this effect.

Leader kills, stock destroyed by strikes, the troop cap on casualties, the U.S. attribution of attacks
and the day attacks stop. Expected values are computed from the parameters the test sets, and random
effects are checked at probabilities 0 and 1 or against binomial bounds at small R.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import config, make_model, militia
from model.batch import StrikeOrder
from model.outputs import QUIET_DAYS
from model.params import COUNTRIES, WEAPONS


def strike_model(replicates: int = 6, **strike_effects):
    effects = {"militia_killed_per_target": 0.0, "irgc_killed_per_target": 0.0, "stock_destroyed_per_target": 0.0,
               "p_leader_killed": 0.0, **strike_effects}
    return make_model(config(united_states={"strike_effects": effects}), replicates=replicates)


def order(replicates: int, **fields) -> StrikeOrder:
    o = StrikeOrder.none(replicates)
    for name, value in fields.items():
        setattr(o, name, np.broadcast_to(np.asarray(value, dtype=getattr(o, name).dtype), (replicates,)).copy())
    return o


# --------------------------------------------------------------------------- leaders


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_a_leader_strike_kills_the_targeted_leader_with_probability_p(p):
    R = 6
    model = strike_model(R, p_leader_killed=p)
    leader = np.array([0, 1, -1, 0, 1, -1])  # replicates 2 and 5 strike no leader
    model.battlespace.land_strikes(order(R, iraq=np.where(leader >= 0, 1, 0), leader=leader))
    expected = (leader >= 0) & (p == 1.0)
    np.testing.assert_array_equal(model.battlespace.leaders_killed, expected.astype(int))
    lost = model.groups.leader_lost_yesterday  # (M, R): the group whose leader was killed
    for g in range(lost.shape[0]):
        np.testing.assert_array_equal(lost[g], (expected & (leader == g)).astype(float))


def test_leaders_die_at_the_rate_p_leader_killed():
    R, p = 400, 0.3
    model = strike_model(R, p_leader_killed=p)
    model.battlespace.land_strikes(order(R, iraq=1, leader=0))
    share, bound = model.battlespace.leaders_killed.mean(), 5 * math.sqrt(p * (1 - p) / R)
    assert abs(share - p) <= bound, (share, p, bound)


# --------------------------------------------------------------------------- stocks


def test_each_target_destroys_a_share_of_the_struck_groups_stock():
    R, d = 4, 0.1
    model = strike_model(R, stock_destroyed_per_target=d)
    targets = np.array([0, 1, 3, 5])
    before = model.groups.stock.copy()  # (weapon, M, R)
    model.battlespace.land_strikes(order(R, syria=targets, group=0))  # every target aimed at group 0
    np.testing.assert_allclose(model.groups.stock[:, 0], before[:, 0] * (1 - d) ** targets)
    np.testing.assert_array_equal(model.groups.stock[:, 1], before[:, 1])  # the other group is not struck


def test_unaimed_targets_are_shared_by_blame_and_destroy_stock_accordingly():
    R, d = 2, 0.2
    model = strike_model(R, stock_destroyed_per_target=d)
    model.us.blame = np.array([[3.0, 1.0], [0.0, 2.0]])  # (R, M): replicate 1 blames only group 1
    before = model.groups.stock.copy()
    model.battlespace.land_strikes(order(R, syria=4))
    share = model.us.blame / model.us.blame.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.groups.stock, before * ((1 - d) ** (4 * share)).T[None])


# --------------------------------------------------------------------------- troop cap


def harm_model(troops: dict[str, float], replicates: int = 3):
    cfg = config(
        attack_effects={"p_harm": {w: 1.0 for w in WEAPONS}, "defense": {c: 1.0 for c in COUNTRIES},
                        "injured_per_harm": 1000.0, "p_fatal_given_harm": {c: 1.0 for c in COUNTRIES},
                        "killed_per_fatal": 1000.0, "us_deaths": "endogenous"},
        united_states={"posture": {"troops": troops}},
    )
    return make_model(cfg, replicates=replicates)


@pytest.mark.parametrize("country", COUNTRIES)
def test_casualties_of_an_attack_cell_never_exceed_the_troops_in_that_country(country):
    troops = {"iraq": 5.0, "syria": 3.0, "jordan": 2.0}
    model = harm_model(troops)
    cells = np.zeros((model.R, 9), dtype=np.int64)
    cells[:, COUNTRIES.index(country) * 3 + WEAPONS.index("drone")] = 10  # every attack harms; ~10,000 injured uncapped
    model.groups.cells = cells
    model.battlespace.land_attacks(model.groups)
    injured, killed = model.battlespace.injured, model.battlespace.killed
    np.testing.assert_array_equal(killed, troops[country])  # killed first, then injured from those left
    np.testing.assert_array_equal(injured + killed, troops[country])


@pytest.mark.parametrize("country", COUNTRIES)
def test_the_troop_cap_holds_per_country_and_day_across_weapons(country):
    """Drone, rocket and missile attacks in one country on one day share its troops (issue 18 item 8):
    with a per-(country, weapon) cap three cells would give up to three times the force."""
    troops = {"iraq": 5.0, "syria": 3.0, "jordan": 2.0}
    model = harm_model(troops)
    cells = np.zeros((model.R, 9), dtype=np.int64)
    for w in WEAPONS:
        cells[:, COUNTRIES.index(country) * 3 + WEAPONS.index(w)] = 10
    model.groups.cells = cells
    model.battlespace.land_attacks(model.groups)
    injured, killed = model.battlespace.injured, model.battlespace.killed
    assert np.all(injured + killed <= troops[country])
    np.testing.assert_array_equal(injured + killed, troops[country])


def test_the_troop_cap_is_per_country_each_country_its_own_force():
    troops = {"iraq": 5.0, "syria": 3.0, "jordan": 2.0}
    model = harm_model(troops)
    cells = np.full((model.R, 9), 10, dtype=np.int64)  # every cell attacked
    model.groups.cells = cells
    model.battlespace.land_attacks(model.groups)
    injured, killed = model.battlespace.injured, model.battlespace.killed
    np.testing.assert_array_equal(injured + killed, sum(troops.values()))


def test_without_a_binding_cap_casualties_follow_the_harm_rates():
    model = harm_model({"iraq": 1e6, "syria": 1e6, "jordan": 1e6})
    cells = np.zeros((model.R, 9), dtype=np.int64)
    cells[:, 0] = 10
    model.groups.cells = cells
    model.battlespace.land_attacks(model.groups)
    injured = model.battlespace.injured
    mean = 1000.0 * 10  # Poisson(injured_per_harm x harmful attacks)
    assert np.all(np.abs(injured - mean) <= 6 * math.sqrt(mean))


# --------------------------------------------------------------------------- attribution


def attribution_model(accuracy: float):
    cfg = config(militias=[militia("A", base_rate=1.0), militia("B", base_rate=3.0)],
                 united_states={"attribution_accuracy": accuracy, "blame_half_life": 7.0})
    return make_model(cfg, replicates=2)


@pytest.mark.parametrize("accuracy", [0.0, 0.5, 1.0])
def test_blame_mixes_the_true_attacker_and_the_prior_by_attribution_accuracy(accuracy):
    model = attribution_model(accuracy)
    us = model.us
    prior = np.array([1.0, 3.0]) / 4.0  # base-rate shares
    np.testing.assert_allclose(us.prior_share, np.broadcast_to(prior, (2, 2)))
    by_group = np.array([[4, 0], [0, 2]])
    zeros = np.zeros(2, dtype=np.int64)
    us.observe(zeros, zeros, by_group)
    expected = accuracy * by_group + (1 - accuracy) * by_group.sum(axis=1, keepdims=True) * prior
    np.testing.assert_allclose(us.blame, expected)
    us.observe(zeros, zeros, np.zeros_like(by_group))  # a day without attacks: blame decays by its half-life
    np.testing.assert_allclose(us.blame, expected * 0.5 ** (1 / 7.0))


# --------------------------------------------------------------------------- the day attacks stop


def stop_days(histories: list[list[int]], days: int = 40) -> np.ndarray:
    """attacks_stop_day of a model whose attack records are the given day lists (one per replicate)."""
    model = make_model(config(days=days), replicates=len(histories))
    for r, attack_days in enumerate(histories):
        model.records["attacks_total"][attack_days, r] = 1
    model.day = days
    return model.summary_arrays()["attacks_stop_day"]


def test_attacks_stop_the_day_after_the_last_attack_before_a_long_enough_quiet_spell():
    T, q = 40, QUIET_DAYS
    histories = [
        [0, 3],  # quiet from day 4 to the end
        list(range(T)),  # never quiet
        [],  # no attack at all: nothing stopped
        [0, q, q + 1],  # a gap of q - 1 days is not a stop; quiet from day q + 2
        [T - q - 1],  # exactly q quiet days remain after it: a stop
        [T - q],  # q - 1 quiet days remain: not (yet) a stop
    ]
    np.testing.assert_array_equal(stop_days(histories, T), [4, -1, -1, q + 2, T - q, -1])


def test_the_summary_table_gives_never_as_null():
    model = make_model(config(days=30), replicates=2)
    model.records["attacks_total"][[0], 0] = 1
    model.records["attacks_total"][:, 1] = 1
    model.day = 30
    frame = model.summary_frame()
    assert frame["attacks_stop_day"].iloc[0] == 1 and math.isnan(frame["attacks_stop_day"].iloc[1])
    assert frame["attacks_stop_date"].iloc[0] == np.datetime64(model.dates[1])
    assert frame["attacks_stop_date"].isna().iloc[1]
