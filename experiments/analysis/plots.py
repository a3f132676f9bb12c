"""Escalation curves from a run's tables (``escalation plot DIR``).

Figures are drawn from ``daily.parquet``, ``summary.parquet`` and ``manifest.json`` only, never
from in-memory models, so any run folder (from any machine) can be plotted again. Quantiles
are computed once per day over replicates with numpy on a (days, replicates) array; the
plotting itself only sees a few hundred points per curve, so 1000 replicates x 146 days
plot in a few seconds.

Written into ``DIR/figures/`` as PNG and SVG:

* ``cumulative_attacks``: cumulative attacks (total, Iraq, Syria, Jordan) with median, 50 % and
  90 % bands, and the reported counts (``experiments.scenario.observed``) overlaid by :func:`draw_observed`
  with their kind: exact figure, interval ("more than / at least / about"), date window, and the
  secondary Pentagon tallies apart from the five articles;
* ``daily_attacks``: attacks per day, median, mean and bands;
* ``escalation_ladder``: share of replicates at each level of the escalation ladder, per day;
* ``us_strikes``: cumulative U.S. strike targets in Syria and Iraq, and the share of replicates
  striking each day;
* ``us_casualties``: cumulative U.S. injured and killed with the reported counts.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from experiments.scenario.errors import UserError
from experiments.runner.outputs import LADDER_LEVELS, EscalationLevel
from experiments.runner.run import check_run_manifest, check_table, check_tables, read_manifest

FIGURES = ("cumulative_attacks", "daily_attacks", "escalation_ladder", "us_strikes", "us_casualties")
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
# Source counts are drawn on the cumulative curves only if they count from (near) the run start;
# later-starting counts (e.g. the 40 injured at Tower 22 on one day, 003) are not cumulative totals.
MAX_SINCE_LAG = 14
SMOOTH_DAYS = 7  # the daily-attacks figure shows each replicate's trailing 7-day average
COUNTRY_LABEL = {"total": "All countries", "iraq": "Iraq", "syria": "Syria", "jordan": "Jordan"}
LEVEL_LABEL = {
    "CALM": "calm",
    "HARASSMENT": "harassment (attacks, no casualties)",
    "US_INJURED": "U.S. injured",
    "STRIKES_SYRIA": "U.S. strikes in Syria",
    "STRIKES_IRAQ": "U.S. strikes in Iraq",
    "US_KILLED": "U.S. killed",
    "IRGC_KILLED": "IRGC personnel killed",
    "DIRECT_EXCHANGE": "direct U.S.-Iran exchange (war)",
}
_NEEDED = (
    "replicate", "day", "date", "attacks_iraq", "attacks_syria", "attacks_jordan", "attacks_total",
    "us_strikes_syria", "us_strikes_iraq", "us_injured", "us_killed", "escalation_level",
)
# the Red Sea theatre's columns, in the daily table when the scenario enables the Houthis (model/outputs.py)
RED_SEA_FIGURE_COLUMNS = ("ships_attacked", "warship_attacks", "us_strikes_yemen")


# --------------------------------------------------------------------------- reading


@dataclass
class RunTables:
    """What the figures are made of: per-day (days, replicates) arrays and run metadata."""

    dates: pd.DatetimeIndex
    arrays: dict[str, np.ndarray]  # column -> (T, R)
    summary: pd.DataFrame
    manifest: dict[str, Any]

    @property
    def replicates(self) -> int:
        return next(iter(self.arrays.values())).shape[1]

    @property
    def subtitle(self) -> str:
        name = self.manifest.get("scenario_name", "?")
        policy = (((self.manifest.get("scenario") or {}).get("united_states") or {}).get("policy") or {}).get("name")
        parts = [f"scenario {name}"] + ([f"U.S. policy {policy}"] if policy else [])
        parts += [f"{self.replicates} replicates", f"seed {self.manifest.get('seed', '?')}"]
        return " · ".join(parts)


def _read_parquet(path: Path, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    if not path.is_file():
        raise UserError("table not found (write it with `escalation run`)", file=path)
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise UserError(f"cannot read Parquet table: {type(exc).__name__}", file=path) from None
    missing = [c for c in columns or () if c not in df.columns]
    if missing:
        raise UserError(f"missing column(s) {', '.join(missing)}; expected the daily table of `escalation run`", file=path)
    return df


def read_run(run_dir: str | Path) -> RunTables:
    """Read and check a run folder; every problem is a :class:`UserError` naming the file."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    check_run_manifest(manifest, run_dir)
    check_tables(run_dir, manifest, ("daily.parquet", "summary.parquet"))  # each table is the one its receipt names
    daily = _read_parquet(run_dir / "daily.parquet", _NEEDED)
    summary = _read_parquet(run_dir / "summary.parquet")
    if daily.empty:
        raise UserError("the table has no rows", file=run_dir / "daily.parquet")
    check_table(daily, run_dir / "daily.parquet", tuple(c for c in _NEEDED if c != "date"), manifest["replicates"])
    check_table(summary, run_dir / "summary.parquet", ("replicate",), manifest["replicates"])
    try:
        pd.to_datetime(daily["date"])
    except (ValueError, TypeError, OverflowError):
        raise UserError("column 'date': expected dates", file=run_dir / "daily.parquet") from None
    return RunTables(*_to_arrays(daily), summary=summary, manifest=manifest)


