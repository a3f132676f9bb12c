"""Behaviour tables for the U.S. policies: given this history, this strike order.

Histories are written into the model's records by hand and ``policy.decide(us)`` is
called day by day, the way ``UnitedStates.step`` calls it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from conftest import START, config, make_model, order_tuple, set_attacks
from model.batch import StrikeOrder


def drive(policy, params, attacks, killed=None, injured_total=None, replicates=2, **cfg):
    """Feed a history day by day; returns the list of strike orders (one per day).

    attacks: list of (iraq, syria, jordan) per day; killed: U.S. killed per day;
    injured_total: cumulative U.S. injured the policy sees each day.
    """
    model = make_model(config(policy=policy, policy_params=params, days=max(len(attacks), 2), **cfg), replicates=replicates)
    us, orders = model.us, []
    for t, (iq, sy, jo) in enumerate(attacks):
        model.day = t
        set_attacks(model, t, iq, sy, jo)
        us.killed_today = np.full(us.R, killed[t] if killed else 0, dtype=np.int64)
        us.injured_total = np.full(us.R, injured_total[t] if injured_total else 0, dtype=np.int64)
        orders.append(us.policy.decide(us))
    return orders


def fired_days(orders):
    return [t for t, o in enumerate(orders) if o.total[0] > 0]


# --------------------------------------------------------------------------- restraint


@pytest.mark.parametrize(
    "attacks, killed",
    [([(0, 0, 0)] * 5, None), ([(10, 10, 10)] * 5, [0, 3, 0, 5, 1])],
    ids=["quiet", "heavy attacks and deaths"],
)
def test_restraint_never_strikes(attacks, killed):
    for order in drive("restraint", {}, attacks, killed):
        assert order_tuple(order) == (0, 0, -1, False)
        assert (order.total == 0).all()


# --------------------------------------------------------------------------- proportional

PROP = {"targets_per_attack": 1.0, "lag_days": 1, "max_targets": 10, "strike_in_iraq": False, "irgc_share": 0.5}


@pytest.mark.parametrize(
    "params, yesterday, today, expected",
    [
        ({}, (2, 1, 1), (0, 0, 0), (4, 0)),  # Syria only: all 4 targets go to Syria
        ({}, (0, 0, 0), (5, 5, 5), (0, 0)),  # today's attacks are answered tomorrow
        ({"strike_in_iraq": True}, (2, 1, 1), (0, 0, 0), (2, 2)),  # Iraq attacks answered in Iraq
        ({"targets_per_attack": 2.0}, (1, 1, 0), (0, 0, 0), (4, 0)),  # k targets per attack
        ({"targets_per_attack": 2.0, "strike_in_iraq": True}, (3, 2, 1), (0, 0, 0), (4, 6)),  # capped at 10
        ({"max_targets": 3}, (0, 5, 0), (0, 0, 0), (3, 0)),
        ({"targets_per_attack": 0.0}, (4, 4, 4), (0, 0, 0), (0, 0)),
    ],
)
def test_proportional_answers_yesterday(params, yesterday, today, expected):
    orders = drive("proportional", {**PROP, **params}, [yesterday, today])
    syria, iraq, leader, iran = order_tuple(orders[1])
    assert (syria, iraq) == expected
    assert leader == -1 and not iran
    assert order_tuple(orders[0])[:2] == (0, 0)  # nothing before the start: day 0 has no yesterday


def test_proportional_lag():
    orders = drive("proportional", {**PROP, "lag_days": 3}, [(0, 2, 0)] + [(0, 0, 0)] * 4)
    assert [o.syria[0] for o in orders] == [0, 0, 0, 2, 0]


# --------------------------------------------------------------------------- threshold

THRESH = {"attacks": 5, "window_days": 3, "targets": 2, "cooldown_days": 4, "iraq_share": 0.0, "irgc_share": 0.5}


@pytest.mark.parametrize(
    "params, series, fires",
    [
        ({}, [1, 2, 2, 3, 3, 0, 0, 0, 0, 5, 0], [2, 9]),  # fires when the 3-day sum reaches 5; cooldown 4
        ({}, [1, 1, 1, 1, 1, 1, 1], []),  # 3 in any window: never
        ({"window_days": 1, "cooldown_days": 3}, [5] * 10, [0, 3, 6, 9]),
        ({"window_days": 1, "cooldown_days": 0}, [5, 4, 5], [0, 2]),
        ({"window_days": 7, "cooldown_days": 100}, [1] * 12, [4]),
    ],
)
def test_threshold_fires_at_k_and_waits(params, series, fires):
    p = {**THRESH, **params}
    orders = drive("threshold", p, [(0, a, 0) for a in series])
    assert fired_days(orders) == fires
    for t in fires:
        assert order_tuple(orders[t]) == (p["targets"], 0, -1, False)


def test_threshold_iraq_share_splits_targets():
    orders = drive("threshold", {**THRESH, "targets": 4, "iraq_share": 0.5, "window_days": 1}, [(5, 0, 0)])
    assert order_tuple(orders[0]) == (2, 2, -1, False)


# --------------------------------------------------------------------------- graduated

GRAD = {
    "attacks": 4,
    "window_days": 2,
    "syria_targets": 2,
    "cooldown_days": 3,
    "iraq_after_injured": 50,
    "iraq_targets": 1,
    "heavy_targets": 20,
    "heavy_iraq_share": 0.25,
    "heavy_delay_days": 5,
    "irgc_share": 0.5,
}


@pytest.mark.parametrize(
    "injured, expected",
    [(0, (2, 0)), (49, (2, 0)), (50, (2, 1)), (500, (2, 1))],
    ids=["no injured", "below threshold", "at threshold", "above"],
)
def test_graduated_syria_then_iraq(injured, expected):
    orders = drive("graduated", GRAD, [(0, 4, 0)], injured_total=[injured])
    syria, iraq, leader, iran = order_tuple(orders[0])
    assert (syria, iraq) == expected and leader == -1 and not iran


@pytest.mark.parametrize("delay", [0, 1, 5])
def test_graduated_heavy_strike_exactly_delay_after_death(delay):
    n = 12
    killed = [0] * n
    killed[2] = 3
    orders = drive("graduated", {**GRAD, "attacks": 1000, "heavy_delay_days": delay}, [(0, 0, 0)] * n, killed=killed)
    assert fired_days(orders) == [2 + delay]
    assert order_tuple(orders[2 + delay]) == (15, 5, -1, False)  # 20 targets, a quarter in Iraq


def test_graduated_heavy_strike_replaces_routine_and_resets_cooldown():
    n = 10
    killed = [0] * n
    killed[1] = 1
    orders = drive("graduated", {**GRAD, "heavy_delay_days": 2}, [(0, 4, 0)] * n, killed=killed)
    # routine strikes on day 0, heavy on day 3 (cooldown restarts), routine again on day 6, 9
    assert fired_days(orders) == [0, 3, 6, 9]
    assert orders[3].total[0] == 20 and orders[0].total[0] == 2


# --------------------------------------------------------------------------- red line

RED = {"targets": 100, "iraq_share": 0.3, "delay_days": 2, "irgc_share": 0.8, "strike_iran": False}


def test_red_line_nothing_before_a_death():
    orders = drive("red_line", RED, [(20, 20, 20)] * 10)
    assert fired_days(orders) == []


@pytest.mark.parametrize("strike_iran", [False, True])
@pytest.mark.parametrize("delay", [0, 2, 4])
def test_red_line_strikes_after_delay(delay, strike_iran):
    n = 10
    killed = [0] * n
    killed[3] = 1
    orders = drive("red_line", {**RED, "delay_days": delay, "strike_iran": strike_iran}, [(1, 1, 1)] * n, killed=killed)
    assert fired_days(orders) == [3 + delay]
    assert order_tuple(orders[3 + delay]) == (70, 30, -1, strike_iran)
    assert not any(o.iran[0] for t, o in enumerate(orders) if t != 3 + delay)


def test_red_line_each_death_after_the_strike_rearms_it():
    n = 12
    killed = [0] * n
    killed[1] = killed[2] = killed[7] = 1  # a second death before the strike does not postpone it
    orders = drive("red_line", {**RED, "delay_days": 2}, [(0, 0, 0)] * n, killed=killed)
    assert fired_days(orders) == [3, 9]


# --------------------------------------------------------------------------- decapitation

DECAP = {"attacks": 3, "window_days": 2, "cooldown_days": 5}


def test_decapitation_targets_the_most_blamed_group():
    model = make_model(config(policy="decapitation", policy_params=DECAP), replicates=3)  # groups A and B
    us = model.us
    us.blame = np.array([[5.0, 1.0], [0.5, 2.0], [0.0, 0.1]])
    model.day = 0
    set_attacks(model, 0, iraq=3)
    order = us.policy.decide(us)
    assert order.leader.tolist() == [0, 1, 1]
    assert order.iraq.tolist() == [1, 1, 1] and order.syria.tolist() == [0, 0, 0]


def test_decapitation_window_and_cooldown():
    orders = drive("decapitation", DECAP, [(0, 1, 0), (0, 2, 0), (0, 2, 0), (0, 5, 0), (0, 0, 0), (0, 0, 0), (0, 3, 0)])
    assert fired_days(orders) == [1, 6]
    assert all(o.leader[0] == -1 for t, o in enumerate(orders) if t not in (1, 6))


# --------------------------------------------------------------------------- historical

STRIKES = [
    {"date": START + dt.timedelta(days=2), "syria": 2, "irgc_share": 1.0},
    {"date": START + dt.timedelta(days=5), "iraq": 1, "irgc_share": 0.0, "leader": "B"},
    {"date": START + dt.timedelta(days=8), "syria": 7, "iraq": 3, "irgc_share": 0.5},
]


def test_historical_replays_dated_strikes_whatever_happens():
    orders = drive("historical", {"strikes": STRIKES}, [(9, 9, 9)] * 10, killed=[1] * 10)
    assert fired_days(orders) == [2, 5, 8]
    assert order_tuple(orders[2]) == (2, 0, -1, False)
    assert order_tuple(orders[5]) == (0, 1, 1, False)  # group "B" is militia index 1
    assert order_tuple(orders[8]) == (7, 3, -1, False)
    assert orders[2].irgc_share[0] == 1.0 and orders[8].irgc_share[0] == 0.5


def test_historical_strikes_outside_the_run_are_ignored():
    far = [{"date": START + dt.timedelta(days=400), "syria": 5}]
    assert fired_days(drive("historical", {"strikes": far}, [(0, 0, 0)] * 5)) == []


def test_strike_order_none_is_empty():
    o = StrikeOrder.none(3)
    assert o.total.tolist() == [0, 0, 0] and o.leader.tolist() == [-1] * 3 and not o.iran.any()
