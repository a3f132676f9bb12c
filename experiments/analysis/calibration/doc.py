"""Regenerate the results sections of docs/calibration.md from calibration result folders.

    python -m experiments.analysis.calibration.doc [--main results/calibration] [--compare results/calibration_smc]
        [--tolerance 0.05=results/calibration_tol05 --tolerance 0.20=results/calibration_tol20] [--replicates 300]

Everything between ``<!-- generated: begin -->`` and ``<!-- generated: end -->`` in docs/calibration.md
is rewritten: the fit, the width ratios, the coverage of every target, the forecasts, the out-of-time
scores against the naive forecasts, the mechanism tests (run on ``scenarios/calibrated.yaml``), the
sensitivity of P(war) to the war-hazard prior, and, when their folders exist, the comparison with
the other sampler and the sensitivity to the tolerance of worded figures. Tables are read from the written
files (never from in-memory models).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.analysis.doc_blocks import replace_block

ROOT = Path(__file__).resolve().parents[3]  # the project (this file is experiments/analysis/calibration/doc.py)
DOC = ROOT / "docs" / "calibration.md"
BEGIN, END = "<!-- generated: begin -->", "<!-- generated: end -->"


def _fit(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "fit.json").read_text())


def _q(d: dict[str, float], fmt: str = "{:.0f}") -> str:
    return f"{fmt.format(d['median'])} ({fmt.format(d['q05'])}–{fmt.format(d['q95'])})"


def _table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def fit_section(folder: Path) -> str:
    f = _fit(folder)
    hist = pd.read_parquet(folder / "history.parquet")
    hist = hist.assign(epsilon=hist["epsilon"].round(2)).fillna("")
    if "ess" in hist:
        hist["ess"] = [f"{x:.0f}" if x != "" else "" for x in hist["ess"]]
    lines = [
        "### Fit",
        "",
        f"Method **{f['method']}**, {f['simulations']:,} simulations in {f['generations']} generation(s); final "
        f"tolerance ε = {f['epsilon']:.2f} (median distance under the prior {f['distance_prior_median']:.2f}); "
        f"{f['accepted']:,} particles. 90 % posterior-predictive coverage: {f['coverage_90']:.2f} of all targets, "
        f"{f['coverage_90_fit_targets']:.2f} of the fitted ones.",
        "",
        _table(hist),
    ]
    return "\n".join(lines)


def width_section(folder: Path) -> str:
    iv = pd.read_parquet(folder / "intervals.parquet")
    rows = pd.DataFrame({
        "parameter": iv["parameter"].str.replace("militias.*.behaviours.", "", regex=False).str.replace("militias.*.", "", regex=False),
        "prior": iv["prior"],
        "posterior 5 / 50 / 95 %": [f"{a:.3g} / {b:.3g} / {c:.3g}" for a, b, c in zip(iv["posterior_q05"], iv["posterior_q50"], iv["posterior_q95"])],
        "width ratio": iv["width_ratio"].round(2),
        "identified": ["yes" if r < 0.8 else "**no**" for r in iv["width_ratio"]],
    })
    n_no = int((iv["width_ratio"] >= 0.8).sum())
    return "\n".join([
        "### Width ratios (posterior 90 % width / prior 90 % width)",
        "",
        f"{n_no} of {len(iv)} parameters are **not identified** (ratio ≥ 0.8). `scenarios/calibrated.yaml` "
        "therefore carries the posterior draws (`uncertainty.posterior`), not point values, and every run, "
        "compare, sweep and sensitivity analysis that uses it names these parameters in its console note, "
        "manifest and report.",
        "",
        _table(rows),
    ])


def coverage_section(folder: Path) -> str:
    t = pd.read_parquet(folder / "targets.parquet")
    rows = pd.DataFrame({
        "target": t["id"], "kind": t["bound"], "report": t["report"],
        "observed": [f"{int(a)}" if a == b else f"{int(a)}–{int(b)}" for a, b in zip(t["obs_low"], t["obs_high"])],
        "90 % predictive (median)": [f"{a:.0f}–{c:.0f} ({b:.0f})" for a, b, c in zip(t["q05"], t["median"], t["q95"])],
        "covered": ["yes" if c else "**no**" for c in t["covered"]],
        "fitted": ["yes" if x else "check" for x in t["fit"]],
    })
    return "\n".join(["### Coverage of every target", "", _table(rows)])


def forecast_section(folder: Path) -> str:
    f = _fit(folder)["forecast"]
    lines = ["### Forecast (posterior predictive, replayed inputs)", "",
             "| quantity | median (90 % interval) |", "|---|---|"]
    for key in ("2023-12-31", "2024-01-31", "2024-02-29"):
        if key in f:
            lines.append(f"| cumulative attacks since Oct 17, 2023, by {key} | {_q(f[key])} |")
    if "feb8_mar31_rate_share_of_january" in f:
        r = f["feb8_mar31_rate_share_of_january"]
        lines.append(f"| Feb 8 – Mar 31 attack rate as a share of January's (per run) | {_q(r, '{:.2f}')} |")
        lines.append(f"| the same, ratio of the mean rates over runs | {r['of_mean_rates']:.2f} |")
    return "\n".join(lines)


def out_of_time_section(folder: Path) -> str:
    f = _fit(folder).get("out_of_time")
    if not f:
        return ""
    scores = pd.read_parquet(folder / "out_of_time_scores.parquet")
    rows = pd.DataFrame({
        "forecast": scores["model"], "target": scores["target"],
        "observed": [f"{int(a)}–{int(b)}" for a, b in zip(scores["obs_low"], scores["obs_high"])],
        "median (90 %)": [f"{m:.0f} ({a:.0f}–{b:.0f})" for m, a, b in zip(scores["median"], scores["q05"], scores["q95"])],
        "log score": scores["log_score"].round(2), "CRPS": scores["crps"].round(1),
        "in 90 %": ["yes" if c else "no" for c in scores["covered_90"]],
    })
    rep = pd.DataFrame(f["replaced"])[["path", "value", "source"]] if f["replaced"] else pd.DataFrame()
    fc = f["forecast"]
    lines = [
        f"### Out-of-time check (fit on what was known by {f['fit_until']})",
        "",
        f"Refit ({f['simulations']:,} simulations) on the {len(f['fitted_on'])} targets reported by {f['fit_until']} "
        "(the Pentagon tallies and 004), with every fixed value whose number comes from a later source replaced:",
        "",
        _table(rep) if len(rep) else "(none)",
        "",
        "Forecast from the refit, conditional on the replayed inputs after the cut (strikes, Tower 22): "
        + ", ".join(f"by {k} {_q(fc[k])}" for k in ("2023-12-31", "2024-01-31", "2024-02-29") if k in fc)
        + " cumulative attacks since Oct 17. Scores on the later reported counts (lower is better):",
        "",
        _table(rows),
    ]
    return "\n".join(lines)


METHOD_NAMES = {"rejection": "rejection + regression adjustment", "smc": "ABC-SMC"}


def comparison_section(main: Path, other: Path | None) -> str:
    if other is None or not (other / "fit.json").exists():
        return ""
    rows = []
    for folder in (main, other):
        f = _fit(folder)
        name = METHOD_NAMES.get(f["method"], f["method"])
        iv = pd.read_parquet(folder / "intervals.parquet")
        oot = {r["model"]: r for r in f.get("out_of_time", {}).get("summary", [])}
        model_row = next((r for k, r in oot.items() if k.startswith("escalation model")), None)
        rows.append({"method": name, "simulations": f"{f['simulations']:,}", "final ε": f"{f['epsilon']:.2f}",
                     "coverage": f"{f['coverage_90']:.2f}", "mean width ratio": f"{iv['width_ratio'].mean():.2f}",
                     "base-rate width": f"{iv.set_index('parameter').loc['militias.*.base_rate:multiplier', 'width_ratio']:.2f}",
                     "out-of-time log score": f"{model_row['log_score']:.2f}" if model_row else "",
                     "out-of-time CRPS": f"{model_row['crps']:.1f}" if model_row else ""})
    return "\n".join(["### Rejection ABC against ABC-SMC (same model, data and budget)", "", _table(pd.DataFrame(rows))])


def tolerance_section(folders: dict[str, Path]) -> str:
    rows = []
    for tol, folder in sorted(folders.items()):
        if not (folder / "fit.json").exists():
            continue
        f = _fit(folder)
        iv = pd.read_parquet(folder / "intervals.parquet").set_index("parameter")
        b = iv.loc["militias.*.base_rate:multiplier"]
        fc = f["forecast"]
        rows.append({"tolerance": tol, "coverage": f"{f['coverage_90']:.2f}",
                     "base-rate multiplier": f"{b.posterior_q50:.2f} ({b.posterior_q05:.2f}–{b.posterior_q95:.2f})",
                     "attacks by Jan 31": _q(fc["2024-01-31"]) if "2024-01-31" in fc else "",
                     "Feb 8–Mar 31 share": _q(fc["feb8_mar31_rate_share_of_january"], "{:.2f}")
                     if "feb8_mar31_rate_share_of_january" in fc else ""})
    if not rows:
        return ""
    return "\n".join(["### Sensitivity to the tolerance of worded figures", "", _table(pd.DataFrame(rows))])


def mechanism_section(replicates: int) -> str:
    from experiments.analysis import checks
    from experiments.scenario.schema import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "calibrated.yaml")
    a = checks.falloff_without_feb_strikes(sc, replicates=replicates)
    b = checks.falloff_follows_event(sc, replicates=replicates)
    policies = ["restraint", "proportional", "threshold", "graduated", "red_line", "decapitation", "historical"]
    deaths = checks.early_death_probability(sc, policies, replicates=max(replicates, 1500))
    war = checks.war_sensitivity(sc, [5e-5, 5e-4, 5e-3], replicates=max(replicates, 2000))
    rows = pd.DataFrame([{"casualty event": k, "Dec 1–27": f"{v['dec1_27']:.2f}", "Jan 5–27": f"{v['jan5_27']:.2f}",
                          "January": f"{v['january']:.2f}", "Feb 8–Mar 31": f"{v['feb8_mar31']:.2f}"} for k, v in b.items()])
    lines = [
        f"### Mechanism tests (`scenarios/calibrated.yaml` with its posterior draws, {replicates} replicates; "
        "`tests/test_mechanisms.py` asserts them)",
        "",
        f"1. **Feb 2 and Feb 7 strikes removed** from the replay: January {a['january']:.2f} attacks/day, "
        f"Feb 8 – Mar 31 {a['feb8_mar31']:.2f}/day = **{a['share']:.2f}** of January's (required ≤ 0.30).",
        "2. **Tower 22 moved** (mean attacks/day; the fall-off follows the casualty event, not the strikes):",
        "",
        _table(rows),
        "",
        "3. **Counterfactual runs** (endogenous deaths): P(a U.S. death before Nov 16, 2023) by policy "
        "(required ≤ 0.10): " + ", ".join(f"{k} {v:.3f}" for k, v in deaths.items()) + ".",
        "4. **War** is a hazard on Iran's decaying stock of IRGC losses, damped by its restraint. Sensitivity "
        "to the hazard's cited prior range (other parameters from the posterior):",
        "",
        _table(pd.DataFrame([{"iran.war_hazard": r["war_hazard"], "P(war by Mar 31)": f"{r['p_war']:.3f}",
                              "distinct start days": r["distinct_start_days"],
                              "largest share on one day": f"{r['largest_share_one_day']:.2f}"} for r in war])),
    ]
    return "\n".join(lines)


def mechanism_share_section(replicates: int) -> str:
    """Each mechanism's share of the February fall-off (issue 18 item 3), on ``scenarios/calibrated.yaml``."""
    from experiments.analysis import checks
    from experiments.scenario.schema import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "calibrated.yaml")
    shares = checks.mechanism_shares(sc, replicates=replicates)
    table = pd.DataFrame({"variant": shares["variant"], "January (attacks/day)": shares["january"].map("{:.2f}".format),
                          "Feb 8 – Mar 31 (attacks/day)": shares["feb8_mar31"].map("{:.2f}".format),
                          "share of January's": shares["share"].map("**{:.2f}**".format)})
    return "\n".join([
        f"### Each mechanism's share of the fall-off (`scenarios/calibrated.yaml`, {replicates} replicates, common random numbers)",
        "",
        "The Feb 8 – Mar 31, 2024 attack rate as a share of January's, with everything in, with each mechanism taken "
        "out (the Tower 22 casualty event removed; the Feb 2 and Feb 7 strikes removed from the replay; Iran's rule "
        "`unrestrained`) and with none of them (`experiments/analysis/checks.py`, `mechanism_shares`; "
        "`tests/test_mechanisms.py` asserts the attribution). The reported tallies give none from Feb 5 to Feb 13.",
        "",
        _table(table),
        "",
        f"Reading: {checks.attribution(shares)}.",
    ])


