"""Compare U.S. deterrence policies on common random numbers, with bootstrap intervals.

A compare scenario is an ordinary scenario plus a ``compare:`` block::

    compare:
      reference: historical          # paired differences are taken against this lever
      replicates: 1000
      levers:                        # the policies to compare
        - historical                 #   a policy name with its default parameters
        - {name: prop_x2, policy: proportional, params: {targets_per_attack: 2}}
        - {name: red_line, scenario: red_line.yaml}   # or a whole scenario file
      uncertainties: posterior       # posterior | fixed | {dotted.float.path: [low, high]}

Common random numbers: lever k's replicate j runs in block b with the same seed, so it draws
the same random streams and the same parameter draw as every other lever's replicate j. Paired
differences (lever - reference, replicate by replicate) therefore cancel most of the noise.

Outcomes are per-replicate summary columns (``model.summary_frame``) plus two derived ones:
``attacks_stopped`` (attacks ended, i.e. a quiet spell of ``model.model.QUIET_DAYS`` days began
before the end) and ``days_until_stop`` (the stop day, with *never* counted as the length of the
run, so it is a lower bound on the true delay where attacks never stopped).
"""

from __future__ import annotations

import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from experiments.scenario.errors import UserError
from experiments.analysis.plots import save_into
from experiments.scenario.blocks import BootstrapSpec, CompareSpec
from experiments.scenario.identification import notice_for, notice_manifest
from experiments.scenario.held import check_dated_inputs, held_fixed
from experiments.runner.run import load_draws
from experiments.runner.sweep import STORE, STORE_VERSION, Design, design_tables, run_design
from experiments.scenario.schema import (Overrides, Scenario, apply_overrides, check_float_paths, check_inside, load_block, resolve_raw,
                                         spec_hash, validate_data, variant)
from experiments.runner.executors import Executor
from experiments.runner.outputs import LADDER_LEVELS, attacks_stopped, days_until_stop, optional_outcomes, outcome_rows
from experiments.runner.streams import StreamKey, keyed_generator

# (column, label, kind): kind "prob" outcomes are shares of replicates; labels and kinds from the output declaration
OUTCOMES: tuple[tuple[str, str, str], ...] = outcome_rows((
    "attacks_total", "us_injured", "us_killed", "militia_killed", "us_strikes_iraq", "us_strikes_syria", "war",
    "withdrawal_demanded", "attacks_stopped", "days_until_stop", "mean_escalation_level", "max_escalation_level",
))
OUTCOME_LABELS = {c: label for c, label, _ in OUTCOMES}


def outcomes_for(scenario: Scenario) -> tuple[tuple[str, str, str], ...]:
    """The outcomes a comparison of ``scenario`` tabulates: the Iraq/Syria ones, and those of the optional actors it
    enables (the Houthis': ships attacked, attacks on warships, strike targets in Yemen; the same policies answer
    in both theatres, so each comparison reads both)."""
    return OUTCOMES + outcome_rows(optional_outcomes(scenario))
DAILY_AGG = ("attacks_total", "cum_attacks", "escalation_level", "war")
# the daily columns a comparison stores (cum_attacks is summed here): a few per replicate-day, not the whole table
DAILY_STORED = ("replicate", "day", "attacks_total", "escalation_level", "war", "ships_attacked")  # (ships: Red Sea, when on)
DAILY_HELD_BYTES = 8 * (len(DAILY_STORED) + len(DAILY_AGG))  # per replicate-day: the stored columns read back, the curves
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


# --------------------------------------------------------------------------- the compare: block


