"""Every stored file is bound to its receipt (issue 19 items 2 and 4, issue 20 item 4).

* A design's store keeps tables in ``tasks/<table>/p<point>-b<block>.parquet`` (pandas reads the folder
  directly) and receipts in ``receipts/``; a receipt names its task, its replicates and each file with
  rows, bytes and SHA-256. Tampering with a receipt or a table in any way makes loading, plotting and
  reporting refuse in one line and ``--resume`` rerun: never a smaller table with exit 0.
* A run's (compare's, phase map's) manifest binds its tables the same way (``tables``).
* Output paths: ``--out`` through a symlink writes into the target; dangling links, loops and over-long
  paths are refused before simulating; a full disk and SIGTERM leave the previous output and no temporaries.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import BASELINE, short_scenario, write_yaml
from experiments.cli.main import app
from experiments.runner.sweep import load_sweep, run_sweep
from experiments.scenario.errors import UserError
from tests.conftest import assert_one_line_error as one_line_error, invoke

runner = CliRunner()
SWEEP = {"design": "grid", "replicates": 6, "levers": {"united_states.policy.name": ["restraint", "proportional"]}}
SCENARIOS = BASELINE.parent
STEMS = ["p0-b0", "p0-b1", "p1-b0", "p1-b1"]




def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- the sweep store


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, Path, pd.DataFrame, pd.DataFrame]:
    """A finished 4-task sweep (2 points x 2 blocks of 3), its scenario file and both reference tables."""
    tmp = tmp_path_factory.mktemp("receipts")
    path = write_yaml(tmp / "rc.yaml", {"name": "rc", "extends": str(BASELINE), "end": "2023-10-20", "block_size": 3, "sweep": SWEEP})
    out = tmp / "store"
    run_sweep(path, out, summary_only=False)
    return path, out, load_sweep(out), load_sweep(out, daily=True)


@pytest.fixture
def copy(store, tmp_path) -> Path:
    out = tmp_path / "store"
    shutil.copytree(store[1], out)
    return out


def test_layout_tables_apart_from_receipts_so_pandas_reads_the_folder(store):
    _, out, summary, daily = store
    assert sorted(p.name for p in (out / "receipts").iterdir()) == [f"{s}.json" for s in STEMS]
    assert sorted(p.name for p in (out / "tasks").iterdir()) == ["daily", "summary"]
    for table, ref in (("summary", summary), ("daily", daily)):
        read = pd.read_parquet(out / "tasks" / table)  # no receipt in the way
        keys = ["point", "replicate"] + (["day"] if table == "daily" else [])
        read = read.sort_values(keys, ignore_index=True)
        assert len(read) == len(ref)
        pd.testing.assert_series_equal(read.attacks_total, ref.attacks_total)
    import pyarrow.dataset as ds  # what polars' and DuckDB's folder readers see

    assert ds.dataset(out / "tasks" / "summary", format="parquet").to_table().num_rows == len(summary)
    receipt = json.loads((out / "receipts" / "p1-b0.json").read_text())
    assert receipt["task"] == "p1-b0" and receipt["replicates"] == 3
    assert set(receipt["files"]) == {"summary/p1-b0.parquet", "daily/p1-b0.parquet"}
    assert receipt["files"]["summary/p1-b0.parquet"]["rows"] == 3


def _edit(out: Path, stem: str, change) -> None:
    path = out / "receipts" / f"{stem}.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _subset(path: Path) -> None:
    df = pd.read_parquet(path)
    df[df.replicate == df.replicate.min()].to_parquet(path, index=False)


def _forge(out: Path, stem: str, table: str) -> None:
    """Replace a table by a smaller one and rewrite its receipt to match (rows, bytes, SHA-256)."""
    from experiments.runner.store import file_receipt

    path = out / "tasks" / table / f"{stem}.parquet"
    _subset(path)
    _edit(out, stem, lambda d: d["files"][f"{table}/{stem}.parquet"].update(file_receipt(path)))


def _forge_days(out: Path, stem: str) -> None:
    """Drop the last day of every replicate from a daily table -- the rows stay a multiple of the replicates -- and
    rewrite its receipt to match (rows, bytes, SHA-256): only the plan's days per point can tell."""
    from experiments.runner.store import file_receipt

    path = out / "tasks" / "daily" / f"{stem}.parquet"
    df = pd.read_parquet(path)
    df[df.day < df.day.max()].to_parquet(path, index=False)
    _edit(out, stem, lambda d: d["files"][f"daily/{stem}.parquet"].update(file_receipt(path)))


