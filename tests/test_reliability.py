"""Nothing silently wrong, nothing lost: every bad input of issue 11 is a one-line exit-2 error
before any simulating; stores verify what they hold; run folders are one run; workers do not outlive
the sweep. (Property tests and the crash test: test_fuzz_documents.py, test_crash.py.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import BASELINE, DieOn, injected, short_scenario, write_yaml
from experiments.runner.executors import PoolExecutor
from experiments.cli.main import app
from experiments.scenario.errors import UserError
from experiments.runner.store import output_lock
from experiments.runner.sweep import load_sweep, run_sweep

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def assert_one_line_error(result, *words: str) -> str:
    """Exit 2, no traceback, one line starting with 'error:', naming ``words``."""
    text = result.output.strip()
    assert result.exit_code == 2, text
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in text
    assert text.startswith("error:") and "\n" not in text, text
    for w in words:
        assert w in text, (w, text)
    return text


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} if folder.exists() else {}


@pytest.fixture
def short(tmp_path) -> Path:
    return short_scenario(tmp_path, name="rel", days=14, replicates=4)


# --------------------------------------------------------------------------- bad scenario files


def _doc(tmp: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp / name
    path.write_text(text)
    return path


BAD_DOCUMENTS = {
    # id: (YAML text after the extends line, words the error must contain)
    "impossible date": ("end: 2023-02-30\n", ["line 3", "2023-02-30", "not a date"]),
    "year 2300": ("end: 2300-01-01\n", ["end", "2200-12-31"]),
    "year 0001": ("start: 0001-01-01\n", ["start", "1900-01-01"]),
    "name of 300 characters": (f"name: {'a' * 300}\n", ["name", "at most 100"]),
    "base_rate .inf": ("militias:\n- {name: A, short: A, base_rate: .inf}\n", ["militias.0.base_rate", "finite"]),
    "base_rate 1e300": ("militias:\n- {name: A, short: A, base_rate: 1.0e+300}\n", ["militias.0.base_rate", "100"]),
    "base_rate '1e400'": ("militias:\n- {name: A, short: A, base_rate: '1e400'}\n", ["militias.0.base_rate", "finite"]),
    "restraint .inf": ("iran: {restraint_per_us_killed: .inf}\n", ["iran.restraint_per_us_killed"]),
    "NaN obedience": ("militias:\n- {name: A, short: A, iran_obedience: .nan}\n", ["iran_obedience"]),
    "gaza 1e6": ("exogenous: {gaza_intensity: [{date: 2023-10-07, value: 1000000}]}\n", ["gaza_intensity.0.value", "100"]),
    "p_harm above 1": ("attack_effects: {p_harm: {drone: 2, rocket: 0.1, missile: 0.1}}\n", ["p_harm.drone", "1"]),
    "behaviour 1e300": ("militias:\n- {name: A, short: A, behaviours: {tit_for_tat: {max_boost: 1.0e+300}}}\n", ["max_boost", "1e+06"]),
    "alias bomb in sweep points": (
        "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "sweep: {design: list, points: [{militias.0.base_rate: *f}]}\n",
        ["expands to more than"],
    ),
    "sweep value out of range": (
        "sweep: {levers: {militias.*.iran_obedience: [0.5, 7]}}\n", ["sweep.levers.militias.*.iran_obedience", "7"],
    ),
    "design of 10^8 points": (
        "sweep: {design: lhs, samples: 100000000, uncertainties: {militias.*.iran_obedience: {low: 0, high: 1}}}\n",
        ["100,000,000 points"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_DOCUMENTS), ids=list(BAD_DOCUMENTS))
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_documents_are_refused_in_one_line(tmp_path, case, command):
    body, words = BAD_DOCUMENTS[case]
    name = "" if body.startswith("name:") else "name: bad\n"  # a key given twice is itself refused
    path = _doc(tmp_path, f"{name}extends: {BASELINE}\n" + body + "united_states: {policy: {name: restraint}}\n")
    out = tmp_path / "out"
    args = ("validate", path) if command == "validate" else ("run", path, "--out", out, "-n", "2", "-q")
    if command == "run" and "sweep" in body:
        args = ("sweep", path, "--out", out, "-w", "1", "-q")
    assert_one_line_error(invoke(*args), str(path), *words)
    assert not out.exists()  # checked before anything is written


def test_extends_a_folder_or_a_device_and_validate_a_folder(tmp_path):
    for parent, words in ((tmp_path, "not a regular file"), ("/dev/zero", "outside the project")):  # a device is refused unread
        path = _doc(tmp_path, f"name: bad\nextends: {parent}\n")
        assert_one_line_error(invoke("validate", path), str(path), "extends", words)
    assert_one_line_error(invoke("validate", tmp_path), str(tmp_path), "is a folder")


# --------------------------------------------------------------------------- options and output folders


@pytest.mark.parametrize("args, words", [
    (("--seed", "-1"), ["--seed", "-1"]),
    (("-n", "1000000000"), ["--replicates", "1,000,000,000"]),
    # streamed to disk: a million replicates pass the memory check (a few blocks are held); the time limit is next
    (("-n", "1000000", "--max-hours", "0.0001"), ["--max-hours", "1,000,000 replicates"]),
    (("-n", "1000", "--max-memory", "1MB"), ["--max-memory", "1,000 replicates"]),
    (("-n", "1000", "--max-memory", "lots"), ["--max-memory", "'lots'"]),
    (("-n", "100000", "--max-memory", "1TiB", "--max-hours", "0.0001"), ["--max-hours", "hours"]),
])
def test_run_options_out_of_range(short, tmp_path, args, words):
    assert_one_line_error(invoke("run", short, "--out", tmp_path / "o", "-q", *args), *words)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args, words", [
    (("--seed", "-1"), ["--seed"]),
    (("-n", "10000000000"), ["--replicates"]),
    (("-n", "10000000", "-w", "2"), ["--max-hours"]),  # 2 points x 10^7 replicates: 20,000 tasks refused with a word
])
def test_sweep_options_out_of_range(tmp_path, args, words):
    path = _doc(tmp_path, f"name: sw\nextends: {BASELINE}\nsweep: {{levers: {{united_states.policy.name: [restraint, proportional]}}}}\n")
    assert_one_line_error(invoke("sweep", path, "--out", tmp_path / "o", "-q", *args), *words)


def test_compare_of_a_billion_replicates_is_refused(tmp_path):
    path = _doc(tmp_path, f"name: cmp\nextends: {BASELINE}\ncompare: {{levers: [restraint, proportional], reference: restraint}}\n")
    assert_one_line_error(invoke("compare", path, "-n", str(10**9), "--out", tmp_path / "o"), "--replicates")
    assert_one_line_error(invoke("compare", path, "-n", str(10**7), "--out", tmp_path / "o"), "--max-")


def test_unwritable_or_odd_out_is_refused_before_simulating(short, tmp_path, monkeypatch):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    assert_one_line_error(invoke("run", short, "--out", blocker / "out", "-q"), "not a folder")
    assert_one_line_error(invoke("run", short, "--out", "/proc/escalation-out", "-q"), "not writable")
    # `--out .` in a folder of other files (or the project itself) is refused; nothing is written
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("mine")
    monkeypatch.chdir(work)
    assert_one_line_error(invoke("run", short, "--out", ".", "-q"), "holds no results")
    assert sorted(os.listdir(work)) == ["notes.txt"]
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    assert_one_line_error(invoke("run", short, "--out", ".", "-q"), "refusing to write results into this folder")


# --------------------------------------------------------------------------- run folders: one run, never half


def test_second_writer_is_refused_while_a_run_is_written(short, run_folder):
    before = snapshot(run_folder)
    with output_lock(run_folder):
        # another process would be refused: simulate it by forgetting that this process holds the lock
        from experiments.runner import store

        held = dict(store._HELD)
        store._HELD.clear()
        try:
            res = invoke("run", short, "--out", run_folder, "-n", "4", "-q")
        finally:
            store._HELD.update(held)
    assert_one_line_error(res, "another escalation process", f"pid {os.getpid()}")
    assert snapshot(run_folder) == before


def test_failed_write_leaves_the_previous_run_whole(short, run_folder, monkeypatch):
    before = snapshot(run_folder)
    import sys

    run_mod = sys.modules["experiments.runner.run"]  # `experiments.runner.run` the attribute is the run() function

    real = run_mod.atomic_write_parquet

    def fail_on_groups(df, path):
        if path.name == "groups.parquet":
            raise OSError(28, "No space left on device")
        real(df, path)

    monkeypatch.setattr(run_mod, "atomic_write_parquet", fail_on_groups)
    with pytest.raises(OSError):
        run_mod.write_run(run_mod.run(short, replicates=6, seed=9), run_folder)
    assert snapshot(run_folder) == before
    assert [p.name for p in run_folder.parent.iterdir() if p.name.startswith(".run.")] == [".run.lock"]  # no half folder left


def test_rerun_replaces_tables_and_manifest_together_and_keeps_user_files(short, run_folder):
    (run_folder / "my_notes.txt").write_text("keep me")
    res = invoke("run", short, "--out", run_folder, "-n", "6", "--seed", "7", "-q")
    assert res.exit_code == 0, res.output
    man = json.loads((run_folder / "manifest.json").read_text())
    daily = pd.read_parquet(run_folder / "daily.parquet")
    assert (man["replicates"], man["seed"]) == (6, 7) and daily.replicate.nunique() == 6
    assert (run_folder / "my_notes.txt").read_text() == "keep me"


# --------------------------------------------------------------------------- plot / report on bad folders


def _break(folder: Path, how: str) -> None:
    man_path = folder / "manifest.json"
    man = json.loads(man_path.read_text())
    if how == "null scenario":
        man["scenario"] = None
        man_path.write_text(json.dumps(man))
    elif how == "text seed":
        man["seed"] = "five"
        man_path.write_text(json.dumps(man))
    elif how == "wrong dtype":
        daily = pd.read_parquet(folder / "daily.parquet")
        daily["attacks_total"] = daily["attacks_total"].astype(str)
        daily.to_parquet(folder / "daily.parquet")
    elif how == "tables of another run":
        daily = pd.read_parquet(folder / "daily.parquet")
        daily[daily.replicate < 2].to_parquet(folder / "daily.parquet")
    elif how == "missing tables":
        (folder / "daily.parquet").unlink()
        (folder / "summary.parquet").unlink()


@pytest.mark.parametrize("how", ["null scenario", "text seed", "wrong dtype", "tables of another run", "missing tables"])
@pytest.mark.parametrize("command", ["plot", "report"])
def test_plot_and_report_refuse_bad_run_folders(run_folder, how, command):
    _break(run_folder, how)
    assert_one_line_error(invoke(command, run_folder), str(run_folder))
    assert not (run_folder / "report.html").exists() and not (run_folder / "figures").exists()


def test_report_output_must_be_a_new_file(run_folder, tmp_path):
    assert_one_line_error(invoke("report", run_folder, "--out", tmp_path), "is a folder")
    existing = tmp_path / "r.html"
    existing.write_text("precious")
    assert_one_line_error(invoke("report", run_folder, "--out", existing), "already exists", "--force")
    assert existing.read_text() == "precious"
    assert invoke("report", run_folder, "--out", existing, "--force").exit_code == 0
    assert "<html" in existing.read_text()


@pytest.mark.parametrize("text, words", [
    ("counts:\n- {id: a, quantity: attacks_total, since: 2023-10-17, date_start: 2023-02-30, date_end: 2023-11-13,"
     " value: 61, bound: exact, source: '004', quote: 'sixty-one attacks'}\n", ["line 2", "not a date"]),
    ("counts:\n- {id: a, quantity: attacks_total, since: 2023-10-17, date_start: 2023-11-13, date_end: 2023-11-13,"
     " value: .inf, bound: exact, source: '004', quote: 'sixty-one attacks'}\n", ["counts.0.value", "finite"]),
])
def test_bad_observed_file_is_one_line(tmp_path, text, words):
    from experiments.scenario.observed import load_observed

    path = _doc(tmp_path, text, "observed.yaml")
    with pytest.raises(UserError) as err:
        load_observed(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and all(w in msg for w in words), msg


# --------------------------------------------------------------------------- posterior draws


@pytest.mark.parametrize("column, value, words", [
    ("militias.*.base_rate", -0.5, ["base_rate", "-0.5"]),
    ("militias.*.iran_obedience", 7.0, ["iran_obedience", "7.0"]),
    ("militias.*.iran_obedience", float("nan"), ["iran_obedience", "finite"]),
    ("weight", -1.0, ["weight"]),
])
def test_posterior_draws_obey_the_field_bounds(tmp_path, column, value, words):
    draws = pd.DataFrame({"militias.*.base_rate": [0.3, 0.5, 0.4], "militias.*.iran_obedience": [0.4, 0.5, 0.6], "weight": [1.0, 1, 1]})
    draws.loc[1, column] = value
    draws.to_parquet(tmp_path / "post.parquet")
    path = short_scenario(tmp_path, name="post", days=10, replicates=3, uncertainty={"posterior": str(tmp_path / "post.parquet")})
    assert_one_line_error(invoke("run", path, "--out", tmp_path / "o", "-q"), "post.parquet", *words)
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- the sweep store


SWEEP = {"design": "grid", "replicates": 6, "levers": {"united_states.policy.name": ["restraint", "proportional"]}}


@pytest.fixture
def sweep_file(tmp_path) -> Path:
    return write_yaml(tmp_path / "st.yaml", {"name": "st", "extends": str(BASELINE), "end": "2023-10-27", "block_size": 3, "sweep": SWEEP})


@pytest.fixture
def reference(sweep_file, tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("ref") / "out"
    run_sweep(sweep_file, out, summary_only=False)
    return load_sweep(out, daily=True)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damage", ["truncate summary", "delete daily", "flip a byte", "delete receipt", "garbage receipt"])
def test_resume_verifies_every_task_and_reruns_damaged_ones(sweep_file, reference, tmp_path, damage):
    out = tmp_path / "out"
    run_sweep(sweep_file, out, summary_only=False)
    tasks = out / "tasks"
    if damage == "truncate summary":
        _truncate(tasks / "summary" / "p1-b0.parquet")
    elif damage == "delete daily":
        (tasks / "daily" / "p0-b1.parquet").unlink()
    elif damage == "flip a byte":
        path = tasks / "daily" / "p1-b1.parquet"
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "delete receipt":
        (out / "receipts" / "p0-b0.json").unlink()
    else:
        (out / "receipts" / "p0-b0.json").write_text("{not json")
    with pytest.raises(UserError, match="damaged"):
        load_sweep(out, daily=True)  # a damaged store is never read as complete (a lost receipt included)
    res = run_sweep(sweep_file, out, resume=True, summary_only=False)
    assert (res.done, res.skipped, res.failed) == (1, 3, 0), res
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    pd.testing.assert_frame_equal(load_sweep(out, daily=True), reference)


def test_store_of_another_seed_is_refused_even_without_manifest(sweep_file, tmp_path):
    out = tmp_path / "out"
    run_sweep(sweep_file, out, max_tasks=2)
    (out / "manifest.json").unlink()
    for kwargs in ({"seed": 999}, {"replicates": 7}):
        with pytest.raises(UserError, match="another spec"):
            run_sweep(sweep_file, out, resume=True, **kwargs)
    (out / "store.json").unlink()  # the receipts still carry the identity
    with pytest.raises(UserError, match="another spec"):
        run_sweep(sweep_file, out, resume=True, seed=999)
    res = run_sweep(sweep_file, out, resume=True)
    assert (res.done, res.skipped) == (2, 2)


def test_force_deletes_only_what_the_store_wrote(sweep_file, tmp_path):
    out = tmp_path / "out"
    (out / "tasks").mkdir(parents=True)
    (out / "tasks" / "my_data.csv").write_text("precious")
    (out / "notes.txt").write_text("mine")
    run_sweep(sweep_file, out, force=True)
    run_sweep(sweep_file, out, force=True, seed=3)
    assert (out / "tasks" / "my_data.csv").read_text() == "precious" and (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / "manifest.json").read_text())["seed"] == 3


def test_leftover_temporaries_are_removed_on_the_next_start(sweep_file, tmp_path):
    out = tmp_path / "out"
    run_sweep(sweep_file, out, max_tasks=1)
    stale = out / "tasks" / "summary" / ".p1-b0.parquet.abc123.tmp"
    stale.write_bytes(b"half a file")
    run_sweep(sweep_file, out, resume=True)
    assert not stale.exists()
    assert not [p for p in out.rglob("*.tmp")]


def test_dead_worker_is_a_failed_task_not_a_traceback(sweep_file, tmp_path):
    out = tmp_path / "out"
    res = run_sweep(sweep_file, out, executor=injected(PoolExecutor(2), DieOn([1])))
    assert res.failed >= 1
    errors = pd.read_parquet(out / "errors.parquet")
    assert errors.error.str.contains("worker process died").all()
    assert 1 in set(errors.point)
    assert json.loads((out / "manifest.json").read_text())["status"] == "incomplete"
    res = run_sweep(sweep_file, out, executor=2, resume=True)  # the pool is new: the rest completes
    assert res.failed == 0 and not (out / "errors.parquet").exists()
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_validate_checks_what_sweep_checks(tmp_path):
    bad = write_yaml(tmp_path / "b.yaml", {"name": "b", "extends": str(BASELINE),
                                           "sweep": {"levers": {"militias.9.base_rate": [1.0]}}})
    assert_one_line_error(invoke("validate", bad), "militias.9.base_rate")
    ok = write_yaml(tmp_path / "ok.yaml", {"name": "ok", "extends": str(BASELINE), "sweep": SWEEP})
    res = invoke("validate", ok)
    assert res.exit_code == 0 and "sweep block" in res.output


def test_extremes_at_the_bounds_run_without_overflow(tmp_path):
    """Largest rate, Gaza intensity and strike sizes: counts stay non-negative, group sums equal totals."""
    groups = [{"name": "A", "short": "A", "base_rate": 100, "stock": {"drone": 1e6, "rocket": 1e6, "missile": 1e6}}]
    policy = {"name": "proportional", "params": {"targets_per_attack": 100, "max_targets": 10_000}}
    path = short_scenario(tmp_path, name="edge", days=20, replicates=3, militias=groups,
                          exogenous={"gaza_intensity": [{"date": "2023-10-07", "value": 100}]},
                          united_states={"policy": policy, "strike_effects": {"militia_killed_per_target": 100}})
    out = tmp_path / "o"
    res = invoke("run", path, "--out", out, "-q")
    assert res.exit_code == 0, res.output
    daily, groups_t = pd.read_parquet(out / "daily.parquet"), pd.read_parquet(out / "groups.parquet")
    assert groups_t.killed.max() > 32767  # int16 group counts would have wrapped to negative numbers
    for col in ("attacks", "killed"):
        assert (groups_t[col] >= 0).all()
    key = ["replicate", "day"]
    for group_col, daily_col in (("attacks", "attacks_total"), ("killed", "militia_killed")):
        sums = groups_t.groupby(key)[group_col].sum().sort_index().to_numpy()
        assert np.array_equal(sums, daily.set_index(key)[daily_col].sort_index().to_numpy()), group_col


def _die_on_two(x: int) -> int:
    if x == 2:
        os.kill(os.getpid(), 9)
    return x * x


def test_dead_worker_in_compare_or_calibrate_is_one_line_not_a_traceback():
    from experiments.runner.executors import PoolExecutor, WorkerDied

    assert PoolExecutor(2).map(_die_on_two, [1, 3, 4]) == [1, 9, 16]
    with pytest.raises(WorkerDied) as err:
        PoolExecutor(2).map(_die_on_two, [1, 2, 3, 4])
    assert err.value.exit_code == 1 and "worker process died" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("args, words", [(("--seed", "-1"), ["--seed"]), (("-n", str(10**9)), ["--replicates"])])
def test_calibrate_options_out_of_range(tmp_path, args, words):
    root = Path(__file__).resolve().parent.parent
    assert_one_line_error(invoke("calibrate", root / "scenarios" / "calibration.yaml", "--out", tmp_path / "c", *args), *words)
    assert not (tmp_path / "c").exists()


def test_swap_failing_between_the_renames_puts_the_old_folder_back(run_folder, monkeypatch):
    """The riskiest moment: the old folder moved aside, the new one not yet in place."""
    from experiments.runner import store

    (run_folder / "my_notes.txt").write_text("keep me")
    before = snapshot(run_folder)
    real_rename = os.rename

    def rename(src, dst):
        if Path(dst) == run_folder and ".new-" in str(src):
            raise OSError(5, "I/O error")
        real_rename(src, dst)

    monkeypatch.setattr(store.os, "rename", rename)
    with pytest.raises(OSError):
        store.swap_in(run_folder, lambda tmp: (tmp / "daily.parquet").write_bytes(b"new"), keep=lambda n: n == "my_notes.txt")
    monkeypatch.undo()
    assert snapshot(run_folder) == before
    assert not [p for p in run_folder.parent.iterdir() if ".new-" in p.name or ".old-" in p.name]


def test_analysis_commands_refuse_a_second_writer(tmp_path):
    from experiments.runner import store

    path = _doc(tmp_path, f"name: cmp\nextends: {BASELINE}\nend: 2023-10-20\ncompare: {{levers: [restraint, proportional], reference: restraint, replicates: 4}}\n")
    out = tmp_path / "cmp"
    with output_lock(out):
        held = dict(store._HELD)
        store._HELD.clear()  # as if another process held it
        try:
            res = invoke("compare", path, "--out", out, "-q")
        finally:
            store._HELD.update(held)
    assert_one_line_error(res, "another escalation process")
    res = invoke("compare", path, "--out", out, "-q")  # the lock is released when a command ends
    assert res.exit_code == 0, res.output
    assert invoke("compare", path, "--out", out, "-q", "--force").exit_code == 0  # finished tasks: --force or --resume


def test_report_of_a_compare_folder_with_a_broken_table_is_one_line(tmp_path):
    path = _doc(tmp_path, f"name: cmp\nextends: {BASELINE}\nend: 2023-10-20\ncompare: {{levers: [restraint, proportional], reference: restraint, replicates: 4}}\n")
    out = tmp_path / "cmp"
    assert invoke("compare", path, "--out", out, "-q").exit_code == 0
    table = pd.read_parquet(out / "table.parquet")
    table["estimate"] = table["estimate"].astype(str)
    table.to_parquet(out / "table.parquet")
    assert_one_line_error(invoke("report", out), "table.parquet", "receipt")  # not the table its manifest names

    def rebind() -> None:  # a table with a matching receipt is still checked column by column
        from experiments.runner.store import file_receipt

        man = json.loads((out / "manifest.json").read_text())
        man["tables"]["table.parquet"] = file_receipt(out / "table.parquet")
        (out / "manifest.json").write_text(json.dumps(man))

    rebind()
    assert_one_line_error(invoke("report", out), "table.parquet", "estimate")
    table.drop(columns=["reference"]).assign(estimate=1.0).to_parquet(out / "table.parquet")
    rebind()
    assert_one_line_error(invoke("report", out), "table.parquet", "reference")
