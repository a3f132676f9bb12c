"""The escalation ladder: the daily rung table, the memory window, war is absorbing."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from conftest import START, config, make_model, militia
from model.ladder import LADDER_MAX, EscalationLevel as L, daily_rung


@pytest.mark.parametrize(
    "attacks, injured, killed, syria, iraq, irgc, war, rung",
    [
        (0, 0, 0, 0, 0, False, False, L.CALM),
        (3, 0, 0, 0, 0, False, False, L.HARASSMENT),
        (1, 2, 0, 0, 0, False, False, L.US_INJURED),
        (0, 0, 0, 2, 0, False, False, L.STRIKES_SYRIA),
        (1, 1, 0, 2, 1, False, False, L.STRIKES_IRAQ),
        (1, 0, 3, 0, 0, False, False, L.US_KILLED),
        (0, 0, 0, 85, 0, True, False, L.IRGC_KILLED),
        (0, 0, 0, 0, 0, False, True, L.DIRECT_EXCHANGE),
        (5, 9, 3, 49, 36, True, True, L.DIRECT_EXCHANGE),
    ],
)
def test_daily_rung(attacks, injured, killed, syria, iraq, irgc, war, rung):
    a = lambda x: np.array([x])  # noqa: E731
    got = daily_rung(a(attacks), a(injured), a(killed), a(syria), a(iraq), a(irgc), a(war))
    assert got.tolist() == [rung]


def test_ladder_levels_are_ordered_zero_to_seven():
    assert [int(x) for x in L] == list(range(8)) and LADDER_MAX == 7


def harmless_config(days, memory, policy="restraint", policy_params=None, **over):
    """Attacks every day that never hurt anyone: the ladder can only show harassment and strikes."""
    return config(
        days=days,
        policy=policy,
        policy_params=policy_params,
        militias=[militia("A", base_rate=5.0, behaviours={"iraq_pressured": {}}, iraq_susceptibility=0.0)],
        attack_effects={"p_harm": {"drone": 0.0, "rocket": 0.0, "missile": 0.0}},
        ladder={"memory_days": memory},
        **over,
    )


def test_level_is_highest_rung_within_memory():
    # a single 2-target Syria strike on day 3; memory 4 days -> level 3 on days 3..6, then back to 1
    strikes = [{"date": START + dt.timedelta(days=3), "syria": 2, "irgc_share": 0.0}]
    model = make_model(harmless_config(12, 4, "historical", {"strikes": strikes}), replicates=3).run()
    level = model.records["escalation_level"]
    attacked = model.records["attacks_total"] > 0
    expected = np.where(attacked, int(L.HARASSMENT), int(L.CALM))
    expected[3:7] = int(L.STRIKES_SYRIA)
    assert (level == expected).all()
    assert not model.records["war"].any()


def test_war_is_absorbing_and_level_seven():
    # deadly attacks, red line with strikes on Iran, an Iran that does not restrain and answers at once:
    # war from the strike day on
    cfg = config(
        iran={"war_hazard": 1.0, "restraint_per_us_killed": 0.0, "restraint_per_irgc_killed": 0.0, "restraint_per_target": 0.0},
        days=20,
        policy="red_line",
        policy_params={"targets": 10, "iraq_share": 0.0, "delay_days": 1, "irgc_share": 0.0, "strike_iran": True},
        militias=[militia("A", base_rate=5.0, behaviours={"iraq_pressured": {}})],
        attack_effects={
            "p_harm": {"drone": 1.0, "rocket": 1.0, "missile": 1.0},
            "p_fatal_given_harm": {"iraq": 1.0, "syria": 1.0, "jordan": 1.0},
        },
        ladder={"memory_days": 2},
    )
    model = make_model(cfg, replicates=5).run()
    war = model.records["war"].astype(bool)
    level = model.records["escalation_level"]
    assert war.any(axis=0).all()
    first = war.argmax(axis=0)
    for r in range(model.R):
        assert war[first[r]:, r].all() and not war[: first[r], r].any()
        assert (level[first[r]:, r] == L.DIRECT_EXCHANGE).all()
        assert (level[: first[r], r] < L.DIRECT_EXCHANGE).all()
    assert level.min() >= 0 and level.max() <= LADDER_MAX
