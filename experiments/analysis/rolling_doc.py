"""Regenerate the rolling-origin forecast section of docs/calibration.md from an `escalation forecast` folder.

    python -m experiments.analysis.rolling_doc [results/forecast] [--doc docs/calibration.md] [--no-figures]

Everything between ``<!-- rolling-forecast:begin -->`` and ``<!-- rolling-forecast:end -->`` is rewritten
from the written tables (scores.parquet, summary.parquet, forecast.json, manifest.json): the mean CRPS
and log score of the model and the four naive forecasters at each origin, the goal's verdict, the PIT
of every scored increment and the forecast from the last tally with the full-data posterior. The PIT and
score figures are copied to docs/img/ (PNG) unless ``--no-figures``.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.analysis.doc_blocks import replace_block

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "calibration.md"
BEGIN, END = "<!-- rolling-forecast:begin -->", "<!-- rolling-forecast:end -->"
FIGURES = ("forecast_pit", "forecast_scores")
LABEL = {"attacks_total": "total", "attacks_iraq": "Iraq", "attacks_syria": "Syria"}


def _table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _day(d: Any) -> str:
    return pd.Timestamp(d).strftime("%b %-d, %Y")


def _score_table(summary: pd.DataFrame, col: str, ratio: str, forecasters: list[str], origins: list[Any], model: str) -> str:
    rows = []
    for o in origins:
        s = summary[summary["origin"] == o].set_index("forecaster")
        rows.append([_day(o)] + [f"**{s.loc[f, col]:.2f}** ({s.loc[f, ratio]:.2f})" if f == model else
                                 f"{s.loc[f, col]:.2f} ({s.loc[f, ratio]:.2f})" for f in forecasters])
    means = summary.groupby("forecaster")[col].mean()
    ref = means[forecasters[1]]
    rows.append(["mean over origins"] + [f"{means[f]:.2f} ({means[f] / ref:.2f})" for f in forecasters])
    return _table(pd.DataFrame(rows, columns=["origin"] + forecasters))


def section(folder: Path) -> str:
    from experiments.analysis.forecast import MODEL, PIT_BAND, REFERENCE

    info = json.loads((folder / "forecast.json").read_text())
    manifest = json.loads((folder / "manifest.json").read_text())
    scores = pd.read_parquet(folder / "scores.parquet")
    summary = pd.read_parquet(folder / "summary.parquet")
    origins = list(dict.fromkeys(scores["origin"]))
    forecasters = [MODEL, REFERENCE] + [f for f in dict.fromkeys(scores["forecaster"]) if f not in (MODEL, REFERENCE)]
    g_all, g_tot = info["goal"]["all"], info["goal"]["totals"]
    fitted = ", ".join(f"{_day(o)}: {len(ids)}" for o, ids in info["fitted_on"].items())
    lines = [
        "### Rolling-origin forecasts (`escalation forecast`)",
        "",
        f"Refits with {manifest['replicates']:,} prior simulations (seed {manifest['seed']}), {info['samples']:,} predictive "
        f"samples per origin; fitted targets known at each origin — {fitted}. Each forecast starts from the tally "
        "reported by its origin, in a model state conditioned on the tallies of the last "
        f"{info.get('start_state', {}).get('recent_days', '?')} days before it (the closest "
        f"{info['samples']:,} of {info.get('start_state', {}).get('oversample', 1)} × as many predictive runs); scores are "
        "of the increments over that count (lower is better), mean over the later "
        "tallies; in brackets the ratio to the constant-rate Poisson forecast.",
        "",
        f"**Goal** (model's mean CRPS at most the constant-rate Poisson forecast's at every origin, every PIT in "
        f"[{PIT_BAND[0]}, {PIT_BAND[1]}]): **{'met' if g_all['met'] else 'not met'}** on all tallies "
        f"(CRPS ratio {g_all['crps_ratio_overall']:.2f} overall, "
        f"{', '.join(f'{_day(o)} {r:.2f}' for o, r in g_all['crps_ratio'].items())}; PIT inside for "
        f"{g_all['pit_inside']} of {g_all['pit_scored']} increments); "
        f"**{'met' if g_tot['met'] else 'not met'}** on the totals alone (ratio {g_tot['crps_ratio_overall']:.2f} overall, "
        f"{', '.join(f'{_day(o)} {r:.2f}' for o, r in g_tot['crps_ratio'].items())}; PIT inside for "
        f"{g_tot['pit_inside']} of {g_tot['pit_scored']}). The overall ratio is of the means over origins.",
        "",
        "Mean CRPS over every later tally (totals, Iraq and Syria; lower bounds have no CRPS):",
        "",
        _score_table(summary, "crps", "crps_ratio", forecasters, origins, MODEL),
        "",
        "Mean CRPS over the later total tallies only:",
        "",
        _score_table(summary, "crps_total", "crps_total_ratio", forecasters, origins, MODEL),
        "",
        "Mean log score over every later tally (a lower bound scores −log P(X > bound)):",
        "",
    ]
    rows = []
    for o in origins:
        s = summary[summary["origin"] == o].set_index("forecaster")
        rows.append([_day(o)] + [f"{s.loc[f, 'log_score']:.2f}" for f in forecasters])
    lines += [_table(pd.DataFrame(rows, columns=["origin"] + forecasters)), ""]

    lines += ["PIT (mid) of every scored increment, the model against the constant-rate Poisson forecast "
              f"(outside [{PIT_BAND[0]}, {PIT_BAND[1]}] in bold):", ""]
    m = scores[scores["forecaster"] == MODEL].set_index(["origin", "date", "quantity"])
    r = scores[scores["forecaster"] == REFERENCE].set_index(["origin", "date", "quantity"])

    def pit(x: float) -> str:
        if pd.isna(x):
            return "–"
        return f"{x:.2f}" if PIT_BAND[0] <= x <= PIT_BAND[1] else f"**{x:.2f}**"

    rows = []
    for key, row in m.iterrows():
        o, d, q = key
        obs = f"> {row['obs_low'] - 1:.0f}" if row["bound"] == "more_than" else (
            f"{row['obs_low']:.0f}" if row["obs_low"] == row["obs_high"] else f"{row['obs_low']:.0f}–{row['obs_high']:.0f}")
        rows.append([_day(o), _day(d), LABEL[q], f"{_day(row['anchor_date'])} ({row['anchor']:.0f})", obs,
                     f"{row['median']:.0f} ({row['q05']:.0f}–{row['q95']:.0f})", pit(row["pit"]), pit(r.loc[key, "pit"]),
                     "–" if pd.isna(row["crps"]) else f"{row['crps']:.1f}", "–" if pd.isna(r.loc[key, "crps"]) else f"{r.loc[key, 'crps']:.1f}"])
    lines += [_table(pd.DataFrame(rows, columns=["origin", "tally", "quantity", "from (reported)", "increment",
                                                 "model median (90 %)", "PIT model", "PIT Poisson", "CRPS model", "CRPS Poisson"])), ""]

    lr = info.get("long_run")
    if lr:
        lines += [f"Forecast after the last tally ({_day(lr['from'])}, {lr['reported']:.0f} attacks since Oct 17, 2023) "
                  "with the full-data posterior (the calibration's own fit), under the calibration's scenario (the historical "
                  "policy, its replayed inputs, nothing replayed after them): attacks after the last tally, median (90 % "
                  "interval), and the tally it implies:", ""]
        rows = [[_day(d), f"{v['after']['median']:.0f} ({v['after']['q05']:.0f}–{v['after']['q95']:.0f})",
                 f"{v['cumulative']['median']:.0f} ({v['cumulative']['q05']:.0f}–{v['cumulative']['q95']:.0f})"]
                for d, v in lr["dates"].items()]
        lines += [_table(pd.DataFrame(rows, columns=["by", f"attacks after {_day(lr['from'])}", "tally since Oct 17, 2023"])), ""]
    lines += ["![PIT of every later tally, by origin and forecaster](img/forecast_pit.png)", "",
              "![Mean CRPS by origin and forecaster, and the ratio to the constant-rate Poisson forecast](img/forecast_scores.png)"]
    return "\n".join(lines)


def rewrite(folder: Path, doc: Path = DOC, figures: bool = True) -> None:
    replace_block(doc, BEGIN, END, f"\n\n{section(folder)}\n\n")
    if figures:
        for stem in FIGURES:
            src = folder / "figures" / f"{stem}.png"
            if src.exists():
                shutil.copyfile(src, doc.parent / "img" / f"{stem}.png")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default="results/forecast", type=Path)
    ap.add_argument("--doc", default=DOC, type=Path)
    ap.add_argument("--no-figures", action="store_true", help="do not copy the figures to docs/img")
    args = ap.parse_args(argv)
    rewrite(args.folder, args.doc, figures=not args.no_figures)


if __name__ == "__main__":
    main()
