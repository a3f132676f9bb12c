"""Figures of a sweep folder (``escalation plot SWEEP_DIR``), as the EMA Workbench draws experiments.

Read from the sweep's tables only (``experiments.runner.sweep.load_sweep``), written into ``DIR/figures/``:

* ``envelopes``: per lever setting, the 5-95 % envelope over all runs and the median of cumulative
  attacks, cumulative U.S. strike targets, cumulative U.S. killed, and the share of runs at war, per
  day (EMA's ``envelopes``); needs the daily tables (not a ``--summary-only`` sweep);
* ``lines``: one line per design point (median over its replicates) of cumulative attacks, coloured
  by lever setting (EMA's ``lines``);
* ``pairs``: pairwise scatter of per-run outcomes, coloured by lever setting (EMA's ``pairs_scatter``);
* ``outcomes_by_uncertainty``: each outcome against each swept uncertainty, per-point means by lever.
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
    """One readable label per lever setting ("restraint", or "policy.name=restraint, targets=3")."""
    levers = [c for c in levers if c in df]
    if not levers:
        return pd.Series("all points", index=df.index)
    if len(levers) == 1:
        return df[levers[0]].map(_fmt)
    return df[levers].apply(lambda r: ", ".join(f"{c.rsplit('.', 1)[-1]}={_fmt(r[c])}" for c in levers), axis=1)


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
           f"{manifest.get('replicates', '?')} replicates, {len(summary)} runs; colour: "
           + (", ".join(levers) if levers else "all points"))
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
    if col == "war":
        return g.mean().rename("q50").to_frame().assign(q05=np.nan, q95=np.nan)
    return g.quantile([0.05, 0.5, 0.95]).unstack().rename(columns={0.05: "q05", 0.5: "q50", 0.95: "q95"})


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
            ax.plot(d.index, d.q50, color=colors[lev], lw=2, label=lev)
        ax.set_title(label)
        ax.set_ylim(bottom=0)
        if col == "war":
            ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        date_axis(ax)
    axes[0][0].legend(title="lever", loc="upper left")
    figure_title(fig, "Envelopes by lever: 5-95 % of all runs (band) and median (line)", sub)
    return fig


def fig_lines(daily: pd.DataFrame, order: list[str], sub: str):
    import matplotlib.pyplot as plt

    from experiments.analysis.plots import date_axis, figure_title

    colors = _palette(order)
    d = daily.sort_values(["point", "replicate", "day"]).copy()
    d["cum"] = _cumulative(daily, "attacks_total")
    med = d.groupby(["lever", "point", "date"])["cum"].median().reset_index()
    fig, ax = plt.subplots(figsize=(11, 5))
    for (lev, _), g in med.groupby(["lever", "point"], sort=False):
        ax.plot(g.date, g.cum, color=colors[lev], lw=1, alpha=0.8)
    from matplotlib.lines import Line2D

    ax.legend(handles=[Line2D([], [], color=colors[lev], lw=2, label=lev) for lev in order], title="lever", loc="upper left")
    ax.set_ylabel("cumulative attacks (median over replicates)")
    ax.set_xlabel("date")
    ax.set_ylim(bottom=0)
    date_axis(ax)
    figure_title(fig, "Lines: cumulative attacks, one line per design point", sub)
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
    means = summary.groupby(["point", "lever", *numeric], sort=False)[outs].mean(numeric_only=True).reset_index()
    fig, axes = plt.subplots(len(outs), len(numeric), figsize=(4.2 * len(numeric) + 1, 2.8 * len(outs) + 0.9), squeeze=False)
    for j, u in enumerate(numeric):
        for i, o in enumerate(outs):
            ax = axes[i][j]
            for lev in order:
                g = means[means.lever == lev].sort_values(u)
                ax.plot(g[u], g[o], "o-", color=colors[lev], ms=4, lw=1, label=lev)
            ax.set_xlabel(u if i == len(outs) - 1 else "")
            ax.set_ylabel(("mean " if o != "war" else "") + OUTCOME_LABEL.get(o, o) if j == 0 else "")
    axes[0][-1].legend(title="lever", loc="upper left", bbox_to_anchor=(1.01, 1))
    figure_title(fig, "Outcomes against the swept uncertainties, by lever (mean over each point's replicates)", sub)
    return fig
