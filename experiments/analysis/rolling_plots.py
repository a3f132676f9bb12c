"""The rolling-origin forecast's figures, drawn from its written tables (scores.parquet, summary.parquet)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

QUANTITY_MARKERS = {"attacks_total": ("o", "total"), "attacks_iraq": ("s", "Iraq"), "attacks_syria": ("^", "Syria")}


def plot_forecast(out: Path) -> list[Path]:
    """``figures/forecast_pit`` and ``figures/forecast_scores`` (PNG + SVG) in the house style."""
    from experiments.analysis.plots import house_style

    with house_style():
        return _plot(out)


def _plot(out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    from experiments.analysis.plots import figure_title, save_figure
    from experiments.analysis.forecast import MODEL, PIT_BAND, REFERENCE

    scores = pd.read_parquet(out / "scores.parquet")
    summary = pd.read_parquet(out / "summary.parquet")
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    origins = list(dict.fromkeys(scores["origin"]))
    forecasters = list(dict.fromkeys(scores["forecaster"]))
    colors = {f: f"C{i}" for i, f in enumerate(forecasters)}
    files: list[Path] = []

    # PIT of every scored increment, by origin (x) and forecaster (panels)
    fig, axes = plt.subplots(1, len(forecasters), figsize=(3.0 * len(forecasters), 3.6), sharey=True)
    axes = np.atleast_1d(axes)
    x_of = {o: i for i, o in enumerate(origins)}
    for ax, f in zip(axes, forecasters):
        d = scores[(scores["forecaster"] == f) & scores["pit"].notna()]
        ax.axhspan(*PIT_BAND, color="0.92", zorder=0)
        for q, (marker, label) in QUANTITY_MARKERS.items():
            g = d[d["quantity"] == q]
            jitter = (pd.to_datetime(g["date"]).rank(method="dense").to_numpy() - 3) * 0.05
            ax.plot(g["origin"].map(x_of) + jitter, g["pit"], marker, color=colors[f], mfc="none" if q != "attacks_total" else colors[f],
                    ms=5, ls="", label=label)
        ax.set_xticks(range(len(origins)), [pd.Timestamp(o).strftime("%b %d") for o in origins], rotation=30)
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(f, fontsize=9.5)
    axes[0].set_ylabel("mid PIT of the increment")
    axes[0].legend(fontsize=7, loc="upper left")
    figure_title(fig, "Rolling-origin forecasts: PIT of every later tally",
                 f"increments over the reported count at each origin; grey band: PIT in [{PIT_BAND[0]}, {PIT_BAND[1]}]")
    files += save_figure(fig, figdir / "forecast_pit")

    # mean CRPS per origin and forecaster, and the ratio to the reference
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    width = 0.8 / len(forecasters)
    for i, f in enumerate(forecasters):
        s = summary[summary["forecaster"] == f].set_index("origin").reindex(origins)
        ax.bar(np.arange(len(origins)) + (i - (len(forecasters) - 1) / 2) * width, s["crps"], width, color=colors[f], label=f)
        if f != REFERENCE:
            ax2.plot(range(len(origins)), s["crps_ratio"], "o-" if f == MODEL else ".--", color=colors[f], label=f,
                     lw=2 if f == MODEL else 1)
    ax2.axhline(1.0, color="0.3", lw=1)
    for a in (ax, ax2):
        a.set_xticks(range(len(origins)), [pd.Timestamp(o).strftime("%b %d, %Y") for o in origins], rotation=30)
    ax.set_ylabel("mean CRPS (increments)")
    ax2.set_ylabel(f"mean CRPS / {REFERENCE}")
    ax2.set_yscale("log")
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax2.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax2.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax2.yaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=7)
    figure_title(fig, "Rolling-origin forecasts: scores against the naive forecasters",
                 "lower is better; totals, Iraq and Syria tallies after each origin (lower bounds have no CRPS)")
    files += save_figure(fig, figdir / "forecast_scores")
    return files
