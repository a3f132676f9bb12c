"""YAML means one thing (issue 19, item 3): a key given twice is refused with both line numbers (not
"the last wins"); a boolean is not a number (``seed: true`` is not seed 1); ``--set`` paths have one
syntax, the dotted one that error messages print, so a path from an error can be pasted into ``--set``."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from conftest import BASELINE
from experiments.cli.main import app
from experiments.scenario.errors import format_path
from experiments.scenario.schema import parse_overrides
from experiments.scenario.yamlfile import load_text
from tests.conftest import assert_one_line_error as one_line_error, invoke

runner = CliRunner()




def doc(tmp_path, text: str):
    path = tmp_path / "s.yaml"
    path.write_text(f"extends: {BASELINE}\n" + text)
    return path


@pytest.mark.parametrize("text, words", [
    ("name: a\nseed: 1\nseed: 2\n", ["'seed'", "lines 3 and 4"]),
    ("name: a\nname: b\n", ["'name'", "lines 2 and 3"]),
    ("name: a\nunited_states:\n  policy: {name: restraint}\n  policy: {name: threshold}\n", ["'policy'", "lines 4 and 5"]),
    ("name: a\nmilitias:\n- {name: A, short: A, base_rate: 1, base_rate: 2}\n", ["'base_rate'", "lines 4 and 4"]),
])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_key_given_twice_is_refused_with_both_lines(tmp_path, text, words, command):
    path = doc(tmp_path, text)
    out = tmp_path / "out"
    args = ("validate", path) if command == "validate" else ("run", path, "-n", "2", "--out", out, "-q", "-w", "1")
    one_line_error(invoke(*args), str(path), "given twice", *words)
    assert not out.exists()


def test_merge_keys_still_override_and_set_values_are_read_the_same_way():
    assert load_text("a: &a {p: 1, q: 2}\nb: {<<: *a, p: 3}\n")["b"] == {"p": 3, "q": 2}  # YAML merge: not a duplicate
    res = invoke("validate", BASELINE, "--set", "united_states.policy={name: restraint, name: threshold}")
    one_line_error(res, "--set united_states.policy", "given twice")


@pytest.mark.parametrize("text, path", [
    ("seed: true\n", "seed"),
    ("replicates: yes\n", "replicates"),
    ("militias:\n- {name: A, short: A, base_rate: true}\n", "militias.0.base_rate"),
    ("iran: {war_hazard: on}\n", "iran.war_hazard"),
    ("united_states: {policy: {name: proportional, params: {targets_per_attack: true}}}\n",
     "united_states.policy.params.targets_per_attack"),
    ("sweep: {seed: true, levers: {united_states.policy.name: [restraint]}}\n", "sweep.seed"),
])
def test_a_boolean_is_not_a_number(tmp_path, text, path):
    one_line_error(invoke("validate", doc(tmp_path, "name: b\n" + text)), path, "boolean")


@pytest.mark.parametrize("setting, path", [("seed=true", "seed"), ("militias.*.base_rate=false", "militias.*.base_rate"),
                                           ("iran.war_hazard=yes", "iran.war_hazard")])
def test_a_boolean_is_not_a_number_on_the_command_line(setting, path):
    one_line_error(invoke("validate", BASELINE, "--set", setting), f"--set {path}", "boolean")


def test_booleans_where_booleans_belong_still_work(tmp_path):
    res = invoke("validate", doc(tmp_path, "name: c\nsweep: {summary_only: true, levers: {united_states.policy.name: [restraint]}}\n"))
    assert res.exit_code == 0, res.output


def test_the_path_an_error_prints_is_the_path_set_takes(tmp_path):
    """The error names militias.0.base_rate; pasted into --set as printed, it fixes the file."""
    restraint = "united_states: {policy: {name: restraint}}\n"  # the replayed strikes name the five groups
    path = doc(tmp_path, "name: d\nmilitias:\n- {name: A, short: A, base_rate: -1}\n" + restraint)
    text = one_line_error(invoke("validate", path))
    printed = re.search(r": (militias\S*base_rate):", text).group(1)
    assert printed == "militias.0.base_rate" == format_path(("militias", 0, "base_rate"))
    assert invoke("validate", path, "--set", f"{printed}=0.5").exit_code == 0
    # a nested error path too: behaviours of a group
    bad = doc(tmp_path, "name: e\nmilitias:\n- {name: A, short: A, behaviours: {tit_for_tat: {max_boost: -3}}}\n" + restraint)
    text = one_line_error(invoke("validate", bad), "militias.0.behaviours.tit_for_tat")
    assert "[" not in text.split(str(bad))[1]
    assert invoke("validate", bad, "--set", "militias.0.behaviours.tit_for_tat.max_boost=2").exit_code == 0


@pytest.mark.parametrize("setting, dotted", [("militias[0].base_rate=1", "militias.0.base_rate"),
                                             ("militias[*].iran_obedience=0.5", "militias.*.iran_obedience")])
def test_a_bracketed_path_is_refused_with_the_dotted_one(setting, dotted):
    one_line_error(invoke("validate", BASELINE, "--set", setting), "--set", repr(dotted))
    assert dotted in parse_overrides([f"{dotted}=1"])
