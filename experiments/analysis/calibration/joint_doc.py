"""Regenerate the joint-calibration results of docs/calibration.md from the joint calibration's folder.

    escalation calibrate scenarios/calibration_axis.yaml --out results/calibration_axis --publish
    python -m experiments.analysis.calibration.joint_doc [results/calibration_axis] [--no-figures]

Everything between ``<!-- joint-calibration:begin -->`` and ``<!-- joint-calibration:end -->`` is rewritten:
the fit, the width ratios of every parameter with and without the Red Sea (the same prior simulations, the
Red Sea summaries left out of the distance), the Red Sea targets' coverage and strike-pattern check, and the
Red Sea forecast from Feb 29 to Dec 31, 2024. The Red Sea posterior-predictive figure is copied to docs/img/.
Tables are read from the written files (never from in-memory models).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.analysis.doc_blocks import replace_block
from experiments.analysis.calibration.doc import _q, _table

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "calibration.md"
BEGIN, END = "<!-- joint-calibration:begin -->", "<!-- joint-calibration:end -->"
FIGURE = "joint_red_sea_predictive"
THEATRE_ORDER = {"shared": 0, "red_sea": 1, "iraq_syria": 2}


def _short(label: str) -> str:
    return label.replace("militias.*.behaviours.", "").replace("militias.*.", "").replace("attack_effects.", "")


def width_table(folder: Path) -> tuple[str, pd.DataFrame]:
    wc = pd.read_parquet(folder / "width_comparison.parquet")
    wc = wc.assign(order=wc["theatre"].map(THEATRE_ORDER)).sort_values("order", kind="stable")
    rows = pd.DataFrame({
        "parameter": [_short(p) + (" (pooled: militias and Houthis)" if t == "shared" and "strike_response" in p else "")
                      for p, t in zip(wc["parameter"], wc["theatre"])],
        "theatre": wc["theatre"],
        "prior": wc["prior"],
        "joint posterior 5 / 50 / 95 %": [f"{a:.3g} / {b:.3g} / {c:.3g}" for a, b, c in
                                          zip(wc["posterior_q05"], wc["posterior_q50_joint"], wc["posterior_q95"])],
        "width ratio without the Red Sea": wc["width_ratio_without_red_sea"].round(2),
        "with the Red Sea (joint)": wc["width_ratio_joint"].round(2),
        "change": (wc["width_ratio_joint"] - wc["width_ratio_without_red_sea"]).round(2).map(lambda x: f"{x:+.2f}"),
        "Red Sea alone": wc["width_ratio_red_sea_only"].round(2),
    })
    return _table(rows), wc


def section(folder: Path) -> str:
    f: dict[str, Any] = json.loads((folder / "fit.json").read_text())
    table, wc = width_table(folder)
    shared = wc[wc["theatre"] == "shared"]
    moves = "; ".join(f"`{_short(r.parameter)}` {r.width_ratio_without_red_sea:.2f} → {r.width_ratio_joint:.2f}"
                      f" (posterior median {r.posterior_q50_without_red_sea:.3g} → {r.posterior_q50_joint:.3g})"
                      for r in shared.itertuples())
    t = pd.read_parquet(folder / "targets.parquet")
    obs = pd.read_parquet(folder / "observed.parquet")
    red_ids = set(obs.loc[obs.get("theatre", pd.Series(dtype=str)) == "red_sea", "id"])
    red = t[[i.split("-")[0] in red_ids for i in t["id"]]]
    cov = pd.DataFrame({
        "target": red["id"],
        "observed": [f"{int(a)}" if a == b else f"{int(a)}–{int(b)}" for a, b in zip(red["obs_low"], red["obs_high"])],
        "90 % predictive (median)": [f"{a:.0f}–{c:.0f} ({b:.0f})" for a, b, c in zip(red["q05"], red["median"], red["q95"])],
        "covered": ["yes" if c else "**no**" for c in red["covered"]],
        "fitted": ["yes" if x else "check" for x in red["fit"]],
    })
    fc = f["red_sea_forecast"]
    draws = json.loads((folder / "manifest.json").read_text())["calibration"]["predictive_draws"]
    cut = "2024-02-29"
    lines = [
        "### Joint fit",
        "",
        f"Method **{f['method']}**, {f['simulations']:,} simulations of `scenarios/axis.yaml` (both theatres); "
        f"{f['accepted']:,} accepted, ε = {f['epsilon']:.2f} (median distance under the prior {f['distance_prior_median']:.2f}). "
        f"90 % posterior-predictive coverage: {f['coverage_90']:.2f} of all targets, {f['coverage_90_fit_targets']:.2f} "
        f"of the fitted ones; Red Sea targets covered: {int(red['covered'].sum())} of {len(red)}.",
        "",
        "### Width ratios with and without the Red Sea",
        "",
        "Posterior 90 % width / prior 90 % width. *Without the Red Sea*: the same prior simulations and rejection with "
        "the Red Sea summaries (its four targets and its strike pattern) left out of the distance, i.e. the Iraq/Syria "
        "data alone under the joint priors; *Red Sea alone*: the Iraq/Syria summaries left out. Shared parameters "
        f"first. Shared: {moves}.",
        "",
        table,
        "",
        "### The Red Sea count",
        "",
        _table(cov),
        "",
    ]
    rp = f.get("red_sea_pattern_check")
    if rp:
        lines += [f"Strike pattern around the first wave ({', '.join(rp['strikes'])}): observed {rp['observed']:+.2f}; "
                  f"posterior predictive median {rp['median']:+.2f} (90 % {rp['q05']:+.2f} to {rp['q95']:+.2f}); under the "
                  f"prior {rp['prior_median']:+.2f}.", ""]
    lines += [
        "### Red Sea forecast, Feb 29 – Dec 31, 2024 (joint posterior)",
        "",
        "| quantity | median (90 % interval) |",
        "|---|---|",
        f"| running count since Nov 19, 2023, at Feb 29, 2024 | {_q(fc['count_at_' + cut])} |",
        f"| ships attacked Mar 1 – Dec 31, 2024 | **{_q(fc['after_' + cut])}** |",
        f"| running count since Nov 19, 2023, at Dec 31, 2024 | {_q(fc['count_at_end'])} |",
        "",
        f"{draws:,} posterior draws re-simulated on new random streams. "
        "What it rests on: no U.S./UK strike in Yemen after the data end is replayed (the data stop at Feb 29, 2024; the "
        f"median number of targets struck after it is {fc.get('strike_targets_after_cut_median', 0):.0f}), the Gaza driver "
        "stays at its war level (baseline.yaml's last value, from Dec 1, 2023), and Iran's restraint after Tower 22 decays with the posterior "
        "half-life. A forecast of what the Houthis do if the strikes go on needs a policy for the U.S. in this theatre "
        "(`escalation compare scenarios/compare_red_sea.yaml`).",
        "",
        f"![Red Sea: posterior-predictive running count of attacks on commercial shipping, fitted period and forecast](img/{FIGURE}.png)",
    ]
    return "\n".join(lines)


def write(folder: Path, doc: Path = DOC, figures: bool = True) -> None:
    replace_block(doc, BEGIN, END, f"\n\n{section(folder)}\n\n")
    src = folder / "figures" / "red_sea_predictive.png"
    if figures and src.exists():
        shutil.copyfile(src, doc.parent / "img" / f"{FIGURE}.png")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, nargs="?", default=ROOT / "results" / "calibration_axis")
    ap.add_argument("--no-figures", action="store_true", help="do not copy the figure to docs/img")
    args = ap.parse_args(argv)
    write(args.folder, figures=not args.no_figures)
    print(f"{DOC}: joint calibration section updated")


if __name__ == "__main__":
    main()
