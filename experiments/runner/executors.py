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


STARTS: dict[str, int] = {"pool": 0, "dask": 0}  # pools / clusters started by this process (benchmarks count them)


class Executor(ABC):
    """Runs ``fn(item)`` for many items. Subclasses implement :meth:`imap`.

    An executor is a context manager: ``with make_executor(...) as ex:`` keeps its pool or cluster, started
    at the first task, for the whole block (a command), and ends it on leaving, also after Ctrl-C or SIGTERM.
    Used without ``with``, each :meth:`imap` starts and ends its own."""

    name: ClassVar[str]
    shares_files: ClassVar[bool] = True  # workers see this machine's file system (they may write task files)

    def __init__(self, workers: int = 1):
        self.workers = workers
        self._entered = 0

    def __enter__(self) -> "Executor":
        self._entered += 1
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._entered -= 1
        if self._entered == 0:
            self.close(interrupted=exc_type is not None and issubclass(exc_type, KeyboardInterrupt))

    def close(self, interrupted: bool = False) -> None:
        """End the pool or cluster if one is running (``interrupted``: at once, without waiting for tasks)."""

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
                raise_if_signalled()
                yield fn(item)


class PoolExecutor(Executor):
    """A local process pool (:class:`Workers`); workers die with this process (no orphans after a ``kill -9``)."""

    name = "pool"

    def __init__(self, workers: int = 1):
        super().__init__(workers)
        self._pool: Workers | None = None

    def close(self, interrupted: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop(now=interrupted)

    def imap(self, fn: Callable[[Any], Any], items: Iterable[Any], on_error: OnError | None = None) -> Iterator[Any]:
        if self._pool is not None and self._pool.in_use:  # a batch inside another's loop: a pool of its own
            yield from PoolExecutor(self.workers).imap(fn, items, on_error)
            return
        if self._pool is None or not self._pool.alive():
            self._pool = Workers(self.workers)
        pool = self._pool
        pool.in_use = True
        try:
            yield from pool.imap(fn, items, on_error)
        except BaseException:  # Ctrl-C, an error, a dead worker, or the consumer stopped: tasks in flight are abandoned
            if self._pool is pool:
                self._pool = None
            pool.stop(now=True)
            raise
        finally:
            pool.in_use = False
        if not self._entered:  # no `with` around: the pool lives for this call only
            self.close()


class DaskExecutor(Executor):
    """A Dask cluster: ``address="local"`` starts a LocalCluster of ``workers`` processes here;
    otherwise ``address`` is a running scheduler (``tcp://host:port``). A worker that dies has its
    tasks rescheduled by Dask; a task that kills workers repeatedly comes back through ``on_error``."""

    name = "dask"
    shares_files = False  # remote workers may not see this file system: results travel back

    def __init__(self, address: str = "local", workers: int = 1):
        super().__init__(workers)
        self.address = address
        self._client: Any = None
        self._cluster: Any = None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "dask": self.address}

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - dask[distributed] is a dependency
            raise UserError("Dask execution needs the 'distributed' package (pip install 'dask[distributed]')") from None
        cluster = None
        try:
            if self.address == "local":
                # death_timeout: workers whose scheduler (this process) is gone shut down instead of lingering.
                # Started with Ctrl-C blocked: the threads that spawn the worker processes, and so the workers,
                # never take a Ctrl-C (a worker still importing would print a traceback); this process takes
                # one that comes meanwhile as soon as the cluster is up.
                with sigint_blocked(tracker=True):
                    # no dashboard; its HTTP server (started anyway) on a free port, not 8787: when 8787 is taken
                    # (another cluster) Dask would print a three-line warning
                    cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                           scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, death_timeout="60s")
                    STARTS["dask"] += 1
                    client = Client(cluster)
                    client.register_plugin(_die_with_parent_plugin())  # local worker processes are children of this one
            else:
                check_scheduler(self.address)
                client = Client(self.address, timeout=f"{HANDSHAKE_TIMEOUT:g}s")
                STARTS["dask"] += 1
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
        self._client, self._cluster = client, cluster
        return client

    def close(self, interrupted: bool = False) -> None:
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        if interrupted:
            quiet_dask_shutdown(cluster)
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def imap(self, fn: Callable[[Any], Any], items: Iterable[Any], on_error: OnError | None = None) -> Iterator[Any]:
        from distributed import wait
        from distributed.scheduler import KilledWorker

        client = self._connect()
        pending: dict[Any, Any] = {}
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
                pending,
            )
        except BaseException as exc:  # Ctrl-C (also when it reaches the consumer: GeneratorExit here): one line, no chatter
            if isinstance(exc, KeyboardInterrupt) or not self._entered:
                self.close(interrupted=isinstance(exc, KeyboardInterrupt))
            elif pending:  # the cluster stays for the command's next batch: nothing of this one keeps running
                with contextlib.suppress(Exception):
                    client.cancel(list(pending))
            raise
        if not self._entered:
            self.close()


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


