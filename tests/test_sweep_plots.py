"""`escalation plot` and `escalation report` on sweep folders (EMA-style envelopes, lines, pairs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from experiments.cli.main import app
from experiments.runner.sweep import load_sweep
from experiments.analysis.sweep_plots import _per_day, lever_labels

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    data = {"name": "sw_plot", "extends": str(ROOT / "scenarios" / "baseline.yaml"), "end": "2023-11-15", "block_size": 50,
            "sweep": {"design": "lhs", "samples": 3, "replicates": 6,
                      "levers": {"united_states.policy.name": ["restraint", "proportional"]},
                      "uncertainties": {"militias.*.iran_obedience": {"low": 0.2, "high": 0.9}}}}
    (tmp / "s.yaml").write_text(yaml.safe_dump(data))
    res = CliRunner().invoke(app, ["sweep", str(tmp / "s.yaml"), "--out", str(tmp / "out"), "-w", "1", "-q"])
    assert res.exit_code == 0, res.output
    return tmp / "out"


def test_plot_on_a_sweep_folder_draws_envelopes_lines_and_pairs(sweep_dir):
    res = CliRunner().invoke(app, ["plot", str(sweep_dir)])
    assert res.exit_code == 0, res.output
    for name in ("envelopes", "lines", "pairs", "outcomes_by_uncertainty", "outcomes_by_lever"):
        assert (sweep_dir / "figures" / f"{name}.png").stat().st_size > 5000
        assert (sweep_dir / "figures" / f"{name}.svg").stat().st_size > 5000


def test_envelope_median_is_the_median_over_all_runs_of_a_lever(sweep_dir):
    daily = load_sweep(sweep_dir, daily=True)
    daily["lever"] = lever_labels(daily, ["united_states.policy.name"])
    q = _per_day(daily, "attacks_total")
    last = daily.date.max()
    runs = daily[daily.lever == "restraint"].groupby(["point", "replicate"]).attacks_total.sum()
    assert q.loc[("restraint", last), "q50"] == pytest.approx(np.median(runs))
    assert len(runs) == 3 * 6
    war = _per_day(daily, "war")
    assert war.loc[("restraint", last), "q50"] == pytest.approx(daily[(daily.lever == "restraint") & (daily.date == last)].war.mean())


def test_report_on_a_sweep_folder_shows_design_outcomes_and_figures(sweep_dir):
    res = CliRunner().invoke(app, ["report", str(sweep_dir), "--out", str(sweep_dir / "r.html")])
    assert res.exit_code == 0, res.output
    page = (sweep_dir / "r.html").read_text()
    assert "<h2>Design</h2>" in page and "Outcomes by lever" in page
    design = pd.read_parquet(sweep_dir / "points.parquet")
    from experiments.analysis.intervals import bootstrap_means

    assert page.count("<tr") == len(design) + 2 * 5 + 2  # design rows, two levers x five outcomes, two header rows
    assert page.count("data:image/png;base64,") >= 5
    assert "outcomes by lever" in page and "runs (n)" in page and "95% low" in page
    runs = load_sweep(sweep_dir)
    prop = runs[runs["united_states.policy.name"] == "proportional"].attacks_total.to_numpy(dtype=float)
    mean, low, high = bootstrap_means(prop)
    assert f"<td>{len(prop)}</td>" in page and f"{low:.3f}" in page and f"{high:.3f}" in page  # n and interval shown
    assert f"{mean:.3f}" in page
