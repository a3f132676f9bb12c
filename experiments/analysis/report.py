"""`escalation report DIR`: one self-contained HTML file to send to a colleague.

Works on any results folder with a manifest.json (run, sweep, compare, sensitivity, phase_map): the
tables, every PNG in figures/ embedded as base64 (a run folder without figures gets two drawn
from its tables), the scenario (YAML) and the manifest. Nothing in the page refers to a file.
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


def compare_table(table: pd.DataFrame) -> pd.DataFrame:
    """Outcomes x policies, cells 'mean [low, high]' and the paired difference to the reference."""
    policies = list(dict.fromkeys(table.policy))
    ref = table.reference.iloc[0]
    rows = []
    for oc in dict.fromkeys(table.outcome):
        t = table[table.outcome == oc].set_index("policy")
        f = "{:.3f}" if t.kind.iloc[0] == "prob" else "{:.1f}"
        row = {"outcome": t.label.iloc[0]}
        for p in policies:
            r = t.loc[p]
            cell = f"{f.format(r.estimate)} [{f.format(r.ci_low)}, {f.format(r.ci_high)}]"
            if p != ref:
                cell += f" (Δ {f.format(r['diff'])} [{f.format(r.diff_low)}, {f.format(r.diff_high)}])"
            row[p] = cell
        rows.append(row)
    return pd.DataFrame(rows)


def _run_sections(d: Path) -> list[str]:
    """Summary statistics and two figures drawn from a run's tables."""
    out = []
    summary = _read(d / "summary.parquet")
    if summary is not None:
        num = summary.select_dtypes(include=["number", "bool"]).drop(columns=["replicate"], errors="ignore").astype(float)
        stats = pd.DataFrame({"outcome": num.columns, "mean": num.mean().to_numpy(), "median": num.median().to_numpy(),
                              "q05": num.quantile(0.05).to_numpy(), "q95": num.quantile(0.95).to_numpy(),
                              "missing (never)": num.isna().sum().to_numpy()})
        out.append("<h2>Outcomes per replicate</h2>" + _table(stats))
    has_figures = (d / "figures").is_dir() and any((d / "figures").glob("*.png"))
    if (d / "daily.parquet").exists() and not has_figures:  # the run figures, drawn in memory
        from experiments.analysis.plots import DRAW, house_style, load_observed_or_empty, read_run

        tables, observed = read_run(d), load_observed_or_empty()
        with house_style():
            for name, caption in (("cumulative_attacks", "Cumulative attacks by country (median, 50 % and 90 % bands)"),
                                  ("escalation_ladder", "Escalation ladder: share of replicates at each level")):
                out.append(_img(_png(DRAW[name](tables, observed)), caption))
    return out


def _sweep_sections(d: Path, man: dict[str, Any]) -> list[str]:
    """The design (one row per point), outcomes by lever setting, and the sweep figures (drawn if missing)."""
    from experiments.runner.sweep import load_sweep
    from experiments.analysis.sweep_plots import lever_labels, plot_sweep

    design = _read(d / "points.parquet")
    out = [f"<h2>Design</h2><p class='note'>{len(design)} points: levers {html.escape(', '.join(man.get('levers') or []) or '-')}"
           f" (full grid) x uncertainties {html.escape(', '.join(man.get('uncertainties') or []) or '-')} "
           f"({html.escape(str(man.get('design', '')))}); {man.get('replicates')} replicates per point; status "
           f"{html.escape(str(man.get('status', '?')))}.</p>" + _table(design, "{:.4g}")]
    runs = load_sweep(d)
    runs["lever"] = lever_labels(runs, list(man.get("levers") or []))
    cols = [c for c in ("attacks_total", "us_killed", "us_injured", "militia_killed", "war", "withdrawal_demanded",
                        "mean_escalation_level") if c in runs]
    by = runs.groupby("lever", sort=False)[cols].mean(numeric_only=True).reset_index()
    by.insert(1, "runs", runs.groupby("lever", sort=False).size().to_numpy())
    out.append("<h2>Outcomes by lever</h2><p class='note'>Mean over all runs of each lever setting (all uncertainty "
               "points and replicates); war and withdrawal_demanded are shares of runs.</p>" + _table(by))
    if not ((d / "figures").is_dir() and any((d / "figures").glob("*.png"))):
        plot_sweep(d)
    return out


