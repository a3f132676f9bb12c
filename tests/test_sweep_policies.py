"""Per-policy sub-grids of a sweep (``sweep.policies``): each policy over the grid of its own parameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from experiments.cli.main import app
from experiments.runner.budget import count_points
from experiments.runner.sweep import load_sweep, plan_sweep
from experiments.scenario.errors import UserError
from experiments.analysis.sweep_plots import lever_labels

ROOT = Path(__file__).resolve().parent.parent
NAME, TPA, ATT = "united_states.policy.name", "united_states.policy.params.targets_per_attack", "united_states.policy.params.attacks"


def _file(tmp_path: Path, sweep: dict, **top) -> Path:
    data = {"name": "pp", "extends": str(ROOT / "scenarios" / "counterfactual.yaml"), "end": "2023-11-20", "block_size": 50,
            "sweep": sweep, **top}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    return tmp_path / "s.yaml"


SWEEP = {"design": "lhs", "samples": 2, "replicates": 4,
         "policies": {"restraint": {}, "proportional": {"targets_per_attack": [0.5, 2.0]},
                      "threshold": {"attacks": {"low": 2, "high": 10, "levels": 3, "integer": True}}},
         "levers": {"iran.war_hazard": [0.0001, 0.001]},
         "uncertainties": {"militias.*.iran_obedience": {"low": 0.2, "high": 0.9}}}


def test_sub_grids_expand_to_each_policy_times_its_own_parameters(tmp_path):
    plan = plan_sweep(_file(tmp_path, SWEEP))
    # (1 + 2 + 3) policy settings x 2 lever values x 2 samples
    assert len(plan.points) == (1 + 2 + 3) * 2 * 2 == count_points(_spec(tmp_path))
    settings = {(p[NAME], p.get(TPA), p.get(ATT)) for p in plan.points}
    assert settings == {("restraint", None, None), ("proportional", 0.5, None), ("proportional", 2.0, None),
                        ("threshold", None, 2), ("threshold", None, 6), ("threshold", None, 10)}
    for point, ov in zip(plan.points, plan.overrides):
        pol = ov["united_states.policy"]
        assert pol["name"] == point[NAME]
        assert set(pol["params"]) == {k.rsplit(".", 1)[-1] for k in point if k.startswith("united_states.policy.params.")}
        assert ov["iran.war_hazard"] == point["iran.war_hazard"]
    assert plan.meta["levers"] == [NAME, TPA, ATT, "iran.war_hazard"]


def _spec(tmp_path):
    from experiments.scenario.blocks import SweepSpec

    return SweepSpec.model_validate(SWEEP)


def test_each_point_runs_its_policy_with_its_parameters(tmp_path):
    sweep = {**SWEEP, "levers": {}, "samples": 1}
    res = CliRunner().invoke(app, ["sweep", str(_file(tmp_path, sweep)), "--out", str(tmp_path / "out"), "-w", "1", "-q"])
    assert res.exit_code == 0, res.output
    runs = load_sweep(tmp_path / "out")
    design = pd.read_parquet(tmp_path / "out" / "points.parquet")
    assert design[TPA].isna().sum() == 4 and design[ATT].isna().sum() == 3  # a policy's own columns only
    strikes = runs.assign(s=runs.us_strikes_syria + runs.us_strikes_iraq).groupby(NAME).s.sum()
    assert strikes["restraint"] == 0 and strikes["proportional"] > 0
    by_tpa = runs[runs[NAME] == "proportional"].assign(s=lambda d: d.us_strikes_syria + d.us_strikes_iraq).groupby(TPA).s.mean()
    assert by_tpa[2.0] > by_tpa[0.5]  # the policy's own parameter reached the model
    labels = set(lever_labels(runs, [NAME, TPA, ATT]))
    assert labels == {"restraint", "proportional, targets_per_attack=0.5", "proportional, targets_per_attack=2",
                      "threshold, attacks=2", "threshold, attacks=6", "threshold, attacks=10"}
    res = CliRunner().invoke(app, ["plot", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "figures" / "outcomes_by_lever.svg").exists()


@pytest.mark.parametrize("policies, levers, message", [
    ({"proportional": {"params.targets_per_attack": [1]}}, {}, "own name"),
    ({"proportional": {"targets_per_attack": []}}, {}, "at least one value"),
    ({"proportional": {}}, {"united_states.policy.name": ["restraint"]}, "set by `policies`"),
    ({"proportional": {"no_such_parameter": [1]}}, {}, "no_such_parameter"),
])
def test_bad_sub_grids_are_refused_in_one_line(tmp_path, policies, levers, message):
    file = _file(tmp_path, {**SWEEP, "policies": policies, "levers": levers})
    with pytest.raises(UserError, match=message):
        plan_sweep(file)


def test_the_shipped_example_plans():
    plan = plan_sweep(ROOT / "scenarios" / "sweep_policy_params.yaml")
    assert {p[NAME] for p in plan.points} == {"restraint", "proportional", "threshold"}
    assert len(plan.points) == (1 + 3 + 2) * 3
