"""Benchmark: prior simulations of the calibration (the ABC cost) on the baseline period.

Goals: a 100,000-simulation budget in under 60 s on a 2-core machine (issue 4), and the whole
calibration (fit, posterior predictive, out-of-time refit) in under 5 minutes (issue 9, ``--full``).
Prints wall time and simulations per second for the simulation + statistics stage (what the budget
buys), the machine's load average, and optionally a cProfile of one chunk.

    .venv/bin/python benchmarks/bench_calibrate.py [--budget 100000] [--workers 2] [--chunk 5000] [--profile] [--full]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=5000)
    ap.add_argument("--profile", action="store_true", help="profile one chunk in this process")
    ap.add_argument("--full", action="store_true", help="time the whole calibration of scenarios/calibration.yaml")
    args = ap.parse_args()

    if args.full:
        import json

        from experiments.analysis.calibration.config import load_calibration as load
        from experiments.analysis.calibration.pipeline import calibrate

        cal = load(ROOT / "scenarios" / "calibration.yaml")
        t0 = time.perf_counter()
        res = calibrate(cal, executor=args.workers)
        wall = time.perf_counter() - t0
        print(json.dumps({"bench": "calibrate_full", "method": cal.config.method, "budget": cal.config.budget,
                          "simulations": res.fit["simulations"] * (2 if "out_of_time" in res.fit else 1),
                          "wall_s": round(wall, 1), "target_s": 300, "workers": args.workers,
                          "load_average_1min": round(os.getloadavg()[0], 2)}))
        return

    from experiments.analysis.calibration.abc import fitted_deviations
    from experiments.analysis.calibration.config import load_calibration
    from experiments.analysis.calibration.priors import prior_sample, to_values
    from experiments.analysis.calibration.simulate import simulate

    cal = load_calibration(ROOT / "scenarios" / "calibration.yaml", budget=args.budget, chunk_size=args.chunk)
    days = len(cal.scenario.days)
    values = to_values(cal, prior_sample(cal, args.budget, cal.config.seed))
    t0 = time.perf_counter()
    sims = simulate(cal, values, executor=args.workers)
    z = fitted_deviations(cal, sims)  # the calibration's own distance (fitted targets and dispersion)
    dist = np.sqrt((z * z).sum(axis=1))
    wall = time.perf_counter() - t0
    print(f"budget {args.budget:,} sims x {days} days ({cal.scenario.start}..{cal.scenario.end}), "
          f"chunk {args.chunk}, workers {args.workers}, cpus {os.cpu_count()}")
    print(f"wall {wall:.1f} s  ->  {args.budget / wall:,.0f} sims/s  ({args.budget * days / wall / 1e6:.2f} M replicate-days/s)")
    print(f"median distance {float(sorted(dist)[len(dist) // 2]):.2f}; load average {os.getloadavg()[0]:.2f}")

    if args.profile:
        import cProfile
        import pstats

        from experiments.analysis.calibration.simulate import chunk_jobs, chunk_statistics
        from experiments.runner.runner import tables

        n = min(args.chunk, args.budget)
        statistics = chunk_statistics(cal)
        job = chunk_jobs(cal, values[:n], 0, statistics)[0]  # one chunk: model, its tables, its statistics
        prof = cProfile.Profile()
        prof.enable()
        statistics(job, tables(job))
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