def _to_arrays(daily: pd.DataFrame) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray]]:
    """Long table -> {column: (T, R) array}, rows = days in order, columns = replicates."""
    day_codes, days = pd.factorize(daily["day"], sort=True)
    rep_codes, reps = pd.factorize(daily["replicate"], sort=True)
    T, R = len(days), len(reps)
    dates = pd.Series(pd.to_datetime(daily["date"]).to_numpy(), index=day_codes).groupby(level=0).first()
    out: dict[str, np.ndarray] = {}
    for col in _NEEDED[3:] + tuple(c for c in RED_SEA_FIGURE_COLUMNS if c in daily.columns):
        arr = np.zeros((T, R), dtype=float)
        arr[day_codes, rep_codes] = daily[col].to_numpy(dtype=float)
        out[col] = arr
    return pd.DatetimeIndex(dates.sort_index().to_numpy()), out


def quantile_frame(arr: np.ndarray, dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Per-day quantiles (columns q05, q25, q50, q75, q95) and mean over replicates of a (T, R) array."""
    q = np.quantile(arr, QUANTILES, axis=1)
    df = pd.DataFrame({f"q{int(round(p * 100)):02d}": q[i] for i, p in enumerate(QUANTILES)}, index=dates)
    df["mean"] = arr.mean(axis=1)
    return df


def load_observed_or_empty() -> pd.DataFrame:
    """The source counts (``experiments.scenario.observed``), or an empty frame if that module is not installed."""
    try:
        from experiments.scenario.observed import load_observed
    except ModuleNotFoundError as exc:
        if exc.name != "experiments.scenario.observed":
            raise
        return pd.DataFrame(columns=["id", "quantity", "since", "date_start", "date_end", "value", "bound", "source", "quote",
                                     "report", "measure", "obs_low", "obs_high"])
    return load_observed()


# --------------------------------------------------------------------------- drawing helpers


@contextmanager
def house_style() -> Iterator[None]:
    """The one look of every figure of the project (run, sweep, compare, calibration, sensitivity,
    phase map, the app): seaborn's white grid, one type scale, the colour-blind-safe ``deep`` palette,
    left-aligned titles. Use as ``with house_style(): fig = ...``; titles and subtitles go through
    :func:`figure_title`, files through :func:`save_figure`."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import seaborn as sns

    rc = {
        "axes.titlelocation": "left", "axes.titlesize": 11, "axes.labelsize": 9.5, "axes.titleweight": "normal",
        "xtick.labelsize": 8.5, "ytick.labelsize": 8.5, "legend.fontsize": 8, "legend.title_fontsize": 8.5,
        "legend.frameon": True, "legend.framealpha": 0.9, "figure.dpi": 100, "savefig.dpi": 100,
        "axes.spines.top": False, "axes.spines.right": False, "grid.linewidth": 0.6, "grid.color": "0.88",
        "svg.hashsalt": "escalation",  # reproducible SVG ids
    }
    with sns.axes_style("whitegrid", rc=rc), sns.plotting_context("notebook", font_scale=0.9, rc=rc), \
            matplotlib.rc_context(rc), sns.color_palette("deep"):
        yield


PALETTE = "deep"  # categorical colours (policies, countries); sequential maps: "rocket_r" (counts), "mako_r" (shares)


def figure_title(fig, title: str, subtitle: str = "", *, right: float = 1.0) -> None:
    """Bold title and grey subtitle above the panels (the same on every figure), then lay out."""
    h = fig.get_figheight()
    fig.text(0.01, 1 - 0.12 / h, title, fontsize=13, fontweight="bold", ha="left", va="top")
    if subtitle:
        fig.text(0.01, 1 - 0.42 / h, subtitle, fontsize=9, color="0.35", ha="left", va="top", wrap=True)
    lines = subtitle.count("\n") + 1 if subtitle else 0
    fig.tight_layout(rect=(0, 0, right, 1 - (0.45 + 0.17 * lines) / h))


def date_axis(ax) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _has_spread(q: pd.DataFrame) -> bool:
    """Whether the 90 % band has any width (replayed inputs, e.g. historical strikes, have none)."""
    width = (q["q95"] - q["q05"]).to_numpy(dtype=float)
    return bool(np.isfinite(width).any() and np.nanmax(width) > 0)


def _bands(ax, q: pd.DataFrame, color, label: str, band_labels: bool = True) -> bool:
    """Median line with 50 % and 90 % bands over replicates; bands (and their legend entries) only
    where replicates differ. Returns whether bands were drawn."""
    spread = _has_spread(q)
    if spread:
        ax.fill_between(q.index, q["q05"], q["q95"], color=color, alpha=0.15, lw=0, label="90% band" if band_labels else None)
        ax.fill_between(q.index, q["q25"], q["q75"], color=color, alpha=0.35, lw=0, label="50% band" if band_labels else None)
    ax.plot(q.index, q["q50"], color=color, lw=2,
            label=f"{label} median" if spread else f"{label.rstrip(':')} (same in every replicate)")
    return spread


def _grey_bands() -> list:
    from matplotlib.patches import Patch

    return [Patch(color="0.5", alpha=0.15, label="90% band"), Patch(color="0.5", alpha=0.4, label="50% band")]


def _top(*values: float) -> float:
    """The largest finite value (at least 1): axis tops that ignore days not yet run (NaN)."""
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    return max(finite + [1.0])


def _title(fig, title: str, tables: RunTables, note: str = "", shared: list | None = None) -> None:
    """Title and subtitle (scenario, policy, replicates, seed; and a note) above the panels; ``shared``
    legend entries (the same in every panel: how reported figures are drawn) once below the panels; then
    every panel legend moved off the labels and reported figures it would cover (:func:`clear_legends`)."""
    figure_title(fig, title, tables.subtitle + (f"\n{note}" if note else ""))
    if shared:
        unique = list({h.get_label(): h for h in shared}.values())
        ncol = min(2, len(unique))
        rows = -(-len(unique) // ncol)
        h = fig.get_figheight()
        fig.subplots_adjust(bottom=fig.subplotpars.bottom + (0.2 * rows + 0.1) / h)
        fig.legend(handles=unique, loc="lower center", ncol=ncol, fontsize=8, frameon=False, bbox_to_anchor=(0.5, 0.0))
    clear_legends(fig)


LEGEND_PLACES = ("upper left", "lower right", "upper right", "center right", "lower left", "center left", "upper center",
                 "lower center")


def legend_conflicts(ax, renderer=None) -> int:
    """How many labels (annotations) and reported-figure markers of ``ax`` its legend covers."""
    leg = ax.get_legend()
    if leg is None:
        return 0
    renderer = renderer or ax.figure.canvas.get_renderer()
    box = leg.get_window_extent(renderer)
    n = sum(box.overlaps(t.get_window_extent(renderer)) for t in ax.texts if t.get_text())
    for line in ax.lines:
        if line.get_linestyle() in ("None", "", " ") and line.get_marker() not in (None, "None", "", " "):
            pts = ax.transData.transform(np.asarray(line.get_xydata(), dtype=float))
            n += int(sum(box.contains(x, y) for x, y in pts if np.isfinite(x) and np.isfinite(y)))
    return n


def place_labels(ax, xs, ys, labels, *, fontsize: float = 8, color: Any = "0.15", colors: list | None = None) -> list:
    """Label points without overlaps: each label takes the first of a ring of offsets (nearest first) where
    it covers no other label, no point and stays inside the panel; call after the figure's layout.
    Returns the annotations."""
    from matplotlib.transforms import Bbox

    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    pts = ax.transData.transform(np.column_stack([np.asarray(xs, float), np.asarray(ys, float)]))
    dots = [Bbox.from_extents(x - 4, y - 4, x + 4, y + 4) for x, y in pts]
    ring = [(dx * r, dy * r) for r in (1, 2, 3, 4, 6) for dx, dy in ((6, 4), (6, -4), (-6, 4), (-6, -4), (0, 7), (0, -7), (9, 0), (-9, 0))]
    placed, out = [], []
    colors = colors or [color] * len(labels)
    for (x, y), text, color in zip(zip(xs, ys), labels, colors):
        choice = None
        for dx, dy in ring:
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize, color=color,
                              ha="left" if dx > 0 else "right" if dx < 0 else "center",
                              va="bottom" if dy > 0 else "top" if dy < 0 else "center",
                              arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.6} if abs(dx) + abs(dy) > 14 else None)
            box = ann.get_window_extent(renderer)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if inside and not any(box.overlaps(b) for b in placed + dots):
                choice = ann
                break
            ann.remove()
        if choice is None:  # nowhere free: the nearest place
            dx, dy = ring[0]
            choice = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize, color=color)
        placed.append(choice.get_window_extent(renderer))
        out.append(choice)
    return out


