"""Figures of a sweep folder (``escalation plot SWEEP_DIR``), as the EMA Workbench draws experiments.

Read from the sweep's tables only (``experiments.runner.sweep.load_sweep``), written into ``DIR/figures/``:

* ``envelopes``: per lever setting, the 5-95 % envelope over all runs and the median of cumulative
  attacks, cumulative U.S. strike targets, cumulative U.S. killed, and the share of runs at war, per
  day (EMA's ``envelopes``); needs the daily tables (not a ``--summary-only`` sweep);
* ``lines``: one line per design point (median over its replicates) of cumulative attacks, coloured
  by lever setting (EMA's ``lines``);
* ``pairs``: pairwise scatter of per-run outcomes, coloured by lever setting (EMA's ``pairs_scatter``);
* ``outcomes_by_uncertainty``: each outcome against each swept uncertainty, per-point means by lever
  with their 95 % intervals (error bars);
* ``outcomes_by_lever``: each outcome's mean per lever setting over all its runs (every uncertainty point
  and replicate), with its 95 % interval and the number of runs n.

Intervals (``experiments.analysis.intervals``) are percentile bootstraps of the mean (fixed seed), or for a
share of runs (P(war)) the Wilson score interval: they say how far a mean could move with other
replicates, so differences inside them may be noise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.scenario.errors import UserError
from experiments.runner.run import read_manifest

PAIR_OUTCOMES = ("attacks_total", "us_strikes", "us_killed", "militia_killed", "mean_escalation_level")
OUTCOME_LABEL = {
    "attacks_total": "total attacks", "us_strikes": "U.S. strike targets", "us_killed": "U.S. killed",
    "militia_killed": "militia fighters killed", "mean_escalation_level": "mean escalation level", "war": "P(war)",
}
ENVELOPES = (("attacks_total", "cumulative attacks"), ("us_strikes", "cumulative U.S. strike targets"),
             ("us_killed", "cumulative U.S. killed"), ("war", "share of runs at war"))
MAX_PAIR_POINTS = 4000  # scatter at most this many runs (a fixed, seeded subsample)


def is_sweep(folder: str | Path) -> bool:
    return (Path(folder) / "points.parquet").exists()


def lever_labels(df: pd.DataFrame, levers: list[str]) -> pd.Series:
    """One readable label per lever setting ("restraint", or "policy.name=restraint, targets=3").

    A policy's own parameters (a sweep's per-policy sub-grids) are missing (NaN) in the other policies'
    rows and left out of their labels: "restraint", "proportional, targets_per_attack=2"."""
    levers = [c for c in levers if c in df]
    if not levers:
        return pd.Series("all points", index=df.index)
    if len(levers) == 1:
        return df[levers[0]].map(_fmt)
    policy = POLICY_NAME if POLICY_NAME in levers else None

    def label(r: pd.Series) -> str:
        parts = [] if policy is None else [_fmt(r[policy])]
        parts += [f"{c.rsplit('.', 1)[-1]}={_fmt(r[c])}" for c in levers if c != policy and not _missing(r[c])]
        return ", ".join(parts)

    return df[levers].apply(label, axis=1)


POLICY_NAME = "united_states.policy.name"


def _short(path: str) -> str:
    """A lever's name for subtitles: the U.S. policy and its parameters by their own names."""
    return "U.S. policy" if path == POLICY_NAME else path.replace("united_states.policy.params.", "policy parameter ")


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _with_strikes(df: pd.DataFrame) -> pd.DataFrame:
    if {"us_strikes_syria", "us_strikes_iraq"} <= set(df.columns):
        df = df.assign(us_strikes=df.us_strikes_syria + df.us_strikes_iraq)
    return df