TAMPER = {
    "receipt copied under another task's name": lambda o: shutil.copy(o / "receipts/p0-b0.json", o / "receipts/p1-b0.json"),
    "receipt copied under a name of no task": lambda o: shutil.copy(o / "receipts/p0-b0.json", o / "receipts/p7-b0.json"),
    "receipt renamed to no task": lambda o: os.rename(o / "receipts/p0-b1.json", o / "receipts/p7-b1.json"),
    "receipt renamed onto another task": lambda o: os.rename(o / "receipts/p0-b1.json", o / "receipts/p1-b1.json"),
    "receipt deleted": lambda o: (o / "receipts/p1-b1.json").unlink(),
    "entry removed": lambda o: _edit(o, "p1-b0", lambda d: d["files"].pop("daily/p1-b0.parquet")),
    "entry removed with its table": lambda o: (_edit(o, "p1-b0", lambda d: d["files"].pop("daily/p1-b0.parquet")),
                                              (o / "tasks/daily/p1-b0.parquet").unlink()),
    "entry of another task": lambda o: _edit(o, "p1-b0", lambda d: d["files"].update(
        {"daily/p0-b0.parquet": d["files"].pop("daily/p1-b0.parquet")})),
    "row count edited": lambda o: _edit(o, "p0-b0", lambda d: d["files"]["summary/p0-b0.parquet"].update(rows=2)),
    "replicates edited": lambda o: _edit(o, "p0-b0", lambda d: d.update(replicates=2)),
    "hash edited": lambda o: _edit(o, "p0-b1", lambda d: d["files"]["daily/p0-b1.parquet"].update(sha256="0" * 64)),
    "identity edited": lambda o: _edit(o, "p0-b1", lambda d: d["identity"].update(spec_hash="feedface")),
    "table truncated": lambda o: (o / "tasks/summary/p1-b1.parquet").write_bytes((o / "tasks/summary/p1-b1.parquet").read_bytes()[:300]),
    "table replaced by another task's": lambda o: shutil.copy(o / "tasks/summary/p0-b0.parquet", o / "tasks/summary/p1-b0.parquet"),
    "table replaced by a smaller one": lambda o: _subset(o / "tasks/daily/p0-b0.parquet"),
    "smaller table with a forged receipt": lambda o: _forge(o, "p1-b1", "summary"),
    "daily table a day short with a forged receipt": lambda o: _forge_days(o, "p0-b1"),
    "table of no task added": lambda o: shutil.copy(o / "tasks/summary/p0-b0.parquet", o / "tasks/summary/p5-b0.parquet"),
    "table folder deleted": lambda o: shutil.rmtree(o / "tasks/daily"),
}


@pytest.mark.parametrize("how", list(TAMPER))
def test_tampered_store_is_refused_by_load_and_plot_and_rerun_by_resume(store, copy, how):
    path, _, summary, daily = store
    TAMPER[how](copy)
    for kwargs in ({}, {"daily": True}):
        with pytest.raises(UserError) as err:
            load_sweep(copy, **kwargs)
        assert "\n" not in str(err.value)
    one_line_error(invoke("plot", copy, "-q"))
    one_line_error(invoke("report", copy))
    assert not (copy / "figures").exists() and not (copy / "report.html").exists()
    res = run_sweep(path, copy, resume=True, summary_only=False)
    assert res.complete and res.failed == 0 and res.done + res.repaired >= 1, res
    pd.testing.assert_frame_equal(load_sweep(copy), summary)
    pd.testing.assert_frame_equal(load_sweep(copy, daily=True), daily)
    assert sorted(p.name for p in (copy / "receipts").iterdir()) == [f"{s}.json" for s in STEMS]


