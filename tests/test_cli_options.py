"""The command line's shared options: one name, short flag and default on every command (read from the
typer app itself), --set on every command that reads a scenario (checked like the file, bad input is
one line and exit code 2 with nothing written), --version, and the README's generated command reference."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pandas as pd
import pytest
import typer.main
from typer.testing import CliRunner

from conftest import short_scenario
from experiments.cli.docs_commands import README_FILE, command_reference
from experiments.cli.main import app
from experiments.runner.executors import DEFAULT_WORKERS
from experiments.scenario.errors import UserError
from experiments.scenario.schema import load_scenario, parse_overrides
from tests.conftest import assert_one_line_error

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
runner = CliRunner()
COMMANDS = typer.main.get_command(app).commands
# each command that reads a scenario (or calibration) file, with a file it accepts
SCENARIO_FILES = {
    "validate": "threshold.yaml",
    "run": "threshold.yaml",
    "app": "threshold.yaml",
    "sweep": "sweep_policies_obedience.yaml",
    "calibrate": "calibration.yaml",
    "compare": "compare_policies.yaml",
    "sensitivity": "sensitivity.yaml",
    "phase-map": "phase_map.yaml",
    "forecast": "calibration.yaml",
    "decompose": "axis.yaml",
}
WRITES = {"run", "sweep", "calibrate", "compare", "sensitivity", "phase-map", "forecast", "decompose"}
SHARED = ("--replicates", "--seed", "--out", "--workers", "--dask-scheduler", "--dask", "--force", "--resume", "--quiet", "--set",
          "--max-memory", "--max-hours")


def options(command: str) -> dict[str, object]:
    """Long flag -> the click option of a command."""
    return {o: p for p in COMMANDS[command].params if p.param_type_name == "option" for o in p.opts if o.startswith("--")}



def test_every_command_that_reads_a_yaml_file_accepts_set():
    reads_yaml = {name for name, cmd in COMMANDS.items()
                  if any(p.param_type_name == "argument" and "YAML" in (p.help or "") for p in cmd.params)}
    assert reads_yaml == set(SCENARIO_FILES)
    for name in reads_yaml:
        assert "--set" in options(name), name


@pytest.mark.parametrize("flag", SHARED)
def test_a_shared_option_has_the_same_names_and_default_everywhere(flag):
    found = {name: (tuple(sorted(p.opts)), p.default) for name in COMMANDS for f, p in options(name).items() if f == flag}
    assert found, f"no command has {flag}"
    assert len(set(found.values())) == 1, found


def test_workers_default_is_the_executors_default_and_comes_with_dask():
    with_workers = [name for name in COMMANDS if "--workers" in options(name)]
    assert set(with_workers) == WRITES
    for name in with_workers:
        opts = options(name)
        assert opts["--workers"].default == DEFAULT_WORKERS and "-w" in opts["--workers"].opts
        assert {"--dask", "--dask-scheduler", "--seed", "--out", "--force", "--quiet"} <= set(opts), name
        assert "-n" in opts["--replicates"].opts, name


def test_the_old_per_command_flags_are_gone():
    for name, cmd in COMMANDS.items():
        flags = {o for p in cmd.params for o in [*p.opts, *p.secondary_opts]}
        assert not flags & {"-N", "-b", "-o", "--output", "--budget"}, (name, flags)


def test_version_prints_the_installed_package_version():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0, res.output
    assert importlib.metadata.version("escalation-model") in res.output and "Mesa" in res.output


@pytest.mark.parametrize("command", sorted(SCENARIO_FILES))
@pytest.mark.parametrize("setting, named", [
    ("no_such_field.x=1", "--set no_such_field.x"),  # a path the schema does not know
    ("seed=-1", "--set seed"),  # a value out of range
    ("seed=[1", "--set seed"),  # not YAML
    ("seed", "--set"),  # not PATH=VALUE
])
def test_a_bad_set_is_one_line_naming_the_path_and_nothing_is_written(tmp_path, command, setting, named):
    args = [command, str(SCENARIOS / SCENARIO_FILES[command]), "--set", setting]
    if command in WRITES:
        args += ["--out", str(tmp_path / "out")]
    assert_one_line_error(runner.invoke(app, args), named)
    assert not (tmp_path / "out").exists()


def test_a_set_into_defaults_the_file_leaves_out(tmp_path):
    src = short_scenario(tmp_path)  # lists no militias: they come from the defaults
    sc = load_scenario(src, parse_overrides(["militias.*.base_rate=0.25", "militias.1.iran_obedience=0.5"]))
    assert {m.base_rate for m in sc.militias} == {0.25}
    assert sc.militias[1].iran_obedience == 0.5 and sc.militias[0].iran_obedience != 0.5
    with pytest.raises(UserError, match=r"--set militias\.9\.base_rate: index 9 out of range"):
        load_scenario(src, parse_overrides(["militias.9.base_rate=1"]))


def test_set_values_are_read_as_yaml():
    assert parse_overrides(["a.b=3", "c=0.5", "d=[x, y]", "e=null", "f=text", "a.b=4"]) == {
        "a.b": 4, "c": 0.5, "d": ["x", "y"], "e": None, "f": "text"}


def _run(tmp_path: Path, src: Path, name: str, *extra: str) -> tuple[pd.DataFrame, dict]:
    out = tmp_path / name
    res = runner.invoke(app, ["run", str(src), "-n", "6", "--seed", "5", "-w", "1", "--out", str(out), "--quiet", *extra])
    assert res.exit_code == 0, res.output
    return pd.read_parquet(out / "daily.parquet"), json.loads((out / "manifest.json").read_text())


def test_set_changes_the_results_exactly_as_the_same_value_in_the_file(tmp_path):
    policy = {"name": "threshold", "params": {"window_days": 7}}
    base = short_scenario(tmp_path, name="base", days=35, united_states={"policy": policy})
    (tmp_path / "edited").mkdir()  # the same scenario name, the value written in the file
    edited = short_scenario(tmp_path / "edited", name="base", days=35,
                            united_states={"policy": {**policy, "params": {"window_days": 7, "attacks": 1}}})
    plain, unset = _run(tmp_path, base, "plain")
    overridden, manifest = _run(tmp_path, base, "set", "--set", "united_states.policy.params.attacks=1")
    in_file, _ = _run(tmp_path, edited, "file")
    assert manifest["scenario"]["united_states"]["policy"]["params"]["attacks"] == 1
    assert manifest["set"] == {"united_states.policy.params.attacks": 1} and "set" not in unset
    assert overridden["us_strikes_syria"].sum() > plain["us_strikes_syria"].sum()  # strikes after every attack
    pd.testing.assert_frame_equal(overridden, in_file)


def test_sensitivity_replicates_is_checked_as_an_option(tmp_path):
    res = runner.invoke(app, ["sensitivity", str(SCENARIOS / "sensitivity.yaml"), "-n", "0", "--out", str(tmp_path / "s")])
    assert_one_line_error(res, "--replicates")
    assert not (tmp_path / "s").exists()


def test_readme_lists_the_current_commands_and_options():
    assert command_reference() in README_FILE.read_text(encoding="utf-8"), (
        "README.md's command reference is stale: run `python -m experiments.cli.docs_commands`")