def clear_legends(fig) -> None:
    """Move each panel legend that covers a label or a reported figure to the first place where it covers
    none (else the place where it covers fewest): e.g. the baseline's "000: >165" label under the legend."""
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is None or leg.get_bbox_to_anchor() is not None and leg._bbox_to_anchor is not None:
            continue  # anchored outside the panel: nothing of the panel under it
        best = (legend_conflicts(ax, renderer), leg._loc)
        if best[0] == 0:
            continue
        for place in LEGEND_PLACES:
            leg.set_loc(place)
            n = legend_conflicts(ax, renderer)
            if n < best[0]:
                best = (n, leg._loc)
            if n == 0:
                break
        leg.set_loc(best[1])


def _observed_for(observed: pd.DataFrame, quantity: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    if observed is None or observed.empty:
        return observed.iloc[0:0] if observed is not None else pd.DataFrame()
    obs = observed[observed["quantity"] == quantity].copy()
    for col in ("since", "date_start", "date_end"):
        obs[col] = pd.to_datetime(obs[col])
    cumulative = obs["since"] <= start + pd.Timedelta(days=MAX_SINCE_LAG)
    return obs[cumulative & (obs["date_end"] >= start) & (obs["date_start"] <= end)]


# How a reported figure is drawn (run figures here and calibration figures in experiments.analysis.calibration.plots):
# the marker says where it comes from, bars say what it stands for.
PROVENANCE = {  # report -> (marker, colour, face colour, legend label)
    "article": ("o", "black", "black", "source articles (reported figure)"),
    "secondary": ("s", "0.45", "white", "Pentagon tally (secondary report)"),
}
BOUND_PREFIX = {"more_than": ">", "at_least": "≥", "about": "~"}
INTERVAL_LABEL = "interval the figure stands for (more than / at least / about N)"
WINDOW_LABEL = "date window (report date not printed)"


def _observed_columns(obs: pd.DataFrame) -> pd.DataFrame:
    """Fill the columns older tables may lack: exact interval at the value, article provenance."""
    obs = obs.copy()
    for col in ("obs_low", "obs_high"):
        if col not in obs:
            obs[col] = obs["value"]
    if "report" not in obs:
        obs["report"] = "article"
    if "measure" not in obs:
        obs["measure"] = "pentagon_tally"
    return obs


def align_to_curve(obs: pd.DataFrame, median: pd.Series) -> pd.DataFrame:
    """Counts that start after the curve (e.g. tallies since Oct 17 on curves from Oct 7) are lifted by
    the curve's median count on the day before their ``since`` (an approximation, said in the titles)."""
    obs = _observed_columns(obs)
    if obs.empty:
        return obs
    start = median.index[0]
    obs["reported"] = obs["value"]  # the figure as printed, for the labels
    before = pd.to_datetime(obs["since"]) - pd.Timedelta(days=1)
    lift = np.where(before >= start, median.reindex(before).fillna(0.0).to_numpy(float), 0.0)
    for col in ("value", "obs_low", "obs_high"):
        obs[col] = obs[col].astype(float) + lift
    return obs


def draw_observed(ax, obs: pd.DataFrame, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None,
                  ymax: float | None = None) -> None:
    """Draw reported figures on a date axis, each with its kind (the one overlay of the project).

    Marker at the reported figure N: black dot for the five source articles, hollow grey square for
    the secondary Pentagon tallies. An interval ([obs_low, obs_high] of "more than / at least /
    about N") is a vertical bar with caps; a report date that is a window is a horizontal bar.
    Article figures are labelled "<file>: <figure>". ``value``, ``obs_low``, ``obs_high`` are drawn
    as given (callers shift counts that start later than the curve).
    """
    obs = _observed_columns(obs)
    if obs.empty:
        return
    start = obs["date_start"].min() if start is None else start
    end = obs["date_end"].max() if end is None else end
    ymax = max(float(obs["obs_high"].max()), 1.0) if ymax is None else ymax
    labelled = obs[obs["report"] == "article"]
    mids = labelled["date_start"] + (labelled["date_end"] - labelled["date_start"]) / 2
    for _, row in obs.sort_values("date_start").iterrows():
        marker, color, face, _ = PROVENANCE.get(row["report"], PROVENANCE["article"])
        mid = row["date_start"] + (row["date_end"] - row["date_start"]) / 2
        lo, hi = float(row["obs_low"]), float(row["obs_high"])
        if hi > lo:
            ax.errorbar([mid], [(lo + hi) / 2], yerr=[[(hi - lo) / 2]], fmt="none", ecolor=color, elinewidth=1.4, capsize=4, zorder=5)
        if row["date_end"] > row["date_start"]:
            ax.errorbar([mid], [row["value"]], xerr=[[mid - row["date_start"]], [row["date_end"] - mid]], fmt="none",
                        ecolor=color, elinewidth=1.2, capsize=3, zorder=5)
        ax.plot([mid], [row["value"]], marker=marker, color=color, mfc=face, ms=6 if marker == "o" else 5.5, ls="", zorder=6)
        if row["report"] != "article":
            continue  # the secondary tallies are named by the legend; labels would crowd the curve
        note = f"{row['source']}: {BOUND_PREFIX.get(row['bound'], '')}{row.get('reported', row['value']):g}"
        if row["measure"] == "militia_claims":
            note += " claimed"
        if pd.notna(row.get("since")) and row["since"] > start:
            note += f" since {row['since']:%b %-d}"
        if obs["quantity"].nunique() > 1:
            note += f" ({COUNTRY_LABEL.get(row['quantity'].rsplit('_', 1)[-1], row['quantity'])})"
        right = mid > start + 0.7 * (end - start)  # label on the left near the right edge
        near = (mids - mid).abs() <= 0.1 * (end - start)
        lower = (labelled.loc[near, "value"] < row["value"]).any()  # labels go below, above a close lower one
        dy = 8 if row["value"] < 0.15 * ymax or lower else -14
        ax.annotate(note, (mid, row["value"]), xytext=(-10 if right else 8, dy), textcoords="offset points",
                    fontsize=7, color="0.2", ha="right" if right else "left")


def observed_legend(obs: pd.DataFrame) -> list:
    """Legend handles naming exactly what :func:`draw_observed` drew for ``obs`` (nothing for an empty frame)."""
    from matplotlib.lines import Line2D

    obs = _observed_columns(obs)
    handles = []
    for report, (marker, color, face, label) in PROVENANCE.items():
        if (obs["report"] == report).any():
            handles.append(Line2D([], [], marker=marker, color=color, mfc=face, ls="", label=label))
    if (obs["obs_high"] > obs["obs_low"]).any():
        handles.append(Line2D([], [], marker="|", color="black", ms=11, mew=1.4, ls="", label=INTERVAL_LABEL))
    if (obs["date_end"] > obs["date_start"]).any():
        handles.append(Line2D([], [], marker="_", color="black", ms=14, mew=1.2, ls="", label=WINDOW_LABEL))
    return handles


FIGURE_FORMATS = ("png", "svg")  # of analysis figures: PNG for the HTML report, SVG for print


def save_into(fig: Any, out: Path, stem: str) -> list[str]:
    """Write a figure as PNG (for the HTML report) and SVG (for print) into ``out/figures``; returns
    the paths relative to ``out`` (as manifests list them)."""
    return [str(p.relative_to(out)) for p in save_figure(fig, out / "figures" / stem, formats=FIGURE_FORMATS)]


def save_figure(fig: Any, stem: Path, *, formats: tuple[str, ...] = ("png", "svg"), dpi: int = 110,
                tight: bool = True) -> list[Path]:
    """Write ``fig`` as ``stem.png`` / ``stem.svg`` (atomically; SVGs carry no date, so they are
    reproducible) and close it. The one figure writer of the project."""
    import matplotlib.pyplot as plt

    from experiments.runner.run import atomic_write_bytes

    written = []
    try:
        for ext in formats:
            buf = io.BytesIO()
            fig.savefig(buf, format=ext, dpi=dpi, bbox_inches="tight" if tight else None,
                        metadata={"Date": None} if ext == "svg" else None)
            path = stem.with_name(f"{stem.name}.{ext}")
            atomic_write_bytes(path, buf.getvalue())
            written.append(path)
    finally:
        plt.close(fig)
    return written


# --------------------------------------------------------------------------- figures


def fig_cumulative_attacks(t: RunTables, observed: pd.DataFrame):
    import matplotlib.pyplot as plt
    import seaborn as sns

    colors = dict(zip(("total", "iraq", "syria", "jordan"), sns.color_palette("deep", 4)))
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    start, end = t.dates[0], t.dates[-1]
    shared: list = []
    for ax, key in zip(axes.flat, ("total", "iraq", "syria", "jordan")):
        col = f"attacks_{key}"
        q = quantile_frame(np.cumsum(t.arrays[col], axis=0), t.dates)
        _bands(ax, q, colors[key], "model")
        obs = align_to_curve(_observed_for(observed, col, start, end), q["q50"])
        ymax = _top(q["q95"].max(), obs["obs_high"].max() if len(obs) else 0)
        draw_observed(ax, obs, start, end, ymax)
        ax.set_ylim(0, ymax * 1.2)
        ax.set_title(COUNTRY_LABEL[key])
        ax.set_ylabel("cumulative attacks")
        date_axis(ax)
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=handles, loc="upper left", fontsize=7.5, frameon=True)
        shared += observed_legend(obs)
    for ax in axes[-1]:
        ax.set_xlabel("date")
    _title(fig, "Cumulative militia attacks on U.S. forces, by country", t, shared=shared)
    return fig