def test_plan_edited_in_store_json_is_refused(store, copy):
    path = copy / "store.json"
    data = json.loads(path.read_text())
    data["plan"]["points"] = 1  # would drop point 1's tasks from the table
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match="no task of this design"):
        load_sweep(copy)
    with pytest.raises(UserError, match="another plan"):
        run_sweep(store[0], copy, resume=True, summary_only=False)


def test_unfinished_store_is_refused_unless_partial_is_asked_for(store, tmp_path):
    out = tmp_path / "part"
    run_sweep(store[0], out, summary_only=False, max_tasks=3)
    with pytest.raises(UserError, match="1 of 4 task"):
        load_sweep(out)
    one_line_error(invoke("plot", out, "-q"), "not finished")
    part = load_sweep(out, partial=True)
    assert len(part) == 9 and set(part.point) == {0, 1}


def test_store_of_the_old_layout_is_refused_then_replaced_with_force(store, tmp_path):
    """A version-2 store (receipts beside the tables in tasks/) is never read as this version's: refused in one
    line; --force removes its files (and nothing of the user's) and starts again."""
    out = tmp_path / "old"
    (out / "tasks").mkdir(parents=True)
    (out / "store.json").write_text(json.dumps({"v": 2, "spec_hash": "0123456789abcdef", "seed": 1}))
    shutil.copy(store[1] / "tasks/summary/p0-b0.parquet", out / "tasks/p0-b0.summary.parquet")
    (out / "tasks/p0-b0.json").write_text("{}")
    (out / "tasks/mine.csv").write_text("keep")
    shutil.copy(store[1] / "points.parquet", out / "points.parquet")
    with pytest.raises(UserError, match="not a sweep store of this version"):
        load_sweep(out)
    with pytest.raises(UserError, match="another spec"):
        run_sweep(store[0], out, summary_only=False)
    assert run_sweep(store[0], out, summary_only=False, force=True).complete
    assert sorted(p.name for p in (out / "tasks").iterdir()) == ["daily", "mine.csv", "summary"]
    pd.testing.assert_frame_equal(load_sweep(out), store[2])


RECEIPT_FIELDS = ["task", "replicates", "identity", "files", "rows", "bytes", "sha256", "table", "name"]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.text(max_size=12), st.sampled_from(STEMS),
                   st.just({}), st.just([]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stem=st.sampled_from(STEMS), field=st.sampled_from(RECEIPT_FIELDS), value=VALUES, delete=st.booleans(),
       entry=st.integers(0, 1))
def test_any_receipt_edit_is_refused_or_harmless(store, tmp_path, stem, field, value, delete, entry):
    """A receipt edited anywhere (a field changed, deleted, a file entry renamed): load_sweep refuses in one
    line or returns the whole reference table, never fewer rows or other numbers."""
    _, src, summary, daily = store
    out = tmp_path / f"h{os.getpid()}-{time.monotonic_ns()}"
    shutil.copytree(src, out)
    try:
        def change(d):
            name = sorted(d["files"])[entry]
            if field in ("task", "replicates", "identity", "files"):
                if delete:
                    d.pop(field)
                else:
                    d[field] = value
            elif field == "name":
                d["files"][value if isinstance(value, str) else str(value)] = d["files"].pop(name)
            elif delete:
                d["files"][name].pop(field, None)
            else:
                d["files"][name][field] = value

        _edit(out, stem, change)
        for kwargs, ref in (({}, summary), ({"daily": True}, daily)):
            try:
                table = load_sweep(out, **kwargs)
            except UserError as exc:
                assert "\n" not in str(exc)
            else:
                pd.testing.assert_frame_equal(table, ref)
    finally:
        shutil.rmtree(out, ignore_errors=True)


