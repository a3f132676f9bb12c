"""Benchmark: the calibration with every default rolling origin (issue 18: under 10 minutes on a 2-core machine).

Times :func:`experiments.analysis.rolling.rolling_forecast` on ``scenarios/calibration.yaml`` with the default
origins and the long run, i.e. what ``escalation forecast scenarios/calibration.yaml`` computes: the full-data
fit (the calibration's own posterior), the shared refit sample of the origins, and the posterior-predictive
runs of every origin and of the long run. ``--with-calibrate`` adds ``escalation calibrate``'s whole
calibration (fit, posterior predictive, out-of-time refit) before it. Prints one JSON line with the wall
time, the target and the machine's load average (a busy machine makes the time meaningless).

    .venv/bin/python benchmarks/bench_forecast.py [--workers 2] [--budget N] [--with-calibrate]
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
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--budget", type=int, default=None, help="prior simulations per fit (default: the file's)")
    ap.add_argument("--with-calibrate", action="store_true", help="also time the whole `escalation calibrate` first")
    args = ap.parse_args()

    from experiments.analysis.calibration.config import load_calibration
    from experiments.analysis.calibration.pipeline import calibrate
    from experiments.analysis.rolling import DEFAULT_ORIGINS, rolling_forecast

    cal = load_calibration(ROOT / "scenarios" / "calibration.yaml", budget=args.budget)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    calibrate_s = None
    if args.with_calibrate:
        calibrate(cal, executor=args.workers)
        calibrate_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    res = rolling_forecast(cal, list(DEFAULT_ORIGINS), executor=args.workers)
    forecast_s = time.perf_counter() - t1
    wall = time.perf_counter() - t0
    print(json.dumps({
        "bench": "forecast_rolling_origins", "origins": [str(o) for o in DEFAULT_ORIGINS], "budget": cal.config.budget,
        "samples": res.info["samples"], "calibrate_s": None if calibrate_s is None else round(calibrate_s, 1),
        "forecast_s": round(forecast_s, 1), "wall_s": round(wall, 1), "target_s": 600, "workers": args.workers,
        "cpus": os.cpu_count(), "load_average_1min_before": round(load_before, 2), "load_average_1min_after": round(os.getloadavg()[0], 2),
        "crps_ratio": res.info["goal"]["all"]["crps_ratio"],
    }))


if __name__ == "__main__":
    main()
