"""Benchmark: batched model (R replicates in one model) vs the same rules as R=1 models in a loop.

The loop is what Mesa's ``batch_run`` does: one model instance per replicate, stepped to the end.
Both sides run the same scenario and rules through ``experiments.runner.runner.step_model`` (the runner's own stepping of a job); table building
and writing are left out on both sides. Prints runs/s, their ratio and peak memory, then one
JSON line (for CI logs and the README).

    .venv/bin/python benchmarks/bench_run.py [--scenario scenarios/baseline.yaml] [--replicates 1000] [--loop 30]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from experiments.runner.run import versions  # noqa: E402
from experiments.runner.runner import Job, step_model  # noqa: E402
from experiments.scenario.schema import load_scenario  # noqa: E402


def timed(fn, repeat: int) -> float:
    """Best wall time of ``repeat`` calls (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def traced_peak_mb(fn) -> float:
    """Peak Python-allocated memory during ``fn`` (tracemalloc; numpy buffers are traced)."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    ap.add_argument("--replicates", type=int, default=1000, help="replicates in the batched model")
    ap.add_argument("--loop", type=int, default=30, help="R=1 models run in the loop (runs/s is extrapolated)")
    ap.add_argument("--repeat", type=int, default=3, help="timing repeats (best is kept)")
    ap.add_argument("--seed", type=int, default=20231007)
    args = ap.parse_args(argv)

    sc = load_scenario(args.scenario)
    R, n_loop, days = args.replicates, args.loop, len(sc.days)

    def batched():
        step_model(Job(sc, args.seed, 0, 0, R))

    def looped():
        for i in range(n_loop):
            step_model(Job(sc, args.seed, i, i, 1))

    step_model(Job(sc, args.seed, 0, 0, 2))  # warm-up: imports, rule registry
    t_batch = timed(batched, args.repeat)
    t_loop = timed(looped, max(1, args.repeat - 1))
    batch_rps, loop_rps = R / t_batch, n_loop / t_loop
    peak_batch = traced_peak_mb(batched)
    peak_single = traced_peak_mb(lambda: step_model(Job(sc, args.seed, 0, 0, 1)))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB

    result = {
        "benchmark": "bench_run",
        "scenario": sc.name,
        "days": days,
        "policy": sc.united_states.policy.name,
        "militias": len(sc.militias),
        "batched_replicates": R,
        "batched_seconds": round(t_batch, 4),
        "batched_runs_per_s": round(batch_rps, 1),
        "loop_models": n_loop,
        "loop_seconds": round(t_loop, 4),
        "loop_runs_per_s": round(loop_rps, 2),
        "speedup": round(batch_rps / loop_rps, 1),
        "peak_traced_mb_batched": round(peak_batch, 1),
        "peak_traced_mb_single": round(peak_single, 2),
        "peak_rss_mb_process": round(rss_mb, 1),
        "versions": versions(),
    }
    print(f"scenario {sc.name}: {days} days, {len(sc.militias)} militias, U.S. policy {result['policy']}")
    print(f"batched  R={R:<6d} {t_batch:8.3f} s  {batch_rps:10.1f} runs/s")
    print(f"loop     {n_loop} x R=1  {t_loop:8.3f} s  {loop_rps:10.2f} runs/s  (what Mesa's batch_run does)")
    print(f"speed-up {result['speedup']:.1f}x")
    print(f"peak memory: {peak_batch:.1f} MB traced for the R={R} model, {peak_single:.2f} MB for one R=1 model, "
          f"{rss_mb:.0f} MB max RSS for this process")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
