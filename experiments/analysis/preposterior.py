"""What would decide it: by pre-posterior simulation, how much one more observation would narrow a parameter.

    python -m experiments.analysis.preposterior [scenarios/calibration.yaml] [--draws 4000] [--out results/preposterior]

The observation asked for is a weekly tally: the attacks in the seven days after a replayed U.S. strike
(the Pentagon briefed running tallies, but none falls a week after a strike). For each strike and each
parameter:

1. draw parameter values from the published posterior (``scenarios/data/calibrated_posterior.parquet``,
   resampled by weight) and simulate the calibration scenario once per draw (runner jobs, common seed);
2. each simulated weekly count y_i in turn plays the observation: the pre-posterior of the parameter given
   y_i is the posterior draws whose own count equals y_i (rejection ABC with zero tolerance, on counts);
3. the expected narrowing is the mean over i of (90 % width of that pre-posterior) / (90 % width of as many
   posterior draws picked at random: a small set looks narrower by chance alone), with its 10th and 90th
   percentiles over i (how much depends on the count one would see).

A ratio near 1 says one such tally would not help; well below 1 says it is the datum to ask for. The
result is conditional on the model and on the replayed inputs, as the calibration is.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.analysis.calibration.config import Calibration, load_calibration
from experiments.runner.runner import Job, day_by_replicate, run_jobs
from experiments.runner.streams import StreamKey, keyed_generator

ROOT = Path(__file__).resolve().parents[2]
POSTERIOR = ROOT / "scenarios" / "data" / "calibrated_posterior.parquet"
STRIKES = (dt.date(2023, 11, 22), dt.date(2023, 12, 25), dt.date(2024, 1, 4), dt.date(2024, 1, 23), dt.date(2024, 2, 2))
# the parameters that flip a ranking in `escalation compare scenarios/compare_policies.yaml` (its robustness.parquet:
# the strike response for attacks, the suspension threshold for U.S. killed) and the other behaviours a strike moves
PARAMETERS = ("militias.*.behaviours.strike_response.per_target", "militias.*.behaviours.iran_following.suspend_threshold",
              "militias.*.behaviours.avoid_exposure.per_iraq_target", "militias.*.behaviours.tit_for_tat.per_killed",
              "iran.restraint_per_us_killed")
WEEK = 7
MIN_MATCH = 20  # pre-posteriors from fewer matching draws are widened to the MIN_MATCH nearest
NULL_REPS = 20  # random subsets per size for the chance-alone width
JOINT_K = 100  # nearest draws (in the space of all the weekly counts) forming the joint pre-posterior


class WeeklyCounts:
    """``reduce`` for the runner: attacks in the ``WEEK`` days after each strike day, (R, S)."""

    def __init__(self, days: list[int]):
        self.days = days

    def __call__(self, job: Job, tables: dict[str, Any]) -> np.ndarray:
        a = day_by_replicate(tables["daily"], "attacks_total", job.size).astype(np.int64)
        return np.stack([a[d + 1 : d + 1 + WEEK].sum(axis=0) for d in self.days], axis=1)


def _width(x: np.ndarray) -> float:
    lo, hi = np.quantile(x, [0.05, 0.95])
    return float(hi - lo)


def posterior_draws(n: int, seed: int, path: Path = POSTERIOR) -> pd.DataFrame:
    post = pd.read_parquet(path)
    w = post.pop("weight").to_numpy(float) if "weight" in post else np.ones(len(post))
    rows = keyed_generator(seed, int(StreamKey.PREDICTIVE)).choice(len(post), size=n, p=w / w.sum())
    return post.iloc[rows].reset_index(drop=True)


def parameter_column(draws: pd.DataFrame, label: str) -> np.ndarray:
    """A calibrated parameter's values: the column itself, or the first group's for a ``militias.*`` path."""
    col = label if label in draws else label.replace("*", "0")
    if col not in draws:
        raise KeyError(f"{label!r} is not in the posterior draws")
    return draws[col].to_numpy(float)


def preposterior(cal: Calibration, draws: pd.DataFrame, *, strikes: tuple[dt.date, ...] = STRIKES,
                 parameters: tuple[str, ...] = PARAMETERS, executor=None, chunk: int = 2000) -> pd.DataFrame:
    """One row per (strike, parameter): the expected 90 %-width ratio after one weekly tally after the strike."""
    start = cal.scenario.start
    days = [(d - start).days for d in strikes]
    reduce = WeeklyCounts(days)
    n_mil = len(cal.scenario.militias)
    paths = {c: [c.replace("*", str(i)) for i in range(n_mil)] if "*" in c else [c] for c in draws.columns if c != "weight"}
    jobs = [Job(cal.scenario, cal.config.seed, int(StreamKey.PREDICTIVE) + 500 + k, 0, len(draws.iloc[a : a + chunk]),
                {p: draws[c].to_numpy(float)[a : a + chunk] for c, ps in paths.items() for p in ps},
                tables=("daily",), columns=("attacks_total",))
            for k, a in enumerate(range(0, len(draws), chunk))]
    y = np.concatenate(run_jobs(jobs, executor, reduce), axis=0)  # (n, S)
    rows = []
    for s, d in enumerate(strikes):
        ys = y[:, s]
        for label in parameters:
            theta = parameter_column(draws, label)
            base = _width(theta)
            ratios, null = {}, {}
            rng = keyed_generator(cal.config.seed, int(StreamKey.PREDICTIVE) + 499)
            for v in np.unique(ys):
                match = np.flatnonzero(ys == v)
                if match.size < MIN_MATCH:
                    match = np.argsort(np.abs(ys - v), kind="stable")[:MIN_MATCH]
                k = match.size
                if k not in null:  # the width of k draws picked at random: small sets look narrower by chance alone
                    null[k] = float(np.mean([_width(theta[rng.choice(len(theta), size=k, replace=False)]) for _ in range(NULL_REPS)]))
                ratios[v] = _width(theta[match]) / null[k] if null[k] > 0 else float("nan")
            r = np.array([ratios[v] for v in ys])
            rows.append({"strike": str(d), "observation": f"attacks {d + dt.timedelta(1)} to {d + dt.timedelta(WEEK)}",
                         "parameter": label, "posterior_width": base, "expected_width_ratio": float(r.mean()),
                         "ratio_q10": float(np.quantile(r, 0.1)), "ratio_q90": float(np.quantile(r, 0.9)),
                         "weekly_median": float(np.median(ys)), "weekly_q05": float(np.quantile(ys, 0.05)),
                         "weekly_q95": float(np.quantile(ys, 0.95)),
                         "corr": float(np.corrcoef(theta, ys)[0, 1]) if ys.std() > 0 and theta.std() > 0 else 0.0})
    # all the weekly tallies together: the K nearest draws in (standardised) count space as the pre-posterior
    if len(strikes) > 1:
        z = (y - y.mean(axis=0)) / np.where(y.std(axis=0) > 0, y.std(axis=0), 1.0)
        d2 = (z * z).sum(axis=1)[:, None] + (z * z).sum(axis=1)[None, :] - 2 * z @ z.T
        near = np.argsort(d2, axis=1, kind="stable")[:, :JOINT_K]
        rng = keyed_generator(cal.config.seed, int(StreamKey.PREDICTIVE) + 498)
        for label in parameters:
            theta = parameter_column(draws, label)
            null = float(np.mean([_width(theta[rng.choice(len(theta), size=JOINT_K, replace=False)]) for _ in range(NULL_REPS)]))
            r = np.array([_width(theta[idx]) for idx in near]) / null
            tot = y.sum(axis=1)
            rows.append({"strike": "all", "observation": f"one weekly tally after each of the {len(strikes)} strikes",
                         "parameter": label, "posterior_width": _width(theta), "expected_width_ratio": float(r.mean()),
                         "ratio_q10": float(np.quantile(r, 0.1)), "ratio_q90": float(np.quantile(r, 0.9)),
                         "weekly_median": float(np.median(tot)), "weekly_q05": float(np.quantile(tot, 0.05)),
                         "weekly_q95": float(np.quantile(tot, 0.95)),
                         "corr": float(np.corrcoef(theta, tot)[0, 1]) if tot.std() > 0 and theta.std() > 0 else 0.0})
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame, draws: int) -> str:
    lines = [f"### What would decide it: one weekly tally after a strike (pre-posterior, {draws:,} posterior draws)", "",
             "Expected 90 %-width of each parameter after one more observation, as a share of its posterior width "
             "(mean over the counts one might see; 10th–90th percentile in brackets), and the model's 90 % interval for "
             "that count (`python -m experiments.analysis.preposterior`).", "",
             "| observation | parameter | expected width ratio | weekly count, median (90 %) | corr |", "|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.observation} | `{r.parameter.split('.')[-2]}.{r.parameter.split('.')[-1]}` | "
                     f"**{r.expected_width_ratio:.2f}** ({r.ratio_q10:.2f}–{r.ratio_q90:.2f}) | "
                     f"{r.weekly_median:.0f} ({r.weekly_q05:.0f}–{r.weekly_q95:.0f}) | {r.corr:+.2f} |")
    # for each parameter that flips a ranking: the single weekly tally that would narrow it most, and all of them
    for parameter, label in (("strike_response.per_target", "the strike response"),
                             ("suspend_threshold", "the suspension threshold")):
        single = table[table["parameter"].str.endswith(parameter) & (table["strike"] != "all")]
        if not len(single):
            continue
        best = single.loc[single["expected_width_ratio"].idxmin()]
        lines += ["", f"The most telling single tally for {label} is **{best['observation']}**: it would leave "
                      f"{best['expected_width_ratio']:.0%} of the posterior's 90 % width on average."]
        joint = table[table["parameter"].str.endswith(parameter) & (table["strike"] == "all")]
        if len(joint):
            lines[-1] += (f" A weekly tally after each of the strikes together would leave "
                          f"{joint['expected_width_ratio'].iloc[0]:.0%} (counts summed over the weeks in the last rows).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", default=str(ROOT / "scenarios" / "calibration.yaml"))
    ap.add_argument("--draws", type=int, default=4000)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "preposterior")
    args = ap.parse_args(argv)
    cal = load_calibration(args.file, out_of_time=False)
    draws = posterior_draws(args.draws, cal.config.seed)
    table = preposterior(cal, draws, executor=args.workers)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_parquet(args.out / "preposterior.parquet", index=False)
    text = markdown(table, args.draws)
    (args.out / "preposterior.md").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
