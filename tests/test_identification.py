"""Identification record in the posterior file, and the note every run carrying it prints and records."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from experiments.scenario import identification
from experiments.cli.main import app
from experiments.scenario.identification import (
    WIDTH_RATIO_THRESHOLD,
    covers,
    drop_covered,
    identification_record,
    read_identification,
)
from experiments.runner.store import write_posterior

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
RATIOS = {"militias.*.base_rate": 0.31, "militias.*.iran_obedience": 0.97}


def tiny_posterior(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"militias.*.base_rate": rng.uniform(0.3, 0.6, n), "militias.*.iran_obedience": rng.uniform(0.2, 0.8, n),
                         "weight": np.full(n, 1.0 / n)})


def scenario_file(folder: Path, posterior: str | None = None, name: str = "tiny", extends: Path = BASELINE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {"extends": str(extends), "name": name, "end": "2023-10-25", "replicates": 6, "block_size": 3}
    if posterior is not None:
        data["uncertainty"] = {"posterior": posterior}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run_cli(*args: str):
    return CliRunner().invoke(app, ["run", *map(str, args)])


@pytest.fixture(autouse=True)
def no_reference(monkeypatch, tmp_path):
    """Tests see no committed calibration unless they install one."""
    monkeypatch.setattr(identification, "REFERENCE_POSTERIOR", tmp_path / "absent" / "calibrated_posterior.parquet")


def test_record_round_trips_through_the_parquet_schema(tmp_path):
    df = tiny_posterior()
    path = write_posterior(df, tmp_path / "post.parquet", RATIOS)
    rec = read_identification(path)
    assert rec == {"militias.*.base_rate": {"width_ratio": 0.31, "identified": True},
                   "militias.*.iran_obedience": {"width_ratio": 0.97, "identified": False}}
    pd.testing.assert_frame_equal(pd.read_parquet(path), df)  # the draws themselves are unchanged
    plain = tmp_path / "plain.parquet"
    df.to_parquet(plain)
    assert read_identification(plain) is None


def test_threshold_is_inclusive_and_explicit_flags_win():
    rec = identification_record({"a": WIDTH_RATIO_THRESHOLD, "b": WIDTH_RATIO_THRESHOLD - 1e-9,
                                 "c": {"width_ratio": 0.95, "identified": True}})
    assert [rec[k]["identified"] for k in "abc"] == [False, True, True]
    with pytest.raises(ValueError):
        identification_record({"a": float("nan")})


def test_paths_cover_with_wildcards():
    assert covers("militias.*.base_rate", "militias.2.base_rate") and covers("militias.0.base_rate", "militias.*.base_rate")
    assert not covers("militias.*.base_rate", "militias.*.iran_obedience") and not covers("iran.x", "iran.x.y")
    kept = drop_covered(tiny_posterior(), ["militias.1.iran_obedience"])
    assert list(kept.columns) == ["militias.*.base_rate", "weight"]
    assert drop_covered(tiny_posterior(), ["militias.*.base_rate", "militias.*.iran_obedience"]) is None


def test_run_with_unidentified_posterior_prints_the_note_and_records_it(tmp_path):
    write_posterior(tiny_posterior(), tmp_path / "sc" / "data" / "post.parquet", RATIOS)
    sc = scenario_file(tmp_path / "sc", "data/post.parquet")
    out = tmp_path / "out"
    res = run_cli(sc, "--out", out)
    assert res.exit_code == 0, res.output
    assert "note: 1 parameter(s) are not identified by the data" in res.output
    assert re.search(r"results carry their posterior draws \(90 % range\): iran_obedience 0\.\d+-0\.\d+", res.output)
    assert res.output.count("not identified") == 1  # once
    assert "militias.*.base_rate" not in res.output.split("note:")[1]
    man = json.loads((out / "manifest.json").read_text())
    assert man["unidentified"] == ["militias.*.iran_obedience"]
    assert man["unidentified_carried_as"] == "posterior draws"
    assert "not identified" in man["identification_note"]

    from experiments.analysis.report import build_report

    page = build_report(out).read_text()
    assert "results carry their posterior draws (90 % range): iran_obedience 0." in page


def test_run_without_identification_metadata_has_no_note(tmp_path):
    tiny_posterior().to_parquet(tmp_path / "post.parquet")
    out = tmp_path / "out"
    res = run_cli(scenario_file(tmp_path, "post.parquet"), "--out", out)
    assert res.exit_code == 0, res.output
    assert "not identified" not in res.output
    assert "unidentified" not in json.loads((out / "manifest.json").read_text())


def test_all_identified_has_no_note(tmp_path):
    write_posterior(tiny_posterior(), tmp_path / "post.parquet", {k: 0.2 for k in RATIOS})
    res = run_cli(scenario_file(tmp_path, "post.parquet"), "--out", tmp_path / "out")
    assert res.exit_code == 0 and "not identified" not in res.output


def test_point_values_are_flagged_when_a_calibration_exists(tmp_path, monkeypatch):
    ref = write_posterior(tiny_posterior(), tmp_path / "ref" / "calibrated_posterior.parquet", RATIOS)
    monkeypatch.setattr(identification, "REFERENCE_POSTERIOR", ref)
    out = tmp_path / "out"
    res = run_cli(scenario_file(tmp_path, None), "--out", out)
    assert res.exit_code == 0, res.output
    assert "results are conditional on this scenario's values iran_obedience=0." in res.output
    man = json.loads((out / "manifest.json").read_text())
    assert man["unidentified"] == ["militias.*.iran_obedience"] and man["unidentified_carried_as"] == "point values"


def test_posterior_path_is_relative_to_the_file_that_names_it(tmp_path, monkeypatch):
    """A parent in another folder names data/post.parquet; a child in a folder above it, run from a third
    folder, still finds it (the committed scenarios/data/calibrated_posterior.parquet case). (The parent
    must lie inside the project or the child's folder: tests/test_inputs.py.)"""
    write_posterior(tiny_posterior(), tmp_path / "top" / "deeper" / "scenarios" / "data" / "post.parquet", RATIOS)
    parent = scenario_file(tmp_path / "top" / "deeper" / "scenarios", "data/post.parquet", name="parent")
    child = scenario_file(tmp_path / "top", None, name="child", extends=parent)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    from experiments.runner.run import load_draws
    from experiments.scenario.schema import load_scenario

    sc = load_scenario(child)
    assert sc.uncertainty.posterior == "deeper/scenarios/data/post.parquet"
    draws = load_draws(sc, child.parent)
    assert len(draws) == 40 and draws.attrs["identification"]["militias.*.iran_obedience"]["identified"] is False
    res = run_cli(child, "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert "results carry their posterior draws" in res.output


def test_draws_reach_the_runs(tmp_path):
    """The posterior is used, not only announced: a posterior of high base rates raises attacks."""
    from experiments.runner.run import run

    low, high = tiny_posterior(), tiny_posterior()
    low["militias.*.base_rate"], high["militias.*.base_rate"] = 0.05, 3.0
    write_posterior(low, tmp_path / "a" / "low.parquet", RATIOS)  # inside the scenario's folder (tests/test_inputs.py)
    write_posterior(high, tmp_path / "b" / "high.parquet", RATIOS)
    a = run(scenario_file(tmp_path / "a", str(tmp_path / "a" / "low.parquet")), replicates=6)
    b = run(scenario_file(tmp_path / "b", str(tmp_path / "b" / "high.parquet")), replicates=6)
    assert b.summary.attacks_total.sum() > a.summary.attacks_total.sum()
    assert a.notice is not None and a.notice.parameters == ["militias.*.iran_obedience"]


def test_sweep_uses_the_posterior_except_what_it_sweeps(tmp_path):
    from experiments.runner.sweep import plan_sweep, run_sweep

    write_posterior(tiny_posterior(), tmp_path / "post.parquet", RATIOS)
    sc = scenario_file(tmp_path, "post.parquet", name="sw")
    data = yaml.safe_load(sc.read_text())
    data["sweep"] = {"levers": {"militias.*.iran_obedience": [0.1, 0.9]}, "replicates": 3}
    sc.write_text(yaml.safe_dump(data))
    plan = plan_sweep(sc)
    assert list(plan.draws.columns) == ["militias.*.base_rate", "weight"]
    assert plan.notice is None  # the only unidentified parameter is set by the sweep itself
    data["sweep"] = {"levers": {"militias.*.base_rate": [0.2, 0.4]}, "replicates": 3}
    sc.write_text(yaml.safe_dump(data))
    res = run_sweep(sc, tmp_path / "out")
    assert res.failed == 0 and "iran_obedience 0." in res.note
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["unidentified"] == ["militias.*.iran_obedience"]


def with_block(sc: Path, key: str, block: dict) -> Path:
    data = yaml.safe_load(sc.read_text())
    data[key] = block
    sc.write_text(yaml.safe_dump(data))
    return sc


def test_compare_prints_and_records_the_note(tmp_path, monkeypatch):
    write_posterior(tiny_posterior(), tmp_path / "post.parquet", RATIOS)
    sc = with_block(scenario_file(tmp_path, "post.parquet", name="cmp"), "compare",
                    {"reference": "restraint", "replicates": 6, "levers": ["restraint", "proportional"],
                     "bootstrap": {"resamples": 100}})
    res = CliRunner().invoke(app, ["compare", str(sc), "--out", str(tmp_path / "c")], terminal_width=300)
    assert res.exit_code == 0, res.output
    assert re.search(r"results carry their posterior draws \(90 % range\): iran_obedience 0\.\d+-0\.\d+", res.output)
    assert res.output.count("not identified") == 1  # once
    man = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert man["unidentified"] == ["militias.*.iran_obedience"] and "posterior draws from" in man["uncertainties"]
    # fixed parameters while a posterior with unidentified parameters exists: conditional on point values
    with_block(sc, "compare", {"reference": "restraint", "replicates": 6, "levers": ["restraint", "proportional"],
                               "bootstrap": {"resamples": 100}, "uncertainties": "fixed"})
    write_posterior(tiny_posterior(), tmp_path / "ref.parquet", RATIOS)
    monkeypatch.setattr(identification, "REFERENCE_POSTERIOR", tmp_path / "ref.parquet")
    res = CliRunner().invoke(app, ["compare", str(sc), "--out", str(tmp_path / "f")], terminal_width=300)
    assert res.exit_code == 0, res.output
    assert "conditional on this scenario's values iran_obedience=0." in res.output


def test_sensitivity_carries_the_posterior_of_what_it_does_not_sample(tmp_path):
    write_posterior(tiny_posterior(), tmp_path / "post.parquet", RATIOS)
    sc = with_block(scenario_file(tmp_path, "post.parquet", name="sens"), "sensitivity",
                    {"method": "morris", "samples": 2, "uncertainties": {"militias.*.base_rate": [0.1, 1.0],
                                                                        "iran.restraint_per_us_killed": [0.1, 1.0]},
                     "outcomes": ["attacks_total"], "discovery": []})
    res = CliRunner().invoke(app, ["sensitivity", str(sc), "--out", str(tmp_path / "s")], terminal_width=300)
    assert res.exit_code == 0, res.output
    assert re.search(r"results carry their posterior draws \(90 % range\): iran_obedience 0\.\d+-0\.\d+", res.output)
    assert res.output.count("not identified") == 1  # once
    assert json.loads((tmp_path / "s" / "manifest.json").read_text())["unidentified"] == ["militias.*.iran_obedience"]