def rolling_mean(arr: np.ndarray, days: int) -> np.ndarray:
    """Trailing mean over ``days`` days along axis 0 of a (T, R) array (fewer days at the start)."""
    c = np.cumsum(np.vstack([np.zeros((1, arr.shape[1])), arr]), axis=0)
    t = np.arange(1, arr.shape[0] + 1)
    lo = np.maximum(t - days, 0)
    return (c[t] - c[lo]) / (t - lo)[:, None]


def fig_daily_attacks(t: RunTables, observed: pd.DataFrame):
    import matplotlib.pyplot as plt
    import seaborn as sns

    color = sns.color_palette("deep")[0]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    q = quantile_frame(rolling_mean(t.arrays["attacks_total"], SMOOTH_DAYS), t.dates)
    _bands(ax, q, color, f"{SMOOTH_DAYS}-day average:")
    ax.plot(t.dates, t.arrays["attacks_total"].mean(axis=1), color="0.3", lw=0.8, ls=":", label="mean attacks that day")
    ax.set_ylim(0, _top(q["q95"].max()) * 1.15)
    ax.set_ylabel(f"attacks per day, {SMOOTH_DAYS}-day average")
    ax.set_xlabel("date")
    date_axis(ax)
    ax.legend(loc="upper right", fontsize=8)
    _title(fig, "Daily militia attacks on U.S. forces (all countries)", t)
    return fig


