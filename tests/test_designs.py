"""Compare and phase map as designs: the same tables serial, pooled and on Dask; a resumable store
(an interrupted run resumed gives the uninterrupted tables); --resume/--force as sweep; `run` through
an executor writes the same files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import FailOn, injected, short_scenario, write_yaml
from experiments.analysis.compare import compare
from experiments.runner.sweep import STORE
from experiments.analysis.discovery import run_phase_map
from experiments.cli.main import app
from experiments.runner.executors import DaskExecutor, PoolExecutor, SerialExecutor
from experiments.runner.sweep import DesignIncomplete
from experiments.scenario.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("summary", "daily", "ladder", "ladder_daily", "table")


@pytest.fixture(autouse=True)
def png_only(monkeypatch):
    monkeypatch.setattr("experiments.analysis.plots.FIGURE_FORMATS", ("png",))


def compare_file(tmp: Path) -> Path:
    return short_scenario(tmp, name="cmp_design", days=21, block_size=15, compare={
        "reference": "historical", "replicates": 40, "bootstrap": {"resamples": 200},
        "levers": ["historical", "restraint", {"name": "prop_x2", "policy": "proportional", "params": {"targets_per_attack": 2.0}}],
        "uncertainties": {"militias.*.iran_obedience": [0.3, 0.9]}})


def phase_file(tmp: Path) -> Path:
    return write_yaml(tmp / "pm.yaml", {
        "name": "pm_design", "extends": str(ROOT / "scenarios" / "phase_map.yaml"), "end": "2023-10-27",
        "phase_map": {"x": {"path": "united_states.policy.params.targets_per_attack", "values": [0.0, 3.0]},
                      "y": {"path": "militias.*.behaviours.tit_for_tat.max_boost", "values": [0.5, 3.0]},
                      "replicates": 12}})


def compare_tables(path: Path, store: Path | None = None, executor=None, **kw) -> dict[str, pd.DataFrame]:
    _, _, result, _ = compare(path, executor=executor, store=store, **kw)
    return {name: getattr(result, name) for name in TABLES}


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name in a:
        assert a[name].equals(b[name]), name


@pytest.fixture(scope="module")
def cmp_serial(tmp_path_factory):
    path = compare_file(tmp_path_factory.mktemp("cmp"))
    return path, compare_tables(path, executor=SerialExecutor())


@pytest.fixture(scope="module")
def pm_serial(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pm")
    path = phase_file(tmp)
    return path, run_phase_map(path, tmp / "serial", executor=1)["grid"]


def test_compare_pooled_equals_serial(cmp_serial, tmp_path):
    path, serial = cmp_serial
    assert serial["summary"].attacks_total.sum() > 0  # not a comparison of empty runs
    assert_same(compare_tables(path, tmp_path / STORE, PoolExecutor(2)), serial)


def test_phase_map_pooled_equals_serial(pm_serial, tmp_path):
    path, serial = pm_serial
    assert len(serial) == 4 and serial.p_war.notna().all()
    assert run_phase_map(path, tmp_path / "pool", executor=PoolExecutor(2))["grid"].equals(serial)


@pytest.mark.slow
def test_compare_and_phase_map_on_dask_equal_serial(cmp_serial, pm_serial, tmp_path):
    path, serial = cmp_serial
    assert_same(compare_tables(path, tmp_path / "c" / STORE, DaskExecutor("local", 2)), serial)
    path, grid = pm_serial
    assert run_phase_map(path, tmp_path / "p", executor=DaskExecutor("local", 2))["grid"].equals(grid)


class InterruptAt:
    """Serial executor only: the run is interrupted (KeyboardInterrupt, as ^C) when task ``n`` starts."""

    def __init__(self, n: int):
        self.n = n

    def __call__(self, fn):
        count = [0]

        def task(payload):
            count[0] += 1
            if count[0] == self.n:
                raise KeyboardInterrupt
            return fn(payload)

        return task


def test_interrupted_compare_resumes_to_the_uninterrupted_tables(cmp_serial, tmp_path):
    path, serial = cmp_serial
    store = tmp_path / STORE
    with pytest.raises(KeyboardInterrupt):
        compare_tables(path, store, injected(SerialExecutor(), InterruptAt(4)))
    receipts = list((store / "receipts").glob("*.json"))
    assert len(receipts) == 3  # 3 levers x 3 blocks: three finished before the interruption
    assert json.loads((store / "manifest.json").read_text())["status"] == "incomplete"
    with pytest.raises(UserError, match="--resume"):  # finished tasks are not overwritten without --resume or --force
        compare_tables(path, store)
    assert_same(compare_tables(path, store, PoolExecutor(2), resume=True), serial)
    assert json.loads((store / "manifest.json").read_text())["status"] == "complete"
    assert_same(compare_tables(path, store, force=True), serial)


def test_failed_cells_are_never_tabulated_and_resume_finishes_the_phase_map(pm_serial, tmp_path):
    path, serial = pm_serial
    out = tmp_path / "pm"
    with pytest.raises(DesignIncomplete, match="1 of 4 task"):
        run_phase_map(path, out, executor=injected(SerialExecutor(), FailOn([2])))
    assert not (out / "phase_map.parquet").exists()
    assert list(pd.read_parquet(out / STORE / "errors.parquet").point) == [2]
    assert run_phase_map(path, out, executor=PoolExecutor(2), resume=True)["grid"].equals(serial)
    assert not (out / STORE / "errors.parquet").exists()


def _cli_resume_force_workers(command: str, path: Path, out: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, [command, str(path), "--out", str(out), "-q"])
    assert first.exit_code == 0, first.output
    refused = runner.invoke(app, [command, str(path), "--out", str(out), "-q"], terminal_width=300)
    assert refused.exit_code == 2 and "--resume" in refused.output and "--force" in refused.output
    for flags in (["--resume", "-w", "2"], ["--force"]):
        again = runner.invoke(app, [command, str(path), "--out", str(out), "-q", *flags])
        assert again.exit_code == 0, again.output


def test_cli_compare_resume_force_and_workers(cmp_serial, tmp_path):
    _cli_resume_force_workers("compare", cmp_serial[0], tmp_path / "c")
    assert pd.read_parquet(tmp_path / "c" / "summary.parquet").equals(cmp_serial[1]["summary"])


def test_cli_phase_map_resume_force_and_workers(pm_serial, tmp_path):
    _cli_resume_force_workers("phase-map", pm_serial[0], tmp_path / "p")
    assert pd.read_parquet(tmp_path / "p" / "phase_map.parquet").equals(pm_serial[1])


def test_cli_run_writes_the_same_files_whatever_the_executor(tmp_path):
    path = short_scenario(tmp_path, name="run_exec", days=14, replicates=9, block_size=4)
    files = {}
    for flags in (["-w", "1"], ["-w", "2"]):
        out = tmp_path / flags[-1]
        res = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "-q", *flags])
        assert res.exit_code == 0, res.output
        files[flags[-1]] = {name: (out / name).read_bytes() for name in ("daily.parquet", "summary.parquet", "groups.parquet")}
    assert files["1"] == files["2"]


@pytest.mark.parametrize("module", ["compare", "discovery"])
def test_analyses_see_tables_never_models(module):
    """compare and phase map get tables from the runner: no import of the model or of what steps one."""
    import ast

    tree = ast.parse((ROOT / "experiments" / "analysis" / f"{module}.py").read_text())
    imported = [(node.module or "", alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names]
    imported += [(alias.name, "") for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not [m for m, _ in imported if m == "model" or m.startswith("model.")]
    assert not [name for _, name in imported if name in ("step_model", "EscalationModel", "run_block", "run_models")]
