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
            with ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=quiet_worker) as ex:
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
                except BaseException:  # Ctrl-C, an error, or the consumer stopped: do not wait for tasks in flight
                    stop_pool(ex)
                    raise
        finally:
            if ctx.get_start_method() == "fork":
                gc.unfreeze()


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
                check_scheduler(self.address)
                client = Client(self.address, timeout=f"{HANDSHAKE_TIMEOUT:g}s")
        except BaseException as exc:
            if cluster is not None:
                if isinstance(exc, KeyboardInterrupt):
                    quiet_dask_shutdown(cluster)
                cluster.close()
            if not isinstance(exc, (OSError, TimeoutError)):
                raise
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
        except BaseException:  # Ctrl-C (also when it reaches the consumer: GeneratorExit here): one line, no chatter
            quiet_dask_shutdown(cluster)
            raise
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
    if dask_scheduler is not None:
        check_scheduler(dask_scheduler)  # before anything is written, whatever the command and the run's size
    n = DEFAULT_WORKERS if workers is None else workers
    if dask_scheduler is not None or dask is not None:
        return DaskExecutor(dask_scheduler or "local", n)
    return SerialExecutor() if n <= 1 else PoolExecutor(n)


def as_executor(executor: Executor | int | None) -> Executor:
    """Library calls may pass an executor, a number of worker processes, or nothing (serial)."""
    if isinstance(executor, Executor):
        return executor
    return make_executor(1 if executor is None else executor)


# --------------------------------------------------------------------------- checks


HANDSHAKE_TIMEOUT = 5.0  # seconds a scheduler has to answer before a command gives up on it
_SCHEDULER_EXAMPLE = "tcp://127.0.0.1:8786"


def scheduler_address(address: str) -> str:
    """A ``--dask-scheduler`` address in Dask's canonical form (``tcp://host:port``); a malformed one
    is a one-line :class:`UserError` (exit 2) naming the option."""
    from distributed.comm import parse_address, unparse_address
    from distributed.comm.addressing import parse_host_port
    from distributed.comm.registry import backends

    text = address.strip()
    if not text:
        raise UserError(f"expected a scheduler address such as {_SCHEDULER_EXAMPLE}", path="--dask-scheduler")
    try:
        scheme, location = parse_address(text)
        if scheme in ("http", "https"):
            raise ValueError(f"{scheme}:// is a web address (a dashboard?); a Dask scheduler listens on tcp://, port 8786 by default")
        if scheme not in backends:
            raise ValueError(f"unknown protocol {scheme!r}; expected one of {', '.join(sorted(backends))}")
        if scheme in ("tcp", "tls", "ws", "wss"):
            host, port = parse_host_port(location)
            if not host or not 1 <= int(port) <= 65535:
                raise ValueError("expected a host name and a port from 1 to 65535")
    except (ValueError, TypeError) as exc:
        raise UserError(f"{address!r} is not a Dask scheduler address ({exc}); expected e.g. {_SCHEDULER_EXAMPLE}",
                        path="--dask-scheduler") from None
    return unparse_address(scheme, location)


def check_scheduler(address: str, timeout: float = HANDSHAKE_TIMEOUT) -> dict[str, Any]:
    """Check that ``address`` is a Dask scheduler that answers (its ``identity``) within ``timeout``
    seconds; anything else (refused, silent, a web server) is a one-line :class:`UserError`, exit 2.
    Commands call it before they write anything."""
    import asyncio
    import socket

    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    canonical = scheduler_address(address)
    scheme, location = parse_address(canonical)

    def refuse(why: str) -> UserError:
        return UserError(f"{address!r} {why}; start one with `dask scheduler` or check the address", path="--dask-scheduler")

    if scheme in ("tcp", "tls"):  # a quick answer for nothing listening (Dask's own connect retries until its timeout)
        host, port = parse_host_port(location)
        try:
            socket.create_connection((host, int(port)), timeout=timeout).close()
        except OSError as exc:
            raise refuse(f"cannot be reached ({exc.strerror or type(exc).__name__})") from None

    async def identity() -> Any:
        from distributed.core import rpc

        remote = rpc(canonical, timeout=timeout)
        try:
            return await asyncio.wait_for(remote.identity(), timeout)
        finally:
            await remote.close_rpc()

    try:
        info = asyncio.run(identity())
    except (OSError, TimeoutError, asyncio.TimeoutError):
        raise refuse(f"did not answer as a Dask scheduler within {timeout:g} s") from None
    except Exception as exc:  # a server that speaks something else
        raise refuse(f"is not a Dask scheduler ({type(exc).__name__})") from None
    if not isinstance(info, dict) or info.get("type") != "Scheduler":
        kind = info.get("type") if isinstance(info, dict) else type(info).__name__
        raise refuse(f"answered as a {kind}, not a Dask scheduler")
    return info


# --------------------------------------------------------------------------- machinery


def silence_dask_logs() -> None:
    """No more log lines from Dask, tornado or asyncio (the command is ending; it says why itself)."""
    import logging

    for name in ("distributed", "asyncio", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def quiet_dask_shutdown(cluster: Any) -> None:
    """After Ctrl-C: Dask's shutdown logs (tasks lost, streams closed) would bury the command's one
    line, and a LocalCluster would wait seconds for busy workers; silence the logs, end local workers."""
    import signal

    silence_dask_logs()
    for nanny in list(getattr(cluster, "workers", {}).values()) if cluster is not None else []:
        pid = getattr(getattr(getattr(nanny, "process", None), "process", None), "pid", None)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def ignore_sigint() -> None:
    """In a worker process: Ctrl-C (sent by the terminal to every process of the command) is the
    command's to answer, with one line; the worker ends with it instead of printing a traceback."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def quiet_worker() -> None:
    """Pool worker start: ignore Ctrl-C and end with the parent."""
    ignore_sigint()
    die_with_parent()


def stop_pool(ex: Any) -> None:
    """End a process pool now: queued tasks cancelled, running ones' workers terminated."""
    for proc in list((getattr(ex, "_processes", None) or {}).values()):
        if proc.is_alive():
            proc.terminate()
    ex.shutdown(wait=True, cancel_futures=True)  # quick now: the pool's manager sees its workers gone


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
            ignore_sigint()  # Ctrl-C in the terminal reaches the workers too: the command answers it, in one line
            die_with_parent()

    return DieWithParent()


__all__ = ["DEFAULT_WORKERS", "HANDSHAKE_TIMEOUT", "DaskExecutor", "Executor", "PoolExecutor", "SerialExecutor", "WorkerDied", "as_executor",
           "check_scheduler", "make_executor", "scheduler_address"]
