"""Do two versions of the engine give the same distributions? (after a change of random streams)

Runs the baseline scenario (10,000 replicates by default) with the engine in this checkout and with
the engine in another checkout (e.g. ``git archive <commit> | tar -x -C /tmp/old``), each in its own
process, and compares per-replicate outcomes with two-sample tests: Kolmogorov-Smirnov (counts and
levels; asymptotic, so ties make it conservative) and chi-square (war, suspensions as 0/1).
Prints one JSON line: statistic, p-value and the two means per outcome; the smallest p-value and
the Bonferroni threshold. Not a test (it takes minutes); re-run it whenever a stream changes.

    .venv/bin/python benchmarks/check_distributions.py /tmp/old [--replicates 10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PERIODS = {  # daily totals summed by period (the scenario's phases)
    "oct07_nov23": ("2023-10-07", "2023-11-23"),
    "truce_nov24_nov30": ("2023-11-24", "2023-11-30"),
    "dec01_jan27": ("2023-12-01", "2024-01-27"),
    "jan28_feb07": ("2024-01-28", "2024-02-07"),
    "feb08_mar31": ("2024-02-08", "2024-03-31"),
}

# run inside the checkout under test: writes per-replicate outcomes to an .npz
CHILD = r"""
import sys, numpy as np, datetime as dt
root, out, R, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sys.path.insert(0, root)
from experiments.scenario.schema import load_scenario
from model import EscalationModel
periods = {periods!r}
sc = load_scenario(root + "/scenarios/baseline.yaml")
res = {{}}
for b, start in enumerate(range(0, R, 5000)):
    m = EscalationModel(sc, replicates=min(5000, R - start), seed=seed, block=b, replicate_offset=start).run()
    dates = np.array(m.dates, dtype="datetime64[D]")
    part = {{}}
    for name, (a, z) in periods.items():
        sel = (dates >= np.datetime64(a)) & (dates <= np.datetime64(z))
        for col in ("attacks_total", "attacks_iraq", "attacks_syria", "us_injured", "militia_killed", "us_strikes_iraq"):
            part[f"{{col}}:{{name}}"] = m.records[col][sel].sum(axis=0)
    gr = m.group_records
    for i, g in enumerate(m.militias):
        part[f"group_attacks:{{g.short}}"] = gr["attacks"][:, i].sum(axis=0)
        part[f"group_killed:{{g.short}}"] = gr["killed"][:, i].sum(axis=0)
        part[f"suspended_days:{{g.short}}"] = gr["suspended"][:, i].sum(axis=0)
        part[f"ever_suspended:{{g.short}}"] = gr["suspended"][:, i].any(axis=0)
    part["war"] = m.records["war"].any(axis=0)
    part["max_escalation_level"] = m.records["escalation_level"].max(axis=0)
    part["mean_escalation_level"] = m.records["escalation_level"].mean(axis=0)
    part["iran_restraint_mean"] = m.records["iran_restraint"].mean(axis=0)
    for k, v in part.items():
        res.setdefault(k, []).append(v)
np.savez(out, **{{k: np.concatenate(v) for k, v in res.items()}})
"""


def outcomes(root: Path, replicates: int, seed: int, tmp: Path) -> dict[str, np.ndarray]:
    out = tmp / f"{abs(hash(str(root)))}.npz"
    code = CHILD.format(periods=PERIODS)
    subprocess.run([sys.executable, "-c", code, str(root), str(out), str(replicates), str(seed)], check=True, cwd=root)
    with np.load(out) as z:
        return {k: z[k] for k in z.files}


def compare(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    from scipy import stats

    rows = {}
    for k in sorted(set(a) & set(b)):
        x, y = a[k], b[k]
        if x.dtype == bool:
            table = np.array([[x.sum(), (~x).sum()], [y.sum(), (~y).sum()]])
            if table[:, 0].sum() == 0 or table[:, 1].sum() == 0:
                rows[k] = {"test": "chi2", "stat": 0.0, "p": 1.0, "mean_this": float(x.mean()), "mean_other": float(y.mean())}
                continue
            stat, p, _, _ = stats.chi2_contingency(table)
            rows[k] = {"test": "chi2", "stat": float(stat), "p": float(p), "mean_this": float(x.mean()), "mean_other": float(y.mean())}
        else:
            res = stats.ks_2samp(x.astype(float), y.astype(float))
            rows[k] = {"test": "ks", "stat": float(res.statistic), "p": float(res.pvalue),
                       "mean_this": float(x.mean()), "mean_other": float(y.mean())}
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("other", type=Path, help="another checkout of the project (the engine before the change)")
    ap.add_argument("--replicates", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        this = outcomes(ROOT, args.replicates, args.seed, Path(tmp))
        other = outcomes(args.other.resolve(), args.replicates, args.seed + 1, Path(tmp))
    rows = compare(this, other)
    pmin = min(r["p"] for r in rows.values())
    print(json.dumps({"replicates": args.replicates, "outcomes": len(rows), "min_p": pmin,
                      "bonferroni_0.05": 0.05 / len(rows), "all_agree": pmin > 0.05 / len(rows),
                      "below_0.05": sorted(k for k, r in rows.items() if r["p"] < 0.05), "tests": rows}))


if __name__ == "__main__":
    main()
