"""The scenario-file reference, generated from the pydantic models themselves (nothing written by hand
can drift from the code):

* ``docs/scenario.schema.json`` - a JSON Schema of scenario files (every block) and calibration files,
  for editors: with the YAML extension of VS Code (or any yaml-language-server client) a file starting
  with ``# yaml-language-server: $schema=../docs/scenario.schema.json`` is checked and completed as it is
  typed;
* ``docs/scenario_reference.md`` - every block (scenario, sweep, compare, sensitivity, phase_map,
  calibration) with its fields, types, defaults and meanings, and one example each that validates.

``python -m experiments.cli.docs_schema`` rewrites both; tests/test_schema_reference.py fails when they
no longer match the models or an example no longer validates.
"""

from __future__ import annotations

import json
import sys
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "docs" / "scenario.schema.json"
REFERENCE_FILE = ROOT / "docs" / "scenario_reference.md"
SCHEMA_ID = "https://github.com/escalation-model/escalation-model/blob/main/docs/scenario.schema.json"
# the blocks a scenario file may carry besides the scenario's own fields (``sweep`` is one of those)
EXTRA_BLOCKS = {"compare": "CompareSpec", "sensitivity": "SensitivitySpec", "phase_map": "PhaseMapSpec"}


def _models() -> dict[str, type[BaseModel]]:
    from experiments.scenario.blocks import CalibrationConfig, CompareSpec, PhaseMapSpec, SensitivitySpec, SweepSpec
    from experiments.scenario.schema import Scenario

    return {"scenario": Scenario, "sweep": SweepSpec, "compare": CompareSpec, "sensitivity": SensitivitySpec,
            "phase_map": PhaseMapSpec, "calibration": CalibrationConfig}


