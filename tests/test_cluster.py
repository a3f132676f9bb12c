"""A real Dask cluster: a `dask scheduler` and two `dask worker` processes on 127.0.0.1, as an analyst
would start them on machines of their own. Commands run through `--dask-scheduler ADDRESS`; one worker
is killed (SIGKILL, nanny included) while a command runs, and the tables must equal the serial run's:
the scheduler reruns the lost tasks elsewhere, and every task carries its own random-stream key.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ESCALATION = Path(sys.executable).parent / "escalation"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(args: list[str], log: Path) -> subprocess.Popen:
    """A process in its own session (so killing its group also kills a nanny's worker child)."""
    return subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"})


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster_scheduler(tmp_path_factory):
    """A running ``dask scheduler`` on 127.0.0.1 (one per module); its address."""
    logs = tmp_path_factory.mktemp("cluster")
    port = _free_port()
    proc = _spawn(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"],
                  logs / "scheduler.log")
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.time() < deadline, (logs / "scheduler.log").read_text()
                time.sleep(0.2)
        yield f"tcp://127.0.0.1:{port}"
    finally:
        _kill(proc)


@pytest.fixture
def cluster(cluster_scheduler, tmp_path):
    """(scheduler address, [two worker processes, named w0 and w1]); the workers are killed afterwards."""
    address = cluster_scheduler
    workers = [_spawn(["distributed.cli.dask_worker", address, "--nthreads", "1", "--nworkers", "1", "--host", "127.0.0.1",
                       "--name", f"w{i}", "--dashboard-address", ":0", "--death-timeout", "60"], tmp_path / f"worker{i}.log")
               for i in range(2)]
    try:
        deadline = time.time() + 60
        while len(_worker_addresses(address)) < 2:
            assert time.time() < deadline, "the two workers did not join the scheduler"
            time.sleep(0.3)
        yield address, workers
    finally:
        for p in workers:
            _kill(p)
        while _worker_addresses(address):  # the next test starts from an empty cluster
            time.sleep(0.2)


def _worker_addresses(address: str) -> dict[str, str]:
    """Worker name -> address, as the scheduler sees them."""
    from distributed import Client

    with Client(address, timeout="10s") as client:
        return {str(w["name"]): a for a, w in client.scheduler_info()["workers"].items()}


def _escalation(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ESCALATION), *args], cwd=ROOT, capture_output=True, text=True, timeout=500)


