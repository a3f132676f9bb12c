"""Property tests: invariants hold for random valid parameters; per-replicate `varying` = scalar scenario."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import config, make_model, militia
from experiments.scenario.schema import set_path
from model.config import ModelConfig
from model.ladder import LADDER_MAX, EscalationLevel
from model.outputs import COUNT_COLUMNS

ALL_BEHAVIOURS = {
    "tit_for_tat": {"per_killed": 0.1, "per_leader": 2.0, "max_boost": 1.0, "half_life": 10.0},
    "deterred": {"per_target": 0.05, "per_leader": 1.0, "half_life": 20.0},
    "iran_following": {"suspend_threshold": 0.2, "suspend_gain": 4.0, "iraq_weight": 0.5, "resume_rate": 0.05},
    "iraq_pressured": {},
}
POLICIES = [
    ("restraint", {}),
    ("proportional", {"targets_per_attack": 1.0, "lag_days": 1, "max_targets": 10, "strike_in_iraq": True, "irgc_share": 0.5}),
    ("threshold", {"attacks": 4, "window_days": 3, "targets": 3, "cooldown_days": 2, "iraq_share": 0.5, "irgc_share": 0.5}),
    ("graduated", {"attacks": 4, "window_days": 3, "syria_targets": 2, "cooldown_days": 3, "iraq_after_injured": 5,
                   "iraq_targets": 1, "heavy_targets": 30, "heavy_iraq_share": 0.4, "heavy_delay_days": 2, "irgc_share": 0.5}),
    ("red_line", {"targets": 50, "iraq_share": 0.5, "delay_days": 1, "irgc_share": 0.8, "strike_iran": True}),
    ("decapitation", {"attacks": 3, "window_days": 5, "cooldown_days": 5}),
]


def rich_config(policy=POLICIES[2], days=25, **over) -> ModelConfig:
    groups = [
        militia("A", base_rate=2.0, iran_obedience=0.8, behaviours=ALL_BEHAVIOURS),
        militia("B", base_rate=1.0, iran_obedience=0.3, behaviours=ALL_BEHAVIOURS),
    ]
    return config(policy=policy[0], policy_params=policy[1], days=days, militias=groups, **over)


def check_invariants(model) -> None:
    rec = model.records
    counts = [c for c in COUNT_COLUMNS if c in rec]  # (an optional actor that is off records none)
    for col in counts:
        assert (rec[col] >= 0).all(), col
    assert (rec["attacks_total"] == rec["attacks_iraq"] + rec["attacks_syria"] + rec["attacks_jordan"]).all()
    level, war = rec["escalation_level"], rec["war"].astype(bool)
    assert level.min() >= 0 and level.max() <= LADDER_MAX
    assert (level[war] == EscalationLevel.DIRECT_EXCHANGE).all()
    assert (np.maximum.accumulate(war, axis=0) == war).all()  # absorbing
    assert ((rec["iran_restraint"] >= 0) & (rec["iran_restraint"] <= 1)).all()
    assert ((rec["iraq_pressure"] >= 0) & (rec["iraq_pressure"] <= 1)).all()
    assert (rec["groups_suspended"] <= len(model.militias)).all()
    assert (model.group_records["attacks"].sum(axis=1) == rec["attacks_total"]).all()
    assert (model.group_records["stock"] >= 0).all()
    summary = model.summary_arrays()
    for col in counts:
        assert (summary[col] == rec[col].sum(axis=0)).all()


prob = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    policy=st.sampled_from(POLICIES),
    base_rate=st.floats(0.0, 8.0, allow_nan=False),
    p_harm=prob,
    p_fatal=prob,
    accuracy=prob,
    per_us_killed=st.floats(0.0, 3.0, allow_nan=False),
    war_hazard=st.floats(0.0, 1.0, allow_nan=False),
    seed=st.integers(0, 2**32 - 1),
)
def test_invariants_for_random_parameters(policy, base_rate, p_harm, p_fatal, accuracy, per_us_killed, war_hazard, seed):
    cfg = rich_config(
        policy,
        attack_effects={
            "p_harm": {"drone": p_harm, "rocket": p_harm / 2, "missile": 1.0},
            "p_fatal_given_harm": {"iraq": p_fatal, "syria": p_fatal, "jordan": p_fatal},
        },
        united_states={"attribution_accuracy": accuracy},
        iran={"restraint_per_us_killed": per_us_killed, "war_hazard": war_hazard},
    )
    data = cfg.model_dump()
    set_path(data, "militias.*.base_rate", base_rate)
    model = make_model(ModelConfig.model_validate(data), replicates=3, seed=seed).run()
    check_invariants(model)
    if base_rate == 0.0:
        assert model.records["attacks_total"].sum() == 0


VARYING_PATHS = [
    ("iran.restraint_per_us_killed", st.floats(0.0, 3.0)),
    ("attack_effects.injured_per_harm", st.floats(0.1, 20.0)),
    ("united_states.attribution_accuracy", st.floats(0.0, 1.0)),
    ("militias.0.behaviours.tit_for_tat.per_killed", st.floats(0.0, 1.0)),
    ("militias.1.behaviours.deterred.per_target", st.floats(0.0, 1.0)),
    ("militias.*.iran_obedience", st.floats(0.0, 1.0)),
    ("militias.*.base_rate", st.floats(0.0, 6.0)),
]


@pytest.mark.parametrize("path, values", VARYING_PATHS, ids=[p for p, _ in VARYING_PATHS])
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_varying_equal_values_match_scalar_scenario(path, values, data):
    """A batch whose replicates all carry value x through `varying` = the scenario with x set."""
    x = data.draw(values.filter(np.isfinite), label="value")
    base = rich_config(days=20)
    raw = base.model_dump()
    set_path(raw, path, x)
    scalar = make_model(ModelConfig.model_validate(raw), replicates=3, seed=5).run()
    varied = make_model(base, replicates=3, seed=5, varying={path: np.full(3, x)}).run()
    for col, arr in scalar.records.items():
        assert np.array_equal(arr, varied.records[col]), col


def test_varying_gives_each_replicate_its_own_value():
    base = rich_config(days=20)
    model = make_model(base, replicates=3, seed=2, varying={"militias.*.base_rate": [0.0, 3.0, 6.0]}).run()
    totals = model.records["attacks_total"].sum(axis=0)
    assert totals[0] == 0 and 0 < totals[1] and 0 < totals[2]
    check_invariants(model)


@pytest.mark.parametrize("bad", [{"united_states.policy.params.targets": [1.0, 2.0]}, {"militias.0.nope": [1.0, 2.0]}])
def test_varying_rejects_non_float_paths(bad):
    with pytest.raises(ValueError):
        make_model(rich_config(), replicates=2, varying=bad)