def ladder_colors(n: int = LADDER_LEVELS) -> list:
    """Level colours shared by every ladder figure: grey calm, then yellow to red, war dark red."""
    import seaborn as sns

    colors = [(0.85, 0.88, 0.92)] + list(sns.color_palette("YlOrRd", n - 1))
    colors[-1] = (0.25, 0.0, 0.05)
    return colors


def level_labels() -> list[str]:
    return [f"{int(level)} {LEVEL_LABEL.get(level.name, level.name.lower())}" for level in EscalationLevel]


def level_shares(levels: np.ndarray) -> np.ndarray:
    """(L, T) share of replicates at each ladder level per day from a (T, R) level array (NaN: no level)."""
    return np.stack([(levels == k).mean(axis=1) for k in range(len(level_labels()))])


def _policy(t: RunTables) -> str | None:
    return (((t.manifest.get("scenario") or {}).get("united_states") or {}).get("policy") or {}).get("name")


def fig_escalation_ladder(t: RunTables, observed: pd.DataFrame):
    import matplotlib.pyplot as plt

    shares = level_shares(t.arrays["escalation_level"])
    fig, ax = plt.subplots(figsize=(11, 5))
    ax.stackplot(t.dates, shares, labels=level_labels(), colors=ladder_colors(len(shares)), lw=0)
    ax.set_ylim(0, 1)
    ax.set_xlim(t.dates[0], t.dates[-1])
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{y:.0%}"))
    ax.set_ylabel("share of replicates")
    ax.set_xlabel("date")
    date_axis(ax)
    handles, labs = ax.get_legend_handles_labels()
    memory = ((t.manifest.get("scenario") or {}).get("ladder") or {}).get("memory_days", 14)
    note = f"A day's level is the highest rung of the last {memory} days, so one strike day holds levels 3-4 for {memory} days."
    if _policy(t) == "historical":
        strikes = t.arrays["us_strikes_syria"] + t.arrays["us_strikes_iraq"]
        days = t.dates[(strikes > 0).mean(axis=1) >= 0.5]
        for d in days:
            ax.axvline(d, color="black", lw=0.8, ls=":", zorder=3)
        if len(days):
            from matplotlib.lines import Line2D

            handles = handles + [Line2D([], [], color="black", lw=0.8, ls=":", label="U.S. strike replayed (input)")]
            labs = labs + ["U.S. strike replayed (input)"]
            note += " Dotted: strikes replayed from the sources (inputs)."
        order = list(range(len(labs) - 1, -1, -1)) if not len(days) else list(range(len(labs) - 2, -1, -1)) + [len(labs) - 1]
    else:
        order = list(range(len(labs) - 1, -1, -1))
    ax.legend([handles[i] for i in order], [labs[i] for i in order], title="escalation level", loc="center left",
              bbox_to_anchor=(1.01, 0.5), fontsize=8)
    _title(fig, "Escalation ladder: share of replicates at each level", t, note)
    return fig


