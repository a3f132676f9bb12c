"""Sweep throughput: Mesa's batch_run vs this engine (serial, 2 workers) vs a bare numpy kernel.

Prints ONE JSON line: runs/s for
  (a) mesa.batch_run over this project's model, one replicate per run (R=1), as a Mesa user would
      write it (a DataCollector collecting every step, a kwargs constructor);
  (b) this engine, serial (`experiments.sweep.run_sweep`, summary-only, writing Parquet);
  (c) this engine, 2 worker processes;
  (d) a minimal pure-numpy kernel of the same core rules (the speed limit);
the ratios b/a, b/d, c/b, and peak RSS (this process and its children).
Targets: b/a >= 50, b/d >= 0.5, c/b >= 1.7. All four use the full baseline period (Oct 7 2023 -
Feb 29 2024, 146 days). Timings include process start-up and writing results (end to end).

    .venv/bin/python benchmarks/bench_sweep.py            # ~2-3 minutes on 2 cores
    .venv/bin/python benchmarks/bench_sweep.py --quick    # smaller, ~1 minute
    .venv/bin/python benchmarks/bench_sweep.py --million  # also a 1,000,000-run summary-only sweep
                                                          # (short period) and its peak RSS
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from experiments.scenario import load_scenario  # noqa: E402
from experiments.sweep import run_sweep  # noqa: E402
from model import EscalationModel  # noqa: E402

BASELINE = ROOT / "scenarios" / "baseline.yaml"
POLICIES = ["restraint", "proportional"]


# --------------------------------------------------------------------------- (a) mesa.batch_run

_SCENARIOS: dict[str, object] = {}


class MesaAdapter(EscalationModel):
    """What a Mesa user writes for batch_run: kwargs in, one replicate, a DataCollector per step."""

    def __init__(self, policy: str = "historical", seed: int = 0):
        import mesa

        from experiments.scenario import with_overrides

        if policy not in _SCENARIOS:
            _SCENARIOS[policy] = with_overrides(load_scenario(BASELINE), {"united_states.policy.name": policy})
        super().__init__(_SCENARIOS[policy], replicates=1, seed=seed)
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "attacks": lambda m: int(m.records["attacks_total"][m.day - 1, 0]),
                "us_killed": lambda m: int(m.records["us_killed"][m.day - 1, 0]),
                "escalation_level": lambda m: int(m.records["escalation_level"][m.day - 1, 0]),
            }
        )

    def step(self) -> None:
        super().step()
        self.datacollector.collect(self)


def bench_mesa(runs: int) -> float:
    import mesa

    t0 = time.perf_counter()
    out = mesa.batch_run(
        MesaAdapter,
        parameters={"policy": POLICIES, "seed": list(range(runs // len(POLICIES)))},
        iterations=1,
        number_processes=1,
        data_collection_period=-1,
        max_steps=1000,
        display_progress=False,
    )
    dt = time.perf_counter() - t0
    assert len(out) == runs
    return runs / dt


# --------------------------------------------------------------------------- (b), (c) this engine


def sweep_file(tmp: Path, points_per_policy: int, replicates: int, block: int, end: str | None = None) -> Path:
    import yaml

    data = {
        "name": "bench_sweep",
        "extends": str(BASELINE),
        "block_size": block,
        "sweep": {
            "design": "lhs",
            "samples": points_per_policy,
            "replicates": replicates,
            "summary_only": True,
            "levers": {"united_states.policy.name": POLICIES},
            "uncertainties": {"militias.*.iran_obedience": {"low": 0.2, "high": 0.9}},
        },
    }
    if end:
        data["end"] = end
    path = tmp / f"bench_{points_per_policy}_{replicates}_{block}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def bench_engine(path: Path, out: Path, workers: int) -> tuple[float, int]:
    """runs/s (wall clock, end to end: planning, workers, writing Parquet) and runs."""
    res = run_sweep(path, out, workers=workers, force=True)
    assert res.failed == 0, res.errors[:1]
    return res.runs / res.seconds, res.runs


# --------------------------------------------------------------------------- (d) numpy kernel


def numpy_kernel(R: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The core daily rules, vectorised over R replicates, in ~40 lines: the speed limit.

    Kept: per-group Poisson attacks driven by the Gaza intensity series, tit-for-tat grievance and
    deterrence (exponentially decaying memories), Iran's restraint signal x obedience, target
    country choice (multinomial), weapon mix, harm / fatality draws and U.S. casualties, a
    proportional U.S. policy (strike after casualties, targets ~ recent attacks, allocated by
    share), militia losses, daily escalation level and per-replicate summaries.
    Left out (so this is an optimistic bound): weapon stocks and Iranian resupply, attribution
    error and blame memory, leader strikes, IRGC casualties and the war hazard, Iraqi government
    pressure, withdrawal pressure, domestic pressure, group suspensions, cooldowns, the
    date-indexed `historical` policy and events, the 7-rung ladder with memory (one max instead),
    per-group records, and parameter validation / rule dispatch.
    """
    sc = load_scenario(BASELINE)
    T, M = len(sc.days), len(sc.militias)
    rng = np.random.default_rng(seed)
    gaza = np.array([0.1] * 10 + [1.0] * (T - 10))
    base = np.array([m.base_rate for m in sc.militias])
    obedience = np.array([m.iran_obedience for m in sc.militias])
    country_p = np.array([29, 32, 1.5]) / 62.5
    p_harm = np.array([0.05, 0.05, 0.125])  # weapon-mixed p_harm x defense, per country
    p_fatal = np.array([0.05, 0.05, 0.4])
    grievance, fear, restraint = np.zeros((R, M)), np.zeros((R, M)), np.zeros(R)
    recent = np.zeros(R)
    attacks_total = np.zeros((T, R), dtype=np.int64)
    killed_total = np.zeros((T, R), dtype=np.int64)
    strikes_total = np.zeros((T, R), dtype=np.int64)
    level = np.zeros((T, R), dtype=np.int8)
    for t in range(T):
        rate = base * gaza[t] * np.exp(0.3 * grievance - fear - obedience * restraint[:, None])
        attacks = rng.poisson(rate)  # (R, M)
        n = attacks.sum(axis=1)
        by_country = rng.multinomial(n, country_p)  # (R, 3)
        harmful = rng.binomial(by_country, p_harm)
        fatal = rng.binomial(harmful, p_fatal)
        killed = fatal.sum(axis=1) + rng.poisson(2.0 * fatal.sum(axis=1))
        injured = rng.poisson(3.0 * harmful.sum(axis=1))
        recent = recent * 0.9 + n
        targets = np.where((injured + killed) > 0, np.rint(0.5 * recent).astype(np.int64), 0)
        share = attacks / np.maximum(n, 1)[:, None]
        hit = targets[:, None] * share
        losses = rng.poisson(1.5 * hit)
        grievance = grievance * 0.95 + 0.05 * losses
        fear = fear * 0.977 + 0.04 * hit
        restraint = restraint * 0.985 + 0.02 * killed + 0.005 * targets
        attacks_total[t], killed_total[t], strikes_total[t] = n, killed, targets
        level[t] = np.select([killed > 0, targets > 0, injured > 0, n > 0], [5, 4, 3, 2], 0)
    return {
        "attacks_total": attacks_total.sum(axis=0),
        "us_killed": killed_total.sum(axis=0),
        "us_strikes": strikes_total.sum(axis=0),
        "max_escalation_level": level.max(axis=0),
        "first_us_death_day": np.where((killed_total > 0).any(axis=0), (killed_total > 0).argmax(axis=0), -1),
    }


