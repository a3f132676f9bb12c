"""Executors: where the runner's jobs run. One small interface, one class per engine.

* :class:`SerialExecutor` - in this process (``--workers 1``);
* :class:`PoolExecutor` - a local process pool (``--workers N``);
* :class:`DaskExecutor` - a Dask cluster: one started here (``--dask local``) or a running
  scheduler (``--dask-scheduler ADDRESS``).

Every executor maps a picklable function over items with a bounded number in flight (memory stays
at a few tasks whatever the work's size) and yields results as they finish (:meth:`Executor.imap`)
or in the items' order (:meth:`Executor.map`). Results never depend on the executor: every job
carries its own random-stream key. Adding an engine (Ray, ...) is one subclass here and one
entry in :func:`make_executor`.
"""

from __future__ import annotations

import contextlib

import gc
import itertools
import os
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import Any, Callable, ClassVar, Iterable, Iterator

from experiments.scenario.errors import UserError

DEFAULT_WORKERS = os.cpu_count() or 1  # one default for every command's --workers
MAX_WORKERS = 1024
OnError = Callable[[Any, BaseException], Any]


class WorkerDied(UserError):
    """A worker process died (killed or out of memory): one line, exit code 1, not a traceback."""

    exit_code = 1


class Executor(ABC):
    """Runs ``fn(item)`` for many items. Subclasses implement :meth:`imap`."""

    name: ClassVar[str]
    shares_files: ClassVar[bool] = True  # workers see this machine's file system (they may write task files)

    def __init__(self, workers: int = 1):
        self.workers = workers

    @abstractmethod
    def imap(self, fn: Callable[[Any], Any], items: Iterable[Any], on_error: OnError | None = None) -> Iterator[Any]:
        """Results in completion order. A worker that dies hands its item to ``on_error(item, exc)``
        (its result stands in), or raises :class:`WorkerDied` when there is no ``on_error``."""

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], on_done: Callable[[int], None] | None = None) -> list[Any]:
        """Results in the order of ``items``; ``on_done(i)`` is called as item i finishes."""
        items = list(items)
        out: list[Any] = [None] * len(items)
        runner = self if len(items) > 1 else SerialExecutor()
        for i, res in runner.imap(_Indexed(fn), enumerate(items)):
            out[i] = res
            if on_done is not None:
                on_done(i)
        return out

    def describe(self) -> dict[str, Any]:
        """What the manifest records about where the work ran (results do not depend on it)."""
        return {"executor": self.name, "workers": self.workers}


class SerialExecutor(Executor):
    name = "serial"

    def imap(self, fn: Callable[[Any], Any], items: Iterable[Any], on_error: OnError | None = None) -> Iterator[Any]:
        with young_gc():  # each task's gc.collect then scans only that task's objects
            for item in items:
                yield fn(item)


class PoolExecutor(Executor):
    """A local process pool; workers die with this process (no orphans after a ``kill -9``)."""

    name = "pool"

    def imap(self, fn: Callable[[Any], Any], items: Iterable[Any], on_error: OnError | None = None) -> Iterator[Any]:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        ctx = multiprocessing.get_context(_start_method())
        if ctx.get_start_method() == "fork":
            gc.collect()
            gc.freeze()  # keep the parent's objects out of the workers' GC: fewer copy-on-write page faults
        elif ctx.get_start_method() == "forkserver":
            ctx.set_forkserver_preload(["experiments.runner.runner"])  # import the model once, fork workers from it
        try:
            with ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=die_with_parent) as ex:
                try:
                    yield from bounded(
                        lambda it: ex.submit(fn, it),
                        lambda fs: wait(fs, return_when=FIRST_COMPLETED).done,
                        lambda f: f.result(),
                        items,
                        2 * self.workers,
                        on_error,
                        (BrokenProcessPool,),
                    )
                except (KeyboardInterrupt, GeneratorExit):  # Ctrl-C, SIGTERM, a consumer that stops: do not finish the queue
                    _stop_now(ex)
                    raise
        finally:
            if ctx.get_start_method() == "fork":
                gc.unfreeze()


