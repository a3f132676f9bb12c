"""Evidence for the choice of ABC sampler: coverage and width on data simulated at known parameters.

For K parameter vectors drawn from the prior of ``scenarios/calibration.yaml``, the model simulates
one synthetic data set (the fitted targets' counts at the truth), both samplers fit it with the same
budget, and we record whether each parameter's 90 % posterior interval contains the truth (a
calibrated sampler covers ~90 % of the time) and its width ratio (smaller is sharper). Prints one
JSON line per method and a summary table.

    .venv/bin/python benchmarks/bench_abc_coverage.py [--datasets 12] [--budget 20000] [--workers 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=int, default=12)
    ap.add_argument("--budget", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    from experiments.analysis.calibration.abc import fit_posterior
    from experiments.analysis.calibration.config import load_calibration
    from experiments.analysis.calibration.priors import prior_sample, to_values
    from experiments.analysis.calibration.simulate import simulate
    from experiments.analysis.calibration.tables import intervals_table

    base = load_calibration(ROOT / "scenarios" / "calibration.yaml", budget=args.budget, out_of_time=False,
                            smc={"population": max(200, args.budget // 20), "initial": args.budget // 4, "batch": args.budget // 8})
    truths = to_values(base, prior_sample(base, args.datasets, args.seed + 1000))
    synth = simulate(base, truths, block0=777_000, workers=args.workers)["stats"]  # (K, J, 2)
    rows = []
    for method in ("rejection", "smc"):
        cfg = base.config.model_copy(update={"method": method})
        t0 = time.perf_counter()
        for k in range(args.datasets):
            t = base.targets.copy()
            # the synthetic observation: the count on the window's last day, exact
            t["obs_low"] = t["obs_high"] = np.round(synth[k, :, 1])
            cal = dataclasses.replace(base, config=cfg, targets=t)
            f = fit_posterior(cal, workers=args.workers, block_base=10_000 * (k + 1))
            iv = intervals_table(cal, f.prior_values, f.posterior)
            for j, p in enumerate(cal.labels):
                lo, hi = iv.loc[j, "posterior_q05"], iv.loc[j, "posterior_q95"]
                rows.append({"method": method, "dataset": k, "parameter": p, "truth": truths[k, j],
                             "covered": bool(lo <= truths[k, j] <= hi), "width_ratio": iv.loc[j, "width_ratio"]})
        wall = time.perf_counter() - t0
        df = pd.DataFrame([r for r in rows if r["method"] == method])
        print(json.dumps({"method": method, "datasets": args.datasets, "budget": args.budget, "wall_s": round(wall, 1),
                          "coverage_90": round(float(df["covered"].mean()), 3),
                          "mean_width_ratio": round(float(df["width_ratio"].mean()), 3)}))
    df = pd.DataFrame(rows)
    print(df.groupby(["parameter", "method"]).agg(coverage=("covered", "mean"), width=("width_ratio", "mean")).unstack().round(2).to_string())


if __name__ == "__main__":
    main()