def fig_us_strikes(t: RunTables, observed: pd.DataFrame):
    import matplotlib.pyplot as plt
    import seaborn as sns

    colors = dict(zip(("syria", "iraq"), sns.color_palette("deep")[2:0:-1]))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 7), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    start, end = t.dates[0], t.dates[-1]
    ymax, spread = 1.0, False
    for key in ("syria", "iraq"):
        col = f"us_strikes_{key}"
        q = quantile_frame(np.cumsum(t.arrays[col], axis=0), t.dates)
        spread |= _bands(ax1, q, colors[key], f"{COUNTRY_LABEL[key]}:", band_labels=False)
        ymax = _top(ymax, q["q95"].max())
        share = (t.arrays[col] > 0).mean(axis=1)
        ax2.fill_between(t.dates, share, step="mid", color=colors[key], alpha=0.7, lw=1, label=COUNTRY_LABEL[key])
    obs = pd.concat([_observed_for(observed, f"us_strikes_{k}", start, end) for k in ("syria", "iraq")])
    ymax = _top(ymax, obs["obs_high"].max() if len(obs) else 0)
    draw_observed(ax1, obs, start, end, ymax)
    ax1.set_ylim(0, ymax * 1.15)
    ax1.set_ylabel("cumulative U.S. strike targets")
    handles, _ = ax1.get_legend_handles_labels()
    ax1.legend(handles=handles + (_grey_bands() if spread else []) + observed_legend(obs), loc="upper left", fontsize=8)
    top = max((t.arrays[f"us_strikes_{k}"] > 0).mean(axis=1).max() for k in ("syria", "iraq"))
    ax2.set_ylim(0, min(1.0, max(0.05, top * 1.15)))
    ax2.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{y:.0%}"))
    ax2.set_ylabel("replicates striking\nthat day")
    ax2.set_xlabel("date")
    ax2.legend(loc="upper left", fontsize=8)
    for ax in (ax1, ax2):
        date_axis(ax)
    _title(fig, "U.S. retaliatory strikes: Syria vs Iraq", t)
    return fig