def lever_scenarios(raw: dict[str, Any], spec: CompareSpec, file: str | Path | None = None,
                    overrides: Overrides | None = None, held: tuple[str, ...] = (),
                    allow_unpaired: bool = False) -> dict[str, Scenario]:
    """One validated scenario per lever, in the order given (``raw``: the compare file's mapping, ``--set``
    values applied; ``overrides``: those values, applied also to levers from other files).

    A lever's ``overrides`` and the ``--set`` values hold their parameters fixed over the posterior draws.
    Levers whose U.S. deaths arise differently from the reference's (replayed casualty events vs drawn
    from attacks) or that cover other dates are not comparable draw by draw: refused naming both, unless
    ``allow_unpaired`` (their differences are then unpaired)."""
    base_dir = Path(file).resolve().parent if file is not None else Path.cwd()
    base = validate_data(raw, file=file)
    out: dict[str, Scenario] = {}
    for i, lever in enumerate(spec.levers):
        where = f"compare.levers.{i}"
        if lever.scenario is not None:
            src = check_inside(lever.scenario, base_dir, file, where + ".scenario", "scenario file")
            if not src.exists():
                raise UserError(f"scenario file {lever.scenario!r} not found (looked for {src})", file=file, path=where + ".scenario")
            lever_raw, lever_file = apply_overrides(resolve_raw(src), overrides, file=src), src
            lever_raw.pop("compare", None)
            changes = {"name": lever.label, **lever.overrides}
        else:
            lever_raw, lever_file = raw, file
            changes = {"name": lever.label, "united_states.policy.name": lever.policy,
                       "united_states.policy.params": lever.params, **lever.overrides}
        try:
            sc = variant(lever_raw, changes, file=lever_file)
        except UserError as exc:
            raise UserError(f"lever {lever.label!r}: {exc}", file=file, path=where) from None
        sc._base_dir = Path(lever_file).resolve().parent if lever_file is not None else base_dir
        out[lever.label] = sc.holding((*held, *lever.overrides))
        check_dated_inputs(out[lever.label], file)
    if not allow_unpaired:
        ref = out[spec.reference]
        for i, (label, sc) in enumerate(out.items()):
            why = arm_difference(sc, ref, label, spec.reference)
            if why:
                raise UserError(f"{why}: their differences would not be paired draw by draw; compare like with like, or pass "
                                "--allow-unpaired to run them with the differences labelled unpaired", file=file,
                                path=f"compare.levers[{i}]")
    return out


def arm(sc: Scenario) -> tuple[str, Any, Any]:
    """What must match for two levers' replicates to pair: how U.S. deaths arise, and the dates."""
    return (sc.attack_effects.us_deaths, sc.start, sc.end)


def _arm_words(sc: Scenario) -> str:
    deaths = ("replays U.S. deaths from dated casualty events" if sc.attack_effects.us_deaths == "replayed"
              else "draws U.S. deaths from its attacks")
    return f"{deaths}, {sc.start}..{sc.end}"


def arm_difference(sc: Scenario, ref: Scenario, label: str, ref_label: str) -> str:
    """'' when ``sc`` pairs with ``ref``; else one phrase naming both levers and how they differ."""
    if arm(sc) == arm(ref):
        return ""
    return f"lever {label!r} {_arm_words(sc)}; the reference {ref_label!r} {_arm_words(ref)}"


def uncertainty_draws(scenario: Scenario, spec: CompareSpec, seed: int, file: str | Path | None = None) -> tuple[pd.DataFrame | None, str]:
    """Parameter draws shared by every lever, and a sentence saying where they come from."""
    unc = spec.uncertainties
    if isinstance(unc, dict):
        check_float_paths(scenario, list(unc), file, ("compare", "uncertainties"))
        rng = keyed_generator(seed, StreamKey.DESIGN)
        n = 4096
        draws = pd.DataFrame({p: rng.uniform(lo, hi, n) for p, (lo, hi) in unc.items()})
        return draws, f"uniform draws of {', '.join(unc)} ({n} draws, resampled per replicate)"
    if unc == "posterior":
        post = scenario.uncertainty.posterior if scenario.uncertainty else None
        if post is None:
            return None, "fixed parameters (the scenario names no uncertainty.posterior)"
        try:
            draws = load_draws(scenario, Path(file).parent if file else None)
        except UserError as exc:
            if "not found" not in exc.message:
                raise
            return None, f"fixed parameters ({post} not found: run `escalation calibrate` for posterior draws)"
        return draws, f"posterior draws from {post} ({len(draws)} rows)"
    return None, "fixed parameters (uncertainties: fixed)"


def corner_count(scenario: Scenario, spec: CompareSpec, file: str | Path | None = None) -> int:
    """How many unidentified parameters the robustness check will hold at two corners (for the budget)."""
    from experiments.analysis.robustness import corner_parameters

    if not isinstance(spec.uncertainties, str) or spec.uncertainties != "posterior":
        return 0
    draws, _ = uncertainty_draws(scenario, spec, scenario.seed, file)
    return len(corner_parameters(draws, {"_": scenario}))


