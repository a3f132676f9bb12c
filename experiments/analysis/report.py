"""`escalation report DIR`: one self-contained HTML brief to hand to a reader.

Works on any results folder with a manifest.json (run, sweep, compare, sensitivity, phase_map,
calibration). The page reads as a brief: first the findings in words (what the comparison's verdicts
say each ranking rests on, where `compare` wrote them; the headline differences with their
intervals), then tables whose estimate, interval and difference sit in their own columns under the
outcomes' human labels (model/outputs.py), the figures (every PNG in figures/, embedded as base64),
and last the provenance: seeds, hashes, versions, the scenario (YAML) and the manifest. Nothing in
the page refers to a file.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from experiments.scenario.errors import UserError
from experiments.runner.run import check_run_manifest, check_table, read_manifest

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}th,td{border:1px solid #ddd;padding:.25em .5em;text-align:right;vertical-align:top}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.8em}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
.note{color:#555;font-size:.9em}
.findings{font-size:1.05em;background:#f6f8fb;border-left:4px solid #36c;padding:.6em 1.2em;margin:1em 0}
.findings li{margin:.3em 0}.provenance{color:#555}
"""


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _img(png: bytes, alt: str) -> str:
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}"><figcaption class="note">{html.escape(alt)}</figcaption></figure>'


