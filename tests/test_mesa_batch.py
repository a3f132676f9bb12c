"""At R = 1 the model is an ordinary Mesa model: ``mesa.batch_run`` runs it (it reads ``model.datacollector``),
and Mesa's ``rng=`` keyword seeds it. Runs under Mesa 3.3 (Python 3.11) and the current Mesa 3.x (Python 3.12,
`make test312`)."""

from __future__ import annotations

import inspect

import mesa
import numpy as np
import pytest

from model import EscalationModel
from model.config import ModelConfig

MESA_RNG = "rng" in inspect.signature(mesa.batch_run).parameters  # Mesa >= 3.5: seeds go in rng=, iterations is deprecated


def batch_run(parameters: dict, seeds: list[int], **kw):
    """mesa.batch_run with one run per seed, as each Mesa version spells it."""
    if MESA_RNG:
        return mesa.batch_run(EscalationModel, parameters=parameters, rng=seeds, display_progress=False, **kw)
    return mesa.batch_run(EscalationModel, parameters={**parameters, "seed": seeds}, iterations=1, display_progress=False, **kw)


def test_batch_run_gives_each_run_final_numbers_equal_to_a_direct_run():
    results = batch_run({}, [3, 4], number_processes=1)
    assert [r["seed"] for r in sorted(results, key=lambda r: r["seed"])] == [3, 4]
    for r in results:
        direct = EscalationModel(seed=r["seed"]).run()
        s = direct.summary_arrays()
        assert r["date"] == direct.dates[-1].isoformat()  # the last day (Mesa 3.5 counts "Step" in time units)
        assert r["cumulative_attacks_total"] == int(s["attacks_total"][0])
        assert r["cumulative_us_killed"] == int(s["us_killed"][0])
        assert r["war"] == bool(s["war"][0])


def test_batch_run_sweeps_a_model_keyword_and_every_day_is_collected():
    configs = [ModelConfig(), ModelConfig().model_copy(update={"name": "other"})]
    results = batch_run({"config": configs}, [1], data_collection_period=1)
    n_days = len(ModelConfig().days)
    assert len(results) == 2 * n_days
    frame = EscalationModel(seed=1).run().datacollector.get_model_vars_dataframe()
    assert len(frame) == n_days
    assert frame["cumulative_attacks_total"].iloc[-1] == frame["attacks_total"].sum()


def test_mesa_rng_keyword_seeds_the_model_like_seed():
    a = EscalationModel(rng=7).run().summary_arrays()["attacks_total"]
    b = EscalationModel(seed=7).run().summary_arrays()["attacks_total"]
    c = EscalationModel(seed=8).run().summary_arrays()["attacks_total"]
    assert a.tolist() == b.tolist()
    assert EscalationModel(rng=8).run().summary_arrays()["attacks_total"].tolist() == c.tolist()
    g = EscalationModel(rng=np.random.default_rng(1)).run().summary_arrays()["attacks_total"]
    assert g.tolist() == EscalationModel(rng=np.random.default_rng(1)).run().summary_arrays()["attacks_total"].tolist()


def test_batched_models_carry_no_datacollector():
    assert EscalationModel(replicates=3).datacollector is None


@pytest.mark.parametrize("R", [1])
def test_collecting_does_not_change_the_record(R):
    m = EscalationModel(seed=2, replicates=R).run()
    frame = m.datacollector.get_model_vars_dataframe()
    assert frame["attacks_total"].tolist() == m.records["attacks_total"][:, 0].tolist()


def test_seed_none_draws_a_fresh_seed_as_mesa_does():
    assert isinstance(EscalationModel(seed=None).seed, int)
