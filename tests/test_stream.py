"""Streaming output: tables written block by block equal the in-memory run; failures leave no files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from conftest import short_scenario
from experiments.cli.main import app
from experiments.runner.run import run
from experiments.runner.stream import TableWriter, model_tables


def test_run_streams_row_groups_equal_to_the_in_memory_tables(tmp_path):
    src = short_scenario(tmp_path, name="stream", days=20, replicates=23, block_size=5)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["run", str(src), "--out", str(out), "--seed", "4", "--quiet"])
    assert res.exit_code == 0, res.output
    expected = run(src, seed=4)
    for name in ("daily", "summary", "groups"):
        assert pq.ParquetFile(out / f"{name}.parquet").metadata.num_row_groups == 5  # one per block (5 blocks)
        got = pd.read_parquet(out / f"{name}.parquet")
        want = getattr(expected, name)
        assert list(got.columns) == list(want.columns)
        for col in want.columns:
            a, b = got[col].to_numpy(), want[col].to_numpy()
            assert (pd.isna(a) == pd.isna(b)).all() and (a[~pd.isna(a)] == b[~pd.isna(b)]).all(), (name, col)
    assert not list(out.glob(".*.tmp"))


def test_model_tables_cut_long_tables_into_pieces_of_bounded_rows(tmp_path):
    from conftest import config, make_model

    model = make_model(config(days=10), replicates=6).run()
    pieces = [(n, t.num_rows) for n, t in model_tables(model, {"scenario": "x"}, rows=25)]
    daily = [r for n, r in pieces if n == "daily"]
    groups = [r for n, r in pieces if n == "groups"]
    assert sum(daily) == 60 and max(daily) <= 25 and len(daily) == 3  # 4 days (24 rows) per piece
    assert sum(groups) == 120 and max(groups) <= 25
    assert [r for n, r in pieces if n == "summary"] == [6]


def test_a_failed_run_leaves_earlier_files_untouched_and_no_partial_files(tmp_path):
    old = tmp_path / "daily.parquet"
    old.write_bytes(b"earlier results")
    table = pa.table({"x": np.arange(3)})
    with pytest.raises(RuntimeError):
        with TableWriter(tmp_path) as writer:
            writer.write("daily", table)
            writer.write("summary", table)
            raise RuntimeError("the run failed half way")
    assert old.read_bytes() == b"earlier results" and not (tmp_path / "summary.parquet").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["daily.parquet"]
    with TableWriter(tmp_path) as writer:
        writer.write("daily", table)
        writer.write("daily", table)
    assert pq.read_table(tmp_path / "daily.parquet").num_rows == 6