def fig_us_casualties(t: RunTables, observed: pd.DataFrame):
    import matplotlib.pyplot as plt
    import seaborn as sns

    palette = sns.color_palette("deep")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharex=True)
    start, end = t.dates[0], t.dates[-1]
    shared: list = []
    for ax, col, color, label in zip(axes, ("us_injured", "us_killed"), (palette[1], palette[3]), ("injured", "killed")):
        q = quantile_frame(np.cumsum(t.arrays[col], axis=0), t.dates)
        _bands(ax, q, color, "model")
        obs = align_to_curve(_observed_for(observed, col, start, end), q["q50"])
        ymax = _top(q["q95"].max(), obs["obs_high"].max() if len(obs) else 0)
        draw_observed(ax, obs, start, end, ymax)
        ax.set_ylim(0, ymax * 1.2)
        ax.set_title(f"U.S. personnel {label}")
        ax.set_ylabel(f"cumulative U.S. {label}")
        ax.set_xlabel("date")
        date_axis(ax)
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=handles, loc="upper left", fontsize=7.5)
        shared += observed_legend(obs)
    s = t.summary
    if "us_killed" in s and len(s):
        war = f", P(war) {s['war'].mean():.2f}" if "war" in s else ""
        axes[1].set_title(f"U.S. personnel killed (P(any death) {s['us_killed'].gt(0).mean():.2f}{war})")
    _title(fig, "U.S. casualties", t, shared=shared)
    return fig


