"""The progress bar starts no thread: a process pool started while it shows can still fork its
workers (a second thread makes the pool go through a fork server, each worker importing the model)."""

from __future__ import annotations

import threading

from experiments.runner.executors import _start_method
from experiments.runner.progress import ProgressBar


def test_a_shown_progress_bar_starts_no_thread_and_counts():
    before = threading.active_count()
    bar = ProgressBar(True, 4, "sweep test", "tasks", rate_of="runs")
    with bar as advance:
        assert threading.active_count() == before
        assert _start_method() == "fork" or before > 1  # fork whenever this process had one thread
        for _ in range(4):
            advance(1, runs=25)
        (task,) = bar._bar.tasks
        assert task.completed == 4 and task.fields["rate"] > 0  # 100 runs over the elapsed time
    assert threading.active_count() == before


def test_a_hidden_progress_bar_is_a_no_op():
    with ProgressBar(False, 3, "run x", percent=True) as advance:
        advance(2)
        advance()