def _table(df: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    return df.to_html(index=False, escape=True, border=0, na_rep="", float_format=lambda v: floatfmt.format(v))


def _read(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_parquet(path) if path.exists() else None
    except Exception as exc:  # a damaged file: say which
        raise UserError(f"cannot read table: {exc}", file=path) from None


def _fmt(kind: str) -> str:
    return "{:.3f}" if kind == "prob" else "{:.1f}"


def _interval(f: str, lo: float, hi: float) -> str:
    return f"{f.format(lo)} to {f.format(hi)}"


def _label(outcome: str, label: str | None = None) -> str:
    """An outcome's human label with its unit, from the output declaration (model/outputs.py)."""
    from experiments.runner.outputs import DERIVED, LABELS, SUMMARY

    unit = next((c.unit for c in SUMMARY + DERIVED if c.name == outcome), "")
    text = label or LABELS.get(outcome, outcome)
    return f"{text} ({unit})" if unit and unit not in ("level", "index") and not text.startswith("P(") else text


def compare_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per outcome and policy: estimate, its interval, the paired difference to the reference and
    its interval, each in its own column, under the outcomes' labels."""
    ref = table.reference.iloc[0]
    conf = "95 %"
    rows = []
    order = {o: i for i, o in enumerate(dict.fromkeys(table.outcome))}
    policies = {p: i for i, p in enumerate(dict.fromkeys(table.policy))}
    table = table.iloc[sorted(range(len(table)), key=lambda i: (order[table.outcome.iloc[i]], policies[table.policy.iloc[i]]))]
    for _, r in table.iterrows():
        f = _fmt(r.kind)
        is_ref = r.policy == ref
        rows.append({"Outcome": _label(r.outcome, r.label), "Policy": r.policy, "Estimate": f.format(r.estimate),
                     f"{conf} interval": _interval(f, r.ci_low, r.ci_high),
                     f"Difference to {ref}": "reference" if is_ref else f.replace("{:", "{:+").format(r["diff"]),
                     f"{conf} interval of the difference": "" if is_ref else _interval(f, r.diff_low, r.diff_high)})
    return pd.DataFrame(rows)


def _sentence_list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in items) + "</ul>" if items else ""


HEADLINE = ("attacks_total", "us_killed", "war", "withdrawal_demanded", "attacks_stopped")  # findings in words; all in the table


def _compare_findings(table: pd.DataFrame) -> list[str]:
    """Per outcome: which policies differ from the reference (intervals excluding 0), in which direction, by how much."""
    ref = table.reference.iloc[0]
    out = []
    outcomes = list(dict.fromkeys(table.outcome))
    headline = [o for o in outcomes if o in HEADLINE] or outcomes
    for oc in headline:
        t = table[(table.outcome == oc) & (table.policy != ref)].sort_values("diff")
        if t.empty:
            continue
        r0 = table[(table.outcome == oc) & (table.policy == ref)].iloc[0]
        f = _fmt(r0.kind)
        label = _label(oc, r0.label)
        sign = f.replace("{:", "{:+")
        lower = [f"{r.policy} ({sign.format(r['diff'])}, 95 % interval {_interval(f, r.diff_low, r.diff_high)})"
                 for _, r in t.iterrows() if r.diff_high < 0]
        higher = [f"{r.policy} ({sign.format(r['diff'])}, 95 % interval {_interval(f, r.diff_low, r.diff_high)})"
                  for _, r in t.iloc[::-1].iterrows() if r.diff_low > 0]
        same = [r.policy for _, r in t.iterrows() if not (r.diff_high < 0 or r.diff_low > 0)]
        parts = [f"{label}: {f.format(r0.estimate)} under {ref}"]
        if lower:
            parts.append(f"lower with {', '.join(lower)}")
        if higher:
            parts.append(f"higher with {', '.join(higher)}")
        if same:
            parts.append(f"not distinguishable from {ref} with {', '.join(same)}")
        out.append("; ".join(parts) + ".")
    return out


def _verdicts(d: Path) -> tuple[list[str], list[str]]:
    """(sentences, tables as HTML) from what `compare` judged each ranking to rest on
    (experiments.analysis.robustness): the verdicts in words, then the rows where a parameter the data do not
    identify flips the sign of a difference."""
    from experiments.analysis.robustness import verdict_lines

    sentences, tables = verdict_lines(_read(d / "verdicts.parquet")), []
    if sentences:
        sentences.append("'robust': no parameter the data do not identify changes the sign of the difference when held "
                         "at its 5th or 95th posterior percentile; 'depends on': where the difference crosses zero. "
                         "P(better): share of posterior draws in which the policy does better, paired draw by draw.")
    rob = _read(d / "robustness.parquet")
    if rob is not None and "flips" in rob.columns and rob.flips.any():
        flips = rob[rob.flips].assign(outcome=lambda t: [_label(o) for o in t.outcome])
        shown = flips.rename(columns={c: c.replace("_", " ").capitalize() for c in flips.columns})
        tables.append("<h3>Where a parameter the data do not identify flips a ranking</h3><p class='note'>Each row: the "
                      "paired difference with the parameter held at its 5th (low) and 95th (high) posterior percentile; "
                      "all rows in robustness.parquet.</p>" + _table(shown, "{:.3g}"))
    return sentences, tables


def _run_sections(d: Path) -> list[str]:
    """Summary statistics and two figures drawn from a run's tables."""
    out = []
    summary = _read(d / "summary.parquet")
    if summary is not None:
        num = summary.select_dtypes(include=["number", "bool"]).drop(columns=["replicate"], errors="ignore").astype(float)
        stats = pd.DataFrame({"Outcome": [_label(c) for c in num.columns], "Mean": num.mean().to_numpy(),
                              "Median": num.median().to_numpy(), "5th percentile": num.quantile(0.05).to_numpy(),
                              "95th percentile": num.quantile(0.95).to_numpy(), "Missing (never happened)": num.isna().sum().to_numpy()})
        out.append("<h2>Outcomes per replicate</h2><p class='note'>Over the run's replicates; yes/no outcomes (P(...)) "
                   "as shares.</p>" + _table(stats))
    has_figures = (d / "figures").is_dir() and any((d / "figures").glob("*.png"))
    if (d / "daily.parquet").exists() and not has_figures:  # the run figures, drawn in memory
        from experiments.analysis.plots import DRAW, house_style, load_observed_or_empty, read_run

        tables, observed = read_run(d), load_observed_or_empty()
        with house_style():
            for name, caption in (("cumulative_attacks", "Cumulative attacks by country (median, 50 % and 90 % bands)"),
                                  ("escalation_ladder", "Escalation ladder: share of replicates at each level")):
                out.append(_img(_png(DRAW[name](tables, observed)), caption))
    return out


def sweep_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The report's sweep table: one row per (lever setting, outcome) with n, the mean and its interval in
    their own columns, outcomes by their labels."""
    from experiments.analysis.sweep_plots import OUTCOME_LABEL, lever_intervals

    order = list(dict.fromkeys(runs.sort_values("point").lever))
    t = lever_intervals(runs, order)
    label = {**OUTCOME_LABEL, "war": "P(war)", "withdrawal_demanded": "P(withdrawal demanded)"}
    return pd.DataFrame({"lever setting": t.lever, "outcome": t.outcome.map(lambda o: label.get(o, o)), "runs (n)": t.n,
                         "mean": t["mean"], "95% low": t.ci_low, "95% high": t.ci_high})


def point_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per design point: n runs, mean total attacks and P(war), each with its 95% bootstrap interval."""
    from experiments.analysis.intervals import interval_table

    outs = [o for o in ("attacks_total", "war") if o in runs]
    t = interval_table(runs.assign(**{o: runs[o].astype(float) for o in outs}), "point", outs)
    wide = {"point": t.point.drop_duplicates().to_numpy(), "runs (n)": t[t.outcome == outs[0]].n.to_numpy()}
    for o, name in (("attacks_total", "attacks"), ("war", "P(war)")):
        if o in outs:
            r = t[t.outcome == o]
            wide.update({f"{name} mean": r["mean"].to_numpy(), f"{name} 95% low": r.ci_low.to_numpy(),
                         f"{name} 95% high": r.ci_high.to_numpy()})
    return pd.DataFrame(wide)


def _sweep_sections(d: Path, man: dict[str, Any]) -> list[str]:
    """The design (one row per point), outcomes by lever setting, and the sweep figures (drawn if missing)."""
    from experiments.runner.sweep import load_sweep
    from experiments.analysis.sweep_plots import lever_labels, plot_sweep

    design = _read(d / "points.parquet")
    runs = load_sweep(d)
    runs["lever"] = lever_labels(runs, list(man.get("levers") or []))
    out = [f"<h2>Design</h2><p class='note'>{len(design)} points: levers {html.escape(', '.join(man.get('levers') or []) or '-')}"
           f" (full grid) x uncertainties {html.escape(', '.join(man.get('uncertainties') or []) or '-')} "
           f"({html.escape(str(man.get('design', '')))}); {man.get('replicates')} replicates per point; status "
           f"{html.escape(str(man.get('status', '?')))}; per point: n runs, mean total attacks and P(war) with their 95% "
           "bootstrap intervals.</p>" + _table(design.merge(point_table(runs), on="point", how="left"), "{:.4g}")]
    out.append("<h2>Outcomes by lever</h2><p class='note'>Mean over all runs of each lever setting (all uncertainty "
               "points and replicates; n = runs) with its 95% interval: percentile bootstrap (2,000 resamples, fixed "
               "seed), or for shares of runs (war, withdrawal) the Wilson score interval, which stays honest when no run is at war. Lever settings whose intervals overlap may differ only "
               "by noise.</p>" + _table(sweep_table(runs)))
    if not ((d / "figures").is_dir() and any((d / "figures").glob("*.png"))):
        plot_sweep(d)
    return out


def _run_findings(d: Path, man: dict[str, Any]) -> list[str]:
    summary = _read(d / "summary.parquet")
    if summary is None or summary.empty:
        return []
    out = []
    for col in ("attacks_total", "us_killed", "us_injured", "ships_attacked", "us_strikes_yemen"):  # (Red Sea: when on)
        if col in summary:
            x = summary[col].astype(float)
            out.append(f"{_label(col)}: median {x.median():.0f} (90 % of replicates between {x.quantile(0.05):.0f} and "
                       f"{x.quantile(0.95):.0f}).")
    if "us_killed" in summary:
        out.append(f"At least one U.S. death in {(summary.us_killed > 0).mean():.0%} of {len(summary)} replicates.")
    for col in ("war", "withdrawal_demanded"):
        if col in summary:
            out.append(f"{_label(col)} = {summary[col].astype(float).mean():.3f} over {len(summary)} replicates.")
    return out


def _sweep_findings(d: Path, man: dict[str, Any]) -> list[str]:
    """Per lever setting: mean total attacks and P(war) with a normal-approximation 95 % interval over its runs."""
    from experiments.runner.sweep import load_sweep
    from experiments.analysis.sweep_plots import lever_labels

    try:
        runs = load_sweep(d)
    except Exception:  # the sections below report a damaged sweep with its own message
        return []
    runs["lever"] = lever_labels(runs, list(man.get("levers") or []))
    out = [f"{len(runs):,} runs over {runs['point'].nunique() if 'point' in runs else '?'} design points."]
    for col in ("attacks_total", "war"):
        if col not in runs:
            continue
        g = runs.groupby("lever", sort=False)[col].agg(["mean", "std", "size"]).sort_values("mean")
        half = 1.96 * g["std"].fillna(0) / g["size"].clip(lower=1) ** 0.5
        f = "{:.3f}" if col == "war" else "{:.1f}"
        items = [f"{k} {f.format(r['mean'])} ({_interval(f, r['mean'] - h, r['mean'] + h)})" for (k, r), h in zip(g.iterrows(), half)]
        out.append(f"{_label(col)} by lever, lowest first (mean, 95 % interval over runs): {'; '.join(items)}.")
    return out


def _sensitivity_findings(d: Path) -> list[str]:
    ind = _read(d / "indices.parquet")
    if ind is None or ind.empty:
        return []
    key = "ST" if "ST" in ind else "mu_star" if "mu_star" in ind else None
    if key is None:
        return []
    out = []
    for oc, t in ind.groupby("outcome", sort=False):
        t = t[t[key].notna()]
        if t.empty:
            out.append(f"{_label(oc)}: no index could be computed (the outcome did not vary).")
            continue
        clear = t[t["flag"].fillna("").astype(str) == ""] if "flag" in t else t
        if clear.empty:
            out.append(f"{_label(oc)}: no index can be told from noise.")
            continue
        top = clear.sort_values(key, ascending=False).iloc[0]
        out.append(f"{_label(oc)}: decided most by {top.parameter} ({key} = {top[key]:.3g}); "
                   f"{len(t) - len(clear)} of {len(t)} indices cannot be told from noise.")
    return out


def _phase_findings(d: Path, man: dict[str, Any]) -> list[str]:
    grid = _read(d / "phase_map.parquet")
    if grid is None or grid.empty or "p_war" not in grid:
        return []
    thr = (man.get("phase_map") or {}).get("war_threshold", 0.1)
    return [f"P(war) ranges from {grid.p_war.min():.3f} to {grid.p_war.max():.3f} over {len(grid)} cells; "
            f"{int((grid.p_war >= thr).sum())} cells at or above {thr:g}."]


def _calibration_sections(d: Path) -> tuple[list[str], list[str]]:
    """(findings, sections) of a calibration folder: fit, which parameters the data identify, the posterior intervals."""
    fit = {}
    try:
        fit = json.loads((d / "fit.json").read_text())
    except (OSError, ValueError):
        pass
    findings, parts = [], []
    if fit:
        findings.append(f"{fit.get('method', 'ABC')} fit on {fit.get('simulations', '?')} simulations, {fit.get('accepted', '?')} accepted; "
                        f"90 % predictive intervals cover {fit.get('coverage_90', float('nan')):.0%} of the reported counts.")
        ratios = fit.get("width_ratios") or {}
        weak = [k for k, v in ratios.items() if v >= 0.8]
        if ratios:
            findings.append(f"The data identify {len(ratios) - len(weak)} of {len(ratios)} parameters; "
                            f"{len(weak)} stay near their priors (posterior/prior 90 % width ratio >= 0.8): {', '.join(weak) or 'none'}.")
        r = (fit.get("forecast") or {}).get("feb8_mar31_rate_share_of_january")
        if r:
            findings.append(f"Forecast: the Feb 8 - Mar 31 attack rate is {r['median']:.2f} of January's "
                            f"(90 % interval {r['q05']:.2f} to {r['q95']:.2f}).")
    intervals = _read(d / "intervals.parquet")
    if intervals is not None:
        shown = intervals.rename(columns={c: c.replace("_", " ").capitalize() for c in intervals.columns})
        parts.append("<h2>Posterior intervals</h2><p class='note'>Each calibrated parameter: prior range, posterior median "
                     "and interval, and whether the data identify it.</p>" + _table(shown, "{:.4g}"))
    targets = _read(d / "targets.parquet")
    if targets is not None:
        shown = targets.rename(columns={c: c.replace("_", " ").capitalize() for c in targets.columns})
        parts.append("<h2>Fit to the reported counts</h2>" + _table(shown, "{:.4g}"))
    return findings, parts


REQUIRED = {  # tables a report of each kind is made of: a folder missing them is an error, not an empty report
    "run": ("summary.parquet", "daily.parquet"),
    "compare": ("table.parquet",),
    "sensitivity": ("indices.parquet",),
    "phase_map": ("phase_map.parquet",),
    "sweep": ("points.parquet", "store.json"),
    "calibration": ("posterior.parquet", "fit.json"),
}


BOUND = {  # tables whose receipts (manifest "tables") a report of each kind requires; a sweep's tasks have their own
    "run": ("summary.parquet", "daily.parquet"),
    "compare": ("table.parquet", "summary.parquet"),
    "phase_map": ("phase_map.parquet",),
    "sensitivity": ("indices.parquet",),
}


def check_output(output: Path, force: bool) -> None:
    """``-o`` must be a file path (not a folder) and is not overwritten unless forced."""
    if output.is_dir():
        raise UserError("is a folder; expected the path of an HTML file to write", file=output)
    if output.exists() and not force:
        raise UserError("already exists; use --force to overwrite it", file=output)
    if not output.parent.is_dir():
        raise UserError("the folder for the report does not exist", file=output.parent)


def build_report(directory: str | Path, output: str | Path | None = None, force: bool = False) -> Path:
    d = Path(directory)
    if output is not None:
        check_output(Path(output), force)
    man = read_manifest(d, written_by="run, sweep, compare, sensitivity, phase-map or calibrate")
    kind = man.get("kind", "run")
    if not isinstance(kind, str) or kind not in REQUIRED:
        raise UserError(f"field 'kind': expected one of {sorted(REQUIRED)}, got {kind!r}"[:200], file=d / "manifest.json")
    missing = [f for f in REQUIRED[kind] if not (d / f).is_file()]
    if missing:
        raise UserError(f"the {kind} folder is missing {', '.join(missing)}; nothing to report", file=d)
    if kind in BOUND or "tables" in man:  # every table is the one its receipt in the manifest names
        from experiments.runner.store import check_tables

        check_tables(d, man, BOUND.get(kind, ()))
    if kind == "compare":
        table = _read(d / "table.parquet")
        check_table(table, d / "table.parquet", ("estimate", "ci_low", "ci_high", "diff", "diff_low", "diff_high"), finite=False)
        table_cols = {"policy", "outcome", "label", "kind", "reference"} - set(table.columns)
        if table_cols:
            raise UserError(f"missing column(s) {', '.join(sorted(table_cols))}", file=d / "table.parquet")
    if kind == "run":
        check_run_manifest(man, d)
        for name, cols in (("summary.parquet", ("replicate",)), ("daily.parquet", ("replicate", "day", "attacks_total", "escalation_level"))):
            check_table(_read(d / name), d / name, cols, man["replicates"])
    for key in ("scenario_name", "scenario"):
        if key in man and not isinstance(man[key], (str if key == "scenario_name" else dict)):
            raise UserError(f"field {key!r}: expected {'text' if key == 'scenario_name' else 'a mapping'}, got {man[key]!r}"[:200],
                            file=d / "manifest.json")
    name = man.get("scenario_name", d.name)
    if kind == "calibration" and isinstance(man.get("calibration"), dict) and man["calibration"].get("name"):
        name = str(man["calibration"]["name"])
    title = {"compare": "comparison of U.S. policies", "sweep": "sweep", "sensitivity": "sensitivity analysis",
             "phase_map": "phase map", "calibration": "calibration", "run": "run"}[kind]
    parts = [f"<h1>{html.escape(name)}: {html.escape(title)}</h1>",
             f"<p>{html.escape(str(man.get('scenario', {}).get('description', '')))}</p>"]
    findings: list[str] = []
    verdict_tables: list[str] = []
    body: list[str] = []

    if kind == "compare":
        table = _read(d / "table.parquet")
        ref = table.reference.iloc[0]
        verdicts, verdict_tables = _verdicts(d)
        findings += verdicts + _compare_findings(table)
        body.append(f"<h2>Outcomes by policy</h2><p class='note'>Mean over {man.get('replicates')} replicates per policy with its "
                    f"95 % bootstrap interval; the difference to <b>{html.escape(ref)}</b> is paired (common random numbers) with its "
                    "own interval. Days until attacks stop count 'never' as the run length.</p>" + _table(compare_table(table)))
        if man.get("attacks_stop"):
            stop = pd.DataFrame(man["attacks_stop"])
            body.append("<h3>Attacks stopping</h3>" + _table(stop.rename(columns={c: c.replace("_", " ").capitalize() for c in stop.columns}), "{:.2f}"))
        body.append("<details><summary>Full table (numbers)</summary>" + _table(table.drop(columns=["kind"]), "{:.4g}") + "</details>")
    elif kind == "sensitivity":
        findings += _sensitivity_findings(d)
        ind = _read(d / "indices.parquet")
        if ind is not None:
            shown = ind.assign(outcome=[_label(o) for o in ind.outcome]).rename(columns={
                "outcome": "Outcome", "parameter": "Parameter", "S1": "First-order index", "S1_conf": "± (first order)",
                "ST": "Total index", "ST_conf": "± (total)", "mu_star": "Mean absolute effect (μ*)", "mu_star_conf": "± (μ*)",
                "sigma": "Spread of effects (σ)", "flag": "Cannot be told from noise because", "method": "Method",
                "mu": "Mean effect (μ)", "mu_star_low": "μ* interval low", "mu_star_high": "μ* interval high",
                "S1_low": "First-order interval low", "S1_high": "First-order interval high", "ST_low": "Total interval low",
                "ST_high": "Total interval high", "note": "Note"})
            shown = shown.rename(columns={c: c.replace("_", " ").capitalize() for c in shown.columns if "_" in c})
            body.append("<h2>Sensitivity indices</h2><p class='note'>± = bootstrap half-width of the interval.</p>" + _table(shown))
        limits = _read(d / "box_limits.parquet")
        if limits is not None and (limits.method == "prim").any():
            body.append("<h2>Scenario discovery (PRIM)</h2><p class='note'>The chosen box of each outcome: the parameter "
                        "ranges that hold most cases (coverage) at the stated density; the peeling trajectory is in the "
                        "figures.</p>" + _table(limits[limits.method == "prim"].drop(columns=["method"]), "{:.4g}"))
        boxes = _read(d / "discovery.parquet")
        if boxes is not None:
            body.append("<h2>Scenario discovery (decision-tree boxes)</h2><p class='note'>coverage = share of all cases in the box; "
                        "density = share of the box's points that are cases.</p>" + _table(boxes.drop(columns=["bounds"], errors="ignore")))
    elif kind == "sweep":
        findings += _sweep_findings(d, man)
        body.extend(_sweep_sections(d, man))
    elif kind == "phase_map":
        findings += _phase_findings(d, man)
        grid = _read(d / "phase_map.parquet")
        if grid is not None:
            body.append("<h2>Phase map cells</h2>" + _table(grid.drop(columns=["ix", "iy"], errors="ignore")))
    elif kind == "calibration":
        f, sections = _calibration_sections(d)
        findings += f
        body.extend(sections)
    else:
        findings += _run_findings(d, man)
        body.extend(_run_sections(d))
    if man.get("identification_note"):  # unidentified parameters (experiments.scenario.identification)
        note = str(man["identification_note"]).removeprefix("note: ")
        findings.append(note[:1].upper() + note[1:])

    parts.append("<section class='findings'><h2>Findings</h2>" + (_sentence_list(findings) or "<p>No findings could be read "
                 "from this folder's tables.</p>") + "</section>")
    parts.extend(verdict_tables)
    parts.extend(body)
    figs = sorted((d / "figures").glob("*.png")) if (d / "figures").is_dir() else []
    if figs:
        parts.append("<h2>Figures</h2>" + "".join(_img(f.read_bytes(), f.stem.replace("_", " ")) for f in figs))

    # provenance last: what a reader needs to reproduce the numbers, not to read them
    parts.append("<h2>Provenance</h2><p class='provenance'>" + html.escape(
        f"seed {man.get('seed')}, replicates {man.get('replicates')}, scenario hash {man.get('scenario_hash')}, "
        f"git {man.get('git_commit')}, created {man.get('created')}; report written "
        f"{dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}") + "</p>")
    if man.get("uncertainties"):
        parts.append(f"<p class='provenance'>Parameters: {html.escape(str(man['uncertainties']))}</p>")
    if man.get("identification_source"):
        parts.append(f"<p class='provenance'>Identification: {html.escape(str(man['identification_source']))}; "
                     f"parameters: {html.escape(', '.join(man.get('unidentified') or []))}</p>")
    scenario = man.get("scenario")
    if scenario is not None:
        parts.append("<h3>Scenario</h3><pre>" + html.escape(yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True)) + "</pre>")
    parts.append("<h3>Manifest</h3><details><summary>manifest.json</summary><pre>"
                 + html.escape(json.dumps({k: v for k, v in man.items() if k != "scenario"}, indent=2, default=str)) + "</pre></details>")
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(name)}: {html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>\n")
    from experiments.runner.run import atomic_write_bytes

    target = Path(output) if output is not None else d / "report.html"
    atomic_write_bytes(target, page.encode("utf-8"))
    return target
