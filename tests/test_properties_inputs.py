"""Hypothesis properties over the inputs issue 19 names beside documents and receipts: `--set` strings and
file paths. Whatever the text, the answer is a value that means one thing or one UserError, never another
exception; an accepted `--set` sets exactly the field it names; a path outside the project is never read."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.runner.store import check_path
from experiments.scenario.errors import UserError
from experiments.scenario.schema import load_scenario, parse_overrides
from tests.conftest import BASELINE, write_yaml

# the float fields of one group and of the U.S. policy that `--set` reaches in the baseline scenario
FLOAT_PATHS = ["militias.0.base_rate", "militias.1.iran_obedience", "militias.*.base_rate",
               "united_states.policy.params.targets_per_attack", "iran.war_hazard"]

path_text = st.text(alphabet=st.sampled_from(list("militas.0123*[] _=-ab\t")), max_size=40)
value_text = st.one_of(st.text(max_size=12), st.sampled_from(["true", "yes", "null", "1e309", "nan", ".inf", "[1, 2]",
                                                               "{a: 1}", "0x10", "1_000", "'0.5'", "-0"]))


@settings(max_examples=300, deadline=None)
@given(path=path_text, sep=st.sampled_from(["=", "", "=="]), value=value_text)
def test_any_set_string_parses_to_one_dotted_path_or_one_line(path, sep, value):
    try:
        out = parse_overrides([f"{path}{sep}{value}"])
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    (key,) = out  # one setting, keyed by the dotted path: no brackets, no blanks, no empty parts
    assert key and "[" not in key and "]" not in key and not any(c.isspace() for c in key)
    assert all(key.split("."))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(FLOAT_PATHS), value=st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32), st.integers(-10, 10), st.booleans()))
def test_an_accepted_set_sets_exactly_what_it_names(path, value):
    text = "true" if value is True else "false" if value is False else repr(value)
    try:
        sc = load_scenario(BASELINE, parse_overrides([f"{path}={text}"]))
    except UserError as exc:
        assert "\n" not in str(exc)
        assert not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                    and 0 <= value <= 1 and path != "united_states.policy.params.targets_per_attack"), (path, value, exc)
        return
    assert not isinstance(value, bool), "a boolean was read as a number"
    head, *rest = path.split(".")
    targets = sc.militias if path.startswith("militias.*") else [sc.militias[int(rest[0])]] if head == "militias" else [sc]
    field = path.split(".")[-1]
    for t in targets:
        obj = t if head == "militias" else sc.united_states.policy.params if "policy" in path else sc.iran
        got = obj[field] if isinstance(obj, dict) else getattr(obj, field)
        assert got == pytest.approx(float(value)), (path, value, got)
    assert path in sc.held  # an explicit value is held fixed over any posterior


names = st.lists(st.sampled_from(list("ab./_-~ ") + ["..", "\u00e9", "x" * 120]), min_size=1, max_size=30).map("".join)


@settings(max_examples=200, deadline=None)
@given(name=st.one_of(names, st.builds(lambda n, k: n * k, names, st.integers(1, 400))))
def test_any_output_path_is_accepted_or_one_line(tmp_path_factory, name):
    root = tmp_path_factory.getbasetemp()
    try:
        check_path(root / name)
    except UserError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=80, deadline=None)
@given(parent=st.one_of(names, st.sampled_from(["/etc/passwd", "/dev/zero", "../../../../etc/hostname", "~/x.yaml",
                                               "/proc/self/environ", "//", "."])))
def test_any_extends_is_read_inside_the_project_or_refused_unread(tmp_path_factory, parent):
    folder = tmp_path_factory.mktemp("ext")
    child = write_yaml(folder / "child.yaml", {"name": "child", "extends": parent})
    try:
        load_scenario(child)
    except UserError as exc:
        text = str(exc)
        assert "\n" not in text
        target = Path(os.path.realpath(folder / parent))
        try:
            is_file = target.is_file()
        except OSError:  # a name the file system cannot hold: nothing to read
            is_file = False
        if is_file and not str(target).startswith((str(folder), str(Path(__file__).resolve().parents[1]))):
            assert "outside" in text, text  # refused as outside, not after reading it