# --------------------------------------------------------------------------- running


@dataclass
class CompareResult:
    summary: pd.DataFrame  # one row per (policy, replicate)
    daily: pd.DataFrame  # per (policy, variable, day): mean and quantiles over replicates
    ladder: pd.DataFrame  # per (policy, level): share of replicates whose max is level, share of days at level
    table: pd.DataFrame = field(default_factory=pd.DataFrame)  # per (policy, outcome): estimate, CI, paired diff
    ladder_daily: pd.DataFrame = field(default_factory=pd.DataFrame)  # per (policy, day, level): share of replicates
    robustness: pd.DataFrame | None = None  # per (policy, outcome, unidentified parameter): differences at its corners
    verdicts: pd.DataFrame | None = None  # per (policy, outcome): the plain verdict, P(better), minimax regret


def lever_design(scenario: Scenario, scenarios: dict[str, Scenario], seed: int, replicates: int, draws: pd.DataFrame | None,
                 identity: dict[str, Any]) -> Design:
    """The levers as design points: every lever runs the same seed, blocks and per-block parameter
    draws (common random numbers); ``identity``: what makes this comparison (spec hash)."""
    levers = list(scenarios.values())
    ident = {"v": STORE_VERSION, "kind": "compare", **identity, "levers": [sc.identity_hash() for sc in levers],
             "seed": seed, "replicates": replicates, "summary_only": False}
    return Design("compare", scenario, [{"policy": label} for label in scenarios], seed, replicates, ident,
                  ("daily", "summary"), block_size=levers[0].block_size, scenarios=levers, draws=draws,
                  meta={"levers": list(scenarios)}, columns={"daily": DAILY_STORED})


def run_levers(scenario: Scenario, scenarios: dict[str, Scenario], seed: int, replicates: int, draws: pd.DataFrame | None,
               identity: dict[str, Any], store: Path | None = None, executor: Executor | int | None = None,
               resume: bool = False, force: bool = False) -> CompareResult:
    """Run every lever on the same seed, blocks and parameter draws (common random numbers) through
    the resumable store ``store`` (default: a temporary one), then tabulate."""
    design = lever_design(scenario, scenarios, seed, replicates, draws, identity)
    with _store(store) as folder:
        outcome = run_design(design, folder, executor, resume=resume, force=force)
        summary, daily = design_tables(outcome, "summary"), design_tables(outcome, "daily")
    return lever_tables(list(scenarios), summary, daily, {label: sc.days for label, sc in scenarios.items()})


@contextmanager
def _store(store: Path | None) -> Iterator[Path]:
    if store is not None:
        yield Path(store)
        return
    with tempfile.TemporaryDirectory(prefix="escalation-store-") as tmp:
        yield Path(tmp) / STORE


def lever_tables(labels: list[str], summary: pd.DataFrame, daily: pd.DataFrame, days: Any) -> CompareResult:
    """The comparison's tables from the design's per-replicate summary and daily tables (point = lever;
    ``days``: the levers' days, one list for all or a mapping label -> list when unpaired levers differ)."""
    summaries, daily_q, ladder, ladder_daily = [], [], [], []
    for point, label in enumerate(labels):
        dates = pd.to_datetime(pd.Series(days[label] if isinstance(days, dict) else days))
        n_days = len(dates)
        s = summary[summary.point == point].drop(columns="point").reset_index(drop=True)
        s.insert(0, "policy", label)
        s["attacks_stopped"] = attacks_stopped(s["attacks_stop_day"])
        s["days_until_stop"] = days_until_stop(s["attacks_stop_day"], n_days)
        summaries.append(s)
        d = daily[daily.point == point]
        arr = {k: d[k].to_numpy().astype(float).reshape(n_days, -1) for k in ("attacks_total", "escalation_level", "war")}
        arr["cum_attacks"] = np.cumsum(arr["attacks_total"], axis=0)
        red_sea = "ships_attacked" in d and d["ships_attacked"].notna().all()  # the Houthis are on (model/actors/houthis.py)
        if red_sea:
            arr["cum_ships"] = np.cumsum(d["ships_attacked"].to_numpy().astype(float).reshape(n_days, -1), axis=0)
        for var in DAILY_AGG + (("cum_ships",) if red_sea else ()):
            x = arr[var]
            q = np.quantile(x, QUANTILES, axis=1)
            frame = pd.DataFrame({"policy": label, "variable": var, "day": np.arange(n_days), "date": dates, "mean": x.mean(axis=1)})
            for qi, qv in zip(QUANTILES, q):
                frame[f"q{round(qi * 100):02d}"] = qv
            daily_q.append(frame)
        levels = np.arange(LADDER_LEVELS)
        max_level = s["max_escalation_level"].to_numpy()
        lv = arr["escalation_level"].astype(int)
        ladder.append(pd.DataFrame({
            "policy": label, "level": levels,
            "share_max": [(max_level == k).mean() for k in levels],
            "share_days": [(lv == k).mean() for k in levels],
        }))
        shares = np.stack([(lv == k).mean(axis=1) for k in levels], axis=1)  # (T, L)
        ladder_daily.append(pd.DataFrame({"policy": label, "day": np.repeat(np.arange(n_days), len(levels)),
                                          "date": np.repeat(dates.to_numpy(), len(levels)),
                                          "level": np.tile(levels, n_days), "share": shares.reshape(-1)}))
    return CompareResult(pd.concat(summaries, ignore_index=True), pd.concat(daily_q, ignore_index=True),
                         pd.concat(ladder, ignore_index=True), ladder_daily=pd.concat(ladder_daily, ignore_index=True))


