"""Plan, then execute: the checks a command makes before it simulates, each made once, here.

A command is two steps. *Planning* reads and checks everything (options, the work's size against
``--max-memory`` / ``--max-hours``, the output folder) and touches nothing on disk; it returns a plan
object. *Executing* the plan takes the output folder's lock, once, for the whole execution, and does
the work. The CLI builds a plan, executes it and prints; it makes no check of its own.

The output folder is checked once, when planned (:func:`check_out_dir`: writable, not a file, not the
project itself, holding results of this scenario or nothing, unless ``--force``). Between the plan and
the lock another process could have written into it: :func:`claim` compares what the folder held when
planned with what it holds under the lock (a fingerprint, not a second check) and refuses a change.

Command plans live next to the work they plan: :class:`experiments.runner.run.RunPlan`,
:class:`experiments.runner.sweep.SweepPlan`, and for the analyses :mod:`experiments.analysis.calibration.plan`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from experiments.runner.store import check_path, check_writable, output_lock
from experiments.scenario.errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Limits:
    """How much work a command may do: the ``--workers`` it runs on (the estimates scale with them),
    ``--max-memory`` and ``--max-hours`` (None: the defaults of :mod:`experiments.runner.budget`)."""

    workers: int = 1
    max_memory: str | int | None = None
    max_hours: float | None = None


def check_out_dir(out: Path, scenario_hash: str, force: bool, kind: str = "run", markers: tuple[str, ...] = ()) -> None:
    """Before any work: refuse an output path that is not a writable folder, that holds files of
    something other than a results folder, or results of a different scenario (unless forced).

    ``markers``: other file names that show the folder is one of ours (e.g. a sweep's store.json).
    """
    out = Path(out)
    check_path(out)
    if out.exists() and not out.is_dir():
        raise UserError("output path exists and is not a folder", file=out)
    if out.resolve() in (PROJECT_ROOT, Path.home().resolve(), Path("/")):
        raise UserError("refusing to write results into this folder itself; give a subfolder, e.g. --out results/NAME", file=out)
    check_writable(out)
    existing = out / "manifest.json"
    if not existing.exists():
        ours = any((out / m).exists() for m in markers)
        if out.is_dir() and not ours and any(not p.name.startswith(".") for p in out.iterdir()) and not force:
            raise UserError(
                "is not empty and holds no results (no manifest.json); use --out for another folder or --force to write into it",
                file=out,
            )
        return
    if force:
        return
    try:
        old = json.loads(existing.read_text())
        if not isinstance(old, dict):
            raise ValueError
    except (OSError, UnicodeDecodeError, ValueError):
        raise UserError("holds a manifest.json that cannot be read; use --force to overwrite or --out for another folder", file=out) from None
    if old.get("scenario_hash") != scenario_hash or old.get("kind", "run") != kind:
        raise UserError(
            f"holds results of a different {old.get('kind', 'run')} ({old.get('scenario_name')!r}, hash {old.get('scenario_hash')}); "
            "use --force to overwrite or --out for another folder",
            file=out,
        )


def _fingerprint(out: Path) -> tuple[Any, ...]:
    """What a folder holds, cheaply: its top-level names and its manifest's size and time."""
    if not out.is_dir():
        return (out.exists(),)
    names = tuple(sorted(p.name for p in out.iterdir() if not p.name.startswith(".")))
    try:
        st = (out / "manifest.json").stat()
        manifest = (st.st_size, st.st_mtime_ns, st.st_ino)
    except OSError:
        manifest = None
    return (True, names, manifest)


@dataclass(frozen=True)
class Output:
    """An output folder as planned: checked once (:func:`plan_output`), claimed once (:func:`claim`)."""

    folder: Path
    identity: str  # the scenario's (or block's) hash its manifest must carry
    kind: str = "run"
    force: bool = False
    markers: tuple[str, ...] = ()
    seen: tuple[Any, ...] = field(default=(), compare=False)  # the folder's fingerprint when planned


def plan_output(folder: str | Path, identity: str, force: bool = False, kind: str = "run", markers: tuple[str, ...] = ()) -> Output:
    """Check the output folder (once, creating nothing) and remember what it held."""
    folder = Path(folder)
    check_out_dir(folder, identity, force, kind=kind, markers=markers)
    return Output(folder, identity, kind, force, markers, _fingerprint(folder))


_CLAIMED: "contextvars.ContextVar[tuple[Path, ...]]" = contextvars.ContextVar("escalation_claimed", default=())


@contextlib.contextmanager
def claim(output: Output) -> Iterator[Path]:
    """Hold the folder's lock (one writer at a time) while the plan executes; refuse a folder another
    process changed since it was planned. A task store inside the folder (a compare's or a phase map's)
    is covered by this claim: :func:`claimed` tells the store not to check and lock it again."""
    with output_lock(output.folder):
        if _fingerprint(output.folder) != output.seen:
            raise UserError("changed while this command was starting (another process wrote into it); run the command again",
                            file=output.folder)
        token = _CLAIMED.set((*_CLAIMED.get(), Path(output.folder).resolve()))
        try:
            yield output.folder
        finally:
            _CLAIMED.reset(token)


def claimed(folder: str | Path) -> bool:
    """Whether ``folder`` is inside (or is) a folder this command has claimed: checked and locked already."""
    path = Path(folder).resolve()
    return any(path == c or c in path.parents for c in _CLAIMED.get())