def bench_kernel(runs: int, block: int) -> float:
    t0 = time.perf_counter()
    for b in range(runs // block):
        numpy_kernel(block, seed=b)
    return runs / (time.perf_counter() - t0)


# --------------------------------------------------------------------------- memory


class PeakRSS:
    """Peak resident memory of this process (MB), sampled, plus the largest child (getrusage)."""

    def __init__(self):
        self.peak, self._stop = 0.0, threading.Event()

    def _rss(self) -> float:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def __enter__(self) -> "PeakRSS":
        self.base = self._rss()

        def loop() -> None:
            while not self._stop.wait(0.05):
                self.peak = max(self.peak, self._rss())

        self._t = threading.Thread(target=loop, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


def million(tmp: Path) -> dict[str, float]:
    """1,000,000 runs, summary-only, 2 workers, 14 simulated days: memory must stay bounded."""
    path = sweep_file(tmp, points_per_policy=50, replicates=10_000, block=10_000, end="2023-10-20")
    with PeakRSS() as rss:
        rate, runs = bench_engine(path, tmp / "million", workers=2)
    return {
        "million_runs": runs,
        "million_runs_per_s": round(rate, 1),
        "million_parent_rss_before_mb": round(rss.base, 1),
        "million_parent_peak_rss_mb": round(rss.peak, 1),
        "million_child_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (noisier)")
    ap.add_argument("--million", action="store_true", help="also run the 1,000,000-run memory check")
    args = ap.parse_args()
    mesa_runs, points, reps, block = (10, 2, 1000, 1000) if args.quick else (20, 4, 2000, 2000)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = sweep_file(tmp, points, reps, block)
        a = bench_mesa(mesa_runs)
        b, runs = bench_engine(path, tmp / "serial", workers=1)
        c, _ = bench_engine(path, tmp / "pool", workers=2)
        d = bench_kernel(runs // 2, block)
        result = {
            "runs_per_s": {"a_mesa_batch_run": round(a, 2), "b_engine_serial": round(b, 1), "c_engine_2_workers": round(c, 1), "d_numpy_kernel": round(d, 1)},
            "ratios": {"b/a": round(b / a, 1), "b/d": round(b / d, 3), "c/b": round(c / b, 2)},
            "targets": {"b/a": 50, "b/d": 0.5, "c/b": 1.7},
            "runs": {"a": mesa_runs, "b": runs, "c": runs, "d": runs // 2},
            "days_per_run": len(load_scenario(BASELINE).days),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "peak_rss_children_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
        if args.million:
            result.update(million(tmp))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