class Workers:
    """A process pool with no helper threads: ``n`` worker processes, each with its own pipe and one task at a
    time, driven from the calling (main) thread, which waits on the pipes and the processes' sentinels at once.

    Why not :class:`concurrent.futures.ProcessPoolExecutor`: its manager and queue-feeder threads hold locks
    and pipes that a Ctrl-C in the main thread can leave half-used, and its exit handler joins them, so an
    interrupted command could hang (docs/reliability.md §9). Here stopping is: kill the workers, reap them.
    Workers are daemonic (ended with this process) and die with it even after a ``kill -9`` of this process
    (:func:`die_with_parent`); they ignore Ctrl-C, which is the command's to answer."""

    def __init__(self, n: int):
        import multiprocessing

        ctx = multiprocessing.get_context(_start_method())
        method = ctx.get_start_method()
        if method == "forkserver":
            ctx.set_forkserver_preload(["experiments.runner.runner"])  # import the model once, fork workers from it
        self.procs: list[Any] = []
        self.conns: list[Any] = []
        self._fn: list[Any] = [None] * n  # the function each worker holds
        self.in_use = False  # a batch is running on it
        try:
            # Ctrl-C and SIGTERM wait while the workers start (raised here once they are all started and known):
            # a forked worker inherits this process's handlers until it sets its own, and must not take either
            with sigint_blocked(tracker=method != "fork", sigterm=True), _frozen(method == "fork"):
                for _ in range(n):
                    here, there = ctx.Pipe(duplex=True)
                    proc = ctx.Process(target=_worker_main, args=(there,), daemon=True, name="escalation-worker")
                    proc.start()
                    there.close()
                    self.procs.append(proc)
                    self.conns.append(here)
        except BaseException:
            self.stop(now=True)
            raise
        STARTS["pool"] += 1

    def alive(self) -> bool:
        return bool(self.procs) and all(p.is_alive() for p in self.procs)

    def imap(self, fn: Callable[[Any], Any], items: Iterable[Any], on_error: OnError | None = None) -> Iterator[Any]:
        """As :meth:`Executor.imap`: a task per idle worker, results as they come. A dead worker hands every task in
        flight to ``on_error`` (or raises :class:`WorkerDied`) and no new task starts (the pool is then stopped)."""
        import pickle
        from multiprocessing.connection import wait

        payload = pickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL)
        items = iter(items)
        busy: dict[int, Any] = {}  # worker -> its item
        idle = list(range(len(self.procs)))
        dead: BaseException | None = None

        def give(w: int, item: Any) -> None:
            busy[w] = item
            if self._fn[w] is not payload:
                self.conns[w].send(("F", payload))
                self._fn[w] = payload
            self.conns[w].send(("T", item))

        def feed() -> None:
            while idle and dead is None:
                raise_if_signalled()
                item = next(items, _END)
                if item is _END:
                    return
                w = idle.pop()
                try:
                    give(w, item)
                except OSError:  # the worker is gone: its sentinel says so next
                    pass

        feed()
        while busy:
            ready = wait([self.conns[w] for w in busy] + [self.procs[w].sentinel for w in busy])
            raise_if_signalled()
            for w in list(busy):
                conn, proc = self.conns[w], self.procs[w]
                if conn not in ready and proc.sentinel not in ready:
                    continue
                try:
                    reply = conn.recv() if conn.poll() else None
                except (EOFError, OSError):
                    reply = None
                item = busy.pop(w)
                if reply is None:  # no answer and the process ended: it died (killed, out of memory)
                    if dead is None:
                        proc.join(0.1)
                        dead = _died(proc.exitcode)
                    for other, other_item in [(w, item)] + list(busy.items()):  # the pool is broken: all in flight fail
                        busy.pop(other, None)
                        if on_error is None:
                            raise WorkerDied(f"a worker process died ({type(dead).__name__}: {dead}); results so far are kept") from None
                        yield on_error(other_item, dead)
                    break
                ok, value, where = reply
                if not ok:
                    if where:
                        value.__cause__ = _RemoteTraceback(where)
                    raise value
                idle.append(w)
                feed()
                yield value
        if dead is not None:  # a broken pool is not reused
            self.stop(now=True)

    def stop(self, now: bool = False) -> None:
        """End the workers: ``now`` (Ctrl-C, an error) kills them; otherwise each is told to leave. Reaps them."""
        for proc, conn in zip(self.procs, self.conns):
            if not now and proc.is_alive():
                with contextlib.suppress(OSError):
                    conn.send(("Q", None))
        for proc in self.procs:
            if now and proc.is_alive():
                with contextlib.suppress(OSError):
                    proc.kill()
        for proc in self.procs:
            proc.join(None if now else 5)
            if proc.is_alive():  # pragma: no cover - a worker that does not leave when told
                proc.kill()
                proc.join()
        for conn in self.conns:
            conn.close()
        self.procs, self.conns = [], []


_END = object()


