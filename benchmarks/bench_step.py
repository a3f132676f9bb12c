"""Benchmark: the model's own stepping (no tables), in CPU time, for a batched model and for R = 1 models.

CPU time of this process (``time.process_time``), best of several repeats, so the number holds on a machine
shared with other jobs, where wall time does not. Run it on two checkouts to compare a refactor:

    .venv/bin/python benchmarks/bench_step.py [--scenario scenarios/baseline.yaml] [--replicates 1000] [--models 20]

It runs the code of the checkout it lives in (its folder goes first on ``sys.path``); prints one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from experiments.scenario.schema import load_scenario  # noqa: E402
from model.model import EscalationModel  # noqa: E402


def best_cpu(fn, repeat: int) -> float:
    """Least CPU time of ``repeat`` calls (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    ap.add_argument("--replicates", type=int, default=1000, help="replicates of the batched model")
    ap.add_argument("--models", type=int, default=20, help="R = 1 models per repeat")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    config = load_scenario(args.scenario)
    batched = best_cpu(lambda: EscalationModel(config, replicates=args.replicates, seed=1).run(), args.repeat)
    single = best_cpu(lambda: [EscalationModel(config, replicates=1, seed=s).run() for s in range(args.models)], args.repeat)
    print(json.dumps({"benchmark": "bench_step", "scenario": Path(args.scenario).stem, "days": len(config.days),
                      "replicates": args.replicates, "batched_cpu_s": round(batched, 4),
                      "r1_cpu_s_per_model": round(single / args.models, 5), "root": str(ROOT)}))


if __name__ == "__main__":
    main()