def plot_sweep(folder: str | Path) -> list[Path]:
    """Draw every sweep figure into ``folder/figures`` (PNG and SVG); returns the files written."""
    from experiments.analysis.plots import house_style, save_figure
    from experiments.runner.sweep import load_sweep

    folder = Path(folder)
    manifest = read_manifest(folder, written_by="`escalation sweep`")
    levers, uncertainties = list(manifest.get("levers") or []), list(manifest.get("uncertainties") or [])
    summary = _with_strikes(load_sweep(folder))
    summary["lever"] = lever_labels(summary, levers)
    order = list(dict.fromkeys(summary.sort_values("point").lever))
    sub = (f"sweep {manifest.get('scenario_name', folder.name)}: {summary.point.nunique()} design points x "
           f"{manifest.get('replicates', '?')} replicates (n per point), {len(summary)} runs; colour: "
           + (", ".join(_short(c) for c in levers) if levers else "all points"))
    figures: dict[str, Any] = {}
    with house_style():
        try:
            daily = _with_strikes(load_sweep(folder, daily=True))
        except UserError:
            daily = None  # summary-only sweep: no curves over time
        if daily is not None:
            daily["lever"] = lever_labels(daily, levers)
            figures["envelopes"] = fig_envelopes(daily, order, sub)
            figures["lines"] = fig_lines(daily, order, sub)
        figures["pairs"] = fig_pairs(summary, order, sub)
        figures["outcomes_by_lever"] = fig_by_lever(summary, order, sub)
        if uncertainties:
            figures["outcomes_by_uncertainty"] = fig_by_uncertainty(summary, uncertainties, order, sub)
        written: list[Path] = []
        for name, fig in figures.items():
            written += save_figure(fig, folder / "figures" / name, dpi=100)
    return written


def _palette(order: list[str]) -> dict[str, Any]:
    import seaborn as sns

    return dict(zip(order, sns.color_palette("deep", len(order))))


def _cumulative(daily: pd.DataFrame, col: str) -> np.ndarray:
    d = daily.sort_values(["point", "replicate", "day"])
    return d.groupby(["point", "replicate"])[col].cumsum().to_numpy() if col != "war" else d[col].astype(float).to_numpy()


def _per_day(daily: pd.DataFrame, col: str) -> pd.DataFrame:
    """Per (lever, date): q05, q50, q95 of the cumulative outcome over all runs (share for war)."""
    d = daily.sort_values(["point", "replicate", "day"]).copy()
    d["value"] = _cumulative(daily, col)
    g = d.groupby(["lever", "date"])["value"]
    if col == "war":  # a share: its mean with its 95 % (Wilson) interval per day
        return _mean_bands(d, "value").rename(columns={"mean": "q50", "ci_low": "q05", "ci_high": "q95"})
    return g.quantile([0.05, 0.5, 0.95]).unstack().rename(columns={0.05: "q05", 0.5: "q50", 0.95: "q95"})


def _mean_bands(d: pd.DataFrame, col: str, by: str = "lever") -> pd.DataFrame:
    """Per (``by``, date): mean of ``col`` over runs and its 95 % bootstrap band (each run resampled whole,
    so the days of one resample are one set of runs)."""
    from experiments.analysis.intervals import curve_intervals

    parts = []
    for key, g in d.groupby(by, sort=False):
        wide = g.pivot_table(index=["point", "replicate"], columns="date", values=col, aggfunc="first")
        band = curve_intervals(wide.to_numpy(dtype=float))
        band.index = pd.MultiIndex.from_product([[key], wide.columns], names=[by, "date"])
        parts.append(band.assign(n=len(wide)))
    return pd.concat(parts)


