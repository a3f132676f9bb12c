"""Result stores that prove what they hold: atomic files, per-task receipts, locks, folder swaps.

* Every file is written to a temporary sibling and renamed (:func:`atomic_write_parquet`), so a
  reader never sees half a file; temporaries left by a killed process are removed on the next start.
* A sweep's task is *done* only when its receipt ``tasks/<stem>.json`` exists, names this store's
  identity (spec hash, which covers scenario, seed, replicates and summary-only) and every file it
  lists still has the recorded size, row count and SHA-256. The receipt is written last, so a crash
  at any moment leaves either a whole task or one that is rerun.
* ``store.json`` (and every receipt) records the identity, so a store of another spec or seed is
  refused even when ``manifest.json`` was deleted; ``--force`` deletes only files the store wrote.
* One writer at a time: :func:`output_lock` takes an exclusive ``flock`` on a sibling lock file;
  a second writer is refused with a one-line error naming the process that holds it.
* Single runs are written to a temporary sibling folder and swapped in (:func:`swap_in`): a run
  folder always holds the tables and manifest of one run, and a failed write leaves the old one whole.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from experiments.scenario.errors import UserError
from experiments.scenario.identification import META_KEY, WIDTH_RATIO_THRESHOLD, identification_record

STORE_FILE = "store.json"
TASKS = "tasks"
_TASK_FILE = re.compile(r"^p\d+-b\d+\.(summary\.parquet|daily\.parquet|json)$")
_TMP_FILE = re.compile(r"^\..+\.tmp$")


# --------------------------------------------------------------------------- atomic files


def _atomic(path: Path, write: Callable[[str], None]) -> None:
    """Write through a temporary file in the same folder, fsync it, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_posterior(df: pd.DataFrame, path: str | Path, identification: Mapping[str, Any]) -> Path:
    """Write posterior draws (one column per dotted float path, optional ``weight``) with the
    identification record in the schema metadata; atomically (temporary file, then rename)."""
    path = Path(path)
    record = identification_record(identification)
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[META_KEY] = json.dumps({"threshold": WIDTH_RATIO_THRESHOLD, "parameters": record}, sort_keys=True).encode()
    table = table.replace_schema_metadata(meta)
    _atomic(path, lambda tmp: pq.write_table(table, tmp))
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    _atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_parquet(df: pd.DataFrame, path: Path) -> None:
    _atomic(path, lambda tmp: df.to_parquet(tmp, index=False))


def atomic_write_json(obj: Any, path: Path) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=str) + "\n").encode())


def remove_temporaries(folder: Path) -> int:
    """Delete ``.<name>.<random>.tmp`` files left by a killed writer; returns how many."""
    n = 0
    if folder.is_dir():
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False) and _TMP_FILE.match(entry.name):
                Path(entry.path).unlink(missing_ok=True)
                n += 1
    return n


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- output folders


