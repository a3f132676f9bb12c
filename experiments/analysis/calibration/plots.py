"""The calibration's figures, drawn from its written tables (never from in-memory results)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def plot_calibration(out: Path) -> list[Path]:
    """Figures from the written tables (never from in-memory models) into ``out/figures``, in the house style."""
    from experiments.analysis.plots import house_style

    with house_style():
        return _plot_calibration(out)


def _plot_calibration(out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    import seaborn as sns

    from experiments.analysis.plots import (INTERVAL_LABEL, PROVENANCE, align_to_curve, date_axis, draw_observed, figure_title,
                                            observed_legend)

    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    pred = pd.read_parquet(out / "predictive.parquet")
    targets = pd.read_parquet(out / "targets.parquet")
    draws = pd.read_parquet(out / "posterior_draws.parquet")
    prior = pd.read_parquet(out / "prior_draws.parquet")
    observed = pd.read_parquet(out / "observed.parquet")
    start = pred["date"].min()
    files = []
    shown = observed.iloc[0:0]
    blue, grey = sns.color_palette("deep")[0], "0.6"  # the house palette (seaborn "deep"), as every other figure

    panels = [("attacks_total", "attacks, total"), ("attacks_iraq", "attacks, Iraq"), ("attacks_syria", "attacks, Syria"),
              ("us_strikes", "U.S. strike targets"), ("us_injured", "U.S. injured"), ("us_killed", "U.S. killed")]
    fig, axes = plt.subplots(2, 3, figsize=(14, 7), sharex=True)
    for ax, (q, title) in zip(axes.flat, panels):
        d = pred[pred["quantity"] == q]
        ax.fill_between(d["date"], d["q05"], d["q95"], alpha=0.15, color=blue, lw=0, label="90% band (posterior predictive)")
        ax.fill_between(d["date"], d["q25"], d["q75"], alpha=0.35, color=blue, lw=0, label="50% band")
        ax.plot(d["date"], d["q50"], color=blue, lw=2, label="median")
        match = observed[observed["quantity"] == q]
        if q == "us_strikes":  # total targets = Syria + Iraq counts over the same window
            strikes = observed[observed["quantity"].str.startswith("us_strikes")]
            match = strikes.groupby(["since", "date_start", "date_end", "report", "source", "measure"], as_index=False).agg(
                quantity=("quantity", "first"), value=("value", "sum"), bound=("bound", "first"),
                obs_low=("obs_low", "sum"), obs_high=("obs_high", "sum"))
        # single-day counts (since == report date) are not cumulative totals; later-starting counts are
        # lifted by the simulated median before their start
        match = align_to_curve(match[match["since"] < match["date_start"]], d.set_index("date")["q50"])
        draw_observed(ax, match, start, pred["date"].max())
        ax.set_title(title)
        ax.set_ylim(bottom=0)
        date_axis(ax)
        shown = pd.concat([shown, match])
    handles = axes.flat[0].get_legend_handles_labels()[0] + observed_legend(shown)
    figure_title(fig, "Posterior-predictive cumulative counts with the reported counts",
                 "from Oct 7 2023; counts from a later day (e.g. Oct 17) lifted by the simulated median before it")
    h = fig.get_figheight()
    fig.subplots_adjust(bottom=fig.subplotpars.bottom + 0.55 / h)
    fig.legend(handles=handles, fontsize=8, loc="lower center", ncol=4, frameon=False, bbox_to_anchor=(0.5, 0.0))
    files += _save(fig, figdir / "posterior_predictive")

    fig, ax = plt.subplots(figsize=(10, 0.38 * len(targets) + 2))
    y = np.arange(len(targets))
    ax.hlines(y, targets["q05"], targets["q95"], color=blue, lw=4, alpha=0.5)
    ax.plot(targets["median"], y, "|", color=blue, ms=12)
    for i, r in enumerate(targets.itertuples()):
        marker, color, face, _ = PROVENANCE.get(r.report, PROVENANCE["article"])
        if r.obs_high > r.obs_low:  # interval: horizontal bar on this count axis
            ax.errorbar([(r.obs_low + r.obs_high) / 2], [i], xerr=[[(r.obs_high - r.obs_low) / 2]], fmt="none",
                        ecolor=color, elinewidth=1.4, capsize=4, zorder=5)
        ax.plot([r.observed], [i], marker=marker, color=color, mfc=face, ls="", ms=6, zorder=6)
    ax.set_yticks(y, [f"{r.id} ({r.bound}{'' if r.fit else ', check'}{'' if r.covered else ', OUTSIDE'})"
                      for r in targets.itertuples()], fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("symlog")
    ax.set_xlim(left=0)  # counts: no negative ticks
    ax.set_xlabel("count over the target's period (increments for 'a-b' targets); windows are inside the predictive bar")
    handles = [plt.Line2D([], [], color=blue, lw=4, alpha=0.5, label="90 % posterior predictive (first-day q05 to last-day q95)"),
               plt.Line2D([], [], color=blue, marker="|", ls="", ms=12, label="median")] + [
               plt.Line2D([], [], marker=m, color=c, mfc=f, ls="", label=lab)
               for rep_, (m, c, f, lab) in PROVENANCE.items() if (targets["report"] == rep_).any()]
    if (targets["obs_high"] > targets["obs_low"]).any():
        handles.append(plt.Line2D([], [], marker="_", color="black", ms=14, mew=1.4, ls="", label=INTERVAL_LABEL))
    ax.legend(handles=handles, fontsize=7, loc="lower right")
    figure_title(fig, "Targets: reported figure and its interval vs the 90 % posterior-predictive interval",
                 "one row per target; 'check': reported but not fitted; OUTSIDE: the figure falls outside the 90 % interval")
    files += _save(fig, figdir / "targets_coverage")

    labels = [c for c in draws.columns if c not in ("weight", "distance")]
    n = len(labels)
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, lab in zip(axes.flat, labels):
        ax.hist(prior[lab].to_numpy()[:20000], bins=40, density=True, alpha=0.35, color=grey, label="prior")
        ax.hist(draws[lab], bins=30, density=True, weights=draws["weight"], alpha=0.6, color=blue, label="posterior")
        ax.set_title(_short(lab), fontsize=9)
        ax.set_ylabel("density")
        ax.set_xlabel("value (width ratio in docs/calibration.md)", fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    figure_title(fig, "Calibrated parameters: prior (grey) and weighted posterior (blue)",
                 "densities over each parameter's prior range; width ratios in docs/calibration.md")
    files += _save(fig, figdir / "marginals")

    sample = draws.sample(n=min(len(draws), 800), weights=draws["weight"], replace=True, random_state=0)
    fig, axes = plt.subplots(n, n, figsize=(1.9 * n, 1.9 * n), squeeze=False)
    for i, yi in enumerate(labels):
        for j, xj in enumerate(labels):
            ax = axes[i, j]
            if j > i:
                ax.axis("off")
            elif i == j:
                ax.hist(sample[xj], bins=25, color=blue, alpha=0.7)
            else:
                ax.scatter(sample[xj], sample[yi], s=3, alpha=0.3, color=blue, rasterized=True)
            ax.tick_params(labelsize=6)
            if i == n - 1:
                ax.set_xlabel(_short(xj), fontsize=7)
            if j == 0 and i > 0:
                ax.set_ylabel(_short(yi), fontsize=7)
    figure_title(fig, "Posterior pair plot", f"a weighted resample of {len(sample)} accepted draws; dots rasterised in the SVG")
    files += _save(fig, figdir / "pairs")
    if (pred["quantity"] == "ships_attacked").any():
        files += _plot_red_sea(pred, observed, figdir)
    return files


def _plot_red_sea(pred: pd.DataFrame, observed: pd.DataFrame, figdir: Path) -> list[Path]:
    """The Red Sea count: posterior-predictive running count of attacks on commercial shipping since Nov 19
    (CENTCOM's unit) with the fitted CENTCOM figures and the checks, the replayed strikes, and the forecast
    after the last data day (Feb 29, 2024)."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    import seaborn as sns

    from experiments.analysis.plots import date_axis, figure_title

    blue, red = sns.color_palette("deep")[0], sns.color_palette("deep")[3]
    d = pred[pred["quantity"] == "ships_attacked"]
    s = pred[pred["quantity"] == "us_strikes_yemen"].set_index("date")["q50"]
    strike_days = s.index[np.diff(np.concatenate([[0.0], s.to_numpy()])) > 0]
    obs = observed[(observed["quantity"] == "ships_attacked")] if "use" in observed.columns else observed.iloc[0:0]
    cut = pd.Timestamp("2024-02-29")
    fig, axes = plt.subplots(1, 2, figsize=(14, 5))
    for ax, (lo, hi, title) in zip(axes, ((pd.Timestamp("2023-11-10"), pd.Timestamp("2024-03-10"), "fitted period (Nov 19 - Feb 29)"),
                                         (pd.Timestamp("2023-11-10"), d["date"].max(), f"forecast to {d['date'].max():%b %d, %Y}"))):
        w = d[(d["date"] >= lo) & (d["date"] <= hi)]
        ax.fill_between(w["date"], w["q05"], w["q95"], alpha=0.15, color=blue, lw=0, label="90% band (posterior predictive)")
        ax.fill_between(w["date"], w["q25"], w["q75"], alpha=0.35, color=blue, lw=0, label="50% band")
        ax.plot(w["date"], w["q50"], color=blue, lw=2, label="median")
        for k, day in enumerate(strike_days):
            ax.axvline(day, color="0.75", lw=0.8, ls=":", label="replayed U.S./UK strike (median targets > 0)" if k == 0 else None)
        ax.axvline(cut, color="0.3", lw=1.0, ls="--", label="last data day (Feb 29, 2024)")
        for use, marker, face, label in (("fit", "o", "black", "CENTCOM count since Nov 19 (fitted)"),
                                         ("check", "s", "none", "other counts since Nov 19 (checks)")):
            o = obs[(obs["use"] == use) & (obs["since"] == pd.Timestamp("2023-11-19"))]
            if len(o):
                mid = mdates.date2num(o["date_start"] + (o["date_end"] - o["date_start"]) / 2)
                ax.errorbar(mid, (o["obs_low"] + o["obs_high"]) / 2, yerr=(o["obs_high"] - o["obs_low"]) / 2,
                            xerr=(o["date_end"] - o["date_start"]).dt.days.to_numpy() / 2, fmt=marker, color="black",
                            mfc=face, ms=5, elinewidth=1, capsize=2, label=label, zorder=5)
        ax.set_xlim(lo, hi)
        ax.set_ylim(bottom=0)
        ax.set_title(title)
        ax.set_ylabel("attacks on commercial shipping since Nov 19, 2023")
        date_axis(ax)
    axes[0].legend(fontsize=7, loc="upper left")
    figure_title(fig, "Red Sea: posterior-predictive running count of Houthi attacks on commercial shipping (joint posterior)",
                 "CENTCOM's unit; after Feb 29 no further U.S./UK strikes are replayed (none in the data): the forecast is conditional on that")
    return _save(fig, figdir / "red_sea_predictive")


def _short(label: str) -> str:
    return label.replace("militias.*.behaviours.", "").replace("militias.*.", "").replace("attack_effects.", "")


def _save(fig: Any, stem: Path, svg: bool = True) -> list[Path]:
    """PNG and SVG, as every figure of the project (the pair plot's dots are rasterised inside its SVG)."""
    from experiments.analysis.plots import save_figure

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return save_figure(fig, stem, formats=("png", "svg") if svg else ("png",))