# --------------------------------------------------------------------------- statistics


def bootstrap_mean(x: np.ndarray, resamples: int = 2000, confidence: float = 0.95, random_state: int = 12345) -> tuple[float, float, float]:
    """Mean with a percentile bootstrap interval (scipy.stats.bootstrap). Constant data -> a zero-width interval."""
    from scipy.stats import bootstrap

    x = np.asarray(x, dtype=float)
    est = float(x.mean())
    if len(x) < 2 or np.all(x == x[0]):
        return est, est, est
    res = bootstrap((x,), np.mean, n_resamples=resamples, confidence_level=confidence, method="percentile",
                    vectorized=True, random_state=np.random.default_rng(random_state))
    return est, float(res.confidence_interval.low), float(res.confidence_interval.high)


def bootstrap_diff(x: np.ndarray, y: np.ndarray, resamples: int = 2000, confidence: float = 0.95,
                   random_state: int = 12345) -> tuple[float, float, float]:
    """Difference of two independent samples' means with a percentile bootstrap interval (unpaired levers)."""
    from scipy.stats import bootstrap

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    est = float(x.mean() - y.mean())
    if len(x) < 2 or len(y) < 2 or (np.all(x == x[0]) and np.all(y == y[0])):
        return est, est, est
    res = bootstrap((x, y), lambda a, b, axis=-1: a.mean(axis=axis) - b.mean(axis=axis), n_resamples=resamples,
                    confidence_level=confidence, method="percentile", vectorized=True,
                    random_state=np.random.default_rng(random_state))
    return est, float(res.confidence_interval.low), float(res.confidence_interval.high)


def outcome_table(summary: pd.DataFrame, reference: str, boot: BootstrapSpec | None = None,
                  outcomes: tuple[tuple[str, str, str], ...] = OUTCOMES, unpaired: set[str] | frozenset[str] = frozenset()) -> pd.DataFrame:
    """Per (policy, outcome): estimate with interval, the difference to ``reference`` and P(better).

    The paired difference bootstraps the per-replicate differences (replicate k of every policy
    shares its random streams and parameter draw), which is the paired bootstrap for a difference of
    means; ``p_better`` is the share of draws in which the policy does better than the reference
    (ties count half; NaN for outcomes with no better direction). Levers in ``unpaired``
    (``--allow-unpaired``) get the unpaired bootstrap and no P(better); the ``paired`` column says which.
    """
    boot = boot or BootstrapSpec()
    kw = dict(resamples=boot.resamples, confidence=boot.confidence, random_state=boot.random_state)
    ref = summary[summary.policy == reference].set_index("replicate").sort_index()
    rows = []
    for policy, s in summary.groupby("policy", sort=False):
        s = s.set_index("replicate").sort_index()
        paired = policy not in unpaired
        if paired and not s.index.equals(ref.index):
            raise ValueError(f"policy {policy!r} and reference {reference!r} have different replicates")
        for col, label, kind in outcomes:
            x = s[col].to_numpy(float)
            est, lo, hi = bootstrap_mean(x, **kw)
            r = ref[col].to_numpy(float)
            d, dlo, dhi = bootstrap_mean(x - r, **kw) if paired else bootstrap_diff(x, r, **kw)
            rows.append(dict(policy=policy, outcome=col, label=label, kind=kind, estimate=est, ci_low=lo, ci_high=hi,
                             diff=d, diff_low=dlo, diff_high=dhi, reference=reference, replicates=len(x), paired=paired,
                             p_better=p_better(x - r, col) if paired else float("nan")))
    return pd.DataFrame(rows)


