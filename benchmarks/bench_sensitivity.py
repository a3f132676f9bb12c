"""Morris vs Sobol: model time per run for the same number of runs (issue 20: "Morris as cheap per run as Sobol").

Runs the shipped sensitivity example (scenarios/sensitivity.yaml: its uncertainties, replicates per point,
common random numbers, posterior draws) through ``experiments.analysis.sensitivity.model_evaluator`` serially,
once with a Sobol sample of base N and once with a Morris sample of the same number of points
(N (k + 2) / (k + 1) trajectories), and prints ONE JSON line: seconds, runs and seconds per run of each,
and the ratio morris/sobol of the seconds per run (target: <= 1.2; measured 0.96, and 8.7 before Morris
batched its trajectories, on a 2-core machine under load). Each is timed --repeat times in turn
and the best is kept (other users of a shared machine only ever slow a run down).

    .venv/bin/python benchmarks/bench_sensitivity.py            # about a minute on one core
    .venv/bin/python benchmarks/bench_sensitivity.py --samples 8 --repeat 1   # quicker
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=16, help="Sobol base N (a power of 2)")
    ap.add_argument("--replicates-per-point", type=int, default=None, help="default: the scenario's")
    ap.add_argument("--end", default="2023-12-31", help="shorten the run period (default: to the end of 2023)")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    import pandas as pd

    from experiments.analysis.sensitivity import crn_group_size, model_evaluator, problem, sample
    from experiments.runner.run import load_draws
    from experiments.scenario.blocks import SensitivitySpec
    from experiments.scenario.identification import drop_covered
    from experiments.scenario.schema import load_block

    file = ROOT / "scenarios" / "sensitivity.yaml"
    scenario, spec, _ = load_block(file, "sensitivity", SensitivitySpec, None)
    scenario = scenario.model_copy(update={"end": pd.Timestamp(args.end).date()})
    rpp = args.replicates_per_point or spec.replicates_per_point
    k = len(spec.uncertainties)
    prob = problem(spec.uncertainties)
    draws = drop_covered(load_draws(scenario, file.parent), spec.uncertainties)
    n_sobol = args.samples * (k + 2)
    designs = {"sobol": sample(prob, "sobol", args.samples, 1), "morris": sample(prob, "morris", -(-n_sobol // (k + 1)), 1, spec.morris_levels)}
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for method, X in designs.items():
            ev = model_evaluator(scenario, 1, list(spec.outcomes), rpp, crn_group_size(method, k), method, draws)
            t0 = time.perf_counter()
            ev(prob["names"], X)
            best[method] = min(best.get(method, float("inf")), time.perf_counter() - t0)
    runs = {m: len(X) * rpp for m, X in designs.items()}
    per_run = {m: best[m] / runs[m] for m in best}
    print(json.dumps({"parameters": k, "replicates_per_point": rpp, "end": args.end,
                      **{f"{m}_seconds": round(best[m], 3) for m in best}, **{f"{m}_runs": runs[m] for m in runs},
                      **{f"{m}_ms_per_run": round(1000 * per_run[m], 4) for m in per_run},
                      "ratio_morris_over_sobol_per_run": round(per_run["morris"] / per_run["sobol"], 3)}))


if __name__ == "__main__":
    main()
