"""Bad scenario files: exit code 2, one line naming the file and the field path, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import BASELINE, ROOT
from experiments.cli.main import app
from experiments.scenario.errors import UserError
from experiments.scenario.schema import load_scenario, validate_data

runner = CliRunner()
EXT = f"name: bad\nextends: {BASELINE}\n"

# (case id, {file name: text}, file checked, expected fragments of the message)
CASES = [
    ("unknown key", {"s.yaml": EXT + "foo: 1\n"}, "s.yaml", ["foo", "unknown field"]),
    ("nested unknown key", {"s.yaml": EXT + "iran: {restraint_per_us_kiled: 1}\n"}, "s.yaml", ["iran.restraint_per_us_kiled"]),
    ("wrong type", {"s.yaml": EXT + "replicates: many\n"}, "s.yaml", ["replicates", "integer", "'many'"]),
    (
        "negative rate",
        {"s.yaml": EXT + "militias:\n  - {name: A, short: A, base_rate: -1}\n"},
        "s.yaml",
        ["militias.0.base_rate", "greater than or equal to 0", "-1"],
    ),
    (
        "probability above one",
        {"s.yaml": EXT + "attack_effects: {p_fatal_given_harm: {iraq: 0.1, syria: 0.1, jordan: 1.5}}\n"},
        "s.yaml",
        ["attack_effects.p_fatal_given_harm.jordan", "1.5"],
    ),
    (
        "unknown policy",
        {"s.yaml": EXT + "united_states: {policy: {name: nuke}}\n"},
        "s.yaml",
        ["united_states.policy", "nuke", "threshold"],
    ),
    (
        "bad policy param value",
        {"s.yaml": EXT + "united_states: {policy: {name: threshold, params: {attacks: 0}}}\n"},
        "s.yaml",
        ["united_states.policy.params.attacks", "0"],
    ),
    (
        "unknown policy param",
        {"s.yaml": EXT + "united_states: {policy: {name: threshold, params: {bogus: 1}}}\n"},
        "s.yaml",
        ["united_states.policy.params.bogus"],
    ),
    (
        "unknown militia behaviour",
        {"s.yaml": EXT + "militias:\n  - {name: A, short: A, behaviours: {nope: {}}}\nunited_states: {policy: {name: restraint}}\n"},
        "s.yaml",
        ["militias.0.behaviours.nope", "tit_for_tat"],
    ),
    ("end before start", {"s.yaml": EXT + "start: 2024-01-01\nend: 2023-12-01\n"}, "s.yaml", ["end", "after start"]),
    (
        "event dates out of order",
        {"s.yaml": EXT + "exogenous: {events: [{name: e, kind: iraq_diplomacy, start: 2023-11-05, end: 2023-11-01, magnitude: 0.5}]}\n"},
        "s.yaml",
        ["exogenous.events.0", "before start"],
    ),
    (
        "gaza series out of order",
        {"s.yaml": EXT + "exogenous: {gaza_intensity: [{date: 2023-11-05, value: 1}, {date: 2023-10-05, value: 1}]}\n"},
        "s.yaml",
        ["exogenous", "gaza_intensity", "date order"],
    ),
    ("extends cycle", {"a.yaml": "name: a\nextends: b.yaml\n", "b.yaml": "name: b\nextends: a.yaml\n"}, "a.yaml", ["extends", "cycle"]),
    ("missing parent", {"s.yaml": "name: s\nextends: nowhere.yaml\n"}, "s.yaml", ["extends", "nowhere.yaml", "not found"]),
    ("not YAML", {"s.yaml": "name: x\nfoo: [1, 2\n"}, "s.yaml", ["not valid YAML", "line"]),
    ("not a mapping", {"s.yaml": "- 1\n- 2\n"}, "s.yaml", ["expected a mapping", "list"]),
    (
        "duplicate militia short names",
        {"s.yaml": EXT + "militias:\n  - {name: A, short: A}\n  - {name: B, short: A}\nunited_states: {policy: {name: restraint}}\n"},
        "s.yaml",
        ["militias", "unique", "'A'"],
    ),
    (
        "historical leader names an unknown group",
        {"s.yaml": EXT + "united_states: {policy: {name: historical, params: {strikes: [{date: 2023-11-01, iraq: 1, leader: ZZ}]}}}\n"},
        "s.yaml",
        ["united_states.policy.params.strikes.0.leader", "ZZ", "KH"],
    ),
    ("bad scenario name", {"s.yaml": f"name: 'a b/c'\nextends: {BASELINE}\n"}, "s.yaml", ["name", "a b/c"]),
    ("missing file", {}, "absent.yaml", ["absent.yaml", "not found"]),
]


@pytest.mark.parametrize("files, checked, fragments", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validate_rejects_with_file_and_field_path(tmp_path, files, checked, fragments):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    target = tmp_path / checked
    result = runner.invoke(app, ["validate", str(target)])
    text = result.output
    assert result.exit_code == 2, text
    assert "Traceback" not in text
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert text.startswith("error:"), text
    assert text.strip().count("\n") == 0, text  # one line
    assert str(target) in text.replace("\n", "")
    for frag in fragments:
        assert frag in text, (frag, text)


@pytest.mark.parametrize("files, checked, fragments", [c[1:] for c in CASES if c[0] != "missing file"], ids=[c[0] for c in CASES if c[0] != "missing file"])
def test_run_rejects_bad_files_without_writing(tmp_path, files, checked, fragments):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(tmp_path / checked), "--out", str(out), "-q"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not out.exists()


def test_shipped_scenarios_validate():
    policies = ["baseline", "restraint", "proportional", "threshold", "graduated", "red_line", "decapitation"]
    files = [ROOT / "scenarios" / f"{p}.yaml" for p in policies]
    result = runner.invoke(app, ["validate", *map(str, files)])
    assert result.exit_code == 0, result.output
    assert result.output.count("OK ") == len(files)
    names = {load_scenario(f).united_states.policy.name for f in files}
    assert {"historical", "restraint", "proportional", "threshold", "graduated", "red_line", "decapitation"} <= names


def test_every_shipped_file_validates_including_analysis_blocks():
    """Calibration, compare, sensitivity, phase-map and sweep files are checked by their own schemas."""
    files = sorted((ROOT / "scenarios").glob("*.yaml"))
    result = runner.invoke(app, ["validate", *map(str, files)])
    assert result.exit_code == 0, result.output
    assert result.output.count("OK ") == len(files)
    assert "with a compare block" in result.output and "calibration of" in result.output


def test_bad_analysis_block_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"name: bad\nextends: {ROOT / 'scenarios' / 'baseline.yaml'}\ncompare:\n  levers: [restraint]\n  reference: nope\n")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2 and "bad.yaml" in result.output and "compare" in result.output
    assert "Traceback" not in result.output


def test_validate_data_raises_user_error_with_path():
    with pytest.raises(UserError) as exc:
        validate_data({"name": "x", "replicates": 0}, file="mem.yaml")
    assert exc.value.exit_code == 2 and exc.value.path == ("replicates",)
    assert str(exc.value).startswith("mem.yaml: replicates:")


def test_identity_hash_follows_the_posterior_contents_not_its_file_name(tmp_path):
    """Recalibrated draws under the same file name make a different scenario; a copy of the same
    draws under another name does not."""
    import shutil

    import pandas as pd

    from experiments.scenario.schema import load_scenario

    root = Path(__file__).resolve().parent.parent
    (tmp_path / "data").mkdir()
    shutil.copy(root / "scenarios" / "data" / "calibrated_posterior.parquet", tmp_path / "data" / "a.parquet")
    shutil.copy(root / "scenarios" / "data" / "calibrated_posterior.parquet", tmp_path / "data" / "b.parquet")

    def scenario(posterior: str):
        f = tmp_path / f"{posterior}.yaml"
        f.write_text(f"extends: {root / 'scenarios' / 'calibrated.yaml'}\nname: s\nuncertainty: {{posterior: data/{posterior}.parquet}}\n")
        return load_scenario(f)

    before = scenario("a").identity_hash()
    assert scenario("b").identity_hash() == before
    draws = pd.read_parquet(tmp_path / "data" / "a.parquet")
    draws.iloc[0, 0] *= 1.01
    draws.to_parquet(tmp_path / "data" / "a.parquet")
    assert scenario("a").identity_hash() != before
