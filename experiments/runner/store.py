"""Result stores that prove what they hold: atomic files, per-task receipts, locks, folder swaps.

* Every file is written to a temporary sibling and renamed (:func:`atomic_write_parquet`), so a
  reader never sees half a file; temporaries left by a killed process are removed on the next start.
* A sweep's task is *done* only when its receipt ``receipts/<stem>.json`` exists, names this store's
  identity (spec hash, which covers scenario, seed, replicates and summary-only), the task itself, its
  replicates and exactly its files ``tasks/<table>/<stem>.parquet``, each still with the recorded size,
  row count (checked against the Parquet footer) and SHA-256. The receipt is written last, so a crash
  at any moment leaves either a whole task or one that is rerun. Readers check every task of the plan
  recorded in ``store.json``: never a smaller table.
* Run, compare and phase-map manifests bind their tables the same way (``tables``: :func:`bind_tables`,
  checked by :func:`check_tables`); output paths are checked by :func:`check_path` before any work.
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
import errno
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


def _short(path: Path | str, limit: int = 80) -> str:
    text = str(path)
    return text if len(text) <= limit else f"{text[:limit // 2]}...{text[-limit // 2:]} ({len(os.fsencode(text))} bytes)"


def _limit(probe: Path, name: str, default: int) -> int:
    while not os.path.isdir(probe) and probe.parent != probe:  # isdir: False (not an error) for an over-long name
        probe = probe.parent
    try:
        return int(os.pathconf(probe, name))
    except (OSError, ValueError):
        return default


def check_path(out: Path) -> None:
    """Refuse, before any work, an output path the file system cannot hold: over-long names, a symlink loop,
    a dangling symlink (anywhere along the path), or a link to something that is not a folder.

    A symlink to an existing folder is fine: results are written into its target (:func:`swap_in` resolves it)."""
    out = Path(out)
    absolute = Path(os.path.abspath(out))
    path_max, name_max = _limit(absolute, "PC_PATH_MAX", 4096), _limit(absolute, "PC_NAME_MAX", 255)
    if len(os.fsencode(str(absolute))) >= path_max:
        raise UserError(f"output path is too long ({len(os.fsencode(str(absolute)))} bytes; the file system takes "
                        f"{path_max - 1}): {_short(out)}")
    for part in absolute.parts:
        if len(os.fsencode(part)) > name_max:
            raise UserError(f"a name in the output path is too long ({len(os.fsencode(part))} bytes; the file system takes "
                            f"{name_max}): {_short(part, 40)}")
    prefix = Path(absolute.anchor)
    for part in absolute.parts[1:]:
        prefix = prefix / part
        try:
            is_link = prefix.is_symlink()
            exists = is_link or os.path.lexists(prefix)
        except OSError as exc:
            raise UserError(f"output path cannot be used ({exc.strerror or exc})", file=_short(out)) from None
        if not exists:
            return  # the rest is created
        if is_link:
            try:
                target = prefix.resolve(strict=True)
            except FileNotFoundError:
                raise UserError(f"is a symlink to {_short(os.readlink(prefix))}, which does not exist (a dangling link); "
                                "create the target or give another --out", file=_short(prefix)) from None
            except (RuntimeError, OSError) as exc:  # RuntimeError: Python 3.11's "Symlink loop"
                if isinstance(exc, OSError) and exc.errno not in (errno.ELOOP, None):
                    raise UserError(f"output path cannot be used ({exc.strerror or exc})", file=_short(prefix)) from None
                raise UserError("is a symlink loop (it leads back to itself); give another --out", file=_short(prefix)) from None
            if prefix != absolute and not target.is_dir():
                raise UserError(f"is a symlink to {_short(target)}, which is not a folder", file=_short(prefix))


def check_writable(out: Path) -> None:
    """Refuse, before any work, an output path that cannot be created or written."""
    check_path(out)
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

    check_path(out)
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
    check_path(out)
    out = Path(out).resolve()  # through a symlink: the target folder is replaced, never the link
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


def _comparable(old: Any, new: Mapping[str, Any]) -> Any:
    """A recorded plan as the current one would compare: a store written before plans recorded ``days`` is
    resumed (its tasks are still checked by rows, bytes and SHA-256)."""
    if isinstance(old, dict) and "days" not in old and "days" in new:
        return {**old, "days": new["days"]}
    return old


def file_receipt(path: Path) -> dict[str, Any]:
    """What binds a written table to its receipt: rows (from the Parquet footer), bytes and SHA-256."""
    return {"rows": int(pq.ParquetFile(path).metadata.num_rows), "bytes": path.stat().st_size, "sha256": sha256(path)}


def receipt_problem(path: Path, meta: Any, deep: bool = True) -> str | None:
    """None if ``path`` matches its receipt ``meta`` (rows, bytes, SHA-256); otherwise why not."""
    if not isinstance(meta, dict) or not all(k in meta for k in ("rows", "bytes", "sha256")):
        return f"{path.name}: receipt entry malformed"
    if not path.is_file():
        return f"{path.name} missing"
    size = path.stat().st_size
    if size != meta.get("bytes"):
        return f"{path.name} has {size} bytes, receipt says {meta.get('bytes')}"
    try:
        rows = int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # pyarrow raises several types for a bad footer
        return f"{path.name} is not a readable Parquet file"
    if rows != meta.get("rows"):
        return f"{path.name} has {rows} rows, receipt says {meta.get('rows')}"
    if deep and sha256(path) != meta.get("sha256"):
        return f"{path.name} content differs from its receipt (SHA-256)"
    return None


def bind_tables(folder: Path, names: list[str] | tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The ``tables`` map of a manifest: {file name: receipt} of the Parquet tables written into ``folder``."""
    return {name: file_receipt(Path(folder) / name) for name in names}


