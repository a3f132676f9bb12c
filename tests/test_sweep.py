"""Sweep engine: designs, common random numbers, serial == pool == Dask, resume, errors, spec mismatch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from experiments.cli.main import app
from conftest import FailOn, injected
from experiments.runner.executors import DaskExecutor, PoolExecutor
from experiments.scenario.errors import UserError
from experiments.scenario.schema import load_scenario
from experiments.runner.sweep import design_points, load_sweep, plan_sweep, run_sweep
from experiments.scenario.blocks import SweepSpec

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def write_scenario(tmp: Path, sweep: dict, name: str = "sw_test", **extra) -> Path:
    data = {"name": name, "extends": str(BASELINE), "end": "2023-11-05", "block_size": 10, "sweep": sweep, **extra}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


SMALL = {
    "design": "lhs",
    "samples": 2,
    "replicates": 20,
    "levers": {"united_states.policy.name": ["restraint", "proportional"]},
    "uncertainties": {"militias.*.iran_obedience": {"low": 0.2, "high": 0.9}},
}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return write_scenario(tmp_path_factory.mktemp("sweep"), SMALL)


@pytest.fixture(scope="module")
def serial(small, tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("serial") / "out"
    res = run_sweep(small, out, executor=1, summary_only=False)
    assert (res.done, res.failed, res.tasks) == (8, 0, 8)
    return out, load_sweep(out)


# --------------------------------------------------------------------------- design


def test_grid_crosses_levers_with_uncertainties():
    spec = SweepSpec(
        levers={"united_states.policy.name": ["restraint", "historical"]},
        uncertainties={"militias.0.base_rate": {"low": 0.1, "high": 0.5, "levels": 3}, "iran.rule": ["unrestrained"]},
    )
    pts = design_points(spec, seed=1)
    assert len(pts) == 2 * 3 * 1
    assert [p["united_states.policy.name"] for p in pts] == ["restraint"] * 3 + ["historical"] * 3
    assert [p["militias.0.base_rate"] for p in pts[:3]] == pytest.approx([0.1, 0.3, 0.5])
    # every lever setting meets the same uncertainty samples (paired comparison)
    assert [p["militias.0.base_rate"] for p in pts[:3]] == [p["militias.0.base_rate"] for p in pts[3:]]


@pytest.mark.parametrize("design,n_points", [("lhs", 5), ("sobol", 4), ("saltelli", 4 * (2 + 2))])
def test_samplers_stay_in_range_and_are_reproducible(design, n_points):
    spec = SweepSpec(
        design=design,
        samples=5 if design == "lhs" else 4,
        uncertainties={"militias.0.base_rate": {"low": 0.1, "high": 0.5}, "united_states.policy.name": ["restraint", "proportional"]},
    )
    pts = design_points(spec, seed=7)
    assert len(pts) == n_points
    rates = np.array([p["militias.0.base_rate"] for p in pts])
    assert ((rates >= 0.1) & (rates <= 0.5)).all()
    assert {p["united_states.policy.name"] for p in pts} <= {"restraint", "proportional"}
    assert pts == design_points(spec, seed=7)
    assert pts != design_points(spec, seed=8)
    if design == "lhs":  # one sample in each fifth of the range
        assert sorted(((rates - 0.1) / 0.4 * 5).astype(int).tolist()) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    "sweep,where",
    [
        ({"levers": {"united_states.policy.nmae": ["restraint"]}}, "sweep.levers.united_states.policy.nmae"),
        ({"levers": {"united_states.policy.name": ["restraint", "nuke_them"]}}, "sweep.levers.united_states.policy.name"),
        ({"uncertainties": {"militias.0.iran_obedience": {"low": 0.5, "high": 1.5, "levels": 2}}}, "sweep.uncertainties.militias.0.iran_obedience"),
        ({"uncertainties": {"militias.9.base_rate": [0.1]}}, "sweep.uncertainties.militias.9.base_rate"),
    ],
)
def test_bad_paths_and_values_name_the_field(tmp_path, sweep, where):
    path = write_scenario(tmp_path, sweep)
    with pytest.raises(UserError) as err:
        plan_sweep(path)
    assert where in str(err.value) and str(path) in str(err.value)


def test_spec_errors_are_user_errors(tmp_path):
    path = write_scenario(tmp_path, {"design": "lhs", "uncertainties": {"militias.0.base_rate": {"low": 0, "high": 1}}})
    with pytest.raises(UserError, match="sweep: .*needs `samples`"):
        load_scenario(path)


# --------------------------------------------------------------------------- execution


def test_common_random_numbers_pair_replicates(serial):
    """Same seed for every point: with identical parameters two points give identical tables,
    and replicate k differs between points only through the parameters."""
    _, df = serial
    assert len(df) == 4 * 20 and not df.duplicated(["point", "replicate"]).any()
    assert sorted(df.replicate.unique()) == list(range(20))
    # restraint never strikes; proportional does in some replicates
    by_policy = df.groupby("united_states.policy.name").us_strikes_syria.sum()
    assert by_policy["restraint"] == 0 and by_policy["proportional"] > 0


def test_crn_identical_points_identical_outcomes(tmp_path):
    path = write_scenario(tmp_path, {"design": "list", "replicates": 12, "points": [{"iran.restraint_half_life": 45.0}, {"iran.restraint_half_life": 45.0}]})
    run_sweep(path, tmp_path / "o", executor=1)
    df = load_sweep(tmp_path / "o")
    a, b = (df[df.point == p].drop(columns="point").reset_index(drop=True) for p in (0, 1))
    pd.testing.assert_frame_equal(a, b)


def test_serial_pool_and_dask_give_identical_tables(small, serial, tmp_path):
    from distributed import LocalCluster

    out_serial, df = serial
    run_sweep(small, tmp_path / "pool", executor=2, summary_only=False)
    pd.testing.assert_frame_equal(load_sweep(tmp_path / "pool"), df)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        run_sweep(small, tmp_path / "dask", executor=DaskExecutor(cluster.scheduler_address), summary_only=False)
    pd.testing.assert_frame_equal(load_sweep(tmp_path / "dask"), df)
    daily = load_sweep(out_serial, daily=True)
    pd.testing.assert_frame_equal(load_sweep(tmp_path / "dask", daily=True), daily)
    assert len(daily) == 4 * 20 * 30  # Oct 7 .. Nov 5


def test_interrupted_and_resumed_equals_uninterrupted(small, serial, tmp_path):
    out = tmp_path / "o"
    first = run_sweep(small, out, executor=1, summary_only=False, max_tasks=3)
    assert first.done == 3
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "incomplete"
    with pytest.raises(UserError, match="--resume"):
        run_sweep(small, out, executor=1, summary_only=False)
    # a task file lost (e.g. killed mid-way) is also rerun
    next((out / "tasks" / "summary").glob("*.parquet")).unlink()
    second = run_sweep(small, out, executor=1, summary_only=False, resume=True)
    assert (second.skipped, second.done) == (2, 6)
    pd.testing.assert_frame_equal(load_sweep(out), serial[1])
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    third = run_sweep(small, out, executor=1, summary_only=False, resume=True)
    assert third.done == 0 and third.skipped == 8


def test_failing_point_is_recorded_and_the_rest_completes(small, serial, tmp_path):
    out = tmp_path / "o"
    res = run_sweep(small, out, executor=injected(PoolExecutor(2), FailOn([1])), summary_only=False)
    assert (res.failed, res.done, res.exit_code) == (2, 6, 2)  # point 1 has two blocks
    errors = pd.read_parquet(out / "errors.parquet")
    assert errors[["point", "block"]].values.tolist() == [[1, 0], [1, 1]]
    assert errors.error.str.contains("injected_failure").all() and errors.traceback.str.contains("Traceback").all()
    with pytest.raises(UserError, match="2 of 8 task"):  # never a smaller table without saying so
        load_sweep(out)
    df = load_sweep(out, partial=True)
    pd.testing.assert_frame_equal(df, serial[1][serial[1].point != 1].reset_index(drop=True))
    # fixed: resume reruns only the failed tasks and clears the errors table
    again = run_sweep(small, out, executor=1, summary_only=False, resume=True)
    assert (again.done, again.failed) == (2, 0) and not (out / "errors.parquet").exists()
    pd.testing.assert_frame_equal(load_sweep(out), serial[1])


def test_summary_only_and_default_for_large_sweeps(small, tmp_path):
    run_sweep(small, tmp_path / "o", executor=1, summary_only=True)
    assert not list((tmp_path / "o" / "tasks").glob("daily/*.parquet"))
    with pytest.raises(UserError, match="summary-only"):
        load_sweep(tmp_path / "o", daily=True)
    big = write_scenario(tmp_path, {**SMALL, "replicates": 30_000})
    assert plan_sweep(big).summary_only and not plan_sweep(small).summary_only


# --------------------------------------------------------------------------- CLI


def test_cli_runs_refuses_other_spec_and_reports_failures(small, tmp_path):
    runner = CliRunner()
    out = tmp_path / "o"
    res = runner.invoke(app, ["sweep", str(small), "--out", str(out), "-w", "1", "--summary-only", "--max-tasks", "2"])
    assert res.exit_code == 0, res.output
    assert "not run yet" in res.output
    other = write_scenario(tmp_path, {**SMALL, "replicates": 21}, name="sw_other")
    res = runner.invoke(app, ["sweep", str(other), "--out", str(out), "-w", "1", "--resume"])
    assert res.exit_code == 2
    assert "different sweep" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["sweep", str(small), "--out", str(out), "-w", "1", "--summary-only", "--resume"])
    assert res.exit_code == 0 and "6 task(s) run, 2 already done" in res.output
    res = runner.invoke(app, ["sweep", str(BASELINE), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "sweep" in res.output


def test_example_sweep_is_valid():
    plan = plan_sweep(ROOT / "scenarios" / "sweep_policies_obedience.yaml")
    assert len(plan.points) == 16 and plan.replicates == 200
