"""Benchmark: prior simulations of the calibration (the ABC cost) on the baseline period.

Goal (issue 4): a 100,000-simulation budget in under 60 s on a 2-core machine. Prints wall time
and simulations per second for the simulation + statistics stage (what the budget buys), and
optionally a cProfile of one chunk to show what dominates.

    .venv/bin/python benchmarks/bench_calibrate.py [--budget 100000] [--workers 2] [--chunk 5000] [--profile]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=5000)
    ap.add_argument("--profile", action="store_true", help="profile one chunk in this process")
    args = ap.parse_args()

    from experiments.calibrate import deviations, distance, load_calibration, prior_sample, simulate, simulate_chunk, ChunkTask, to_values, varying_from

    cal = load_calibration(ROOT / "scenarios" / "calibration.yaml", budget=args.budget, chunk_size=args.chunk)
    days = len(cal.scenario.days)
    values = to_values(cal, prior_sample(cal, args.budget, cal.config.seed))
    t0 = time.perf_counter()
    sims = simulate(cal, values, workers=args.workers)
    dist = distance(deviations(sims["stats"].astype(float), cal.targets), cal.targets)
    wall = time.perf_counter() - t0
    print(f"budget {args.budget:,} sims x {days} days ({cal.scenario.start}..{cal.scenario.end}), "
          f"chunk {args.chunk}, workers {args.workers}, cpus {os.cpu_count()}")
    print(f"wall {wall:.1f} s  ->  {args.budget / wall:,.0f} sims/s  ({args.budget * days / wall / 1e6:.2f} M replicate-days/s)")
    print(f"median distance {float(sorted(dist)[len(dist) // 2]):.2f}")

    if args.profile:
        import cProfile
        import pstats

        n = min(args.chunk, args.budget)
        task = ChunkTask(cal.scenario, cal.targets, varying_from(cal, values[:n]), cal.config.seed, 0)
        prof = cProfile.Profile()
        prof.enable()
        simulate_chunk(task)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
