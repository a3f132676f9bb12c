"""EMA Workbench drives the model through experiments.ema_model: uncertainties, levers and outcomes come
from the scenario and the output declaration, the posterior draws stay in every experiment, and
EMA's own evaluator runs it (perform_experiments)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

ema_workbench = pytest.importorskip("ema_workbench")
warnings.filterwarnings("ignore", message="ipyparallel")

import experiments  # noqa: E402
from experiments.runner.ema import ema_name  # noqa: E402
from model.outputs import LABELS, SUMMARY_OUTCOMES  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ROOT / "scenarios" / "sweep_policies_obedience.yaml"
OUTCOMES = ["attacks_total", "war", "us_killed"]


@pytest.fixture(scope="module")
def performed():
    from ema_workbench import SequentialEvaluator, perform_experiments

    model = experiments.ema_model(SWEEP, replicates=3, outcomes=OUTCOMES, seed=11)
    with SequentialEvaluator(model) as evaluator:
        exps, outs = perform_experiments(model, scenarios=3, policies=2, evaluator=evaluator)
    return model, exps, outs


def test_perform_experiments_runs_the_model_on_its_own_evaluator(performed):
    model, exps, outs = performed
    assert len(exps) == 6 and {"iran_obedience", "us_policy", "scenario", "policy", "model"} <= set(exps.columns)
    assert set(outs) == set(OUTCOMES) and all(len(v) == 6 and np.isfinite(v).all() for v in outs.values())
    assert exps["iran_obedience"].between(0.2, 0.9).all()
    assert set(exps["us_policy"]) <= {"restraint", "proportional", "graduated", "historical"}


def test_parameters_come_from_the_sweep_block_and_outcomes_from_the_declaration():
    model = experiments.ema_model(SWEEP)
    assert [u.name for u in model.uncertainties] == ["iran_obedience"]
    assert [lv.name for lv in model.levers] == ["us_policy"]  # EMA reserves `policy`
    assert model.paths == {"iran_obedience": "militias.*.iran_obedience", "us_policy": "united_states.policy.name"}
    from experiments.runner.outputs import outcomes_off
    from model.config import ModelConfig

    # every declared outcome the scenario writes (an optional actor that is off, the Houthis here, writes none)
    assert [o.name for o in model.outcomes] == [o for o in SUMMARY_OUTCOMES if o not in outcomes_off(ModelConfig())]
    assert model.labels["war"] == LABELS["war"]


def test_an_experiment_is_a_run_with_the_posterior_draws_kept(performed):
    model, exps, outs = performed
    row = exps.iloc[0]
    values = {"militias.*.iran_obedience": float(row["iran_obedience"]), "united_states.policy.name": row["us_policy"]}
    sc = experiments.with_overrides(experiments.load_scenario(SWEEP), values, SWEEP)
    kept = experiments.run(sc, replicates=3, seed=11, hold=tuple(values)).summary
    assert outs["attacks_total"][0] == pytest.approx(kept.attacks_total.mean())
    fixed = experiments.run(experiments.with_overrides(sc, {"uncertainty": None}), replicates=3, seed=11).summary
    assert not np.allclose(fixed.attacks_total.to_numpy(), kept.attacks_total.to_numpy())  # the draws matter


def test_compare_block_gives_the_policies_as_a_lever():
    model = experiments.ema_model(ROOT / "scenarios" / "compare_policies.yaml")
    (lever,) = model.levers
    assert lever.name == "us_policy"
    assert {c.value for c in lever.categories} == {"historical", "restraint", "proportional", "threshold", "graduated",
                                                    "decapitation", "red_line"}


def test_explicit_parameters_and_bad_input():
    model = experiments.ema_model(ROOT / "scenarios" / "restraint.yaml", uncertainties={"iran.war_hazard": (0.0001, 0.01)},
                                  levers={"united_states.policy.name": ["restraint", "threshold"]}, replicates=2)
    assert [u.name for u in model.uncertainties] == ["war_hazard"]
    with pytest.raises(experiments.UserError, match="no_such"):
        experiments.ema_model(ROOT / "scenarios" / "restraint.yaml", uncertainties={"iran.no_such": (0, 1)})
    with pytest.raises(experiments.UserError, match="unknown outcome"):
        experiments.ema_model(SWEEP, outcomes=["nope"])
    with pytest.raises(experiments.UserError, match="no uncertainties or levers"):
        experiments.ema_model(ROOT / "scenarios" / "restraint.yaml")


def test_names_are_identifiers_and_never_reserved():
    taken: set[str] = set()
    for p in ["militias.*.behaviours.deterred.per_target", "policy", "iran.policy", "attack_effects.p_harm.drone", "model"]:
        n = ema_name(p, taken)
        assert n.isidentifier() and n not in {"policy", "scenario", "model"} and n not in taken
        taken.add(n)
