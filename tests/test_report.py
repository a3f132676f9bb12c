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
    assert f"{r.estimate:.1f} [{r.ci_low:.1f}, {r.ci_high:.1f}] (Δ {r['diff']:.1f} [{r.diff_low:.1f}, {r.diff_high:.1f}])" in page
    w = table[(table.policy == "historical") & (table.outcome == "war")].iloc[0]
    assert f"{w.estimate:.3f} [{w.ci_low:.3f}, {w.ci_high:.3f}]" in page
    assert "name: rep_cmp" in page and "&quot;kind&quot;: &quot;compare&quot;" in page  # scenario YAML and manifest


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
    assert f"<td>attacks_total</td>\n      <td>{summary.attacks_total.mean():.3f}</td>" in page
    assert "policy:\n    name: restraint" in page
    res = runner.invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "manifest.json not found" in res.output
