"""Same scenario + seed -> identical tables; blocks do not depend on how a run is split or scheduled."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from conftest import short_scenario
from experiments.runner.run import run, write_run
from experiments.runner.runner import Job, frames
from experiments.scenario.schema import load_scenario


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    # 3 blocks: 4 + 4 + 2 replicates, over the first five weeks (Gaza spike, first strikes)
    return short_scenario(tmp_path_factory.mktemp("det"), name="det", days=35, replicates=10, block_size=4)


@pytest.fixture(scope="module")
def first(scenario_file):
    return run(scenario_file, seed=7)


def test_same_seed_identical_tables(scenario_file, first):
    again = run(scenario_file, seed=7)
    for a, b in ((first.daily, again.daily), (first.summary, again.summary), (first.groups, again.groups)):
        assert_frame_equal(a, b, check_exact=True)
    assert first.daily["attacks_total"].sum() > 0  # the comparison is not between empty runs


def test_written_daily_parquet_identical(scenario_file, first, tmp_path):
    again = run(scenario_file, seed=7)
    a, b = write_run(first, tmp_path / "a"), write_run(again, tmp_path / "b")
    assert_frame_equal(pd.read_parquet(a / "daily.parquet"), pd.read_parquet(b / "daily.parquet"), check_exact=True)
    assert (a / "daily.parquet").read_bytes() == (b / "daily.parquet").read_bytes()
    assert (a / "summary.parquet").read_bytes() == (b / "summary.parquet").read_bytes()


def test_different_seeds_differ(scenario_file, first):
    other = run(scenario_file, seed=8)
    assert not first.daily["attacks_total"].equals(other.daily["attacks_total"])


def _block_frame(args):
    scenario, seed, b, start, size = args
    return frames(Job(scenario, seed, b, start, size))["daily"]


def test_blocks_independent_of_split(scenario_file, first):
    sc = load_scenario(scenario_file)
    parts = [_block_frame((sc, 7, b, start, size)) for b, start, size in [(2, 8, 2), (0, 0, 4), (1, 4, 4)]]
    joined = pd.concat(parts, ignore_index=True).sort_values(["day", "replicate"], ignore_index=True)
    whole = first.daily.drop(columns="scenario").sort_values(["day", "replicate"], ignore_index=True)
    assert_frame_equal(joined, whole, check_exact=True)


def test_more_replicates_keep_the_full_blocks(scenario_file, first):
    # blocks 0 and 1 (replicates 0-7) are full in both runs; block 2 has 2 vs 4 replicates
    more = run(scenario_file, seed=7, replicates=13)
    pick = lambda df: df[df.replicate < 8].reset_index(drop=True)  # noqa: E731
    assert_frame_equal(pick(more.summary), pick(first.summary), check_exact=True)


def test_block_in_another_process_is_identical(scenario_file):
    sc = load_scenario(scenario_file)
    here = _block_frame((sc, 7, 1, 4, 4))
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = pool.submit(_block_frame, (sc, 7, 1, 4, 4)).result()
    assert_frame_equal(here, there, check_exact=True)
