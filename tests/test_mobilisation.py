"""The militias' mobilisation level: a drifting (OU) log base rate shared by the umbrella's groups.

At volatility 0 nothing is drawn and every table is the model without it; above 0 the multiplier has
mean 1 (the base rate keeps its meaning), the spread of the attack counts grows, and the other streams'
draws are untouched (the drift has its own stream, ``ModelStream.MOBILISATION``).
"""

from __future__ import annotations

import numpy as np
import pytest

from model.streams import ModelStream, block_generators
from tests.conftest import config, make_model, militia


def groups(volatility: float, half_life: float = 60.0) -> list[dict]:
    common = {"mobilisation_volatility": volatility, "mobilisation_half_life": half_life, "behaviours": {}}
    return [militia("A", base_rate=1.0, **common), militia("B", base_rate=0.5, **common)]


def totals(volatility: float, replicates: int = 400, days: int = 90) -> np.ndarray:
    model = make_model(config(days=days, militias=groups(volatility)), replicates=replicates, seed=3).run()
    return model.records["attacks_total"].astype(float)


def test_volatility_zero_draws_nothing_and_changes_nothing():
    cfg = config(days=40, militias=groups(0.0))
    model = make_model(cfg, replicates=50, seed=5)
    assert not model.groups.mobilising
    model.run()
    assert (model.groups.mobilisation == 0).all()
    # the default (no field set) is the same model
    plain = make_model(config(days=40, militias=[militia("A", base_rate=1.0, behaviours={}),
                                                 militia("B", base_rate=0.5, behaviours={})]), replicates=50, seed=5).run()
    assert np.array_equal(plain.records["attacks_total"], model.records["attacks_total"])


def test_the_multiplier_has_mean_one_and_the_level_is_shared_by_the_groups():
    model = make_model(config(days=120, militias=groups(0.08)), replicates=4000, seed=9)
    g = model.groups
    for _ in range(120):
        g.mobilise()
    m = g.mobilisation_multiplier()
    assert m.std() > 0.3
    assert abs(m[0].mean() - 1.0) < 0.05  # exp(x - var/2): mean 1
    assert np.allclose(g.mobilisation[0], g.mobilisation[1])  # one umbrella-wide shock a day


@pytest.mark.parametrize("days", [90])
def test_drift_widens_the_spread_of_long_run_counts(days):
    still, drifting = totals(0.0, days=days).sum(axis=0), totals(0.06, days=days).sum(axis=0)
    assert drifting.std() > 1.5 * still.std()
    assert abs(drifting.mean() / still.mean() - 1.0) < 0.25


def test_the_new_stream_leaves_the_older_streams_draws_unchanged():
    gens = block_generators(20240128, 3)
    root = np.random.SeedSequence(entropy=20240128, spawn_key=(3,))
    old = root.spawn(ModelStream.MOBILISATION)  # the children before the stream was added
    for s, child in zip(list(ModelStream)[: ModelStream.MOBILISATION], old):
        assert gens[s].random() == np.random.Generator(np.random.PCG64(child)).random()