def fig_envelopes(daily: pd.DataFrame, order: list[str], sub: str):
    import matplotlib.pyplot as plt

    from experiments.analysis.plots import date_axis, figure_title

    colors = _palette(order)
    fig, axes = plt.subplots(2, 2, figsize=(12, 7.5), sharex=True)
    for ax, (col, label) in zip(axes.flat, ENVELOPES):
        if col not in daily:
            ax.axis("off")
            continue
        q = _per_day(daily, col)
        for lev in order:
            if lev not in q.index.get_level_values(0):
                continue
            d = q.loc[lev]
            if d["q05"].notna().any():
                ax.fill_between(d.index, d.q05, d.q95, color=colors[lev], alpha=0.18, lw=0)
            n = int((daily.lever == lev).sum() // max(daily.date.nunique(), 1))
            ax.plot(d.index, d.q50, color=colors[lev], lw=2, label=f"{lev} (n = {n})")
        ax.set_title(label + (": mean, 95 % interval" if col == "war" else ""))
        ax.set_ylim(bottom=0)
        if col == "war":
            ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        date_axis(ax)
    axes[0][0].legend(title="lever", loc="upper left")
    figure_title(fig, "Envelopes by lever: 5-95 % of all runs (band) and median (line); share at war: mean and its "
                 "95 % Wilson interval", sub + "; n = runs per lever setting")
    return fig


def fig_lines(daily: pd.DataFrame, order: list[str], sub: str):
    import matplotlib.pyplot as plt

    from experiments.analysis.plots import date_axis, figure_title

    colors = _palette(order)
    d = daily.sort_values(["point", "replicate", "day"]).copy()
    d["cum"] = _cumulative(daily, "attacks_total")
    bands = _mean_bands(d, "cum", by="point").reset_index()
    lever_of = d.drop_duplicates("point").set_index("point").lever
    fig, ax = plt.subplots(figsize=(11, 5))
    for point, g in bands.groupby("point", sort=False):
        c = colors[lever_of[point]]
        ax.fill_between(g.date, g.ci_low, g.ci_high, color=c, alpha=0.12, lw=0)
        ax.plot(g.date, g["mean"], color=c, lw=1, alpha=0.9)
    from matplotlib.lines import Line2D

    n = int(bands.n.min()), int(bands.n.max())
    ax.legend(handles=[Line2D([], [], color=colors[lev], lw=2, label=lev) for lev in order], title="lever", loc="upper left")
    ax.set_ylabel("cumulative attacks (mean over replicates)")
    ax.set_xlabel("date")
    ax.set_ylim(bottom=0)
    date_axis(ax)
    figure_title(fig, "Lines: cumulative attacks, one line per design point (mean, 95 % bootstrap band)",
                 sub + f"; n = {n[0]}" + (f"-{n[1]}" if n[1] != n[0] else "") + " runs per point")
    return fig


def fig_pairs(summary: pd.DataFrame, order: list[str], sub: str):
    import seaborn as sns

    from experiments.analysis.plots import figure_title

    cols = [c for c in PAIR_OUTCOMES if c in summary]
    data = summary[cols + ["lever"]]
    if len(data) > MAX_PAIR_POINTS:
        data = data.sample(MAX_PAIR_POINTS, random_state=0)
    grid = sns.pairplot(data.rename(columns=OUTCOME_LABEL), hue="lever", hue_order=order, corner=True, height=2.1,
                        plot_kws={"s": 10, "alpha": 0.5, "linewidth": 0}, diag_kind="kde", diag_kws={"common_norm": False, "warn_singular": False})
    if grid.legend is not None:
        grid.legend.set_title("lever")
    figure_title(grid.figure, "Outcomes against each other, by lever (one dot per run)",
                 sub + (f"; {MAX_PAIR_POINTS} runs drawn at random" if len(summary) > MAX_PAIR_POINTS else ""))
    return grid.figure


def fig_by_uncertainty(summary: pd.DataFrame, uncertainties: list[str], order: list[str], sub: str):
    import matplotlib.pyplot as plt

    from experiments.analysis.plots import figure_title

    colors = _palette(order)
    outs = [c for c in ("attacks_total", "us_killed", "war") if c in summary]
    numeric = [u for u in uncertainties if u in summary and pd.api.types.is_numeric_dtype(summary[u])]
    if not numeric:
        numeric = [u for u in uncertainties if u in summary][:1]
    from experiments.analysis.intervals import interval_table

    cells = summary.assign(war=summary["war"].astype(float)) if "war" in summary else summary
    table = interval_table(cells, ["point", "lever", *numeric], outs)
    fig, axes = plt.subplots(len(outs), len(numeric), figsize=(max(4.2 * len(numeric) + 1, 9.5), 2.8 * len(outs) + 0.9), squeeze=False)
    for j, u in enumerate(numeric):
        for i, o in enumerate(outs):
            ax = axes[i][j]
            for lev in order:
                g = table[(table.lever == lev) & (table.outcome == o)].sort_values(u)
                ax.errorbar(g[u], g["mean"], yerr=[g["mean"] - g.ci_low, g.ci_high - g["mean"]], fmt="o-", color=colors[lev],
                            ms=4, lw=1, capsize=2, elinewidth=0.8, label=lev)
            ax.set_xlabel(u if i == len(outs) - 1 else "")
            ax.set_ylabel(("mean " if o != "war" else "") + OUTCOME_LABEL.get(o, o) if j == 0 else "")
    axes[0][-1].legend(title="lever", loc="upper left", bbox_to_anchor=(1.01, 1))
    n = table.n.min(), table.n.max()
    figure_title(fig, "Outcomes against the swept uncertainties, by lever: mean over each point's replicates, 95 % "
                 "interval (bootstrap; Wilson for P(war))", sub + f"; n = {n[0]}" + (f"-{n[1]}" if n[1] != n[0] else "") + " runs per point")
    return fig


BY_LEVER = ("attacks_total", "us_killed", "militia_killed", "war", "withdrawal_demanded")


def lever_intervals(summary: pd.DataFrame, order: list[str] | None = None) -> pd.DataFrame:
    """Per lever setting and outcome: n runs (all its uncertainty points and replicates), mean and the 95 %
    interval of the mean (bootstrap; Wilson for the shares war and withdrawal_demanded)."""
    from experiments.analysis.intervals import interval_table

    outs = [c for c in BY_LEVER if c in summary]
    data = summary.assign(**{c: summary[c].astype(float) for c in outs})
    table = interval_table(data, "lever", outs)
    if order is not None:
        table["lever"] = pd.Categorical(table.lever, categories=order, ordered=True)
        table = table.sort_values(["lever"], kind="stable").assign(lever=lambda t: t.lever.astype(str))
    return table.reset_index(drop=True)


def fig_by_lever(summary: pd.DataFrame, order: list[str], sub: str):
    """One panel per outcome: each lever setting's mean with its 95 % interval, n beside it."""
    import matplotlib.pyplot as plt

    from experiments.analysis.plots import figure_title

    colors = _palette(order)
    table = lever_intervals(summary, order)
    outs = list(dict.fromkeys(table.outcome))
    ncol = min(3, len(outs))
    nrow = -(-len(outs) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol + 1.5, (0.45 * len(order) + 1.4) * nrow + 1.0), squeeze=False,
                             sharey=True)
    y = np.arange(len(order))
    for ax, o in zip(axes.flat, outs):
        t = table[table.outcome == o].set_index("lever").reindex(order)
        for k, lev in enumerate(order):
            r = t.loc[lev]
            ax.errorbar([r["mean"]], [k], xerr=[[r["mean"] - r.ci_low], [r.ci_high - r["mean"]]], fmt="o", color=colors[lev],
                        ms=6, capsize=3, elinewidth=1.2)
        hi = np.nanmax(t.ci_high.to_numpy(dtype=float)) if t.ci_high.notna().any() else 1.0
        for k, lev in enumerate(order):
            ax.annotate(f"n = {int(t.loc[lev, 'n'])}", (1, k), xycoords=("axes fraction", "data"), xytext=(-3, 0),
                        textcoords="offset points", ha="right", va="center", fontsize=8, color="0.35")
        share = o in ("war", "withdrawal_demanded")
        ax.set_xlim(left=min(0.0, float(np.nanmin(t.ci_low))), right=min((hi or 1.0) * 1.35, 1.12) if share else (hi or 1.0) * 1.35)
        ax.set_yticks(y, order)
        ax.invert_yaxis() if ax is axes.flat[0] else None
        ax.set_title(("P(war)" if o == "war" else "P(withdrawal demanded)" if o == "withdrawal_demanded"
                      else "mean " + OUTCOME_LABEL.get(o, o)))
        if share:
            ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    for ax in list(axes.flat)[len(outs):]:
        ax.axis("off")
    figure_title(fig, "Outcomes by lever: mean over all runs of each setting, 95 % interval (bootstrap; Wilson for shares)",
                 sub + "; n = runs per setting (all its uncertainty points and replicates); overlapping intervals: "
                 "the difference may be noise")
    return fig
