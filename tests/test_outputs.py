"""The output declaration (model/outputs.py) is what the model records, what the runner writes, what the
analyses name and what the README documents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import config, make_model
from experiments.analysis import compare, plots, sweep_plots
from experiments.analysis.calibration import statistics as calibration_statistics
from experiments.cli import docs
from experiments.runner.stream import model_tables
from model import outputs
from model.ladder import EscalationLevel


@pytest.fixture(scope="module")
def stepped():
    cfg = config(policy="proportional", days=40)
    return make_model(cfg, replicates=5, seed=3).run()


def test_the_readme_holds_the_generated_output_tables():
    text = docs.README_FILE.read_text(encoding="utf-8")
    assert docs.OUTPUT_BEGIN in text and docs.OUTPUT_END in text
    between = text.split(docs.OUTPUT_BEGIN, 1)[1].split(docs.OUTPUT_END, 1)[0]
    assert between.strip() == docs.output_tables().strip(), "README.md's output tables drifted: run `python -m experiments.cli.docs`"


def test_the_readme_check_sees_a_drift(tmp_path):
    readme = tmp_path / "README.md"
    stale = docs.output_tables().replace("`attacks_total`", "`attacks_all`")
    readme.write_text(f"intro\n{docs.OUTPUT_BEGIN}\n\n{stale}\n{docs.OUTPUT_END}\noutro\n", encoding="utf-8")
    assert docs.update_readme(readme) is True
    assert "`attacks_all`" not in readme.read_text(encoding="utf-8")
    assert docs.update_readme(readme) is False
    assert readme.read_text(encoding="utf-8").endswith(f"{docs.OUTPUT_END}\noutro\n")


def _off(model) -> set[str]:
    """Columns of the optional actors a model runs without (declared, not recorded)."""
    from model.actors import ACTORS, enabled

    return {c.name for a in ACTORS if not enabled(a, model.config) for c in a.DAILY}


def test_the_model_records_the_declared_columns_with_their_dtypes(stepped):
    off = _off(stepped)
    for table, data in (("daily", stepped.daily_columns()), ("groups", stepped.group_columns())):
        declared = [c.name for c in outputs.TABLES[table] if c.name != "scenario" and c.name not in off]
        assert list(data) == declared
        for c in outputs.TABLES[table]:
            if c.name in data and c.dtype is not object:
                assert np.asarray(data[c.name]).dtype == np.dtype(c.dtype), (table, c.name)
    summary = stepped.summary_frame()
    assert list(summary.columns) == [c.name for c in outputs.SUMMARY if c.name != "scenario" and c.name not in off]
    for c in outputs.SUMMARY[1:]:
        if c.name not in off:
            assert summary[c.name].dtype == np.dtype(c.dtype), c.name


def test_written_tables_carry_the_declared_dtypes(stepped):
    for kind, table in model_tables(stepped, {"scenario": "t"}):
        for c in outputs.TABLES[kind]:
            if np.dtype(c.dtype).kind in "biuf" and c.name not in _off(stepped):
                assert table.schema.field(c.name).type.to_pandas_dtype() == np.dtype(c.dtype), (kind, c.name)


def test_counts_are_the_columns_the_summary_totals(stepped):
    daily = pd.DataFrame(stepped.daily_columns())
    summary = stepped.summary_frame()
    counts = [c.name for c in outputs.DAILY if c.kind == "count"]
    assert list(outputs.COUNT_COLUMNS) == counts and counts
    assert [c.name for c in outputs.SUMMARY if c.kind == "count"] == counts
    recorded = [c for c in counts if c not in _off(stepped)]
    np.testing.assert_array_equal(daily.groupby("replicate")[recorded].sum().to_numpy(), summary[recorded].to_numpy())
    assert all(c.kind in outputs.KINDS for cols in outputs.TABLES.values() for c in cols)


def test_attacks_stopped_means_the_same_on_model_arrays_and_on_the_summary_table(stepped):
    arrays = stepped.summary_arrays()["attacks_stop_day"]
    frame = stepped.summary_frame()["attacks_stop_day"]
    np.testing.assert_array_equal(outputs.attacks_stopped(arrays), outputs.attacks_stopped(frame).to_numpy())
    never = pd.Series([np.nan, 3.0])
    assert list(outputs.attacks_stopped(never)) == [False, True]
    assert list(outputs.attacks_stopped(np.array([-1, 0, 5]))) == [False, True, True]
    assert list(outputs.days_until_stop(never, 40)) == [40.0, 3.0]


def test_every_column_an_analysis_names_is_declared():
    declared = {c.name for cols in outputs.TABLES.values() for c in cols} | {c.name for c in outputs.DERIVED}
    named = {o for o, _, _ in compare.OUTCOMES} | set(calibration_statistics.PREDICTIVE_QUANTITIES) | set(sweep_plots.PAIR_OUTCOMES) | set(plots._NEEDED)
    assert named - declared == set()
    assert set(outputs.SUMMARY_OUTCOMES) <= declared


def test_probabilities_are_the_boolean_outcomes():
    kinds = {o: k for o, _, k in compare.OUTCOMES}
    assert kinds["war"] == kinds["attacks_stopped"] == "prob" and kinds["attacks_total"] == "mean"


def test_the_ladder_size_comes_from_the_levels():
    assert outputs.LADDER_MAX + 1 == len(EscalationLevel) == len(plots.level_labels())
    assert f"(0-{max(EscalationLevel)})" in next(c.meaning for c in outputs.DAILY if c.name == "escalation_level")
