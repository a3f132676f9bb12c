"""The options several commands share, each defined once: the same name, short flag, default and help
on every command that has it (tests/test_cli_options.py checks this on the typer app).

A command takes one as the default of its parameter (``seed: Optional[int] = SEED``); :func:`reworded`
gives a command its own help text for a shared option (names and default stay shared).
"""

from __future__ import annotations

import copy
import functools
import inspect
from typing import Any, Callable, Optional

import typer

from experiments.runner.executors import DEFAULT_WORKERS, make_executor
from experiments.scenario.schema import Overrides, parse_overrides

REPLICATES = typer.Option(None, "--replicates", "-n", help="replicates (per point, policy or cell where there are several); default: the file's")
SEED = typer.Option(None, "--seed", help="root seed of every random stream; default: the file's")
OUT = typer.Option(None, "--out", help="output folder (default results/<scenario name>)")
# --force means one thing on every command: start again, replacing what the output already holds (results of
# another scenario, finished tasks of an earlier run, an existing report file); without it such output is refused
# (or, with --resume, reused)
FORCE = typer.Option(False, "--force", help="start again: replace whatever the output already holds (results of another "
                                            "scenario or run, finished tasks, an existing file)")
RESUME = typer.Option(False, "--resume", help="run only the tasks missing from the output folder")
QUIET = typer.Option(False, "--quiet", "-q", help="print nothing but errors (no progress bar or summary)")
# the default is this machine's core count: not shown, so --help and the README read the same everywhere
WORKERS = typer.Option(DEFAULT_WORKERS, "--workers", "-w", show_default=False,
                       help="processes (default: all cores; 1 = serial); results do not depend on it")
DASK_SCHEDULER = typer.Option(None, "--dask-scheduler", metavar="ADDRESS", help="run on a running Dask scheduler (tcp://host:port)")
DASK = typer.Option(None, "--dask", metavar="local", help="'local': run on a Dask LocalCluster of --workers processes")
SET = typer.Option(None, "--set", metavar="PATH=VALUE",
                   help="set a field of the YAML before it is checked, as if the file held it (dotted path as in "
                        "sweeps, value read as YAML, e.g. militias.*.base_rate=0.5); repeatable")
MAX_MEMORY = typer.Option(None, "--max-memory", metavar="SIZE",
                          help="refuse work estimated to need more memory than this (e.g. 16GiB; default 8GiB or 80% of RAM)")
MAX_HOURS = typer.Option(None, "--max-hours", metavar="HOURS", help="refuse work estimated to take longer than this many hours (default 1)")


def reworded(option: Any, help: str) -> Any:
    """The shared option with this command's help text (e.g. what ``--out`` means for ``report``)."""
    new = copy.copy(option)
    new.help = help
    return new


# kept for imports elsewhere: --force has one meaning, so the task-store commands share it unchanged
FORCE_STORE = FORCE


def overrides(sets: list[str] | None) -> Overrides:
    """The ``--set`` strings as {dotted path: value} (a malformed one is a one-line error, exit 2)."""
    return parse_overrides(sets or ())


def with_executor(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command ``--workers``, ``--dask-scheduler`` and ``--dask``; it receives the checked
    ``executor`` (experiments.runner.executors.make_executor) instead, so every command builds it alike."""
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
             for name, kind, default in (("workers", int, WORKERS), ("dask_scheduler", Optional[str], DASK_SCHEDULER),
                                         ("dask", Optional[str], DASK))]
    sig = inspect.signature(command)

    @functools.wraps(command)
    def wrapper(*args: Any, workers: int, dask_scheduler: Optional[str], dask: Optional[str], **kwargs: Any) -> Any:
        with make_executor(workers, dask_scheduler, dask) as executor:  # one pool or cluster for the whole command
            return command(*args, executor=executor, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=[p for p in sig.parameters.values() if p.name != "executor"] + added)  # type: ignore[attr-defined]
    return wrapper
