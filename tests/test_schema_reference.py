"""A schema you can read (issue 20, item 3): docs/scenario_reference.md documents every block with an
example that validates, docs/scenario.schema.json (JSON Schema, for editors) is generated from the same
models and accepts every file in scenarios/, both are current; "unknown field" errors list the valid
names and suggest the nearest; union branch names never appear in error paths."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from conftest import ROOT
from experiments.cli import docs_schema
from experiments.cli.main import app

runner = CliRunner()
BLOCKS = ("scenario", "sweep", "compare", "sensitivity", "phase_map", "calibration")


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(docs_schema.SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def as_json(text: str):
    """A YAML document as an editor's schema check sees it (dates as text)."""
    return json.loads(json.dumps(yaml.safe_load(text), default=str))


def test_generated_files_are_current():
    stale = docs_schema.write(check=True)
    assert not stale, f"{[str(p) for p in stale]} out of date: run python -m experiments.cli.docs_schema"


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_every_scenario_file_validates_against_the_json_schema(path):
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(as_json(path.read_text()))]
    assert not errors, errors


@pytest.mark.parametrize("text", [
    "name: x\npolcy: restraint\n",                                 # a misspelt field
    "name: x\nseed: true\n",                                       # a boolean for a number
    "name: x\nsweep: {design: random}\n",                          # not a design
    "name: x\ncompare: {levers: [restraint], refrence: restraint}\n",
    "name: x\nphase_map: {x: {path: a, values: [1, 2]}}\n",        # y missing
])
def test_the_json_schema_refuses_what_validate_refuses(text):
    assert list(validator().iter_errors(as_json(text)))


@pytest.mark.parametrize("block", BLOCKS)
def test_every_block_is_documented_with_an_example_that_validates(tmp_path, block):
    reference = docs_schema.REFERENCE_FILE.read_text()
    assert f"\n## {block}\n" in reference
    example = docs_schema.EXAMPLES[block]
    assert example.strip() in reference
    assert not list(validator().iter_errors(as_json(example)))
    # the example as a file next to its parent (here: parents named by absolute path inside the project)
    text = example.replace("extends: baseline.yaml", f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}")
    text = text.replace("extends: counterfactual.yaml", f"extends: {ROOT / 'scenarios' / 'counterfactual.yaml'}")
    text = text.replace("base: baseline.yaml", f"base: {ROOT / 'scenarios' / 'baseline.yaml'}")
    path = tmp_path / f"{block}.yaml"
    path.write_text(text)
    res = invoke("validate", path)
    assert res.exit_code == 0, res.output
    if block not in ("scenario", "calibration"):
        assert block in res.output


def test_every_field_of_every_block_is_in_the_reference():
    reference = docs_schema.REFERENCE_FILE.read_text()
    for block, model in docs_schema._models().items():
        for name in model.model_fields:
            assert f"| `{name}` |" in reference, (block, name)


@pytest.mark.parametrize("text, words", [
    ("compare: {levers: [restraint], refrence: restraint}", ["compare.refrence", "did you mean 'reference'", "valid: reference, replicates, levers"]),
    ("compare: {levers: [restraint, {polcy: threshold}], reference: restraint}", ["compare.levers.1.polcy", "did you mean 'policy'"]),
    ("sweep: {levers: {united_states.policy.name: [restraint]}, desing: grid}", ["sweep.desing", "did you mean 'design'"]),
    ("phase_map: {x: {path: iran.war_hazard, valeus: [1, 2]}, y: {path: iran.supply_rate, values: [1, 2]}}",
     ["phase_map.x.valeus", "did you mean 'values'"]),
    ("united_states: {polcy: {name: restraint}}", ["united_states.polcy", "did you mean 'policy'"]),
    ("united_states: {policy: {name: proportional, params: {targets_per_atack: 2}}}", ["targets_per_atack", "did you mean 'targets_per_attack'"]),
])
def test_unknown_fields_list_the_valid_names_and_suggest_the_nearest(tmp_path, text, words):
    path = tmp_path / "x.yaml"
    path.write_text(f"name: x\nextends: {ROOT / 'scenarios' / 'counterfactual.yaml'}\n{text}\n")
    res = invoke("validate", path)
    out = res.output.strip()
    assert res.exit_code == 2 and "\n" not in out, out
    for w in words:
        assert w in out, (w, out)


@pytest.mark.parametrize("lever, words", [
    ("5", ["compare.levers.1:", "expected a name (text) or a mapping with fields"]),
    ("{policy: 3}", ["compare.levers.1.policy", "valid string"]),
    ("{name: x}", ["compare.levers.1:", "give either 'policy' or 'scenario'"]),
])
def test_union_errors_name_no_branch(tmp_path, lever, words):
    path = tmp_path / "x.yaml"
    path.write_text(f"name: x\nextends: {ROOT / 'scenarios' / 'counterfactual.yaml'}\ncompare: {{levers: [restraint, {lever}], reference: restraint}}\n")
    out = invoke("validate", path).output.strip()
    for w in words:
        assert w in out, (w, out)
    for branch in (".str", ".Lever", "function-after"):
        assert branch not in out, out
