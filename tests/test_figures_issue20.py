"""Figures of issue 20: PRIM colours for whole numbers, sensitivity panels never empty and with units,
sweep figures with intervals, calibration figures in SVG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_prim_colour_scale_is_discrete_on_whole_numbers(tmp_path):
    """Every colour-bar tick a whole number, one colour per count (a constant count of 0 used to draw a
    continuous bar from -0.1 to 0.1)."""
    import matplotlib.pyplot as plt

    from experiments.analysis import discovery

    captured = {}
    real = discovery.save_into
    discovery.save_into = lambda fig, out, stem: captured.setdefault("fig", fig) and []
    try:
        for dims in ([0, 0, 0], [0, 1, 1, 3]):
            traj = pd.DataFrame({"outcome": "war", "coverage": np.linspace(1, 0.5, len(dims)), "density": np.linspace(0.3, 0.9, len(dims)),
                                 "res_dim": dims, "chosen": [False] * (len(dims) - 1) + [True]})
            captured.clear()
            discovery.plot_prim(traj, tmp_path)
            bar = captured["fig"].axes[-1]
            ticks = bar.get_yticks()
            assert list(ticks) == list(range(min(dims), max(dims) + 1))
            lo, hi = bar.get_ylim()
            assert (lo, hi) == (min(dims) - 0.5, max(dims) + 0.5)
            plt.close(captured["fig"])
    finally:
        discovery.save_into = real


def _indices(method: str, constant: str | None = None) -> pd.DataFrame:
    from experiments.analysis.sensitivity import flag_indices

    rows = []
    for oc in ("attacks_total", "us_killed", "war"):
        for p in ("a.x", "b.y"):
            if oc == constant:
                rows.append({"outcome": oc, "parameter": p, "note": "outcome constant over the sample"})
            elif method == "morris":
                rows.append({"outcome": oc, "parameter": p, "mu": 1.0, "mu_star": 2.0, "sigma": 0.5, "mu_star_conf": 0.3, "note": ""})
            else:
                rows.append({"outcome": oc, "parameter": p, "S1": 0.4, "S1_conf": 0.1, "ST": 0.5, "ST_conf": 0.1, "note": ""})
    df = pd.DataFrame(rows)
    df.insert(0, "method", method)
    return flag_indices(df)


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_sensitivity_axes_have_units_and_no_panel_is_silently_empty(method):
    import matplotlib.pyplot as plt

    from experiments.analysis.sensitivity import _indices_figure

    fig = _indices_figure(_indices(method, constant="us_killed"), 0.95)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 3
    for ax in panels:
        label = ax.get_xlabel()
        if method == "morris":
            assert "per run" in label or "share of runs" in label, label  # mu* in the outcome's unit
            assert "across its range" in label
        else:
            assert "variance" in label
        bars = [p for p in ax.patches if p.get_width() != 0]
        said = " ".join(t.get_text() for t in ax.texts)
        assert bars or "no indices" in said, ax.get_title()  # drawn, or says why not
    assert "no indices" in " ".join(t.get_text() for t in panels[1].texts)
    plt.close(fig)


def test_shipped_sensitivity_example_varies_us_killed():
    """The shipped example's U.S.-killed panel was empty: on calibrated.yaml the deaths are replayed
    (the same 3 in every run). It now extends counterfactual.yaml (deaths drawn from the attacks)."""
    from experiments.analysis.sensitivity import model_evaluator, problem, sample
    from experiments.runner.run import load_draws
    from experiments.scenario.blocks import SensitivitySpec
    from experiments.scenario.identification import drop_covered
    from experiments.scenario.schema import load_block

    file = ROOT / "scenarios" / "sensitivity.yaml"
    scenario, spec, _ = load_block(file, "sensitivity", SensitivitySpec)
    assert "us_killed" in spec.outcomes
    assert scenario.attack_effects.us_deaths == "endogenous"
    prob = problem(spec.uncertainties)
    X = sample(prob, "morris", 2, 1, spec.morris_levels)
    draws = drop_covered(load_draws(scenario, file.parent), spec.uncertainties)
    y = model_evaluator(scenario, 1, ["us_killed"], 10, len(prob["names"]) + 1, "morris", draws)(prob["names"], X)["us_killed"]
    assert np.nanvar(y) > 0


def test_morris_sample_moves_parameters_in_one_shared_order_by_delta():
    from experiments.analysis.sensitivity import morris_sample

    prob = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1], [10, 20], [-1, 1]]}
    X = morris_sample(prob, 6, levels=4, seed=3).reshape(6, 4, 3)
    unit = (X - np.array([0, 10, -1])) / np.array([1, 10, 2])
    steps = np.diff(unit, axis=1)  # (trajectory, step, parameter)
    moved = np.abs(steps) > 1e-12
    assert (moved.sum(axis=2) == 1).all()  # one parameter per step
    order = moved.argmax(axis=2)
    assert (order == order[0]).all() and sorted(order[0]) == [0, 1, 2]  # the same order in every trajectory
    assert np.allclose(np.abs(steps[moved]), 4 / 6)  # delta = p / (2 (p - 1))
    assert ((unit >= -1e-12) & (unit <= 1 + 1e-12)).all()
    assert np.array_equal(X.reshape(-1, 3), morris_sample(prob, 6, levels=4, seed=3))  # deterministic


def test_sweep_figures_draw_intervals_and_no_empty_panel():
    import matplotlib.pyplot as plt
    from matplotlib.container import ErrorbarContainer

    from experiments.analysis.sweep_plots import fig_by_lever, fig_by_uncertainty

    rng = np.random.default_rng(0)
    rows = []
    for point, (lev, u) in enumerate([(lev, u) for lev in ("restraint", "proportional") for u in (0.2, 0.5, 0.8)]):
        for r in range(30):
            rows.append({"point": point, "replicate": r, "lever": lev, "u.x": u, "attacks_total": rng.poisson(100 * u),
                         "us_killed": rng.poisson(1), "militia_killed": rng.poisson(5), "war": rng.random() < 0.1,
                         "withdrawal_demanded": rng.random() < 0.2})
    summary = pd.DataFrame(rows)
    order = ["restraint", "proportional"]
    for fig in (fig_by_lever(summary, order, "test"), fig_by_uncertainty(summary, ["u.x"], order, "test")):
        panels = [ax for ax in fig.axes if ax.axison]
        assert panels
        for ax in panels:
            assert any(isinstance(c, ErrorbarContainer) for c in ax.containers), ax.get_title()
        text = " ".join(t.get_text() for t in fig.texts)
        assert "95 % interval" in text and "n = " in text
        plt.close(fig)
