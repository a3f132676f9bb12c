"""Crash test: kill a 2-worker sweep (kill -9 of its main process) at random moments several times,
corrupt a task file, resume until done, and compare with an uninterrupted run: no difference.
Also: the pool's workers die with the killed main process (no orphans), and Dask leaves no temporaries."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from conftest import BASELINE, write_yaml
from experiments.runner.sweep import load_sweep, run_sweep

ESCALATION = [sys.executable, "-m", "experiments.cli.main"]
SWEEP = {
    "design": "grid",
    "replicates": 200,  # 64 tasks of 25: enough that five kills (each after one more task) leave work to resume
    "levers": {"united_states.policy.name": ["restraint", "proportional", "threshold", "graduated"]},
    "uncertainties": {"militias.*.iran_obedience": [0.3, 0.8]},
}
KILLS = 5


def _scenario(tmp: Path) -> Path:
    return write_yaml(tmp / "crash.yaml", {"name": "crash", "extends": str(BASELINE), "block_size": 25, "sweep": SWEEP})


def _start(path: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([*ESCALATION, "sweep", str(path), "--out", str(out), "-w", "2", "-q", "--resume", "--daily", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _receipts(out: Path) -> int:
    return len(list((out / "receipts").glob("*.json"))) if (out / "receipts").is_dir() else 0


def _gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_killed_corrupted_and_resumed_sweep_equals_uninterrupted(tmp_path):
    path = _scenario(tmp_path)
    reference_out = tmp_path / "reference"
    run_sweep(path, reference_out, executor=1, summary_only=False)
    reference = load_sweep(reference_out, daily=True)

    out = tmp_path / "crashed"
    rng = np.random.default_rng(11)
    kills = resumes = orphans = 0
    for _ in range(KILLS):
        proc = _start(path, out)
        # wait for this attempt to finish one more task (start-up time depends on the machine's load),
        # then kill at a random moment up to 0.3 s later (a few tasks' time): mid-task, mid-write or between tasks
        before = _receipts(out)
        deadline = time.monotonic() + 120
        while _receipts(out) <= before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is not None:
            break  # finished before this kill
        workers = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        orphans += 0 if _gone(workers, 10.0) else 1
    # corrupt one finished task: cut a daily file in half
    daily_files = sorted((out / "tasks" / "daily").glob("*.parquet"))
    assert daily_files, "no task finished before the kills; lengthen the sweep"
    victim = daily_files[len(daily_files) // 2]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    while True:
        proc = _start(path, out)
        stdout, stderr = proc.communicate(timeout=600)
        resumes += 1
        assert proc.returncode == 0, stderr
        if json.loads((out / "manifest.json").read_text())["status"] == "complete":
            break
    resumed = load_sweep(out, daily=True)
    differences = int((resumed != reference).to_numpy().sum()) if resumed.shape == reference.shape else -1
    pd.testing.assert_frame_equal(resumed, reference)
    leftovers = [p.name for p in out.rglob("*.tmp")]
    print(f"\ncrash test: kills {kills}, resumes {resumes}, rows compared {len(reference)}, differences {differences}, "
          f"orphaned workers {orphans}, temporaries left {len(leftovers)}")
    assert kills >= 3 and orphans == 0 and not leftovers


@pytest.mark.slow
def test_dask_sweep_killed_leaves_no_workers_and_no_temporaries(tmp_path):
    path = write_yaml(tmp_path / "d.yaml", {"name": "d", "extends": str(BASELINE), "block_size": 25,
                                           "sweep": SWEEP})
    out = tmp_path / "out"
    proc = subprocess.Popen([*ESCALATION, "sweep", str(path), "--out", str(out), "--dask", "local", "-w", "2", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while _receipts(out) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[1]
    workers = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
    assert workers
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    t0 = time.monotonic()
    assert _gone(workers, 40.0), "Dask workers outlived the killed sweep"
    print(f"\nDask workers gone {time.monotonic() - t0:.1f} s after the kill")
    res = subprocess.run([*ESCALATION, "sweep", str(path), "--out", str(out), "-w", "2", "-q", "--resume"],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert not list(out.rglob("*.tmp"))
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
