"""Designs are checked whole before anything runs (issue 19, item 5): a phase map that varies one field
on both axes, an axis value given twice, overlapping design paths and degenerate ranges are one-line
errors (exit 2) from `validate` and from the command that would run them, and nothing is written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from conftest import ROOT
from experiments.cli.main import app
from tests.conftest import assert_one_line_error as refused, invoke

runner = CliRunner()
COUNTERFACTUAL = ROOT / "scenarios" / "counterfactual.yaml"
X = "united_states.policy.params.targets_per_attack"
Y = "militias.*.behaviours.tit_for_tat.max_boost"




def phase_map(tmp_path, x: str, xs: list, y: str, ys: list):
    path = tmp_path / "pm.yaml"
    path.write_text(f"name: pm\nextends: {COUNTERFACTUAL}\nunited_states: {{policy: {{name: proportional}}}}\n"
                    f"phase_map:\n  x: {{path: '{x}', values: {xs}}}\n  y: {{path: '{y}', values: {ys}}}\n  replicates: 2\n")
    return path


@pytest.mark.parametrize("x, xs, y, ys, words", [
    (X, [0, 1], X, [2, 3], ["x and y both vary", X]),
    ("militias.*.iran_obedience", [0.2, 0.4], "militias.0.iran_obedience", [0.5, 0.6], ["x and y both vary", "militias.0.iran_obedience"]),
    (X, [0, 1, 1.0], Y, [1, 2], ["x.values", "distinct"]),
    (X, [0, 1], Y, [2, 2], ["y.values", "distinct"]),
])
@pytest.mark.parametrize("command", ["validate", "phase-map"])
def test_a_phase_map_that_cannot_be_drawn_is_refused_before_simulating(tmp_path, x, xs, y, ys, words, command):
    path = phase_map(tmp_path, x, xs, y, ys)
    out = tmp_path / "out"
    args = ("validate", path) if command == "validate" else ("phase-map", path, "--out", out, "-w", "1", "-q")
    refused(invoke(*args), str(path), "phase_map", *words)
    assert not out.exists()


def test_a_good_phase_map_still_validates(tmp_path):
    res = invoke("validate", phase_map(tmp_path, X, [0, 1], Y, [1, 2]))
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("block, words", [
    ("sweep: {levers: {united_states.policy.name: [restraint, restraint]}}", ["levers.united_states.policy.name", "given twice"]),
    ("sweep: {design: grid, uncertainties: {militias.*.iran_obedience: [0.5, 0.50]}}", ["given twice"]),
    ("sweep: {design: grid, uncertainties: {militias.*.iran_obedience: {low: 0.5, high: 0.5, levels: 3}}}", ["all the same value"]),
    ("sweep: {levers: {militias.0.iran_obedience: [0.2, 0.4]}, uncertainties: {militias.*.iran_obedience: [0.5, 0.6]}}",
     ["name the same field"]),
    ("sensitivity: {uncertainties: {militias.*.iran_obedience: [0.2, 0.4], militias.1.iran_obedience: [0.1, 0.9]}}",
     ["name the same field"]),
])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_sweep_and_sensitivity_designs_checked_whole(tmp_path, block, words, command):
    path = tmp_path / "d.yaml"
    path.write_text(f"name: d\nextends: {COUNTERFACTUAL}\n{block}\n")
    out = tmp_path / "out"
    verb = "sweep" if block.startswith("sweep") else "sensitivity"
    args = ("validate", path) if command == "validate" else (verb, path, "--out", out, "-w", "1", "-q")
    refused(invoke(*args), str(path), *words)
    assert not out.exists()