def _run_killing_one_worker(args: list[str], address: str, workers: list[subprocess.Popen]) -> subprocess.CompletedProcess:
    """Start a command on the cluster; SIGKILL worker w0 (nanny included) while it holds one of the
    command's tasks, so the scheduler must run that task again on w1; wait for the command."""
    from distributed import Client

    proc = subprocess.Popen([str(ESCALATION), *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    w0 = _worker_addresses(address)["w0"]
    deadline = time.time() + 300
    with Client(address, timeout="10s") as client:
        while proc.poll() is None and not client.processing().get(w0):
            assert time.time() < deadline, "worker w0 was never given a task"
            time.sleep(0.02)
    assert proc.poll() is None, f"the command finished before a worker could be killed: {proc.communicate()}"
    _kill(workers[0])
    stdout, stderr = proc.communicate(timeout=400)
    assert proc.returncode == 0, stderr
    assert list(_worker_addresses(address)) == ["w1"]  # the killed worker is gone: the rest ran on the other one
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def _same_parquet_files(a: Path, b: Path) -> list[str]:
    """Assert every Parquet file under ``a`` (tasks excluded) equals its namesake under ``b``; their names."""
    names = sorted(str(p.relative_to(a)) for p in a.glob("*.parquet"))
    assert names and names == sorted(str(p.relative_to(b)) for p in b.glob("*.parquet"))
    for name in names:
        pd.testing.assert_frame_equal(pd.read_parquet(a / name), pd.read_parquet(b / name), check_exact=True, obj=name)
    return names


def test_sweep_on_a_cluster_survives_a_killed_worker(cluster, tmp_path):
    from experiments.runner.sweep import load_sweep

    address, workers = cluster
    scenario = tmp_path / "sweep.yaml"
    scenario.write_text(yaml.safe_dump({
        "name": "cluster_sweep", "extends": str(ROOT / "scenarios" / "baseline.yaml"), "end": "2023-12-31", "block_size": 25,
        "sweep": {"design": "lhs", "samples": 3, "replicates": 100, "summary_only": False,
                  "levers": {"united_states.policy.name": ["restraint", "proportional"]},
                  "uncertainties": {"militias.*.iran_obedience": {"low": 0.2, "high": 0.9}}},
    }))
    serial = _escalation("sweep", str(scenario), "--out", str(tmp_path / "serial"), "-w", "1", "-q")
    assert serial.returncode == 0, serial.stderr
    _run_killing_one_worker(["sweep", str(scenario), "--out", str(tmp_path / "cluster"), "--dask-scheduler", address, "-q"],
                            address, workers)
    for daily in (False, True):
        pd.testing.assert_frame_equal(load_sweep(tmp_path / "cluster", daily=daily), load_sweep(tmp_path / "serial", daily=daily))


def test_compare_on_a_cluster_survives_a_killed_worker(cluster, tmp_path):
    address, workers = cluster
    scenario = tmp_path / "compare.yaml"
    scenario.write_text(yaml.safe_dump({
        "name": "cluster_compare", "extends": str(ROOT / "scenarios" / "compare_policies.yaml"), "end": "2023-12-31",
        "block_size": 25, "compare": {"reference": "historical", "replicates": 100, "uncertainties": "posterior",
                                      "robustness_replicates": 0,  # the corners run the same way, in temporary stores
                                      "levers": ["historical", "restraint", "proportional"]},
    }))
    serial = _escalation("compare", str(scenario), "--out", str(tmp_path / "serial"), "-w", "1", "-q")
    assert serial.returncode == 0, serial.stderr
    _run_killing_one_worker(["compare", str(scenario), "--out", str(tmp_path / "cluster"), "--dask-scheduler", address, "-q"],
                            address, workers)
    assert "summary.parquet" in _same_parquet_files(tmp_path / "cluster", tmp_path / "serial")


def test_calibrate_on_a_cluster_survives_a_killed_worker(cluster, tmp_path):
    address, workers = cluster
    config = yaml.safe_load((ROOT / "scenarios" / "calibration.yaml").read_text())
    config.update(base=str(ROOT / "scenarios" / "baseline.yaml"), method="rejection", budget=600, chunk_size=50,
                  predictive_draws=100, parameters=config["parameters"][:2])
    config.pop("out_of_time", None)
    path = tmp_path / "cal.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    serial = _escalation("calibrate", str(path), "--out", str(tmp_path / "serial"), "-w", "1", "--no-figures", "-q")
    assert serial.returncode == 0, serial.stderr
    _run_killing_one_worker(["calibrate", str(path), "--out", str(tmp_path / "cluster"), "--dask-scheduler", address,
                             "--no-figures", "-q"], address, workers)
    assert "posterior.parquet" in _same_parquet_files(tmp_path / "cluster", tmp_path / "serial")


def test_run_on_a_cluster_survives_a_killed_worker(cluster, tmp_path):
    address, workers = cluster
    args = [str(ROOT / "scenarios" / "baseline.yaml"), "-n", "300", "--seed", "11", "--set", "block_size=25", "--set", "end=2023-12-31", "-q"]
    serial = _escalation("run", *args, "--out", str(tmp_path / "serial"), "-w", "1")
    assert serial.returncode == 0, serial.stderr
    _run_killing_one_worker(["run", *args, "--out", str(tmp_path / "cluster"), "--dask-scheduler", address], address, workers)
    assert _same_parquet_files(tmp_path / "cluster", tmp_path / "serial") == ["daily.parquet", "groups.parquet", "summary.parquet"]