def check_writable(out: Path) -> None:
    """Refuse, before any work, an output path that cannot be created or written."""
    probe = out
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"cannot create the output folder: {probe} is not a folder", file=out)
    try:
        fd, tmp = tempfile.mkstemp(dir=probe, prefix=".escalation-probe.", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise UserError(f"output folder is not writable ({exc.strerror or exc})", file=out) from None


_HELD: dict[Path, int] = {}  # locks this process holds (re-entrant: the CLI locks before simulating, write_run again)


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out`` (a sibling ``.<name>.lock`` file) while writing into it."""
    import fcntl

    out = Path(out).resolve()
    check_writable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = out.parent / f".{out.name or 'root'}.lock"
    if lock in _HELD:
        _HELD[lock] += 1
        try:
            yield
        finally:
            _HELD[lock] -= 1
        return
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise UserError(f"another escalation process ({holder}) is writing into this folder; wait for it or use --out", file=out) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        _HELD[lock] = 1
        try:
            yield
        finally:
            del _HELD[lock]
    finally:
        os.close(fd)  # releases the lock; the lock file stays (removing it would race with a waiting writer)


_COMMAND: "contextvars.ContextVar[contextlib.ExitStack | None]" = contextvars.ContextVar("escalation_command", default=None)


@contextlib.contextmanager
def command_scope() -> Iterator[None]:
    """The span of one CLI command: locks taken with :func:`hold_output_lock` are released at its end."""
    with contextlib.ExitStack() as stack:
        token = _COMMAND.set(stack)
        try:
            yield
        finally:
            _COMMAND.reset(token)


def hold_output_lock(out: Path) -> None:
    """Lock ``out`` until the current command ends (or, outside a command, until the process ends)."""
    stack = _COMMAND.get()
    if stack is None:
        stack = _PROCESS_LOCKS
    stack.enter_context(output_lock(out))


_PROCESS_LOCKS = contextlib.ExitStack()


def swap_in(out: Path, write: Callable[[Path], None], keep: Callable[[str], bool] = lambda name: False) -> None:
    """Write a folder through ``write(tmp)`` into a temporary sibling, then put it in place of ``out``.

    Entries of the old folder for which ``keep(name)`` is true are carried over; the old folder is
    removed only once the new one is in place, so a failure leaves the previous results whole.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cleanup_siblings(out)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
    carried: list[str] = []
    try:
        os.chmod(tmp, 0o755)
        write(tmp)
        if out.exists():
            for entry in os.scandir(out):
                if keep(entry.name) and not (tmp / entry.name).exists():
                    os.rename(entry.path, tmp / entry.name)
                    carried.append(entry.name)
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
            os.rename(out, old / "x")
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except BaseException:
        _restore_old(out)  # puts the old folder back if it was moved aside
        for name in carried:  # and the user's files into it
            if (tmp / name).exists() and out.is_dir():
                os.rename(tmp / name, out / name)
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def cleanup_siblings(out: Path) -> None:
    """Remove what a killed :func:`swap_in` left: new folders never swapped in, old ones never deleted.

    If the process died between the two renames, ``out`` is missing and the old folder is put back.
    """
    _restore_old(out)
    if out.parent.is_dir():
        for entry in os.scandir(out.parent):
            if entry.name.startswith(f".{out.name}.new-") and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)


def _restore_old(out: Path) -> None:
    """Put a folder moved aside by :func:`swap_in` back in place if ``out`` is missing; drop the rest."""
    if not out.parent.is_dir():
        return
    for entry in os.scandir(out.parent):
        if entry.name.startswith(f".{out.name}.old-") and entry.is_dir(follow_symlinks=False):
            inner = Path(entry.path) / "x"
            if not out.exists() and inner.is_dir():
                os.rename(inner, out)
            shutil.rmtree(entry.path, ignore_errors=True)


# --------------------------------------------------------------------------- the sweep store