def _stop_now(ex: Any) -> None:
    """Cancel a pool's queued tasks and end its workers at once (shutting down would wait for the running ones)."""
    ex.shutdown(wait=False, cancel_futures=True)
    for proc in list((getattr(ex, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.terminate()


class DaskExecutor(Executor):
    """A Dask cluster: ``address="local"`` starts a LocalCluster of ``workers`` processes here;
    otherwise ``address`` is a running scheduler (``tcp://host:port``). A worker that dies has its
    tasks rescheduled by Dask; a task that kills workers repeatedly comes back through ``on_error``."""

    name = "dask"
    shares_files = False  # remote workers may not see this file system: results travel back

    def __init__(self, address: str = "local", workers: int = 1):
        super().__init__(workers)
        self.address = address

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "dask": self.address}

    def imap(self, fn: Callable[[Any], Any], items: Iterable[Any], on_error: OnError | None = None) -> Iterator[Any]:
        try:
            from distributed import Client, LocalCluster, wait
            from distributed.scheduler import KilledWorker
        except ImportError:  # pragma: no cover - dask[distributed] is a dependency
            raise UserError("Dask execution needs the 'distributed' package (pip install 'dask[distributed]')") from None
        cluster = None
        try:
            if self.address == "local":
                # death_timeout: workers whose scheduler (this process) is gone shut down instead of lingering
                cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                       death_timeout="60s")
                client = Client(cluster)
                client.register_plugin(_die_with_parent_plugin())  # local worker processes are children of this one
            else:
                client = Client(self.address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            if cluster is not None:
                cluster.close()
            where = "--dask" if self.address == "local" else "--dask-scheduler"
            raise UserError(f"cannot start or reach the Dask cluster {self.address!r}: {type(exc).__name__} {exc}".strip(),
                            path=where) from None
        try:
            limit = 2 * max(1, len(client.scheduler_info().get("workers", {})) or self.workers)
            yield from bounded(
                lambda it: client.submit(fn, it, pure=False),
                lambda fs: set(wait(list(fs), return_when="FIRST_COMPLETED").done),
                lambda f: f.result(),
                items,
                limit,
                on_error,
                (KilledWorker,),
            )
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def make_executor(workers: int | None = None, dask_scheduler: str | None = None, dask: str | None = None) -> Executor:
    """The executor the command-line options ask for (checked: one-line errors naming the option).

    ``workers``: processes (default :data:`DEFAULT_WORKERS`; 1 = serial); ``dask="local"``: a Dask
    LocalCluster of ``workers`` processes; ``dask_scheduler``: address of a running Dask scheduler.
    """
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise UserError(f"expected 1 to {MAX_WORKERS}, got {workers}", path="--workers")
    if dask is not None and dask != "local":
        raise UserError(f"expected 'local', got {dask!r} (use --dask-scheduler ADDRESS for a running cluster)", path="--dask")
    if dask is not None and dask_scheduler is not None:
        raise UserError("give either --dask local or --dask-scheduler ADDRESS, not both", path="--dask")
    if dask_scheduler is not None and not dask_scheduler.strip():
        raise UserError("expected a scheduler address such as tcp://127.0.0.1:8786", path="--dask-scheduler")
    n = DEFAULT_WORKERS if workers is None else workers
    if dask_scheduler is not None or dask is not None:
        return DaskExecutor(dask_scheduler or "local", n)
    return SerialExecutor() if n <= 1 else PoolExecutor(n)


def as_executor(executor: Executor | int | None) -> Executor:
    """Library calls may pass an executor, a number of worker processes, or nothing (serial)."""
    if isinstance(executor, Executor):
        return executor
    return make_executor(1 if executor is None else executor)


# --------------------------------------------------------------------------- machinery


@contextmanager
def young_gc() -> Iterator[None]:
    """Make per-task ``gc.collect()`` cheap: objects alive before the work (modules, caches) are
    moved out of the collector's way while it lasts (``gc.freeze``), so each collection scans only
    what the work made (~1 ms instead of ~60 ms a task)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _Indexed:
    """Picklable wrapper: (i, item) -> (i, fn(item)), so results can be put back in order."""

    def __init__(self, fn: Callable[[Any], Any]):
        self.fn = fn

    def __call__(self, pair: tuple[int, Any]) -> tuple[int, Any]:
        i, item = pair
        return i, self.fn(item)


def bounded(submit: Callable[[Any], Any], first_done: Callable[[set], set], result: Callable[[Any], Any],
            items: Iterable[Any], limit: int, on_error: OnError | None = None,
            broken: tuple[type[BaseException], ...] = ()) -> Iterator[Any]:
    """Keep at most ``limit`` futures in flight; yield results as they finish.

    If the executor breaks (an exception in ``broken``: a worker died), every task in flight is
    handed to ``on_error(item, exc)`` (or a :class:`WorkerDied` is raised) and no new task starts.
    """
    items = iter(items)
    pending: dict[Any, Any] = {}
    for item in itertools.islice(items, limit):
        pending[submit(item)] = item
    dead: BaseException | None = None
    while pending:
        done = first_done(set(pending))
        for fut in done:
            item = pending.pop(fut)
            try:
                res = result(fut)
            except broken as exc:
                dead = exc
                if on_error is None:
                    raise WorkerDied(f"a worker process died ({type(exc).__name__}: {exc}); results so far are kept") from None
                res = on_error(item, exc)
            if dead is None:
                nxt = next(items, None)
                if nxt is not None:
                    pending[submit(nxt)] = nxt
            yield res


def _start_method() -> str:
    """fork (workers start at once, modules already imported) when this process has no other
    thread; otherwise forkserver, or spawn where neither exists. Results do not depend on it."""
    import multiprocessing
    import threading

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def die_with_parent(parent: int | None = None) -> None:
    """Make this (worker) process end when its parent does: no orphans after a ``kill -9`` of the command.

    Linux: the kernel sends SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``); elsewhere a
    daemon thread polls ``os.getppid()``.
    """
    import signal
    import sys
    import threading

    parent = os.getppid() if parent is None else parent
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # 1 = PR_SET_PDEATHSIG
                if os.getppid() != parent:  # the parent died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="die-with-parent").start()


def _die_with_parent_plugin() -> Any:
    """A Dask worker plugin running :func:`die_with_parent` in each local worker process."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class DieWithParent(WorkerPlugin):
        name = "escalation-die-with-parent"

        def setup(self, worker: Any) -> None:
            die_with_parent()

    return DieWithParent()


__all__ = ["DEFAULT_WORKERS", "DaskExecutor", "Executor", "PoolExecutor", "SerialExecutor", "WorkerDied", "as_executor",
           "make_executor"]