DRAW = {
    "cumulative_attacks": fig_cumulative_attacks,
    "daily_attacks": fig_daily_attacks,
    "escalation_ladder": fig_escalation_ladder,
    "us_strikes": fig_us_strikes,
    "us_casualties": fig_us_casualties,
}


def load_red_sea_fit_or_empty() -> pd.DataFrame:
    """The Red Sea counts of the fit measure (CENTCOM's running count since Nov 19; ``use == "fit"``) and its checks."""
    from experiments.scenario.observed import load_observed

    obs = load_observed(theatre="red_sea")
    return obs[obs["quantity"].isin(["ships_attacked", "us_strikes_yemen"]) & obs["use"].isin(["fit", "check", "input"])]


def fig_red_sea(t: RunTables, observed: pd.DataFrame):
    """The Houthi theatre: cumulative ships attacked (CENTCOM's count since Nov 19) against the reported counts,
    attacks per day, and U.S./UK strike targets in Yemen per day."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    deep = sns.color_palette("deep")
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 7.5), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    start, end = t.dates[0], t.dates[-1]
    q = quantile_frame(np.cumsum(t.arrays["ships_attacked"], axis=0), t.dates)
    _bands(ax1, q, deep[0], "ships attacked (model):")
    obs = observed[(observed["quantity"] == "ships_attacked") & (observed["since"] == pd.Timestamp("2023-11-19"))]
    obs = obs[(obs["date_end"] >= start) & (obs["date_start"] <= end)]
    for use, marker, color, label in (("fit", "o", "black", "CENTCOM running count since Nov 19 (fit)"),
                                      ("check", "s", "0.5", "other counts since Nov 19 (checks)")):
        o = obs[obs["use"] == use]
        if len(o):
            mid = o["date_start"] + (o["date_end"] - o["date_start"]) / 2
            centre = (o["obs_low"] + o["obs_high"]) / 2  # the interval the worded figure stands for
            ax1.errorbar(mid, centre, yerr=[centre - o["obs_low"], o["obs_high"] - centre], fmt=marker,
                         color=color, ms=5, capsize=2, lw=1, label=label)
    ax1.set_ylim(0, _top(q["q95"].max(), obs["obs_high"].max() if len(obs) else 0) * 1.15)
    ax1.set_ylabel("cumulative ships attacked")
    ax1.legend(loc="upper left", fontsize=8)
    strikes = t.arrays["us_strikes_yemen"]
    ax2.bar(t.dates, strikes.mean(axis=1), width=1.0, color=deep[3], alpha=0.8, label="U.S./UK strike targets in Yemen (mean)")
    ax2.plot(t.dates, rolling_mean(t.arrays["ships_attacked"] + t.arrays["warship_attacks"], SMOOTH_DAYS).mean(axis=1),
             color=deep[0], lw=1.2, label=f"Houthi attacks per day ({SMOOTH_DAYS}-day average, mean)")
    ax2.set_ylabel("per day")
    ax2.set_xlabel("date")
    ax2.legend(loc="upper left", fontsize=8)
    for ax in (ax1, ax2):
        date_axis(ax)
    _title(fig, "The Red Sea: Houthi attacks on shipping and U.S./UK strikes in Yemen", t)
    return fig


def plot_run(run_dir: str | Path, *, observed: pd.DataFrame | None = None) -> list[Path]:
    """Draw every figure of a run folder into ``run_dir/figures`` (PNG and SVG); returns the files written.

    ``observed`` replaces the source counts from :func:`experiments.scenario.observed.load_observed` (tests).
    """
    run_dir = Path(run_dir)
    tables = read_run(run_dir)
    observed = load_observed_or_empty() if observed is None else observed
    out_dir = run_dir / "figures"
    written: list[Path] = []
    with house_style():
        for name in FIGURES:
            written += save_figure(DRAW[name](tables, observed), out_dir / name, dpi=100, tight=False)
        if "ships_attacked" in tables.arrays:  # the Houthi theatre is on
            written += save_figure(fig_red_sea(tables, load_red_sea_fit_or_empty()), out_dir / "red_sea", dpi=100, tight=False)
    return written