# --------------------------------------------------------------------------- run folders: manifest receipts


@pytest.fixture
def short(tmp_path) -> Path:
    return short_scenario(tmp_path, name="rcp", days=14, replicates=4)


def test_run_manifest_binds_its_tables(run_folder):
    man = json.loads((run_folder / "manifest.json").read_text())
    assert set(man["tables"]) == {"daily.parquet", "summary.parquet", "groups.parquet"}
    assert man["tables"]["summary.parquet"]["rows"] == 3 and man["tables"]["daily.parquet"]["rows"] == 3 * 14


def _manifest(folder: Path, change) -> None:
    path = folder / "manifest.json"
    man = json.loads(path.read_text())
    change(man)
    path.write_text(json.dumps(man))


RUN_TAMPER = {
    "receipts removed": lambda f: _manifest(f, lambda m: m.pop("tables")),
    "daily receipt removed": lambda f: _manifest(f, lambda m: m["tables"].pop("daily.parquet")),
    "rows edited": lambda f: _manifest(f, lambda m: m["tables"]["summary.parquet"].update(rows=2)),
    "hash edited": lambda f: _manifest(f, lambda m: m["tables"]["daily.parquet"].update(sha256="0" * 64)),
    "table outside the folder": lambda f: _manifest(f, lambda m: m["tables"].update({"../x.parquet": {}})),
    "table replaced by a smaller one": lambda f: _subset(f / "summary.parquet"),
    "table truncated": lambda f: (f / "daily.parquet").write_bytes((f / "daily.parquet").read_bytes()[:500]),
}


@pytest.mark.parametrize("how", list(RUN_TAMPER))
@pytest.mark.parametrize("command", ["plot", "report"])
def test_tampered_run_folder_is_refused(run_folder, how, command):
    RUN_TAMPER[how](run_folder)
    one_line_error(invoke(command, run_folder))
    assert not (run_folder / "figures").exists() and not (run_folder / "report.html").exists()


def test_check_tables_binds_compare_and_phase_map_tables(tmp_path):
    """The check report runs on compare and phase-map folders: a table that is not the one its receipt names."""
    from experiments.runner.store import bind_tables, check_tables

    pd.DataFrame({"x": [1, 2, 3]}).to_parquet(tmp_path / "table.parquet")
    man = {"tables": bind_tables(tmp_path, ["table.parquet"])}
    check_tables(tmp_path, man, ("table.parquet",))
    pd.DataFrame({"x": [1, 2]}).to_parquet(tmp_path / "table.parquet")
    with pytest.raises(UserError, match="receipt"):
        check_tables(tmp_path, man, ("table.parquet",))
    with pytest.raises(UserError, match="no receipt for phase_map.parquet"):
        check_tables(tmp_path, man, ("phase_map.parquet",))


# --------------------------------------------------------------------------- output paths


def test_out_through_a_symlink_writes_into_the_target(short, run_folder, tmp_path):
    (run_folder / "my_notes.txt").write_text("keep me")
    link = tmp_path / "link"
    link.symlink_to(run_folder, target_is_directory=True)
    res = invoke("run", short, "--out", link, "-n", "4", "--seed", "9", "-q")
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and link.resolve() == run_folder.resolve()
    man = json.loads((run_folder / "manifest.json").read_text())
    assert (man["replicates"], man["seed"]) == (4, 9)
    assert pd.read_parquet(run_folder / "summary.parquet").replicate.nunique() == 4
    assert (run_folder / "my_notes.txt").read_text() == "keep me"
    assert not [p for p in tmp_path.iterdir() if ".new-" in p.name or ".old-" in p.name]
    # a sweep through a symlinked folder too
    sweep_target = tmp_path / "sweep_target"
    sweep_target.mkdir()
    (tmp_path / "sweep_link").symlink_to(sweep_target, target_is_directory=True)
    assert run_sweep(write_yaml(tmp_path / "s.yaml", {"name": "s", "extends": str(BASELINE), "end": "2023-10-12",
                                                      "block_size": 3, "sweep": SWEEP}), tmp_path / "sweep_link").complete
    assert (sweep_target / "store.json").is_file() and (tmp_path / "sweep_link").is_symlink()