# which way is better, per outcome (-1: lower, +1: higher); outcomes not listed have no better direction
BETTER = {"attacks_total": -1, "us_injured": -1, "us_killed": -1, "war": -1, "withdrawal_demanded": -1, "days_until_stop": -1,
          "mean_escalation_level": -1, "max_escalation_level": -1, "attacks_stopped": 1,
          "ships_attacked": -1, "warship_attacks": -1}


def p_better(diff: np.ndarray, outcome: str) -> float:
    """Share of paired draws in which the policy beats the reference (ties half), NaN without a direction."""
    sign = BETTER.get(outcome)
    if sign is None or len(diff) == 0:
        return float("nan")
    d = sign * np.asarray(diff, dtype=float)
    return float((d > 0).mean() + 0.5 * (d == 0).mean())


def stop_notes(summary: pd.DataFrame) -> pd.DataFrame:
    """Share of replicates whose attacks stopped and the median stop day among those (per policy)."""
    g = summary.groupby("policy", sort=False)["attacks_stop_day"]
    return pd.DataFrame({"share_stopped": g.apply(lambda x: x.notna().mean()), "median_stop_day_if_stopped": g.median()}).reset_index()


# --------------------------------------------------------------------------- writing and plotting


def write_compare(result: CompareResult, out: Path, manifest_data: dict[str, Any]) -> list[str]:
    from experiments.runner.run import atomic_write_bytes, atomic_write_json, atomic_write_parquet, bind_tables

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(result.summary, out / "summary.parquet")
    atomic_write_parquet(result.daily, out / "daily_quantiles.parquet")
    atomic_write_parquet(result.ladder, out / "ladder.parquet")
    atomic_write_parquet(result.table, out / "table.parquet")
    atomic_write_bytes(out / "table.csv", result.table.to_csv(index=False).encode())
    files = ["summary.parquet", "daily_quantiles.parquet", "ladder.parquet", "table.parquet", "table.csv"]
    if result.robustness is not None and result.verdicts is not None:
        from experiments.analysis.robustness import write_robustness

        files += write_robustness(result.robustness, result.verdicts, out)
    if len(result.ladder_daily):
        atomic_write_parquet(result.ladder_daily, out / "ladder_daily.parquet")
        files.append("ladder_daily.parquet")
    confidence = ((manifest_data.get("compare") or {}).get("bootstrap") or {}).get("confidence", 0.95)
    tables = bind_tables(out, [f for f in files if f.endswith(".parquet")])  # receipts: report checks them
    files += plot_compare(out, confidence=confidence)
    atomic_write_json({**manifest_data, "files": files, "tables": tables}, out / "manifest.json")
    return files