class _RemoteTraceback(Exception):
    """The worker's traceback, attached as the cause of an exception a task raised in a worker."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


class WorkerLost(ChildProcessError):
    """What ``on_error`` receives for a task whose worker process died (or that was in flight when one did)."""


def _died(exitcode: int | None) -> BaseException:
    import signal

    if exitcode is not None and exitcode < 0 and -exitcode in {int(s) for s in signal.valid_signals()}:
        return WorkerLost(f"a pool worker was killed by {signal.Signals(-exitcode).name}")
    return WorkerLost(f"a pool worker ended with exit code {exitcode}")


def _worker_main(conn: Any) -> None:
    """A pool worker: ignore Ctrl-C, die with the parent, then run tasks until told to leave or the pipe closes."""
    import pickle
    import signal
    import traceback

    quiet_worker()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the command's handler (inherited by fork): SIGTERM just ends a worker
    with contextlib.suppress(AttributeError, OSError, ValueError):  # started with both blocked: a Ctrl-C meanwhile is dropped
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    fn = None
    with young_gc():
        while True:
            try:
                kind, data = conn.recv()
            except (EOFError, OSError):
                return
            if kind == "Q":
                return
            if kind == "F":
                fn = pickle.loads(data)
                continue
            item = data
            try:
                reply = (True, fn(item), "")
            except BaseException as exc:  # the task's error goes back to the command, which reports it
                reply = (False, exc, "".join(traceback.format_exception(exc)))
            try:
                conn.send(reply)
            except Exception as exc:  # a result or an error that cannot be pickled
                conn.send((False, RuntimeError(f"{type(exc).__name__}: {exc}"), ""))


def _frozen(on: bool) -> contextlib.AbstractContextManager[None]:
    """With fork: the parent's objects out of the workers' GC (fewer copy-on-write page faults), for the fork only."""
    return young_gc() if on else contextlib.nullcontext()


# --------------------------------------------------------------------------- signals


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that every ``finally`` and ``except BaseException`` cleanup runs
    (temporary folders of :func:`experiments.runner.store.swap_in`, half-written tables, worker pools)."""


_SIGNALLED: list[int] = []  # signals received by the command that is running (see answer_signals)


def raise_if_signalled() -> None:
    """Checkpoint between tasks: a Ctrl-C or SIGTERM whose exception was swallowed on the way (raised inside a
    ``__del__`` or a weakref callback that the garbage collector ran, where Python only prints
    "Exception ignored") is raised again here, so it still ends the command."""
    if _SIGNALLED:
        import signal

        raise Terminated() if _SIGNALLED[-1] == signal.SIGTERM else KeyboardInterrupt()


@contextmanager
def answer_signals() -> Iterator[None]:
    """While a command runs (main thread only): Ctrl-C raises KeyboardInterrupt and SIGTERM :class:`Terminated`,
    and both are remembered, so :func:`raise_if_signalled` raises them again if the first exception was swallowed.

    Both signals are unblocked first: a signal mask is inherited across exec, and a command started by a
    process that blocks them (some CI runners, a thread with signals blocked) would otherwise never see a
    Ctrl-C or SIGTERM -- it ran on to the end and exited 0. A Ctrl-C that the parent shell made this process
    ignore (a background job) stays ignored, as the shell asked."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum: int, frame: Any) -> None:
        _SIGNALLED.append(signum)
        raise KeyboardInterrupt()

    def on_sigterm(signum: int, frame: Any) -> None:
        _SIGNALLED.append(signum)
        raise Terminated()

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, on_sigterm)
    if previous[signal.SIGINT] is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, on_sigint)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        _SIGNALLED.clear()


@contextmanager
def sigint_blocked(tracker: bool = False, sigterm: bool = False) -> Iterator[None]:
    """Ctrl-C held back (blocked) in this thread while worker processes or threads are started: they inherit the
    mask, so none takes the Ctrl-C before it has set itself to ignore it; this thread takes it on leaving.

    ``tracker``: start multiprocessing's resource tracker first (spawn and forkserver start it): the standard
    library starts it with SIGINT and SIGTERM blocked and then *unblocks* them in the calling thread, which
    would undo the block in the very thread that goes on to start the workers. ``sigterm``: SIGTERM too."""
    import signal

    if tracker:
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM} if sigterm else {signal.SIGINT})
    except (AttributeError, OSError, ValueError):  # pragma: no cover - no signal masks here
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


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
            broken: tuple[type[BaseException], ...] = (), pending: dict[Any, Any] | None = None) -> Iterator[Any]:
    """Keep at most ``limit`` futures in flight; yield results as they finish.

    If the executor breaks (an exception in ``broken``: a worker died), every task in flight is
    handed to ``on_error(item, exc)`` (or a :class:`WorkerDied` is raised) and no new task starts.
    """
    items = iter(items)
    pending = {} if pending is None else pending  # the caller's: it may cancel what is still in flight
    for item in itertools.islice(items, limit):
        pending[submit(item)] = item
    dead: BaseException | None = None
    while pending:
        done = first_done(set(pending))
        raise_if_signalled()
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


__all__ = ["DEFAULT_WORKERS", "HANDSHAKE_TIMEOUT", "DaskExecutor", "Executor", "PoolExecutor", "SerialExecutor", "Terminated", "WorkerDied", "Workers", "answer_signals", "as_executor",
           "check_scheduler", "make_executor", "scheduler_address"]