def _dangling(tmp: Path) -> Path:
    (tmp / "dangling").symlink_to(tmp / "nowhere")
    return tmp / "dangling"


def _loop(tmp: Path) -> Path:
    (tmp / "a").symlink_to(tmp / "b")
    (tmp / "b").symlink_to(tmp / "a")
    return tmp / "a"


BAD_OUT = {
    "dangling symlink": (_dangling, "dangling"),
    "dangling symlink as a parent": (lambda t: _dangling(t) / "sub", "dangling"),
    "symlink loop": (_loop, "symlink loop"),
    "symlink loop as a parent": (lambda t: _loop(t) / "sub", "symlink loop"),
    "over-long name": (lambda t: t / ("x" * 300), "a name in the output path is too long (300 bytes"),
    "over-long path": (lambda t: t.joinpath(*["y" * 200] * 25), "output path is too long ("),
}


@pytest.mark.parametrize("how", list(BAD_OUT))
@pytest.mark.parametrize("command", ["run", "sweep", "compare"])
def test_bad_output_paths_are_one_line_before_simulating(short, tmp_path, monkeypatch, how, command):
    make, words = BAD_OUT[how]
    target = make(tmp_path)
    for module in ("experiments.runner.run", "experiments.runner.sweep"):
        monkeypatch.setattr(sys.modules[module], "simulate", lambda *a, **k: pytest.fail("simulated before refusing the path"))
    scenario = {"run": short, "compare": SCENARIOS / "compare_policies.yaml"}.get(command) or write_yaml(
        tmp_path / "sw.yaml", {"name": "sw", "extends": str(BASELINE), "end": "2023-10-12", "sweep": SWEEP})
    one_line_error(invoke(command, scenario, "--out", target, "-q"), words)
    assert not [p for p in tmp_path.iterdir() if ".new-" in p.name]


@pytest.mark.parametrize("where", ["tables", "manifest"])
def test_full_disk_is_one_line_and_keeps_the_previous_run(short, run_folder, monkeypatch, where):
    before = snapshot(run_folder)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "tables":
        import experiments.runner.stream as stream_mod

        monkeypatch.setattr(stream_mod.TableWriter, "write", full)
    else:
        import sys as _sys

        monkeypatch.setattr(_sys.modules["experiments.runner.run"], "atomic_write_json", full)
    one_line_error(invoke("run", short, "--out", run_folder, "-n", "3", "--seed", "5", "-q"), "no space left")
    assert snapshot(run_folder) == before
    assert [p.name for p in run_folder.parent.iterdir() if p.name.startswith(".run.")] == [".run.lock"]


def _signals_blocked() -> None:
    """Start the command with SIGTERM (and SIGINT) blocked, as some CI runners do (the mask is inherited across
    exec): the command must unblock them, or SIGTERM is never delivered (a pooled run "hung" in fresh-clone CI)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


@pytest.mark.slow
@pytest.mark.signals
@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_during_run_removes_the_temporary_folder(short, run_folder, tmp_path, workers):
    before = snapshot(run_folder)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "experiments.cli.main", "run", str(short), "--out", str(run_folder),
                             "-n", "100000", "-w", workers, "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_signals_blocked)
    deadline = time.monotonic() + 120
    while not [p for p in run_folder.parent.iterdir() if ".run.new-" in p.name] and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.2)  # mid-run: 100,000 replicates take far longer than this even on an idle machine
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + 15, stderr
    last = stderr.strip().splitlines()[-1]  # a note on the run it replaces may come first
    assert last.startswith("error:") and "SIGTERM" in last and "Traceback" not in stderr, stderr
    assert not [p.name for p in run_folder.parent.iterdir() if ".new-" in p.name or ".old-" in p.name]
    assert snapshot(run_folder) == before