def _grid(n: int, ncol: int = 4) -> tuple[int, int]:
    ncol = min(ncol, n)
    return -(-n // ncol), ncol


def plot_compare(out: Path, confidence: float = 0.95) -> list[str]:
    """Figures from the written tables (never from models), in the house style."""
    from experiments.analysis.plots import house_style

    with house_style():
        return _plot_compare(out, confidence)


def _plot_compare(out: Path, confidence: float) -> list[str]:
    import matplotlib.pyplot as plt
    import seaborn as sns

    from experiments.analysis.plots import date_axis, figure_title, ladder_colors, level_labels, place_labels

    table = pd.read_parquet(out / "table.parquet")
    daily = pd.read_parquet(out / "daily_quantiles.parquet")
    ladder = pd.read_parquet(out / "ladder.parquet")
    summary = pd.read_parquet(out / "summary.parquet")
    policies = list(dict.fromkeys(table.policy))
    ref = table.reference.iloc[0]
    n = int(table.replicates.iloc[0]) if "replicates" in table else None
    colors = dict(zip(policies, sns.color_palette("deep", len(policies))))
    sub = f"{len(policies)} U.S. policies on common random numbers" + (f", {n} replicates each" if n else "") + f"; reference {ref}"
    files: list[str] = []

    # point-range per outcome: the mean's interval (thick) and the spread of single runs (thin)
    outcomes = list(dict.fromkeys(table.outcome))
    nrow, ncol = _grid(len(outcomes), 3)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.3 * ncol, 0.32 * len(policies) * nrow + 1.3 * nrow + 0.8), squeeze=False, sharey=True)
    y = np.arange(len(policies))
    pct = f"{confidence:.0%}"
    for ax, oc in zip(axes.flat, outcomes):
        t = table[table.outcome == oc].set_index("policy").loc[policies]
        if oc in summary and t.kind.iloc[0] != "prob":
            runs = summary.groupby("policy")[oc].quantile([0.05, 0.95]).unstack().loc[policies]
            ax.hlines(y, runs[0.05], runs[0.95], color="0.7", lw=1, label="5-95% of single runs")
        ax.hlines(y, t.ci_low, t.ci_high, color="black", lw=3, label=f"{pct} interval of the mean")
        ax.scatter(t.estimate, y, c=[colors[p] for p in policies], s=28, zorder=3, label="mean")
        ax.set_title(t.label.iloc[0], fontsize=9.5)
        if t.kind.iloc[0] == "prob":
            ax.set_xlim(-0.02, max(0.05, float(t.ci_high.max()) * 1.15))
    axes[0][0].set_yticks(y, policies)
    axes[0][0].invert_yaxis()
    for ax in list(axes.flat)[len(outcomes):]:
        ax.axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", ncol=3, fontsize=8, frameon=False)
    figure_title(fig, "Outcomes by policy",
                 f"{sub}. Dot: mean over replicates; thick: its {pct} bootstrap interval (how well the mean is known); "
                 "thin grey: 5-95 % of single runs (how different one run can be). Probabilities: share of runs.")
    files += save_into(fig, out, "pointrange")

    # trade-off: attacks deterred vs war risk
    att = table[table.outcome == "attacks_total"].set_index("policy").loc[policies]
    war = table[table.outcome == "war"].set_index("policy").loc[policies]
    fig, ax = plt.subplots(figsize=(7, 5))
    for p in policies:
        x, yv = -att.loc[p, "diff"], war.loc[p, "estimate"]
        ax.errorbar(x, yv, xerr=[[x - (-att.loc[p, "diff_high"])], [-att.loc[p, "diff_low"] - x]],
                    yerr=[[yv - war.loc[p, "ci_low"]], [war.loc[p, "ci_high"] - yv]], fmt="o", color=colors[p], capsize=2)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(f"attacks deterred vs {ref} (mean paired difference per run)")
    ax.set_ylabel("P(direct U.S.-Iran war)")
    ax.margins(x=0.18, y=0.15)  # room for the labels
    figure_title(fig, "Deterrence vs war risk", f"{sub}; bars: {pct} bootstrap intervals")
    place_labels(ax, [-att.loc[p, "diff"] for p in policies], [war.loc[p, "estimate"] for p in policies], policies,
                 colors=[tuple(0.75 * c for c in colors[p]) for p in policies])  # the policy's colour, darker
    files += save_into(fig, out, "tradeoff")

    # escalation curves: one panel per policy, median and bands, the reference's median in every panel
    nrow, ncol = _grid(len(policies))
    files += _curves(daily, "cum_attacks", policies, ref, colors, "cumulative attacks", "Cumulative attacks by policy", sub, out,
                     "escalation_curves")
    if (daily.variable == "cum_ships").any():  # the Red Sea theatre is on
        files += _curves(daily, "cum_ships", policies, ref, colors, "cumulative ships attacked",
                         "Red Sea: cumulative ships attacked by policy", sub, out, "red_sea_curves")

    # the ladder per day: share of runs at each level, one panel per policy
    labels = level_labels()
    lcolors = ladder_colors(len(labels))
    ld_path = out / "ladder_daily.parquet"
    if ld_path.exists():
        ld = pd.read_parquet(ld_path)
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.7 * nrow + 1.6), squeeze=False, sharex=True, sharey=True)
        for ax, p in zip(axes.flat, policies):
            w = ld[ld.policy == p].pivot(index="date", columns="level", values="share").reindex(columns=range(len(labels)), fill_value=0)
            ax.stackplot(w.index, w.to_numpy().T, colors=lcolors, labels=labels, lw=0)
            ax.set_ylim(0, 1)
            ax.set_xlim(w.index[0], w.index[-1])
            ax.set_title(p)
            ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
            date_axis(ax)
        for ax in list(axes.flat)[len(policies):]:
            ax.axis("off")
        for ax in axes[:, 0]:
            ax.set_ylabel("share of runs")
        h, lab = axes[0][0].get_legend_handles_labels()
        fig.legend(h[::-1], lab[::-1], title="escalation level", loc="lower center", ncol=4, fontsize=7.5,
                   bbox_to_anchor=(0.5, 0.0), frameon=False)
        figure_title(fig, "Escalation ladder by policy: share of runs at each level, per day", sub)
        fig.subplots_adjust(bottom=1.25 / fig.get_figheight())
        files += save_into(fig, out, "ladder_daily")

    # ladder distributions: highest rung reached and days on each rung
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.4 * len(policies) + 2.6), sharey=True)
    for ax, col, title in ((axes[0], "share_max", "Highest level reached (share of runs)"),
                           (axes[1], "share_days", "Share of days at each level")):
        left = np.zeros(len(policies))
        for level in range(len(labels)):
            vals = ladder[ladder.level == level].set_index("policy").reindex(policies)[col].fillna(0).to_numpy()
            ax.barh(policies, vals, left=left, color=lcolors[level], label=labels[level])
            left += vals
        ax.set_title(title)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    axes[0].invert_yaxis()
    axes[1].legend(title="escalation level", bbox_to_anchor=(1.01, 1), loc="upper left", fontsize=7.5)
    figure_title(fig, "Escalation ladder by policy", sub)
    files += save_into(fig, out, "ladder")
    return files