def check_tables(folder: Path, manifest: Mapping[str, Any], required: tuple[str, ...] = ()) -> None:
    """Every table the manifest's ``tables`` map names (and every ``required`` one) matches its receipt.

    A mismatch is a :class:`UserError` naming the file: a table is never read against another receipt."""
    folder = Path(folder)
    tables = manifest.get("tables")
    if not isinstance(tables, dict):
        raise UserError("manifest.json holds no receipts of its tables (field 'tables'); it was written by an older "
                        "version or edited: rerun the command that wrote this folder", file=folder / "manifest.json")
    missing = [name for name in required if name not in tables]
    if missing:
        raise UserError(f"manifest.json has no receipt for {', '.join(missing)}; rerun the command that wrote this folder",
                        file=folder / "manifest.json")
    for name, meta in tables.items():
        if not isinstance(name, str) or "/" in name or name.startswith("."):
            raise UserError(f"manifest.json names a table outside the folder: {name!r}"[:200], file=folder / "manifest.json")
        problem = receipt_problem(folder / name, meta)
        if problem is not None:
            raise UserError(f"does not match the receipt in manifest.json ({problem}); rerun the command that wrote this folder",
                            file=folder / name)


RECEIPTS = "receipts"
_STEM = re.compile(r"^p(\d+)-b(\d+)$")
_OLD_TASK_FILE = re.compile(r"^p\d+-b\d+\.(summary\.parquet|daily\.parquet|json)$")


