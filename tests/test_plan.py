"""Plan, then execute (issue 21, item 7): every check a command makes before it simulates (the seed, the
budget, the output folder, the lock) runs once, in the library; the CLI only presents.

The checks are counted by wrapping the one function that makes each, wherever a module holds it. On the
commit before the plans, ``escalation run`` checked the budget twice, the output folder three times and
took the lock twice, nested; ``calibrate`` checked its folder twice.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from conftest import assert_one_line_error, invoke, short_scenario

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "scenarios"


def _defined(name: str, *modules: str):
    for mod in modules:  # where the check is defined (before the plans, check_out_dir was in runner/run.py)
        try:
            obj = getattr(importlib.import_module(mod), name, None)
        except ImportError:
            continue
        if obj is not None:
            return obj
    raise LookupError(name)


@pytest.fixture
def checks(monkeypatch) -> Counter:
    """Counts of each check, made anywhere in experiments/ during the test."""
    # every module loaded first: one imported later would bind the wrapper, which outlives the test
    import experiments

    for info in pkgutil.walk_packages(experiments.__path__, "experiments."):
        if not info.name.endswith(("__main__", "cli.app")):
            importlib.import_module(info.name)
    counts: Counter = Counter()
    originals = {
        "budget": _defined("check_budget", "experiments.runner.budget"),
        "folder": _defined("check_out_dir", "experiments.runner.plan", "experiments.runner.run"),
        "lock": _defined("output_lock", "experiments.runner.store"),
        "seed": _defined("check_option", "experiments.scenario.errors"),
    }

    def counting(key, original):
        def wrapper(*args, **kwargs):
            if key != "seed" or (args[1:2] or [kwargs.get("option")])[0] == "--seed":
                counts[key] += 1
            return original(*args, **kwargs)
        return wrapper

    for key, original in originals.items():
        wrapped = counting(key, original)
        for name, module in list(sys.modules.items()):
            if not name.startswith("experiments"):
                continue
            for attr, value in list(vars(module).items()):
                if value is original:
                    monkeypatch.setattr(module, attr, wrapped)
    return counts


def _small_calibration(tmp_path: Path) -> Path:
    data = yaml.safe_load((SCEN / "calibration.yaml").read_text())
    data.update(base=str(SCEN / "baseline.yaml"), parameters=data["parameters"][:2], predictive_draws=100, chunk_size=64)
    data.pop("out_of_time", None)
    path = tmp_path / "cal.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _assert_once(checks: Counter, *kinds: str) -> None:
    assert {k: checks[k] for k in kinds} == {k: 1 for k in kinds}, dict(checks)


def test_run_checks_seed_budget_folder_and_lock_once(tmp_path, checks):
    res = invoke("run", short_scenario(tmp_path, days=7, replicates=2), "--out", tmp_path / "out", "--seed", "3", "-w", "1", "-q")
    assert res.exit_code == 0, res.output
    _assert_once(checks, "seed", "budget", "folder", "lock")


def test_run_into_its_own_earlier_results_checks_once_and_notes_what_it_replaces(tmp_path, checks):
    scenario = short_scenario(tmp_path, days=7, replicates=2)
    assert invoke("run", scenario, "--out", tmp_path / "out", "-w", "1", "-q").exit_code == 0
    checks.clear()
    res = invoke("run", scenario, "--out", tmp_path / "out", "-n", "3", "-w", "1", "-q")
    assert res.exit_code == 0, res.output
    assert "overwriting with 3 replicates" in res.output
    _assert_once(checks, "seed", "budget", "folder", "lock")


def test_calibrate_checks_seed_budget_folder_and_lock_once(tmp_path, checks):
    res = invoke("calibrate", _small_calibration(tmp_path), "-n", "128", "--seed", "3", "--out", tmp_path / "cal",
                 "-w", "1", "--no-figures", "-q")
    assert res.exit_code == 0, res.output
    _assert_once(checks, "seed", "budget", "folder", "lock")


def test_a_folder_changed_between_plan_and_lock_is_refused_with_one_line(tmp_path, monkeypatch):
    """The folder is checked once, when planned; a change before the lock is caught by its fingerprint."""
    from experiments.runner import plan as plan_module

    out = tmp_path / "out"
    real = plan_module.output_lock

    def meanwhile(folder):  # another process writes into the folder just before this one locks it
        out.mkdir(exist_ok=True)
        (out / "theirs.txt").write_text("x")
        return real(folder)

    monkeypatch.setattr(plan_module, "output_lock", meanwhile)
    res = invoke("run", short_scenario(tmp_path, days=7, replicates=2), "--out", out, "-w", "1")
    assert_one_line_error(res, "changed while this command was starting")
    assert (out / "theirs.txt").read_text() == "x" and not (out / "manifest.json").exists()


def test_forecast_checks_seed_budget_folder_and_lock_once(tmp_path, checks):
    res = invoke("forecast", SCEN / "calibration.yaml", "--origins", "2024-01-09", "-n", "64", "--samples", "1000", "--seed", "3",
                 "--no-long-run", "--no-figures", "--out", tmp_path / "fc", "-w", "1", "-q")
    assert res.exit_code == 0, res.output
    _assert_once(checks, "seed", "budget", "folder", "lock")


SHORT = ["--set", "end=2023-11-05", "-w", "1", "-q"]
ANALYSES = {
    "sweep": ["sweep", SCEN / "sweep_policies_obedience.yaml", "-n", "2", "--set", "sweep.samples=1"],
    "compare": ["compare", SCEN / "compare_policies.yaml", "-n", "2", "--set", "compare.levers=[historical, restraint]",
                "--set", "compare.robustness_replicates=0"],
    "phase-map": ["phase-map", SCEN / "phase_map.yaml", "-n", "2", "--set", "phase_map.x.values=[0.0, 1.0]",
                  "--set", "phase_map.y.values=[1.0, 2.0]"],
    "sensitivity": ["sensitivity", SCEN / "sensitivity.yaml", "--method", "morris", "--samples", "2", "-n", "1"],
}


@pytest.mark.parametrize("command", sorted(ANALYSES))
def test_analysis_commands_check_seed_budget_folder_and_lock_once(tmp_path, checks, command):
    res = invoke(*ANALYSES[command], "--seed", "3", "--out", tmp_path / "out", *SHORT)
    assert res.exit_code == 0, res.output
    _assert_once(checks, "seed", "budget", "folder", "lock")