def print_table(table: pd.DataFrame, console: Any, title: str = "") -> None:
    """Outcome x policy rows; estimate, interval, paired difference and its interval in their own columns
    (numbers never wrap, names fold: experiments.analysis.tables)."""
    from experiments.analysis.tables import console_table

    policies = list(dict.fromkeys(table.policy))
    ref = table.reference.iloc[0]
    nums = ["mean", "95% CI", "Δ", "Δ 95% CI"]
    short = max(map(len, policies)) <= 16  # policy names stay whole; the outcome labels fold
    t = console_table(title or f"Outcomes per policy: mean and 95% bootstrap interval; Δ = paired difference to {ref}",
                      ["outcome", "policy", *nums], right=nums, whole=["policy"] if short else ())
    for oc in dict.fromkeys(table.outcome):
        rows = table[table.outcome == oc].set_index("policy")
        fmt = "{:.3f}" if rows.kind.iloc[0] == "prob" else "{:.1f}"
        for i, p in enumerate(policies):
            r = rows.loc[p]
            diff = ["", ""] if p == ref else [fmt.format(r["diff"]), f"[{fmt.format(r.diff_low)}, {fmt.format(r.diff_high)}]"]
            t.add_row(rows.label.iloc[0] if i == 0 else "", p, fmt.format(r.estimate),
                      f"[{fmt.format(r.ci_low)}, {fmt.format(r.ci_high)}]", *diff, end_section=i == len(policies) - 1)
    console.print(t)


