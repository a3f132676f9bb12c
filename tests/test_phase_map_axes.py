"""Phase maps with a categorical axis (e.g. U.S. policy names), and titles that promise only the boundary drawn."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from experiments.analysis.discovery import _phase_figure
from experiments.cli.main import app
from experiments.scenario.blocks import PhaseMapSpec

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ["restraint", "proportional", "red_line"]


def _grid(spec: PhaseMapSpec, p_war) -> pd.DataFrame:
    rows = [{spec.x.path: x, spec.y.path: y, "p_war": p_war(i, j), "attacks_median": 100.0 + i, "replicates": 50}
            for i, x in enumerate(spec.x.values) for j, y in enumerate(spec.y.values)]
    return pd.DataFrame(rows)


def _texts(fig) -> str:
    return " ".join(t.get_text() for t in fig.texts)


def test_axis_takes_names_or_numbers_not_both():
    spec = PhaseMapSpec.model_validate({"x": {"path": "united_states.policy.name", "values": POLICIES},
                                        "y": {"path": "iran.war_hazard", "values": [0.001, 0.01]}})
    assert spec.x.categorical and not spec.y.categorical and spec.y.values == [0.001, 0.01]
    for bad in (["restraint", 1.0], ["restraint", "restraint"]):
        with pytest.raises(ValidationError):
            PhaseMapSpec.model_validate({"x": {"path": "united_states.policy.name", "values": bad},
                                         "y": {"path": "iran.war_hazard", "values": [0.001, 0.01]}})


def test_categorical_axis_draws_names_in_order_and_outlines_cells_over_the_threshold():
    import matplotlib.pyplot as plt

    spec = PhaseMapSpec.model_validate({"x": {"path": "united_states.policy.name", "values": POLICIES},
                                        "y": {"path": "iran.war_hazard", "values": [0.001, 0.01]}, "war_threshold": 0.1})
    fig = _phase_figure(_grid(spec, lambda i, j: 0.3 if (i, j) == (2, 1) else 0.0), spec)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == POLICIES
    outlines = [p for p in ax.patches if p.get_linestyle() == "--"]
    assert len(outlines) == 1 and outlines[0].get_xy() == pytest.approx((1.5, 0.0055))  # red_line, higher hazard
    assert "reaches 0.1" in _texts(fig) and not ax.collections[1:]  # no contour between categories
    plt.close(fig)


@pytest.mark.parametrize("p_war, drawn", [(lambda i, j: 0.05 * i, True), (lambda i, j: 0.01, False)])
def test_title_names_a_boundary_only_when_one_is_drawn(p_war, drawn):
    import matplotlib.pyplot as plt

    spec = PhaseMapSpec.model_validate({"x": {"path": "a.b", "values": [0.0, 1.0, 2.0, 4.0]},
                                        "y": {"path": "c.d", "values": [1.0, 2.0]}, "war_threshold": 0.1})
    fig = _phase_figure(_grid(spec, p_war), spec)
    text = _texts(fig)
    assert ("crosses 0.1" in text) == drawn and ("boundary P(war) = 0.1" in text) == drawn
    if not drawn:
        assert "no boundary drawn: every cell is below P(war) = 0.1" in text
    plt.close(fig)


def test_phase_map_over_policy_names_runs(tmp_path):
    data = {"name": "pm_cat", "extends": str(ROOT / "scenarios" / "counterfactual.yaml"), "end": "2023-11-10",
            "phase_map": {"x": {"path": "united_states.policy.name", "values": ["restraint", "proportional"]},
                          "y": {"path": "militias.*.behaviours.tit_for_tat.max_boost", "values": [0.5, 2.0]},
                          "replicates": 4}}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data))
    res = CliRunner().invoke(app, ["phase-map", str(tmp_path / "p.yaml"), "--out", str(tmp_path / "p"), "-w", "1"], terminal_width=200)
    assert res.exit_code == 0, res.output
    grid = pd.read_parquet(tmp_path / "p" / "phase_map.parquet")
    assert list(dict.fromkeys(grid["united_states.policy.name"])) == ["restraint", "proportional"]
    assert (tmp_path / "p" / "figures" / "phase_map.svg").exists()
    s = grid.set_index(["united_states.policy.name", "militias.*.behaviours.tit_for_tat.max_boost"])
    assert np.isfinite(s.attacks_mean).all()


def test_shipped_categorical_example_validates():
    from experiments.scenario.schema import load_block

    _, spec, _ = load_block(ROOT / "scenarios" / "phase_map_policies.yaml", "phase_map", PhaseMapSpec)
    assert spec.x.categorical and len(spec.x.values) >= 3


def test_phase_map_carries_the_posterior_draws_of_what_its_axes_do_not_set(tmp_path):
    """A phase map on a scenario with posterior draws runs every cell over those draws (as sweeps do) and says
    so; it used to drop them silently. Dropping them explicitly gives other numbers."""
    import json

    def run(name, extra):
        data = {"name": name, "extends": str(ROOT / "scenarios" / "counterfactual.yaml"), "end": "2023-12-15", **extra,
                "phase_map": {"x": {"path": "united_states.policy.name", "values": ["restraint", "proportional"]},
                              "y": {"path": "militias.*.behaviours.tit_for_tat.max_boost", "values": [0.5, 2.0]},
                              "replicates": 40}}
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(data))
        res = CliRunner().invoke(app, ["phase-map", str(tmp_path / f"{name}.yaml"), "--out", str(tmp_path / name), "-w", "1"],
                                 terminal_width=200)
        assert res.exit_code == 0, res.output
        return pd.read_parquet(tmp_path / name / "phase_map.parquet"), json.loads((tmp_path / name / "manifest.json").read_text())

    with_draws, man = run("pm_post", {})
    without, man_fixed = run("pm_fixed", {"uncertainty": {"posterior": None}})
    assert man.get("unidentified_carried_as") and "identification_note" in man
    assert not np.array_equal(with_draws.attacks_mean.to_numpy(), without.attacks_mean.to_numpy())
