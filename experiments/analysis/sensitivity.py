"""Global sensitivity analysis (SALib): Sobol first/total-order indices or Morris screening.

A sensitivity scenario is an ordinary scenario plus a ``sensitivity:`` block::

    sensitivity:
      method: sobol                 # sobol | morris
      samples: 256                  # Sobol base N (N*(k+2) points) or Morris trajectories
      replicates_per_point: 1       # model replicates averaged per sample point
      uncertainties:                # per-replicate float parameters (see model.config.float_paths)
        iran.war_hazard: [0.001, 0.05]
      outcomes: [attacks_total, war, withdrawal_demanded]
      discovery: [war, withdrawal_demanded]   # boolean outcomes for the decision-tree boxes

All sample points of one block go through ONE batched model: replicate i carries parameter row i
(a runner job's ``varying``). The evaluator is pluggable (``Evaluator``), so a toy function
with known indices runs through exactly the same sampling and analysis code (tests).

The model is stochastic. By default the rows the estimators compare (a Sobol base point and its
AB_i variants; the points of a Morris trajectory) share random streams (common random numbers),
which keeps the noise out of the differences; noise still counts as unexplained variance
(first-order indices sum below 1). Raise ``replicates_per_point`` to average it down.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import ValidationError

from experiments.analysis.plots import save_into
from experiments.scenario.schema import Overrides, check_float_paths, load_block
from experiments.scenario.blocks import SensitivitySpec
from experiments.scenario.errors import from_validation
from experiments.scenario.identification import drop_covered, notice_for, notice_manifest
from experiments.runner.executors import Executor
from experiments.runner.outputs import attacks_stopped, outcomes_off
from experiments.runner.run import load_draws
from experiments.runner.runner import Job, blocks, run_jobs, varying_for_block
from experiments.scenario.schema import Scenario

# names, X (n, k) -> {outcome: (n,)}
Evaluator = Callable[[list[str], np.ndarray], dict[str, np.ndarray]]


def problem(uncertainties: dict[str, tuple[float, float]]) -> dict[str, Any]:
    return {"num_vars": len(uncertainties), "names": list(uncertainties), "bounds": [list(b) for b in uncertainties.values()]}


def sample(prob: dict[str, Any], method: str, n: int, seed: int, levels: int = 4) -> np.ndarray:
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(prob, n, calc_second_order=False, seed=seed)
    return morris_sample(prob, n, levels, seed)


def morris_sample(prob: dict[str, Any], trajectories: int, levels: int = 4, seed: int = 0) -> np.ndarray:
    """Morris one-at-a-time trajectories (Morris 1991) in which every trajectory moves the parameters in
    the SAME order (one random permutation, shared), from its own random base point and directions.

    Rows are laid out as SALib's ``morris.sample`` lays them out (trajectory t: rows t(k+1) .. t(k+1)+k,
    each step changes one parameter by +-delta, delta = levels / (2 (levels - 1)) of its range), so
    ``SALib.analyze.morris`` reads them unchanged. The shared order is what makes Morris as cheap per
    run as Sobol: step j of all trajectories changes the same parameter, so point j of every trajectory
    can run in one batch and batch j + 1 differs from batch j only in that parameter (common random
    numbers stay exact: a parameter without effect still gets elementary effects of exactly 0). Each
    elementary effect is still taken at a uniformly random grid point (random base, random directions),
    which is what the screening measures rest on."""
    k = int(prob["num_vars"])
    rng = np.random.default_rng(seed)
    delta = levels / (2.0 * (levels - 1))
    grid = np.arange(levels) / (levels - 1)
    bases = grid[grid + delta <= 1.0 + 1e-12]
    order = rng.permutation(k)
    base = rng.choice(bases, size=(trajectories, k))
    up = rng.random((trajectories, k)) < 0.5
    x = np.where(up, base, base + delta)
    steps = np.where(up, delta, -delta)
    unit = np.empty((trajectories, k + 1, k))
    unit[:, 0] = x
    for j, i in enumerate(order):
        x = x.copy()
        x[:, i] += steps[:, i]
        unit[:, j + 1] = x
    bounds = np.asarray(prob["bounds"], dtype=float)
    return (bounds[:, 0] + unit.reshape(-1, k) * (bounds[:, 1] - bounds[:, 0]))


def analyze(prob: dict[str, Any], method: str, X: np.ndarray, Y: dict[str, np.ndarray], seed: int,
            confidence: float = 0.95, levels: int = 4, tolerance: float = 0.05) -> pd.DataFrame:
    """One row per (outcome, parameter), with bootstrap intervals and flags (:func:`flag_indices`).
    Constant outcomes get NaN indices (nothing to apportion)."""
    rows = []
    for outcome, y in Y.items():
        y = np.asarray(y, dtype=float)
        if np.nanvar(y) == 0:
            for name in prob["names"]:
                rows.append({"outcome": outcome, "parameter": name, "note": "outcome constant over the sample"})
            continue
        if method == "sobol":
            from SALib.analyze import sobol

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "constant values" for rare events: indices come out 0
                res = sobol.analyze(prob, y, calc_second_order=False, conf_level=confidence, seed=seed)
            keys = ("S1", "S1_conf", "ST", "ST_conf")
        else:
            from SALib.analyze import morris

            res = morris.analyze(prob, X, y, conf_level=confidence, num_levels=levels, seed=seed)
            keys = ("mu", "mu_star", "sigma", "mu_star_conf")
        for i, name in enumerate(prob["names"]):
            rows.append({"outcome": outcome, "parameter": name, **{k: float(np.asarray(res[k])[i]) for k in keys}, "note": ""})
    df = pd.DataFrame(rows)
    df.insert(0, "method", method)
    return flag_indices(df, tolerance)


def flag_indices(df: pd.DataFrame, tolerance: float = 0.05) -> pd.DataFrame:
    """Add bootstrap intervals (index ± SALib's bootstrap half-width) and a ``flag`` column saying which
    numbers are noise rather than results: an interval that spans 0, a negative index, a total index
    above 1 + tolerance, first-order indices of one outcome summing above 1 + tolerance."""
    df = df.copy()
    pairs = [("S1", "S1_conf"), ("ST", "ST_conf")] if "S1" in df else [("mu_star", "mu_star_conf")]
    flags: list[list[str]] = [[] for _ in range(len(df))]
    for idx, conf in pairs:
        df[f"{idx}_low"], df[f"{idx}_high"] = df[idx] - df[conf], df[idx] + df[conf]
        for k, (v, lo, hi) in enumerate(zip(df[idx], df[f"{idx}_low"], df[f"{idx}_high"])):
            if pd.isna(v):
                continue
            if lo <= 0 <= hi:
                flags[k].append(f"{idx} interval spans 0")
            if v < 0:
                flags[k].append(f"{idx} < 0: noise (true index >= 0)")
            if idx == "ST" and v > 1 + tolerance:
                flags[k].append(f"ST > 1 + {tolerance:g}: noise")
    if "S1" in df:
        sums = df.groupby("outcome")["S1"].transform("sum")
        for k, total in enumerate(sums):
            if total > 1 + tolerance:
                flags[k].append(f"sum of S1 = {total:.2f} > 1 + {tolerance:g}: too few samples")
    df["flag"] = ["; ".join(f) for f in flags]
    return df


class SummaryOutcomes:
    """``reduce(job, tables)`` run in the worker: the chosen outcomes of a job's summary table, as floats
    per replicate (``attacks_stopped``: the attacks stop before the end)."""

    def __init__(self, outcomes: list[str]):
        self.outcomes = list(outcomes)

    def columns(self) -> tuple[str, ...]:
        return tuple("attacks_stop_day" if o == "attacks_stopped" else o for o in self.outcomes)

    def __call__(self, job: Job, tables: dict[str, pa.Table]) -> dict[str, np.ndarray]:
        summary = tables["summary"]
        out = {}
        for o in self.outcomes:
            if o == "attacks_stopped":  # null (NaN) where the attacks never stop
                out[o] = attacks_stopped(summary.column("attacks_stop_day").to_numpy(zero_copy_only=False)).astype(float)
            else:
                out[o] = np.asarray(summary.column(o).to_numpy(), dtype=float)
        return out


def model_evaluator(scenario: Scenario, seed: int, outcomes: list[str], replicates_per_point: int = 1,
                    crn_group: int = 1, method: str = "sobol", draws: pd.DataFrame | None = None,
                    executor: Executor | int | None = None) -> Evaluator:
    """Run sample points through the runner's jobs (batched models, one parameter row per replicate) on
    ``executor`` (serial, a pool or Dask: the numbers do not depend on it); each job's summary outcomes
    are taken from its summary table in the worker (:class:`SummaryOutcomes`).

    ``crn_group`` = g: the sample comes in groups of g rows that are compared with each other (Sobol:
    A, AB_1..AB_k, B of one base point, g = k + 2; Morris: the k + 1 points of a trajectory), and the
    rows of a group share random streams (common random numbers) and the same rows of ``draws``
    (posterior draws of the parameters not sampled here), so the differences the indices are built
    from come from the parameters, not from noise.

    The streams belong to a batch, not to a replicate, so a group shares them exactly only if its rows
    run in batches that are alike apart from the parameter that changes:
    - Sobol: row position m of every group goes through its own batches (same seed and blocks); AB_i
      differs from A in parameter i in every row, so a parameter without effect gets indices of 0.
    - Morris: every trajectory moves its parameters in the same order (:func:`morris_sample`), so point
      j of every trajectory runs in the same batches, as Sobol's row positions do: batch j + 1 differs
      from batch j only in the parameter step j changes, and a parameter without effect gets
      elementary effects of exactly 0. (Before, each point ran as its own batch of
      ``replicates_per_point`` replicates, about 8x the cost per run.)
    """
    reduce = SummaryOutcomes(outcomes)

    def row_jobs(names: list[str], X: np.ndarray, rows: np.ndarray, block0: int) -> list[Job]:
        """Jobs for sample rows ``rows`` (each repeated ``replicates_per_point`` times), block b on stream block0 + b."""
        Xr = np.repeat(X[rows], replicates_per_point, axis=0)
        return [Job(scenario, seed, block0 + b, start, size,
                    {**(varying_for_block(draws, seed, block0 + b, size) or {}),
                     **{n: Xr[start : start + size, j] for j, n in enumerate(names)}},
                    tables=("summary",), columns=reduce.columns())
                for b, start, size in blocks(len(Xr), scenario.block_size)]

    def row_sets(n: int) -> list[tuple[np.ndarray, int]]:
        """(sample rows, first random-stream block) of each set of rows that runs as its own batches."""
        g = crn_group
        if g <= 1 or n % g:
            return [(np.arange(n), 0)]
        return [(np.arange(m, n, g), 0) for m in range(g)]  # row position m of every group (Sobol; Morris: step m)

    def evaluate(names: list[str], X: np.ndarray) -> dict[str, np.ndarray]:
        sets = row_sets(len(X))
        jobs = [row_jobs(names, X, rows, block0) for rows, block0 in sets]
        results = iter(run_jobs([job for js in jobs for job in js], executor, reduce))  # paths checked by run_sensitivity
        out = {o: np.empty(len(X)) for o in outcomes}
        for (rows, _), js in zip(sets, jobs):
            parts = [next(results) for _ in js]
            for o in outcomes:
                out[o][rows] = np.concatenate([p[o] for p in parts]).reshape(len(rows), replicates_per_point).mean(axis=1)
        return out

    return evaluate


def crn_group_size(method: str, k: int) -> int:
    """Rows per group of the SALib sample layout (Sobol without second order: k + 2; Morris: k + 1)."""
    return k + 2 if method == "sobol" else k + 1


def sensitivity_indices(spec: SensitivitySpec, evaluator: Evaluator, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sample, evaluate and analyse; returns (indices, samples with outcomes)."""
    prob = problem(spec.uncertainties)
    X = sample(prob, spec.method, spec.samples, seed, spec.morris_levels)
    Y = evaluator(prob["names"], X)
    missing = [o for o in spec.outcomes if o not in Y]
    if missing:
        raise ValueError(f"evaluator returned no {missing}")
    indices = analyze(prob, spec.method, X, {o: Y[o] for o in spec.outcomes}, seed, spec.confidence, spec.morris_levels,
                      spec.sum_tolerance)
    samples = pd.DataFrame(X, columns=prob["names"])
    for o, y in Y.items():
        samples[o] = y
    return indices, samples


def plot_indices(indices: pd.DataFrame, out: Path, confidence: float = 0.95) -> list[str]:
    from experiments.analysis.plots import house_style

    with house_style():
        return save_into(_indices_figure(indices, confidence), out, "sensitivity")


def _short_parameter(path: str) -> str:
    return path.replace("behaviours.", "").replace("militias.*.", "militias: ").replace("united_states.", "U.S. ")


OUTCOME_UNIT = {"attacks_total": "attacks per run", "us_killed": "U.S. killed per run", "us_injured": "U.S. injured per run",
                "militia_killed": "militia killed per run", "war": "P(war), share of runs",
                "withdrawal_demanded": "P(withdrawal demanded), share of runs", "attacks_stopped": "P(attacks stop), share of runs",
                "max_escalation_level": "ladder levels", "mean_escalation_level": "ladder levels"}
OUTCOME_TITLE = {"attacks_total": "total attacks", "us_killed": "U.S. killed", "war": "P(war)",
                 "withdrawal_demanded": "P(withdrawal demanded)"}


def index_unit(method: str, outcome: str) -> str:
    """Axis label with the unit of an index: Sobol indices are shares of the outcome's variance; Morris mu*
    is in the outcome's unit, per move of the parameter across its whole range (SALib's elementary effects
    divide by the step as a fraction of the range)."""
    if method == "sobol":
        return "share of the outcome's variance (0-1)"
    return f"mu*: {OUTCOME_UNIT.get(outcome, outcome)}\nper parameter moved across its range"


def _indices_figure(indices: pd.DataFrame, confidence: float):
    """One panel per outcome, two per row; flagged indices (noise) drawn pale and hatched."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.patches import Patch

    from experiments.analysis.plots import figure_title

    outcomes = list(dict.fromkeys(indices.outcome))
    method = indices.method.iloc[0]
    k = indices.parameter.nunique()
    ncol = min(2, len(outcomes))
    nrow = -(-len(outcomes) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(6.2 * ncol, (0.42 * k + 1.3) * nrow + 1.2), squeeze=False, sharey=True)
    blue, orange, green = sns.color_palette("deep")[0], sns.color_palette("deep")[1], sns.color_palette("deep")[2]
    flagged = indices.get("flag", pd.Series("", index=indices.index)).fillna("")
    for ax, oc in zip(axes.flat, outcomes):
        d = indices[indices.outcome == oc]
        f = flagged[d.index]
        y = np.arange(len(d))
        bars = [("S1", blue, -0.2, "first order (S1)"), ("ST", orange, 0.2, "total order (ST)")] if method == "sobol" and "S1" in d \
            else [("mu_star", green, 0.0, "mu* (Morris)")] if "mu_star" in d else []
        for col, color, dy, label in bars:
            noisy = f.str.contains(col, regex=False).to_numpy()
            ax.barh(y + dy, d[col].fillna(0), 0.4 if method == "sobol" else 0.6, xerr=d[f"{col}_conf"].fillna(0),
                    color=[(*color, 0.3) if n else color for n in noisy], capsize=2, label=label, error_kw={"lw": 0.8})
        ax.axvline(0, color="0.3", lw=0.8)
        if method == "sobol":
            ax.axvline(1, color="0.6", lw=0.8, ls=":")
        ax.set_yticks(y, [_short_parameter(p) for p in d.parameter])
        ax.invert_yaxis()
        note = d.note.iloc[0] if "note" in d and d.note.iloc[0] else ""
        ax.set_title(OUTCOME_TITLE.get(oc, oc))
        if note:  # nothing to apportion: say so in the panel rather than leave it empty
            ax.text(0.5, 0.5, f"{note}:\nno indices (nothing varies to apportion)", transform=ax.transAxes, ha="center",
                    va="center", fontsize=9, color="0.35")
        ax.set_xlabel(index_unit(method, oc))
    for ax in list(axes.flat)[len(outcomes):]:
        ax.axis("off")
    kinds = [("S1", blue, "first order (S1)"), ("ST", orange, "total order (ST)")] if method == "sobol" else [("mu_star", green, "mu* (Morris)")]
    handles = [Patch(color=c, label=lab) for _, c, lab in kinds]
    handles.append(Patch(color="0.5", alpha=0.3, label="flagged: interval spans 0, negative, or above 1 (noise)"))
    fig.legend(handles, [h.get_label() for h in handles], loc="lower center", ncol=3, frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    n_flag = sum(int(flagged.str.contains(k, regex=False).sum()) for k, _, _ in kinds)
    figure_title(fig, f"{method.title()} sensitivity indices",
                 f"bars: estimate; whiskers: {confidence:.0%} bootstrap interval. {n_flag} of {len(kinds) * len(indices)} "
                 "indices flagged (pale): with this many samples they cannot be told from noise; see the flag column of "
                 "indices.csv.")
    fig.subplots_adjust(bottom=(1.2 if method == "morris" else 0.95) / fig.get_figheight(), hspace=0.45)
    return fig


def run_sensitivity(file: str | Path, out: Path, method: str | None = None, samples: int | None = None,
                    seed: int | None = None, scenario_hash: str | None = None, overrides: Overrides | None = None,
                    executor: Executor | int | None = None) -> dict[str, Any]:
    """The `escalation sensitivity` command: indices, discovery boxes, figures, manifest (simulated on ``executor``)."""
    from experiments.analysis.discovery import limits_table, plot_prim, prim_boxes, tree_boxes
    from experiments.runner.run import atomic_write_bytes, atomic_write_json, atomic_write_parquet, bind_tables, manifest

    scenario, spec, _ = load_block(file, "sensitivity", SensitivitySpec, overrides)
    updates = {k: v for k, v in (("method", method), ("samples", samples)) if v is not None}
    if updates:
        try:
            spec = SensitivitySpec.model_validate({**spec.model_dump(), **updates})
        except ValidationError as exc:
            raise from_validation(exc, prefix=("sensitivity",)) from None
    check_float_paths(scenario, list(spec.uncertainties), file, ("sensitivity", "uncertainties"))
    off = [o for o in [*spec.outcomes, *spec.discovery] if o in outcomes_off(scenario)]
    if off:  # declared, but an optional actor that is off writes no such column
        from experiments.scenario.errors import UserError

        raise UserError(f"outcome {off[0]!r} is not written by this scenario: its actor is off (e.g. houthis.enabled: true)",
                        file=file, path=("sensitivity", "outcomes"))
    seed = scenario.seed if seed is None else seed
    t0 = time.perf_counter()
    outcomes = list(dict.fromkeys([*spec.outcomes, *spec.discovery]))
    group = crn_group_size(spec.method, len(spec.uncertainties)) if spec.common_random_numbers else 1
    draws = drop_covered(load_draws(scenario, Path(file).parent), spec.uncertainties)
    notice = notice_for(scenario, draws, spec.uncertainties)
    evaluator = model_evaluator(scenario, seed, outcomes, spec.replicates_per_point, group, spec.method, draws, executor)
    indices, samples_df = sensitivity_indices(spec, evaluator, seed)
    X = samples_df[list(spec.uncertainties)]
    trees = [tree_boxes(X, samples_df[o].to_numpy() >= spec.discovery_threshold, o, spec.max_depth) for o in spec.discovery]
    prims = [prim_boxes(X, samples_df[o].to_numpy() >= spec.discovery_threshold, o, spec.prim_density) for o in spec.discovery]
    boxes = pd.concat(trees, ignore_index=True) if trees else pd.DataFrame()
    limits = pd.concat([limits_table(t, "tree", X) for t in trees] + [p[1] for p in prims], ignore_index=True) if trees else pd.DataFrame()
    trajectory = pd.concat([p[0] for p in prims], ignore_index=True) if prims else pd.DataFrame()
    elapsed = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(indices, out / "indices.parquet")
    atomic_write_bytes(out / "indices.csv", indices.to_csv(index=False).encode())
    atomic_write_parquet(samples_df, out / "samples.parquet")
    files = ["indices.parquet", "indices.csv", "samples.parquet"]
    for name, table in (("discovery", boxes.drop(columns=["limits"], errors="ignore")), ("box_limits", limits),
                        ("prim_trajectory", trajectory)):
        if spec.discovery:  # written even when empty (no cases: nothing to peel), so readers find them
            atomic_write_parquet(table, out / f"{name}.parquet")
            atomic_write_bytes(out / f"{name}.csv", table.to_csv(index=False).encode())
            files += [f"{name}.parquet", f"{name}.csv"]
    if len(trajectory):
        files += plot_prim(trajectory, out)
    files += plot_indices(indices, out, spec.confidence)
    data = manifest(scenario, seed, len(samples_df) * spec.replicates_per_point, kind="sensitivity",
                    scenario_hash=scenario_hash or scenario.identity_hash(), sensitivity=spec.model_dump(mode="json"),
                    sample_points=len(samples_df), runtime_seconds=round(elapsed, 2), files=files,
                    tables=bind_tables(out, [f for f in files if f.endswith(".parquet")]), **notice_manifest(notice))
    atomic_write_json(data, out / "manifest.json")
    return {"indices": indices, "samples": samples_df, "boxes": boxes, "limits": limits, "trajectory": trajectory,
            "files": files, "runtime": elapsed, "note": notice.line if notice else None}


def print_indices(res: dict[str, Any], console: Any) -> None:
    from experiments.analysis.tables import console_table

    ind = res["indices"]
    method = ind.method.iloc[0]
    cols = ["S1", "S1_conf", "ST", "ST_conf"] if method == "sobol" else ["mu_star", "mu_star_conf", "sigma"]
    t = console_table(f"{method.title()} indices ({len(res['samples'])} sample points, {res['runtime']:.1f} s); "
                      "conf = bootstrap half-width; flag = cannot be told from noise",
                      ["outcome", "parameter", *cols, "flag"], right=cols, whole=["outcome"])
    for _, r in ind.iterrows():
        t.add_row(r.outcome, r.parameter, *[("" if pd.isna(r.get(c)) else f"{r[c]:.3f}") for c in cols], r.get("flag", "") or "")
    console.print(t)
    limits = res.get("limits")
    if limits is not None and len(limits) and (limits.method == "prim").any():
        p = console_table("Scenario discovery (PRIM): the chosen box per outcome; other parameters are unrestricted",
                          ["outcome", "parameter", "low", "high", "coverage", "density"], right=["low", "high", "coverage", "density"])
        for _, r in limits[limits.method == "prim"].iterrows():
            p.add_row(r.outcome, r.parameter, f"{r.low:.4g}", f"{r.high:.4g}", f"{r.coverage:.2f}", f"{r.density:.2f}")
        console.print(p)
    boxes = res["boxes"]
    if len(boxes):
        b = console_table("Scenario discovery: decision-tree leaves where the outcome is likely (density >= 0.5)",
                          ["outcome", "rule", "n", "coverage", "density"], right=["n", "coverage", "density"])
        for _, r in boxes[boxes.density >= 0.5].iterrows():
            b.add_row(r.outcome, r.rule, str(r.n), f"{r.coverage:.2f}", f"{r.density:.2f}")
        console.print(b)
    if res.get("note"):
        console.print(res["note"], highlight=False, soft_wrap=True)
