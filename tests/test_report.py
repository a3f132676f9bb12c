"""`escalation report`: one self-contained HTML file with the tables, figures, scenario and manifest."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from experiments.cli.main import app

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def png_only(monkeypatch):
    """SVG output is the same code path with another format; PNG alone keeps the tests quick."""
    monkeypatch.setattr("experiments.analysis.plots.FIGURE_FORMATS", ("png",))


def assert_self_contained(page: str) -> None:
    srcs = re.findall(r"""\bsrc\s*=\s*["']([^"']*)""", page, flags=re.I)
    assert srcs and all(s.startswith("data:image/") for s in srcs)
    assert not re.search(r"""\bhref\s*=""", page, flags=re.I)
    assert "<link" not in page.lower() and "@import" not in page and "url(" not in page


def test_report_of_a_compare_folder(tmp_path):
    data = {"name": "rep_cmp", "extends": str(ROOT / "scenarios" / "baseline.yaml"), "end": "2023-11-10", "block_size": 30,
            "compare": {"replicates": 30, "uncertainties": "fixed", "levers": ["historical", "restraint"], "bootstrap": {"resamples": 300}}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(app, ["compare", str(tmp_path / "c.yaml"), "--out", str(out), "-q"]).exit_code == 0
    res = runner.invoke(app, ["report", str(out)])
    assert res.exit_code == 0, res.output
    page = (out / "report.html").read_text()
    assert_self_contained(page)
    assert page.count("data:image/png;base64,") == len(list((out / "figures").glob("*.png"))) == 5
    table = pd.read_csv(out / "table.csv")
    r = table[(table.policy == "restraint") & (table.outcome == "attacks_total")].iloc[0]
    # estimate, interval, difference and its interval in their own cells, under the outcome's label
    assert (f"<td>Total attacks (attacks)</td>\n      <td>restraint</td>\n      <td>{r.estimate:.1f}</td>\n      "
            f"<td>{r.ci_low:.1f} to {r.ci_high:.1f}</td>\n      <td>{r['diff']:+.1f}</td>\n      "
            f"<td>{r.diff_low:.1f} to {r.diff_high:.1f}</td>") in page
    w = table[(table.policy == "historical") & (table.outcome == "war")].iloc[0]
    assert f"<td>{w.estimate:.3f}</td>\n      <td>{w.ci_low:.3f} to {w.ci_high:.3f}</td>\n      <td>reference</td>" in page
    assert "name: rep_cmp" in page and "&quot;kind&quot;: &quot;compare&quot;" in page  # scenario YAML and manifest
    # a brief: findings in words first, tables next, provenance (hashes, scenario, manifest) last
    findings, tables, provenance = page.index(">Findings<"), page.index(">Outcomes by policy<"), page.index(">Provenance<")
    assert findings < tables < provenance < page.index("scenario hash") and page.index("scenario hash") > tables
    words = page[findings:tables]
    assert "Total attacks (attacks): " in words and " under historical" in words and "95 % interval" not in page[:findings]
    assert "attacks_total" not in page[:provenance].split("Full table (numbers)")[0]  # human labels, not column names

    # verdicts `compare` wrote on what a ranking rests on come first among the findings
    pd.DataFrame({"policy": ["restraint"], "reference": ["historical"], "outcome": ["war"], "label": ["P(war)"],
                  "verdict": ["depends on iran.war_hazard: restraint does better below 0.02"], "p_better": [0.4]}
                 ).to_parquet(out / "verdicts.parquet")  # as experiments.analysis.robustness writes them
    assert runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "v.html")]).exit_code == 0
    page = (tmp_path / "v.html").read_text()
    assert page.index("restraint vs historical: P(war): depends on iran.war_hazard: restraint does better below 0.02, P(better) 0.40") < page.index("Total attacks (attacks): ") < page.index(">Outcomes by policy<")


def test_report_of_a_run_folder_and_bad_folders(tmp_path):
    out = tmp_path / "run"
    runner = CliRunner()
    assert runner.invoke(app, ["run", str(ROOT / "scenarios" / "restraint.yaml"), "-n", "8", "--out", str(out), "-q"]).exit_code == 0
    target = tmp_path / "shared.html"
    res = runner.invoke(app, ["report", str(out), "--out", str(target)])
    assert res.exit_code == 0, res.output
    page = target.read_text()
    assert_self_contained(page)
    summary = pd.read_parquet(out / "summary.parquet")
    assert f"<td>Total attacks (attacks)</td>\n      <td>{summary.attacks_total.mean():.3f}</td>" in page
    assert f"Total attacks (attacks): median {summary.attacks_total.median():.0f}" in page
    assert page.index(">Findings<") < page.index(">Outcomes per replicate<") < page.index(">Provenance<")
    assert "policy:\n    name: restraint" in page
    res = runner.invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "manifest.json not found" in res.output


def test_report_of_a_calibration_folder(tmp_path):
    """A calibration folder is a brief too: the fit and what the data identify in words, the posterior intervals."""
    import json

    from experiments.runner.run import manifest
    from experiments.runner.store import write_posterior
    from experiments.scenario.schema import load_scenario

    d = tmp_path / "cal"
    d.mkdir()
    sc = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    post = pd.DataFrame({"militias.*.base_rate": [0.5, 0.6, 0.7], "iran.war_hazard": [0.001, 0.002, 0.003], "weight": [1.0, 1.0, 1.0]})
    write_posterior(post, d / "posterior.parquet", {"militias.*.base_rate": 0.3, "iran.war_hazard": 0.95})
    (d / "fit.json").write_text(json.dumps({"method": "rejection", "simulations": 64, "accepted": 50, "coverage_90": 0.89,
                                            "width_ratios": {"militias.*.base_rate": 0.3, "iran.war_hazard": 0.95}}))
    pd.DataFrame({"parameter": ["militias.*.base_rate", "iran.war_hazard"], "posterior_q50": [0.6, 0.002],
                  "width_ratio": [0.3, 0.95]}).to_parquet(d / "intervals.parquet")
    (d / "manifest.json").write_text(json.dumps(manifest(sc, 1, 64, kind="calibration", calibration={"name": "my_fit"})))
    res = CliRunner().invoke(app, ["report", str(d)])
    assert res.exit_code == 0, res.output
    page = (d / "report.html").read_text()
    assert "<h1>my_fit: calibration</h1>" in page
    words = page[page.index(">Findings<"):page.index(">Posterior intervals<")]
    assert "64 simulations, 50 accepted" in words and "89%" in words
    assert "The data identify 1 of 2 parameters" in words and "iran.war_hazard" in words
    assert page.index(">Posterior intervals<") < page.index(">Provenance<")