def compare(file: str | Path, replicates: int | None = None, seed: int | None = None, executor: Executor | int | None = None,
            store: Path | None = None, resume: bool = False, force: bool = False,
            overrides: Overrides | None = None, allow_unpaired: bool = False,
            robustness_replicates: int | None = None) -> tuple[Scenario, CompareSpec, CompareResult, dict[str, Any]]:
    """Load, run and tabulate a compare scenario (only the task ``store`` written: default a temporary one; ``overrides``: ``--set`` values).

    With posterior draws that mark parameters as not identified, also the robustness check
    (:mod:`experiments.analysis.robustness`) on ``compare.robustness_replicates`` replicates per lever and corner."""
    scenario, spec, raw = load_block(file, "compare", CompareSpec, overrides)
    replicates = spec.replicates if replicates is None else replicates
    if replicates < 2:
        raise UserError(f"a comparison needs at least 2 replicates, got {replicates}", path=("compare", "replicates"))
    seed = scenario.seed if seed is None else seed
    levers = lever_scenarios(raw, spec, file, overrides=overrides, held=scenario.held, allow_unpaired=allow_unpaired)
    unpaired = {label for label, sc in levers.items() if arm(sc) != arm(levers[spec.reference])}
    draws, note = uncertainty_draws(scenario, spec, seed, file)
    result = run_levers(scenario, levers, seed, replicates, draws, {"scenario": spec_hash(scenario, spec)}, store, executor,
                        resume=resume, force=force)
    result.table = outcome_table(result.summary, spec.reference, spec.bootstrap, outcomes=outcomes_for(scenario), unpaired=unpaired)
    held = {label: held_fixed(sc.held, draws.columns) for label, sc in levers.items()} if draws is not None else {}
    held = {k: v for k, v in held.items() if v}
    # corners need no more replicates than the comparison itself (-n 20 runs corners of 20)
    n_rob = min(spec.robustness_replicates if robustness_replicates is None else robustness_replicates, replicates)
    rob_info: dict[str, Any] = {}
    if n_rob >= 2 and not unpaired:
        from experiments.analysis.robustness import corner_parameters, corners, robustness

        def corner_run(corner: dict[str, Scenario], tag: str) -> pd.DataFrame:
            res = run_levers(scenario, corner, seed, n_rob, draws, {"scenario": spec_hash(scenario, spec), "corner": tag}, None, executor)
            return res.summary

        outcomes = [c for c, _, _ in outcomes_for(scenario)]
        result.robustness, result.verdicts = robustness(levers, spec.reference, draws, outcomes, BETTER, corner_run, result.table)
        params = corner_parameters(draws, levers)
        rob_info = {"robustness": {"replicates": n_rob, "parameters": params,
                                   "corners": {p: list(v) for p, v in (corners(draws, params) if params else {}).items()},
                                   "regret_over": "each unidentified parameter at its 5th and 95th posterior percentile, one at a time"}}
    varied = [*(spec.uncertainties if isinstance(spec.uncertainties, dict) else ()), *scenario.held]
    notice = notice_for(scenario, draws, varied=varied)
    info = {**notice_manifest(notice), "uncertainties": note, "levers": {k: v.united_states.policy.model_dump(mode="json") for k, v in levers.items()},
            "compare": spec.model_dump(mode="json"), "reference": spec.reference,
            "attacks_stop": stop_notes(result.summary).to_dict(orient="records"),
            **({"held_fixed": held} if held else {}), **({"unpaired": sorted(unpaired)} if unpaired else {}), **rob_info}
    return scenario, spec, result, info


def _curves(daily: pd.DataFrame, variable: str, policies: list, ref: str, colors: dict, ylabel: str, title: str, sub: str,
            out: Path, stem: str) -> list[str]:
    """One panel per policy: the median of a cumulative daily variable with 50 % and 90 % bands, the reference's
    median dashed in every other panel."""
    import matplotlib.pyplot as plt

    from experiments.analysis.plots import date_axis, figure_title

    nrow, ncol = _grid(len(policies))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.9 * nrow + 0.9), squeeze=False, sharex=True, sharey=True)
    cum = daily[daily.variable == variable]
    ref_curve = cum[cum.policy == ref]
    for ax, p in zip(axes.flat, policies):
        d = cum[cum.policy == p]
        ax.fill_between(d.date, d.q05, d.q95, color=colors[p], alpha=0.18, lw=0, label="90% band")
        ax.fill_between(d.date, d.q25, d.q75, color=colors[p], alpha=0.4, lw=0, label="50% band")
        ax.plot(d.date, d.q50, color=colors[p], lw=2, label="median")
        if p != ref:
            ax.plot(ref_curve.date, ref_curve.q50, color="0.3", lw=1, ls="--", label=f"{ref} median")
        ax.set_title(p)
        date_axis(ax)
        ax.set_ylim(bottom=0)
    for ax in list(axes.flat)[len(policies):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    legend_ax = next((a for a, p in zip(axes.flat, policies) if p != ref), axes[0][0])  # a panel with the reference line
    fig.legend(*legend_ax.get_legend_handles_labels(), loc="lower right", ncol=4, fontsize=8, frameon=False)
    figure_title(fig, title, f"{sub}; median with 50 % and 90 % bands over replicates")
    return save_into(fig, out, stem)