def preposterior_section(folder: Path = ROOT / "results" / "preposterior") -> str:
    """The pre-posterior table written by ``python -m experiments.analysis.preposterior`` (when it has been run)."""
    f = folder / "preposterior.md"
    return f.read_text(encoding="utf-8").strip() if f.exists() else ""


def suspension_section(folder: Path) -> str:
    s = _fit(folder).get("suspension_check")
    if not s:
        return ""
    return (f"### Kata'ib Hezbollah's suspension (never an input)\n\nKH newly suspends within {s['window'][0]} – "
            f"{s['window'][1]} in **{s['share_suspending_in_window']:.0%}** of posterior-predictive runs "
            f"(prior: {s['prior_share_suspending_in_window']:.0%}); it is already suspended before the window in "
            f"{s['share_suspended_before_window']:.0%}. Median lag after the first U.S. death: "
            f"{s['median_lag_days']:.0f} days (observed {s['observed_lag_days'][0]}–{s['observed_lag_days'][1]}).")


def generate(main: Path, other: Path | None, tolerances: dict[str, Path], replicates: int) -> str:
    parts = [fit_section(main), width_section(main), coverage_section(main), forecast_section(main),
             out_of_time_section(main), suspension_section(main), mechanism_share_section(replicates), preposterior_section(),
             mechanism_section(replicates),
             comparison_section(main, other), tolerance_section(tolerances)]
    return "\n\n".join(p for p in parts if p)


def write(text: str, doc: Path = DOC) -> None:
    replace_block(doc, BEGIN, END, f"\n\n{text}\n\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--main", type=Path, default=ROOT / "results" / "calibration")
    ap.add_argument("--compare", type=Path, default=ROOT / "results" / "calibration_smc", help="the other sampler's run")
    ap.add_argument("--tolerance", action="append", default=None, help="VALUE=FOLDER (repeatable)")
    ap.add_argument("--replicates", type=int, default=300)
    args = ap.parse_args(argv)
    tol = args.tolerance or ["0.05=results/calibration_tol05", "0.10=results/calibration", "0.20=results/calibration_tol20"]
    folders = {k: (ROOT / v if not Path(v).is_absolute() else Path(v)) for k, v in (t.split("=", 1) for t in tol)}
    write(generate(args.main, args.compare, folders, args.replicates))
    print(f"{DOC}: updated")


if __name__ == "__main__":
    main()
