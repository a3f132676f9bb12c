"""Executors are context managers (issue 21 item 7): ``with make_executor(...) as ex`` starts its pool or
Dask cluster once, at the first task, keeps it for every batch of the block (a whole command), and ends it
on leaving -- also on Ctrl-C. And the signal fixes of issue 19 (docs/reliability.md §9): a Ctrl-C or
SIGTERM is never lost, whether the command inherited it blocked or a finalizer swallowed its exception."""

from __future__ import annotations

import os
import signal
import time

import pytest

from conftest import ROOT
from experiments.runner import executors
from experiments.runner.executors import (DaskExecutor, PoolExecutor, SerialExecutor, Terminated, WorkerDied, answer_signals,
                                          make_executor, raise_if_signalled)
from tests.conftest import invoke


def _square(x: int) -> int:
    return x * x


def _slow(x: int) -> int:
    time.sleep(0.05)
    return x


def _pid(x: int) -> int:
    return os.getpid()


def _die_on_two(x: int) -> int:
    if x == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def test_a_pool_lives_for_the_whole_with_block_and_ends_with_it():
    before = executors.STARTS["pool"]
    with make_executor(2) as ex:
        assert ex.map(_square, range(6)) == [x * x for x in range(6)]
        pids = set(ex.map(_pid, range(8))) | set(ex.map(_pid, range(8)))
        assert sorted(ex.imap(_square, range(5))) == [0, 1, 4, 9, 16]
        procs = list(ex._pool.procs)
    assert executors.STARTS["pool"] == before + 1  # four batches, one pool
    assert len(pids) <= 2 and os.getpid() not in pids
    assert ex._pool is None and not any(p.is_alive() for p in procs)


def test_without_with_each_batch_has_its_own_pool_and_leaves_no_worker():
    before = executors.STARTS["pool"]
    ex = PoolExecutor(2)
    assert ex.map(_square, range(4)) == [0, 1, 4, 9]
    assert ex.map(_square, range(4)) == [0, 1, 4, 9]
    assert executors.STARTS["pool"] == before + 2 and ex._pool is None


def test_an_error_or_a_dead_worker_ends_the_pool_and_the_next_batch_gets_a_new_one():
    with PoolExecutor(2) as ex:
        with pytest.raises(WorkerDied):
            ex.map(_die_on_two, range(5))
        assert ex.map(_square, range(3)) == [0, 1, 4]
        got = list(ex.imap(_die_on_two, range(6), on_error=lambda item, exc: ("lost", item, type(exc).__name__)))
        assert ("lost", 2, "WorkerLost") in got
        assert ex.map(_square, range(3)) == [0, 1, 4]


def test_ctrl_c_inside_the_block_kills_the_workers_at_once():
    with pytest.raises(KeyboardInterrupt):
        with PoolExecutor(2) as ex:
            for i, _ in enumerate(ex.imap(_slow, range(1000))):
                procs = list(ex._pool.procs)
                if i == 3:
                    raise KeyboardInterrupt
    time.sleep(0.2)
    assert not any(p.is_alive() for p in procs)


def test_a_consumer_that_stops_early_leaves_no_task_running():
    with PoolExecutor(2) as ex:
        gen = ex.imap(_slow, range(100))
        next(gen)
        procs = list(ex._pool.procs)
        gen.close()
        assert not any(p.is_alive() for p in procs)
        assert ex.map(_square, range(3)) == [0, 1, 4]  # a new pool for the next batch


def test_serial_executor_is_a_context_manager_too():
    with make_executor(1) as ex:
        assert isinstance(ex, SerialExecutor) and ex.map(_square, range(3)) == [0, 1, 4]


@pytest.mark.slow
def test_a_dask_cluster_lives_for_the_whole_with_block():
    before = executors.STARTS["dask"]
    with DaskExecutor("local", 1) as ex:
        assert ex.map(_square, range(4)) == [0, 1, 4, 9]
        assert ex.map(_square, range(4)) == [0, 1, 4, 9]
        cluster = ex._cluster
    assert executors.STARTS["dask"] == before + 1
    assert ex._client is None and cluster.status.name == "closed"


@pytest.mark.parametrize("command", [
    ["compare", ROOT / "scenarios" / "compare_policies.yaml", "-n", "40"],
    ["sweep", ROOT / "scenarios" / "sweep_policies_obedience.yaml", "-n", "40"],
])
def test_one_pool_per_command(tmp_path, command):
    """A command that simulates in several batches (compare: one per policy) starts one pool, not one per batch."""
    before = executors.STARTS["pool"]
    res = invoke(*command, "--out", tmp_path / "out", "-w", "2", "-q")
    assert res.exit_code == 0, res.output
    assert executors.STARTS["pool"] - before == 1


# --------------------------------------------------------------------------- signals (issue 19)


class _SwallowsCtrlC:
    """A finalizer that is running when Ctrl-C comes: Python raises the KeyboardInterrupt inside ``__del__``,
    prints "Exception ignored" and goes on -- the Ctrl-C is lost unless someone remembers it."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # bytecode in this frame: the pending handler runs here
            pass


def _task_with_a_finalizer(x: int) -> int:
    _SwallowsCtrlC()
    return x


def test_a_ctrl_c_swallowed_by_a_finalizer_still_stops_the_work(monkeypatch):
    swallowed = []
    monkeypatch.setattr("sys.unraisablehook", lambda u: swallowed.append(u.exc_type))
    done = []
    # a test runner started as a background job (and so its xdist workers) ignores SIGINT, and answer_signals
    # rightly leaves an ignored Ctrl-C ignored: give this process the default Ctrl-C, as a terminal's command has
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with answer_signals():
            with pytest.raises(KeyboardInterrupt):
                for x in SerialExecutor().imap(_task_with_a_finalizer, range(50)):
                    done.append(x)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert swallowed == [KeyboardInterrupt]  # the first exception was eaten ...
    assert done == [0]  # ... and the next task did not start


def test_sigterm_is_terminated_and_remembered():
    with answer_signals():
        with pytest.raises(Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):
                pass
        with pytest.raises(Terminated):
            raise_if_signalled()
    raise_if_signalled()  # forgotten when the command ends


def test_a_command_unblocks_signals_it_inherited_blocked():
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        with answer_signals():
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
            assert signal.SIGINT not in blocked and signal.SIGTERM not in blocked
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def test_a_batch_inside_another_batchs_loop_gets_its_own_pool():
    with PoolExecutor(2) as ex:
        got = [(x, ex.map(_square, [x, x + 1])) for x in ex.imap(_square, range(4))]
    assert sorted(got) == [(x * x, [x ** 4, (x * x + 1) ** 2]) for x in range(4)]