@dataclass
class TaskStore:
    """A design's store (sweep, compare, phase map): ``tasks/<table>/<stem>.parquet`` and ``receipts/<stem>.json``.

    ``identity`` carries ``spec_hash`` and, when known, ``plan`` = {points, blocks [[b, start, size]...], tables}:
    the tasks a complete store holds. Receipts live outside ``tasks/`` so that ``pd.read_parquet(out/tasks/summary)``
    reads the table directly."""

    out: Path
    identity: dict[str, Any]

    @property
    def task_dir(self) -> Path:
        return self.out / TASKS

    @property
    def receipt_dir(self) -> Path:
        return self.out / RECEIPTS

    @property
    def key(self) -> str:
        return str(self.identity["spec_hash"])

    @property
    def plan(self) -> dict[str, Any] | None:
        plan = self.identity.get("plan")
        return plan if isinstance(plan, dict) else None

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple((self.plan or {}).get("tables") or ())

    def expected(self) -> dict[str, int]:
        """{stem: replicates} of every task of the plan (empty if the plan is not known)."""
        plan = self.plan
        if plan is None:
            return {}
        try:
            return {f"p{p}-b{int(b)}": int(size) for p in range(int(plan["points"])) for b, _start, size in plan["blocks"]}
        except (KeyError, TypeError, ValueError):
            raise UserError("store.json holds a malformed plan; use --force to start again", file=self.out / STORE_FILE) from None

    def table_path(self, kind: str, stem: str) -> Path:
        return self.task_dir / kind / f"{stem}.parquet"

    def receipt_path(self, stem: str) -> Path:
        return self.receipt_dir / f"{stem}.json"

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
            if data is not None and isinstance(data.get("identity"), dict):
                return data["identity"]
        return None

    def check_identity(self) -> None:
        """Refuse a store written for another spec, seed or replicate count (or another plan of tasks)."""
        old = self.recorded_identity()
        if old is not None and old.get("spec_hash") != self.key:
            diffs = [k for k in ("seed", "replicates", "summary_only", "scenario") if old.get(k) != self.identity.get(k)]
            what = ", ".join(f"{k} {old.get(k)!r} (now {self.identity.get(k)!r})" for k in diffs if k != "scenario")
            what = what or "a different scenario or sweep block"
            raise UserError(
                f"holds a task store of another spec ({what}); use --force to discard it or --out for another folder",
                file=self.out,
            )
        if old is not None and "plan" in old and self.plan is not None and _comparable(old["plan"], self.plan) != self.plan:
            raise UserError("holds a task store with another plan of tasks (points, blocks or tables); use --force to discard it",
                            file=self.out)

    def days(self, stem: str) -> int | None:
        """Days the task's point simulates, from the plan (None: a store written before plans recorded them)."""
        days = (self.plan or {}).get("days")
        match = _STEM.match(stem)
        if isinstance(days, list) and match and int(match.group(1)) < len(days):
            days = days[int(match.group(1))]
        return days if isinstance(days, int) and not isinstance(days, bool) and days > 0 else None

    def _task_files(self) -> list[Path]:
        """Every table file in ``tasks/<table>/`` that looks like a task's."""
        if not self.task_dir.is_dir():
            return []
        found = []
        for sub in sorted(os.scandir(self.task_dir), key=lambda e: e.name):
            if sub.is_dir(follow_symlinks=False):
                found += [Path(e.path) for e in os.scandir(sub.path) if e.name.endswith(".parquet") and _STEM.match(e.name[:-8])]
        return sorted(found)

    def has_foreign_task_files(self) -> list[str]:
        """Task files with no receipt of this store (e.g. copied in, or written by an older version)."""
        receipts = {p.name[:-5] for p in self._receipts()}
        return [f"{p.parent.name}/{p.name}" for p in self._task_files() if p.name[:-8] not in receipts]

    def start(self) -> None:
        """Create the folders, remove temporaries and write store.json (identity first: before any task)."""
        self.task_dir.mkdir(parents=True, exist_ok=True)
        self.receipt_dir.mkdir(parents=True, exist_ok=True)
        for folder in (self.out, self.task_dir, self.receipt_dir, *(self.task_dir / k for k in self.tables)):
            remove_temporaries(folder)
        if not (self.out / STORE_FILE).is_file():
            atomic_write_json(self.identity, self.out / STORE_FILE)

    # ---- receipts

    def _receipts(self) -> list[Path]:
        if not self.receipt_dir.is_dir():
            return []
        return sorted(self.receipt_dir / n for n in os.listdir(self.receipt_dir) if n.endswith(".json") and _STEM.match(n[:-5]))

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
            atomic_write_parquet(df, self.table_path(kind, stem))
        self.record(stem, tuple(frames), rows_expected)

    def record(self, stem: str, kinds: tuple[str, ...], rows_expected: int) -> None:
        """Write the receipt of a task whose tables are already in place (each written atomically, e.g. by the
        worker itself): its name, its replicates, and rows, bytes and SHA-256 of every file. The receipt is the
        commit point."""
        files = {f"{kind}/{stem}.parquet": {"table": kind, **file_receipt(self.table_path(kind, stem))} for kind in kinds}
        receipt = {"identity": {"spec_hash": self.key}, "task": stem, "replicates": rows_expected, "files": files}
        atomic_write_json(receipt, self.receipt_path(stem))

    def verify(self, stem: str, deep: bool = True, replicates: int | None = None, kinds: tuple[str, ...] | None = None) -> str | None:
        """None if the task is whole; otherwise why not.

        Whole means: a receipt of this store that names this task, lists exactly the task's tables (``kinds``, by
        default the plan's), records the task's replicates, and every file has the recorded rows (Parquet footer),
        bytes and SHA-256, with the rows a task of that many replicates writes."""
        kinds = self.tables if kinds is None else kinds
        if replicates is None:
            replicates = self.expected().get(stem)
        receipt = self.receipt_path(stem)
        if not receipt.is_file():
            return "no receipt"
        data = self._read_receipt(receipt)
        if data is None:
            return "receipt unreadable"
        identity = data.get("identity")
        if not isinstance(identity, dict) or identity.get("spec_hash") != self.key:
            return "receipt of another spec"
        if data.get("task") != stem:
            return f"receipt names task {data.get('task')!r}, not {stem}"
        if not data["files"]:
            return "receipt lists no files"
        names = {f"{k}/{stem}.parquet" for k in kinds}
        if kinds and set(data["files"]) != names:
            lacking, extra = sorted(names - set(data["files"])), sorted(set(data["files"]) - names)
            return "receipt " + "; ".join(([f"lacks {', '.join(lacking)}"] if lacking else []) + ([f"names {', '.join(extra)}"] if extra else []))
        recorded = data.get("replicates")
        if replicates is not None and recorded != replicates:
            return f"receipt records {recorded!r} replicates, the task has {replicates}"
        for name, meta in data["files"].items():
            kind, _, fname = str(name).partition("/")
            if fname != f"{stem}.parquet" or not kind or kind.startswith("."):
                return f"receipt names a file of another task ({name!r})"
            path = self.task_dir / kind / fname
            problem = receipt_problem(path, meta, deep)
            if problem is not None:
                return f"{kind}/{problem}"
            rows = meta["rows"]
            if isinstance(recorded, int) and not isinstance(recorded, bool) and recorded > 0:
                if (kind == "summary" and rows != recorded) or rows % recorded or rows == 0:
                    return f"{name} has {rows} rows, not what {recorded} replicates write"
                days = self.days(stem)
                if kind == "daily" and days is not None and rows != recorded * days:
                    return f"{name} has {rows} rows, not the {recorded * days} that {recorded} replicates x {days} days write"
        return None

    def discard(self, stem: str) -> None:
        self.receipt_path(stem).unlink(missing_ok=True)  # receipt first: never a receipt without files
        if self.task_dir.is_dir():
            for sub in os.scandir(self.task_dir):
                if sub.is_dir(follow_symlinks=False):
                    (Path(sub.path) / f"{stem}.parquet").unlink(missing_ok=True)

    def scan(self, stems: list[str]) -> tuple[set[str], dict[str, str]]:
        """(whole tasks, {stem: problem} for tasks present but damaged); damaged tasks, and receipts of tasks
        outside ``stems`` (e.g. a receipt renamed), are discarded."""
        whole: set[str] = set()
        damaged: dict[str, str] = {}
        present = {p.name[:-5] for p in self._receipts()} | {p.name[:-8] for p in self._task_files()}
        wanted = set(stems)
        for stem in sorted(present - wanted):
            damaged[stem] = "not a task of this design"
            self.discard(stem)
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

    def files(self, kind: str, partial: bool = False) -> list[Path]:
        """The ``kind`` table of every task of the plan, each checked against its receipt.

        Refused (one line): a damaged task, a receipt or table file that is no task of the plan, and, unless
        ``partial``, a task not finished. Never a smaller table without saying so."""
        expected = self.expected()
        if not expected:
            raise UserError("store.json records no plan of tasks; rerun the command with --force", file=self.out / STORE_FILE)
        if kind not in self.tables:
            raise UserError(f"the store holds no {kind} tables (it keeps {', '.join(self.tables) or 'none'})", file=self.out)
        stray = sorted({p.name[:-5] for p in self._receipts()} - set(expected))
        stray += sorted(f"{p.parent.name}/{p.name}" for p in self._task_files() if p.name[:-8] not in expected)
        if stray:
            raise UserError(f"holds {len(stray)} receipt(s) or table(s) of no task of this design (e.g. {stray[0]}); "
                            "rerun the command with --resume to repair the store", file=self.out)
        out, missing = [], []
        for stem, size in expected.items():
            problem = self.verify(stem, replicates=size)
            if problem == "no receipt" and not any(self.table_path(k, stem).exists() for k in self.tables):
                missing.append(stem)
                continue
            if problem is not None:
                raise UserError(f"task {stem} is damaged ({problem}); rerun the command with --resume to redo it", file=self.out)
            out.append(self.table_path(kind, stem))
        if missing and not partial:
            raise UserError(f"{len(missing)} of {len(expected)} task(s) not finished (e.g. {missing[0]}); rerun the command "
                            "with --resume to finish them (errors.parquet lists tasks that failed)", file=self.out)
        return out

    # ---- force

    def wipe(self, own_files: tuple[str, ...]) -> None:
        """Delete what a store writes (and nothing else) so it can start again."""
        for path in self._task_files():
            path.unlink(missing_ok=True)
        if self.task_dir.is_dir():  # a store of version 2 kept tables and receipts side by side in tasks/
            for entry in os.scandir(self.task_dir):
                if entry.is_file(follow_symlinks=False) and _OLD_TASK_FILE.match(entry.name):
                    Path(entry.path).unlink(missing_ok=True)
        for folder in (self.task_dir, self.receipt_dir):
            if not folder.is_dir():
                continue
            for sub in [folder, *(Path(e.path) for e in os.scandir(folder) if e.is_dir(follow_symlinks=False))]:
                remove_temporaries(sub)
            for path in self._receipts() if folder == self.receipt_dir else []:
                path.unlink(missing_ok=True)
            for sub in (Path(e.path) for e in os.scandir(folder) if e.is_dir(follow_symlinks=False)):
                with contextlib.suppress(OSError):
                    sub.rmdir()  # only if empty: other files are not ours
            with contextlib.suppress(OSError):
                folder.rmdir()
        for name in (*own_files, STORE_FILE):
            (self.out / name).unlink(missing_ok=True)
        remove_temporaries(self.out)


__all__ = [
    "RECEIPTS", "TaskStore", "bind_tables", "check_tables", "file_receipt", "receipt_problem", "atomic_write_bytes", "atomic_write_json", "atomic_write_parquet", "check_writable",
    "cleanup_siblings", "command_scope", "hold_output_lock", "output_lock", "remove_temporaries", "sha256", "swap_in",
    "write_posterior",
]
