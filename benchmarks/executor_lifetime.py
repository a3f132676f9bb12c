"""Pool and cluster start-ups per command, and wall time, before and after executors became context
managers (issue 21 item 7: one pool or Dask cluster for a whole command, not one per batch).

    python benchmarks/executor_lifetime.py [--before REF] [--repeats 2] [--workers 2] [-n 40]

"before" is the project at git ref REF (default e214deef: main before this change), unpacked into a temporary
folder; "after" is this checkout. Each command runs in a fresh process with ``--workers``; worker processes
started are counted by wrapping ``multiprocessing.process.BaseProcess.start`` (pool workers and Dask nannies'
workers both start through it), so start-ups = processes started / workers. Prints one line per command and
the ratios after/before. Tables do not depend on the executor (tests/test_determinism.py); this measures time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "sweep": ["sweep", "scenarios/sweep_policies_obedience.yaml"],
    "compare": ["compare", "scenarios/compare_policies.yaml"],
    "sensitivity": ["sensitivity", "scenarios/sensitivity.yaml"],
}
COUNTER = r"""
import json, os, runpy, sys, atexit, multiprocessing.process as mp
n = [0]
start = mp.BaseProcess.start
def counted(self):
    n[0] += 1
    return start(self)
mp.BaseProcess.start = counted
atexit.register(lambda: open(os.environ["BENCH_COUNT"], "w").write(json.dumps(n[0])))
sys.argv = ["escalation", *sys.argv[1:]]
runpy.run_module("experiments.cli", run_name="__main__")
"""


def unpack(ref: str, into: Path) -> Path:
    data = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into)
    return into


def timed(code: Path, args: list[str], tmp: Path) -> tuple[float, int]:
    count = tmp / "count.json"
    env = {**os.environ, "PYTHONPATH": str(code), "BENCH_COUNT": str(count)}
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", COUNTER, *args], cwd=code, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed in {code}:\n{res.stderr[-2000:]}")
    return seconds, json.loads(count.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="e214deef", help="git ref of the code before the change")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("-n", "--replicates", type=int, default=40)
    ap.add_argument("--commands", default=",".join(COMMANDS))
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-executors-") as t:
        tmp = Path(t)
        codes = {"before": unpack(opts.before, tmp / "before"), "after": ROOT}
        print(f"{'command':12s} {'code':7s} {'pool starts':>11s} {'seconds (best)':>15s}")
        rows: dict[str, dict[str, tuple[float, float]]] = {}
        for name in opts.commands.split(","):
            for label, code in codes.items():
                best, starts = float("inf"), 0
                for r in range(opts.repeats):
                    out = tmp / f"out-{name}-{label}-{r}"
                    args = [*COMMANDS[name], "-n", str(opts.replicates), "-w", str(opts.workers), "--out", str(out), "-q"]
                    seconds, procs = timed(code, args, tmp)
                    best, starts = min(best, seconds), procs / opts.workers
                rows.setdefault(name, {})[label] = (starts, best)
                print(f"{name:12s} {label:7s} {starts:11.0f} {best:15.2f}", flush=True)
        print("\nratios after/before (pool start-ups, wall time):")
        for name, r in rows.items():
            (s0, t0), (s1, t1) = r["before"], r["after"]
            print(f"  {name:12s} start-ups {s1:.0f}/{s0:.0f} = {s1 / max(s0, 1):.2f}   time {t1:.2f}/{t0:.2f} s = {t1 / t0:.2f}")


if __name__ == "__main__":
    main()