def json_schema() -> dict[str, Any]:
    """One JSON Schema (draft 2020-12) for every YAML file in scenarios/: a scenario (with at most one
    analysis block) or a calibration file."""
    from pydantic.json_schema import models_json_schema

    models = _models()
    _, top = models_json_schema([(m, "validation") for m in models.values()], ref_template="#/$defs/{model}")
    defs = top["$defs"]
    scenario = defs["Scenario"]
    for key, name in EXTRA_BLOCKS.items():
        scenario["properties"][key] = {"$ref": f"#/$defs/{name}", "description": f"a {key} block (escalation {key.replace('_', '-')})"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Escalation model scenario file",
        "description": "A scenario (optionally with one sweep, compare, sensitivity or phase_map block) or a calibration "
                       "file. Generated from the pydantic models by `python -m experiments.cli.docs_schema`; "
                       "docs/scenario_reference.md explains every field.",
        "anyOf": [{"$ref": "#/$defs/Scenario"}, {"$ref": "#/$defs/CalibrationConfig"}],
        "$defs": dict(sorted(defs.items())),
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=1, sort_keys=False, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- the Markdown reference

# One example per block, each a whole file as it would sit in scenarios/ (tests/test_schema_reference.py
# validates every one with `escalation validate`).
EXAMPLES: dict[str, str] = {
    "scenario": """\
name: my_policy
extends: baseline.yaml          # every field not given here comes from the parent (deep merge)
description: "Proportional retaliation, two targets per attack, from Nov 1."
seed: 7
replicates: 500
united_states:
  policy:
    name: proportional
    params: {targets_per_attack: 2.0}
""",
    "sweep": """\
name: my_sweep
extends: counterfactual.yaml
sweep:
  design: lhs
  samples: 4
  replicates: 50
  levers:
    united_states.policy.name: [restraint, proportional]
  uncertainties:
    militias.*.iran_obedience: {low: 0.2, high: 0.9}
""",
    "compare": """\
name: my_compare
extends: counterfactual.yaml
compare:
  reference: restraint
  replicates: 200
  uncertainties: fixed
  levers:
    - restraint
    - {policy: proportional, name: proportional_x2, params: {targets_per_attack: 2.0}}
    - {policy: threshold}
""",
    "sensitivity": """\
name: my_sensitivity
extends: baseline.yaml
sensitivity:
  method: sobol
  samples: 64
  uncertainties:
    militias.*.iran_obedience: [0.2, 1.0]
    iran.war_hazard: [0.00005, 0.005]
  outcomes: [attacks_total, war]
  discovery: [war]
""",
    "phase_map": """\
name: my_phase_map
extends: counterfactual.yaml
united_states: {policy: {name: proportional}}
phase_map:
  x: {path: united_states.policy.params.targets_per_attack, values: [0.0, 1.0, 2.0], label: targets per attack}
  y: {path: militias.*.behaviours.tit_for_tat.max_boost, values: [0.5, 2.0, 4.0]}
  replicates: 100
  war_threshold: 0.1
""",
    "calibration": """\
name: my_calibration
base: baseline.yaml
budget: 2000
parameters:
  - {path: militias.*.base_rate, mode: multiplier, low: 0.3, high: 2.5, scale: log, source: "assumption: wide range"}
  - {path: iran.war_hazard, low: 0.00005, high: 0.005, scale: log, source: "assumption"}
targets:
  - {id: tally_oct30_iraq, scale: 7.5}
  - {id: tally_nov23_iraq, minus: tally_oct30_iraq, scale: 9.4}
""",
}

INTRO = {
    "scenario": "The model's inputs: the actors' parameters, the dates, the U.S. policy, the replicates. Nested parts "
                "are described below the blocks. `extends:` names a parent file (inside the project or this file's "
                "folder) that this file is deep-merged over. Every parameter's default and source: docs/ODD.md.",
    "sweep": "What to vary and how: `levers` (a full grid of choices) crossed with sampled `uncertainties`. "
             "Run with `escalation sweep FILE`.",
    "compare": "Policies (or other scenario files) run on the same random worlds, with paired differences against "
               "`reference`. Run with `escalation compare FILE`.",
    "sensitivity": "Global sensitivity (Sobol or Morris) and scenario discovery over parameter ranges. "
                   "Run with `escalation sensitivity FILE`.",
    "phase_map": "A grid of two parameters (x, y), P(war) and attacks in each cell. Run with `escalation phase-map FILE`.",
    "calibration": "A calibration file (its own kind of file, not a block of a scenario): ABC of the `base` scenario's "
                   "parameters against the observed counts. Run with `escalation calibrate FILE`.",
}

PATHS = """\
## Paths

A *path* names a field of the scenario in dotted form: `united_states.policy.params.targets_per_attack`,
`militias.0.base_rate` (list positions are numbers), `militias.*.iran_obedience` (`*`: every item). The
same syntax everywhere: `--set PATH=VALUE`, sweep levers and uncertainties, compare overrides, sensitivity
ranges, phase-map axes, calibration priors, and the paths that error messages print (so a path from an
error can be pasted into `--set`).

YAML is read one way: a key given twice in one mapping is refused (with both line numbers); `true`, `yes`,
`on` are booleans and are refused where a number is expected; dates are written `2023-10-07`.
"""


def _type_words(tp: Any, nested: list[type[BaseModel]]) -> str:
    """A field's type in words, linking nested models (which are collected into ``nested``)."""
    import types

    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return _type_words(args[0], nested)
    if origin in (typing.Union, types.UnionType):
        parts = [_type_words(a, nested) for a in args if a is not type(None)]
        return " or ".join(parts) + (" (or null)" if type(None) in args else "")
    if origin is typing.Literal:
        return " | ".join(f"`{a}`" for a in args)
    if origin in (list, set, frozenset):
        return f"list of {_type_words(args[0], nested)}" if args else "list"
    if origin is tuple:
        return f"[{', '.join(_type_words(a, nested) for a in args if a is not Ellipsis)}]"
    if origin is dict:
        return f"mapping of {_type_words(args[0], nested)} to {_type_words(args[1], nested)}" if args else "mapping"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp not in nested:
            nested.append(tp)
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    import enum

    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return " | ".join(f"`{m.value}`" for m in tp)
    names = {str: "text", int: "integer", float: "number", bool: "true/false", typing.Any: "any value"}
    return names.get(tp, getattr(tp, "__name__", str(tp)).replace("date", "date (YYYY-MM-DD)"))


def _bounds(info: FieldInfo) -> str:
    words = []
    for m in info.metadata:
        for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"), ("min_length", "at least"), ("max_length", "at most"),
                           ("pattern", "matching")):
            value = getattr(m, attr, None)
            if value is not None:
                words.append(f"{sign} {value:g}" if isinstance(value, float) else f"{sign} {value}")
    return ", ".join(words)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    if info.default_factory is not None:
        try:
            value = info.default_factory()
        except TypeError:
            return "(computed)"
    else:
        value = info.default
    if isinstance(value, BaseModel):
        return "(its defaults)"
    text = json.dumps(value, default=str)
    return f"`{text}`" if len(text) <= 40 else "(see docs/ODD.md)"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def model_table(model: type[BaseModel], nested: list[type[BaseModel]]) -> str:
    rows = ["| field | type | default | meaning |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        kind = _type_words(info.annotation, nested)
        bounds = _bounds(info)
        meaning = info.description or ""
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("source"):
            meaning = (meaning + "; " if meaning else "") + f"source: {extra['source']}"
        rows.append(f"| `{name}` | {_cell(kind + (f' ({bounds})' if bounds else ''))} | {_cell(_default(info))} | {_cell(meaning)} |")
    return "\n".join(rows)


def _doc(model: type[BaseModel]) -> str:
    doc = (model.__doc__ or "").strip()
    if not doc or doc.startswith(("Usage docs:", "!!! abstract")) or model.__doc__ is BaseModel.__doc__:
        return ""
    return " ".join(doc.split("\n\n")[0].split())


def reference() -> str:
    """docs/scenario_reference.md: every block, its fields and an example; then every nested part."""
    models = _models()
    nested: list[type[BaseModel]] = []
    out = ["# Scenario files: reference", "",
           "<!-- generated by `python -m experiments.cli.docs_schema` from the pydantic models; do not edit by hand -->", "",
           "A scenario file is YAML: the scenario's fields, and at most one analysis block (`sweep`, `compare`, "
           "`sensitivity`, `phase_map`). Calibration files are their own kind. Check a file with `escalation validate FILE`. "
           "Editors: `docs/scenario.schema.json` is a JSON Schema of these files; with the YAML extension of VS Code "
           "(yaml-language-server) put `# yaml-language-server: $schema=../docs/scenario.schema.json` on a file's first "
           "line (or map `scenarios/*.yaml` to it in `yaml.schemas`) to have it checked and completed as you type.", "",
           "Blocks: " + ", ".join(f"[{k}](#{k.replace('_', '_')})" for k in models), "", PATHS]
    for key, model in models.items():
        out += [f"## {key}", "", INTRO[key], ""]
        if _doc(model) and key != "scenario":
            out += [_doc(model), ""]
        out += [model_table(model, nested), "", "Example:", "", "```yaml", EXAMPLES[key].rstrip(), "```", ""]
    out += ["## Parts", "", "The nested mappings the blocks above refer to.", ""]
    done: set[type[BaseModel]] = set(models.values())
    i = 0
    while i < len(nested):
        model = nested[i]
        i += 1
        if model in done:
            continue
        done.add(model)
        out += [f"### {model.__name__}", ""]
        if _doc(model):
            out += [_doc(model), ""]
        out += [model_table(model, nested), ""]
    return "\n".join(out).rstrip() + "\n"


def write(check: bool = False) -> list[Path]:
    """Write both files (``check``: only report which are out of date). Returns the files that differ."""
    stale = []
    for path, text in ((SCHEMA_FILE, schema_text()), (REFERENCE_FILE, reference())):
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if not check:
                path.write_text(text)
    return stale


if __name__ == "__main__":  # python -m experiments.cli.docs_schema [--check]
    changed = write(check="--check" in sys.argv[1:])
    for path in changed:
        print(f"{path.relative_to(ROOT)}: {'out of date' if '--check' in sys.argv[1:] else 'updated'}")
    if not changed:
        print("docs/scenario.schema.json and docs/scenario_reference.md are current")
    sys.exit(1 if changed and "--check" in sys.argv[1:] else 0)
