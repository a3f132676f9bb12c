"""Benchmark: the joint calibration of both theatres (scenarios/calibration_axis.yaml) end to end.

Goal (issue 21, Done when): the joint calibration stays under 10 minutes on this 2-core machine. Times the
whole pipeline the CLI runs (prior simulations of the axis scenario, the fit, the fits without the Red Sea and
with the Red Sea alone, the posterior predictive to Dec 31, 2024); prints wall time, simulations per second
and the machine's load average (the machine is shared: a high load lengthens the wall time). No assert on time.

    .venv/bin/python benchmarks/bench_joint_calibration.py [--budget N] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=None, help="default: the file's budget")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from experiments.analysis.calibration.config import load_calibration
    from experiments.analysis.calibration.pipeline import calibrate

    cal = load_calibration(ROOT / "scenarios" / "calibration_axis.yaml", budget=args.budget)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    res = calibrate(cal, executor=args.workers)
    wall = time.perf_counter() - t0
    sims = res.fit["simulations"] + cal.config.predictive_draws
    print(json.dumps({"bench": "joint_calibration", "method": cal.config.method, "budget": cal.config.budget,
                      "predictive_draws": cal.config.predictive_draws, "parameters": len(cal.labels),
                      "simulated_days_fit": len(cal.scenario.days), "wall_s": round(wall, 1), "target_s": 600,
                      "sims_per_s": round(sims / wall, 1), "workers": args.workers,
                      "load_average_1min_before": round(load0, 2), "load_average_1min_after": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