REQUIRED = {  # tables a report of each kind is made of: a folder missing them is an error, not an empty report
    "run": ("summary.parquet", "daily.parquet"),
    "compare": ("table.parquet",),
    "sensitivity": ("indices.parquet",),
    "phase_map": ("phase_map.parquet",),
    "sweep": ("points.parquet", "store.json"),
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
    man = read_manifest(d, written_by="run, sweep, compare, sensitivity or phase-map")
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
    parts = [f"<h1>{html.escape(name)}: {html.escape(kind)} report</h1>",
             f"<p class='note'>{html.escape(str(man.get('scenario', {}).get('description', '')))}</p>",
             "<p class='note'>" + html.escape(
                 f"seed {man.get('seed')}, replicates {man.get('replicates')}, scenario hash {man.get('scenario_hash')}, "
                 f"git {man.get('git_commit')}, created {man.get('created')}; report written "
                 f"{dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}") + "</p>"]
    if man.get("uncertainties"):
        parts.append(f"<p>Parameters: {html.escape(str(man['uncertainties']))}</p>")
    if man.get("identification_note"):  # unidentified parameters (experiments.scenario.identification)
        parts.append(f"<p class='identification'><b>{html.escape(str(man['identification_note']))}</b></p>")

    if kind == "compare" and (d / "table.parquet").exists():
        table = _read(d / "table.parquet")
        ref = table.reference.iloc[0]
        parts.append(f"<h2>Outcomes by policy</h2><p class='note'>Mean over replicates with 95% bootstrap interval; "
                     f"Δ = paired difference to <b>{html.escape(ref)}</b> (common random numbers) with its interval. "
                     "Days until attacks stop count 'never' as the run length.</p>" + _table(compare_table(table)))
        if man.get("attacks_stop"):
            parts.append("<h3>Attacks stopping</h3>" + _table(pd.DataFrame(man["attacks_stop"]), "{:.2f}"))
        parts.append("<details><summary>Full table (numbers)</summary>" + _table(table.drop(columns=["kind"]), "{:.4g}") + "</details>")
    elif kind == "sensitivity":
        ind = _read(d / "indices.parquet")
        if ind is not None:
            parts.append("<h2>Sensitivity indices</h2>" + _table(ind))
        limits = _read(d / "box_limits.parquet")
        if limits is not None and (limits.method == "prim").any():
            parts.append("<h2>Scenario discovery (PRIM)</h2><p class='note'>The chosen box of each outcome: the parameter "
                         "ranges that hold most cases (coverage) at the stated density; the peeling trajectory is in the "
                         "figures.</p>" + _table(limits[limits.method == "prim"].drop(columns=["method"]), "{:.4g}"))
        boxes = _read(d / "discovery.parquet")
        if boxes is not None:
            parts.append("<h2>Scenario discovery (decision-tree boxes)</h2><p class='note'>coverage = share of all cases in the box; "
                         "density = share of the box's points that are cases.</p>" + _table(boxes.drop(columns=["bounds"], errors="ignore")))
    elif kind == "sweep":
        parts.extend(_sweep_sections(d, man))
    elif kind == "phase_map":
        grid = _read(d / "phase_map.parquet")
        if grid is not None:
            parts.append("<h2>Phase map cells</h2>" + _table(grid.drop(columns=["ix", "iy"], errors="ignore")))
    else:
        parts.extend(_run_sections(d))

    figs = sorted((d / "figures").glob("*.png")) if (d / "figures").is_dir() else []
    if figs:
        parts.append("<h2>Figures</h2>" + "".join(_img(f.read_bytes(), f.stem.replace("_", " ")) for f in figs))

    scenario = man.get("scenario")
    if scenario is not None:
        parts.append("<h2>Scenario</h2><pre>" + html.escape(yaml.safe_dump(scenario, sort_keys=False, allow_unicode=True)) + "</pre>")
    parts.append("<h2>Manifest</h2><details><summary>manifest.json</summary><pre>"
                 + html.escape(json.dumps({k: v for k, v in man.items() if k != "scenario"}, indent=2, default=str)) + "</pre></details>")
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(name)} ({html.escape(kind)})</title>"
            f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>\n")
    from experiments.runner.run import atomic_write_bytes

    target = Path(output) if output is not None else d / "report.html"
    atomic_write_bytes(target, page.encode("utf-8"))
    return target