@dataclass
class TaskStore:
    """The ``tasks/`` folder of a design's store (sweep, compare, phase map) and its receipts."""

    out: Path
    identity: dict[str, Any]

    @property
    def task_dir(self) -> Path:
        return self.out / TASKS

    @property
    def key(self) -> str:
        return str(self.identity["spec_hash"])

    # ---- identity

    def recorded_identity(self) -> dict[str, Any] | None:
        """The identity this folder's store was created with (store.json, else any receipt); None if no store."""
        path = self.out / STORE_FILE
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(data, dict):
                    return data
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                pass
            raise UserError("store.json cannot be read; use --force to start the sweep again", file=path)
        for receipt in self._receipts():
            data = self._read_receipt(receipt)
            if data is not None:
                return data.get("identity", {})
        return None

    def check_identity(self) -> None:
        """Refuse a store written for another spec, seed or replicate count."""
        old = self.recorded_identity()
        if old is not None and old.get("spec_hash") != self.key:
            diffs = [k for k in ("seed", "replicates", "summary_only", "scenario") if old.get(k) != self.identity.get(k)]
            what = ", ".join(f"{k} {old.get(k)!r} (now {self.identity.get(k)!r})" for k in diffs if k != "scenario")
            what = what or "a different scenario or sweep block"
            raise UserError(
                f"holds a task store of another spec ({what}); use --force to discard it or --out for another folder",
                file=self.out,
            )

    def has_foreign_task_files(self) -> list[str]:
        """Task files with no receipt of this store (e.g. copied in, or written by an older version)."""
        if not self.task_dir.is_dir():
            return []
        receipts = {n[:-5] for n in os.listdir(self.task_dir) if n.endswith(".json")}
        return sorted(n for n in os.listdir(self.task_dir) if _TASK_FILE.match(n) and n.split(".")[0] not in receipts)

    def start(self) -> None:
        """Create the folder, remove temporaries and write store.json (identity first: before any task)."""
        self.task_dir.mkdir(parents=True, exist_ok=True)
        remove_temporaries(self.out)
        remove_temporaries(self.task_dir)
        if not (self.out / STORE_FILE).is_file():
            atomic_write_json(self.identity, self.out / STORE_FILE)

    # ---- receipts

    def _receipts(self) -> list[Path]:
        if not self.task_dir.is_dir():
            return []
        return sorted(self.task_dir / n for n in os.listdir(self.task_dir) if n.endswith(".json") and _TASK_FILE.match(n))

    @staticmethod
    def _read_receipt(path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else None

    def commit(self, stem: str, frames: dict[str, pd.DataFrame], rows_expected: int) -> None:
        """Write a task's tables, then its receipt (the commit point)."""
        for kind, df in frames.items():
            atomic_write_parquet(df, self.task_dir / f"{stem}.{kind}.parquet")
        self.record(stem, tuple(frames), rows_expected)

    def record(self, stem: str, kinds: tuple[str, ...], rows_expected: int) -> None:
        """Write the receipt of a task whose tables are already in place (each written atomically, e.g. by the
        worker itself): rows, bytes and SHA-256 of every file. The receipt is the commit point."""

        files = {}
        for kind in kinds:
            name = f"{stem}.{kind}.parquet"
            path = self.task_dir / name
            files[name] = {"rows": int(pq.ParquetFile(path).metadata.num_rows), "bytes": path.stat().st_size, "sha256": sha256(path)}
        receipt = {"identity": {"spec_hash": self.key}, "stem": stem, "replicates": rows_expected, "files": files}
        atomic_write_json(receipt, self.task_dir / f"{stem}.json")

    def verify(self, stem: str, deep: bool = True) -> str | None:
        """None if the task is whole; otherwise why not."""
        receipt = self.task_dir / f"{stem}.json"
        if not receipt.is_file():
            return "no receipt"
        data = self._read_receipt(receipt)
        if data is None:
            return "receipt unreadable"
        if (data.get("identity") or {}).get("spec_hash") != self.key:
            return "receipt of another spec"
        if not data["files"]:
            return "receipt lists no files"
        for name, meta in data["files"].items():
            path = self.task_dir / name
            if not path.is_file():
                return f"{name} missing"
            if path.stat().st_size != meta.get("bytes"):
                return f"{name} has {path.stat().st_size} bytes, receipt says {meta.get('bytes')}"
            if deep and sha256(path) != meta.get("sha256"):
                return f"{name} content differs from its receipt (SHA-256)"
        return None

    def discard(self, stem: str) -> None:
        for suffix in (".json", ".summary.parquet", ".daily.parquet"):  # receipt first: never a receipt without files
            (self.task_dir / f"{stem}{suffix}").unlink(missing_ok=True)

    def scan(self, stems: list[str]) -> tuple[set[str], dict[str, str]]:
        """(whole tasks, {stem: problem} for tasks present but damaged); damaged tasks are discarded."""
        whole: set[str] = set()
        damaged: dict[str, str] = {}
        present = {n.split(".")[0] for n in os.listdir(self.task_dir)} if self.task_dir.is_dir() else set()
        for stem in stems:
            if stem not in present:
                continue
            problem = self.verify(stem)
            if problem is None:
                whole.add(stem)
            else:
                damaged[stem] = problem
                self.discard(stem)
        return whole, damaged

    def files(self, kind: str) -> list[Path]:
        """The ``kind`` ('summary' or 'daily') files of every task with a receipt of this store, checked."""
        out = []
        for receipt in self._receipts():
            stem = receipt.name[:-5]
            problem = self.verify(stem)
            if problem is not None:
                raise UserError(f"task {stem} is damaged ({problem}); rerun the command with --resume to redo it", file=self.out)
            path = self.task_dir / f"{stem}.{kind}.parquet"
            if path.is_file():
                out.append(path)
        return out

    # ---- force

    def wipe(self, own_files: tuple[str, ...]) -> None:
        """Delete what a sweep store writes (and nothing else) so it can start again."""
        if self.task_dir.is_dir():
            for name in os.listdir(self.task_dir):
                if _TASK_FILE.match(name) or _TMP_FILE.match(name):
                    (self.task_dir / name).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self.task_dir.rmdir()  # only if empty: other files are not ours
        for name in (*own_files, STORE_FILE):
            (self.out / name).unlink(missing_ok=True)
        remove_temporaries(self.out)


__all__ = [
    "TaskStore", "atomic_write_bytes", "atomic_write_json", "atomic_write_parquet", "check_writable",
    "cleanup_siblings", "command_scope", "hold_output_lock", "output_lock", "remove_temporaries", "sha256", "swap_in",
    "write_posterior",
]
