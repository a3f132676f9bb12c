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


def _workers(address: str) -> int:
    from distributed import Client

    with Client(address, timeout="10s") as client:
        return len(client.scheduler_info()["workers"])


@pytest.fixture
def cluster(tmp_path):
    """(scheduler address, [worker processes]); everything is killed afterwards."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [_spawn(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"],
                    tmp_path / "scheduler.log")]
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.time() < deadline, (tmp_path / "scheduler.log").read_text()
                time.sleep(0.2)
        workers = [_spawn(["distributed.cli.dask_worker", address, "--nthreads", "1", "--nworkers", "1", "--host", "127.0.0.1",
                           "--dashboard-address", ":0", "--death-timeout", "60"], tmp_path / f"worker{i}.log") for i in range(2)]
        procs += workers
        while _workers(address) < 2:
            assert time.time() < deadline, "the two workers did not join the scheduler"
            time.sleep(0.3)
        yield address, workers
    finally:
        for p in reversed(procs):
            _kill(p)


def _escalation(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ESCALATION), *args], cwd=ROOT, capture_output=True, text=True, timeout=500)


def _run_killing_one_worker(args: list[str], workers: list[subprocess.Popen], progress: Path, done: int) -> subprocess.CompletedProcess:
    """Start a command on the cluster, SIGKILL the first worker once ``done`` files exist under ``progress``
    (the command is mid-run then), and wait for the command."""
    proc = subprocess.Popen([str(ESCALATION), *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while proc.poll() is None and len(list(progress.glob("**/*.parquet"))) < done:
        assert time.time() < deadline, "the command made no progress"
        time.sleep(0.05)
    assert proc.poll() is None, f"the command finished before a worker could be killed: {proc.communicate()}"
    _kill(workers[0])
    stdout, stderr = proc.communicate(timeout=400)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


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
    res = _run_killing_one_worker(["sweep", str(scenario), "--out", str(tmp_path / "cluster"), "--dask-scheduler", address, "-q"],
                                  workers, tmp_path / "cluster" / "tasks", done=4)
    assert res.returncode == 0, res.stderr
    assert _workers(address) == 1  # the killed worker is gone: the rest ran on the other one
    for daily in (False, True):
        pd.testing.assert_frame_equal(load_sweep(tmp_path / "cluster", daily=daily), load_sweep(tmp_path / "serial", daily=daily))
