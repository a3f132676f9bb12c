"""A new optional actor takes four files outside tests and docs: its module, a registry line, its stream key
and a scenario (issue 21). This test follows the recipe in docs/ODD.md ("Adding an actor") word for word on a
copy of the project, then runs the command line there: the toy actor records its column when its scenario
enables it, leaves every other number where it was (it draws from its own stream), and, when off, leaves
every table and the scenario's identity bit-identical to the project's own."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parent.parent
RECIPE_HEADING = "### 3.6 Adding an actor"


def recipe_blocks() -> list[str]:
    """The fenced code blocks of the ODD's "Adding an actor" section, in order."""
    text = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    section = text[text.index(RECIPE_HEADING):]
    section = section[: section.index('<a id="parameters"></a>')]
    return re.findall(r"```[a-z]*\n(.*?)```", section, flags=re.S)


def apply_recipe(root: Path) -> set[str]:
    """The four steps, applied to the project copy at ``root``; returns the files they wrote."""
    module, registry, stream, scenario = recipe_blocks()
    (root / "model" / "actors" / "monitors.py").write_text(module)
    # the registry line: added to the actors already listed (the recipe shows the four shipped ones)
    assert "monitors" in registry.splitlines()[0] and "    monitors,\n)" in registry
    init = root / "model" / "actors" / "__init__.py"
    text = init.read_text()
    imported = re.search(r"^from model\.actors import (.*)$", text, flags=re.M)
    names = sorted(n.strip() for n in imported.group(1).split(",")) + ["monitors"]
    text = text.replace(imported.group(0), "from model.actors import " + ", ".join(sorted(names)))
    listed = re.search(r"^ACTORS: .*?^\)\n", text, flags=re.M | re.S).group(0)
    text = text.replace(listed, listed[: -len(")\n")] + "    monitors,\n)\n")
    init.write_text(text)
    streams = root / "model" / "streams.py"
    text = streams.read_text()
    body = text[text.index("class ModelStream"): text.index("class StreamKey")]
    members = re.findall(r"^    [A-Z_]+ = (\d+)$", body, flags=re.M)
    key_line = re.sub(r"= \d+", f"= {len(members)}", stream.strip("\n").split("#")[0].rstrip())  # the next number
    last = re.findall(r"^    [A-Z_]+ = \d+\n", body, flags=re.M)[-1]
    text = text.replace(body, body.replace(last, last + key_line + "\n"))
    streams.write_text(text)
    (root / "scenarios" / "monitors.yaml").write_text(scenario)
    return {"model/actors/monitors.py", "model/actors/__init__.py", "model/streams.py", "scenarios/monitors.yaml"}


def changed_files(a: Path, b: Path) -> set[str]:
    """Files under model/, experiments/ and scenarios/ that differ between two trees, or exist in one only."""
    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for d in ("model", "experiments", "scenarios")
                for p in (root / d).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    fa, fb = files(a), files(b)
    return {k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k)}


def run(root: Path, scenario: str, out: Path) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=str(root))
    subprocess.run([sys.executable, "-m", "experiments.cli", "run", f"scenarios/{scenario}", "-n", "4", "--seed", "5",
                    "--out", str(out), "--quiet"], check=True, env=env, cwd=root, capture_output=True)
    tables = {p.stem: pq.read_table(p).replace_schema_metadata(None) for p in out.glob("*.parquet")}
    return {**tables, "manifest": json.loads((out / "manifest.json").read_text())}


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    for d in ("model", "experiments", "scenarios", "docs"):
        shutil.copytree(ROOT / d, root / d, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_the_recipe_has_four_steps():
    module, registry, stream, scenario = recipe_blocks()
    assert "OPTIONAL = True" in module and "ModelStream.MONITORS" in module
    assert "monitors," in registry and "MONITORS" in stream and "enabled: true" in scenario


def test_a_new_optional_actor_takes_four_files_and_changes_nothing_when_off(project_copy, tmp_path):
    wrote = apply_recipe(project_copy)
    assert changed_files(ROOT, project_copy) == wrote and len(wrote) == 4

    env = dict(os.environ, PYTHONPATH=str(project_copy))
    probe = ("from model.rules import REGISTRY; from model.outputs import DAILY_COLUMNS, SUMMARY; "
             "from model.config import ModelConfig, float_paths; "
             "print(list(REGISTRY['monitors']), 'attacks_verified' in DAILY_COLUMNS, "
             "'attacks_verified' in [c.name for c in SUMMARY], ModelConfig().monitors.enabled, "
             "'monitors.p_verify' in float_paths(ModelConfig()), "
             "'monitors.p_verify' in float_paths(ModelConfig(monitors={'enabled': True})))")
    shown = subprocess.run([sys.executable, "-c", probe], env=env, cwd=project_copy, capture_output=True, text=True, check=True)
    # registered, declared, off by default; its parameters vary per replicate only when it is on
    assert shown.stdout.split() == ["['verify_attacks']", "True", "True", "False", "False", "True"]

    ours = run(ROOT, "baseline.yaml", tmp_path / "ours")
    off = run(project_copy, "baseline.yaml", tmp_path / "off")
    on = run(project_copy, "monitors.yaml", tmp_path / "on")

    # off: every table and the scenario's identity are the project's own
    for table in ("daily", "summary", "groups"):
        assert off[table].equals(ours[table]), table
    assert "attacks_verified" not in off["daily"].column_names
    assert off["manifest"]["scenario_hash"] == ours["manifest"]["scenario_hash"]

    # on: its column, within what it can verify, and nobody else's numbers move (its own stream)
    daily = on["daily"].to_pandas()
    assert "attacks_verified" in daily and daily["attacks_verified"].sum() > 0
    assert (daily["attacks_verified"] <= daily["attacks_total"]).all()
    assert on["summary"].to_pandas()["attacks_verified"].sum() == daily["attacks_verified"].sum()
    for table in ("daily", "summary", "groups"):
        others = [c for c in ours[table].column_names if c != "scenario"]
        assert on[table].select(others).equals(ours[table].select(others)), table
