"""The README runs as written: every fenced command, the scenario example and the Python snippet,
on a small budget, in a copy of scenarios/ (results land in a temporary folder).

Budget options are appended to each command (the last value of an option wins): fewer replicates,
samples or simulations, never a different command. `make run` / `make test` are not run here: they
are this test suite's own entry points (and `make run` is `run` + `plot` of the baseline, run below).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from serving import free_port, stop, wait_for_page

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BUDGET = {  # subcommand -> options appended to keep the run small
    "run": ["-n", "4"],
    "sweep": ["-n", "2"],
    "calibrate": ["-n", "16"],
    "compare": ["-n", "4"],
    "sensitivity": ["--samples", "2"],
    "phase-map": ["-n", "2"],
}
NOT_RUN = {"make": "the test suite's own entry point"}


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M)]


def commands(body: str) -> list[str]:
    out = []
    for line in body.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def test_readme_commands_have_no_placeholders():
    for lang, body in fenced_blocks(README.read_text()):
        if lang == "sh":
            for cmd in commands(body):
                assert "[" not in cmd and "<" not in cmd, f"not runnable as written: {cmd}"


def _run_app(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    """Start `escalation app`, wait for the page to answer on 127.0.0.1, stop it."""
    port = free_port()
    proc = subprocess.Popen([*cmd, "--port", str(port)], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_for_page(f"http://127.0.0.1:{port}/", proc)
    finally:
        stop(proc)


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", "COLUMNS": "80",
            "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """Every fenced command of the README run once, in README order, in one copy of scenarios/ (with the
    scenario example saved where the README says): the folder and each command's result, by command.

    Both tests below read it: the whole README and the "Three analyst tasks" section (whose commands are
    fenced commands of the README too), so the section's compare, sweep, plot and report run once, not
    twice. Nothing is asserted here: each test asserts on the commands it is about."""
    tmp = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "scenarios", tmp / "scenarios")
    env = _env()
    blocks = fenced_blocks(README.read_text())
    example = next(body for lang, body in blocks if lang == "yaml" and "red_line_iran" in body)
    (tmp / "scenarios" / "red_line_iran.yaml").write_text(example)
    sh = [cmd for lang, body in blocks if lang == "sh" for cmd in commands(body)]
    sh += ["escalation validate scenarios/red_line_iran.yaml", "escalation run scenarios/red_line_iran.yaml"]
    results: list[subprocess.CompletedProcess | Exception | None] = []  # one per command of ``sh``, in order
    for cmd in sh:
        argv = shlex.split(cmd)
        if argv[0] in NOT_RUN or argv[0] != "escalation":
            results.append(None)  # not run (the test of the whole README says why)
        elif argv[1] == "app":
            try:
                _run_app(argv, tmp, env)
                results.append(subprocess.CompletedProcess(argv, 0, "", ""))
            except Exception as exc:  # noqa: BLE001 -- reported by the test that reads it
                results.append(exc)
        else:
            full = " ".join([cmd, *BUDGET.get(argv[1], [])])  # as the shell reads it (globs expand)
            try:
                results.append(subprocess.run(["bash", "-c", full], cwd=tmp, env=env, capture_output=True, text=True, timeout=600))
            except subprocess.TimeoutExpired as exc:
                results.append(exc)
    return tmp, sh, example, results


def _check_ran(cmd: str, res) -> None:
    """The command exited 0 and its console output fits 80 columns."""
    if isinstance(res, Exception):
        raise AssertionError(f"{cmd}: {res!r}") from res
    assert res is not None, f"not run: {cmd}"
    full = " ".join([cmd, *BUDGET.get(shlex.split(cmd)[1], [])])
    assert res.returncode == 0, f"{full}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"
    assert "…" not in res.stdout, f"{full}: output cut at 80 columns\n{res.stdout}"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_fenced_command_of_the_readme_runs(readme_run):
    tmp_path, sh, example, results = readme_run
    env = _env()
    blocks = fenced_blocks(README.read_text())
    ran: list[str] = []
    for cmd, res in zip(sh, results):
        argv = shlex.split(cmd)
        if argv[0] in NOT_RUN:
            continue
        assert argv[0] == "escalation", f"unexpected command in the README: {cmd}"
        _check_ran(cmd, res)
        ran.append(cmd)
    assert any(c.startswith("escalation app") for c in ran)
    assert len(pd.read_parquet(tmp_path / "results" / "red_line_iran" / "summary.parquet")) == 4
    assert (tmp_path / "results" / "sweep_policies_obedience" / "figures" / "envelopes.png").exists()
    assert (tmp_path / "results" / "sensitivity" / "morris" / "indices.csv").exists()
    assert (tmp_path / "results" / "compare_policies" / "report.html").exists()

    # the Python snippet, with the same small budget
    snippet = next(body for lang, body in blocks if lang == "python")
    code = re.sub(r"replicates=\d+", "replicates=4", snippet)
    res = subprocess.run([sys.executable, "-c", code + "\nassert len(summary) == 4 and len(daily) > 0"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr
    assert yaml.safe_load(example)["name"] == "red_line_iran"


def section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_three_analyst_tasks_run_as_written_and_give_a_brief(readme_run):
    """README "Three analyst tasks": a policy of one's own against restraint and the replay, a sweep with
    intervals, a brief; every fenced command on a small budget (run once with the rest of the README, in
    README order: `readme_run`), then the numbers they promise."""
    tmp_path, readme_commands, _, results = readme_run
    text = section(README.read_text(), "Three analyst tasks")
    blocks = fenced_blocks(text)
    # the YAML shown is the file that ships (a reader copies it): same compare block
    shown = yaml.safe_load(next(body for lang, body in blocks if lang == "yaml"))
    shipped = yaml.safe_load((ROOT / "scenarios" / "compare_my_policy.yaml").read_text())
    assert shown["compare"]["levers"] == shipped["compare"]["levers"] and shown["extends"] == shipped["extends"]
    sh = [cmd for lang, body in blocks if lang == "sh" for cmd in commands(body)]
    assert any(c.startswith("escalation compare") for c in sh) and any(c.startswith("escalation sweep") for c in sh)
    assert any(c.startswith("escalation report") for c in sh)
    outputs = {}
    for cmd in sh:
        assert cmd in readme_commands, f"not a fenced command of the README: {cmd}"
        res = results[len(readme_commands) - 1 - readme_commands[::-1].index(cmd)]  # its last run in README order
        _check_ran(cmd, res)
        outputs[shlex.split(cmd)[1]] = res.stdout

    # task 1: my policy, restraint and the replay, paired to the replay, with intervals in the console table
    table = pd.read_parquet(tmp_path / "results" / "compare_my_policy" / "table.parquet")
    assert set(table.policy) == {"historical", "restraint", "my_policy"} and (table.reference == "historical").all()
    r = table[(table.policy == "my_policy") & (table.outcome == "attacks_total")].iloc[0]
    assert r.ci_low <= r.estimate <= r.ci_high and r.diff_low <= r["diff"] <= r.diff_high
    assert f"[{r.ci_low:.1f}, {r.ci_high:.1f}]" in outputs["compare"] and f"[{r.diff_low:.1f}, {r.diff_high:.1f}]" in outputs["compare"]

    # task 2: the sweep's report gives each lever setting with an interval
    sweep_page = (tmp_path / "results" / "obedience" / "report.html").read_text()
    assert "95 % interval" in sweep_page[:sweep_page.index(">Provenance<")]

    # task 3: the brief says the findings in words first, with the headline difference and its interval
    page = (tmp_path / "results" / "compare_my_policy" / "brief.html").read_text()
    findings = page[page.index(">Findings<"):page.index(">Outcomes by policy<")]
    assert "Total attacks (attacks): " in findings and "under historical" in findings
    assert "my_policy" in findings
    assert page.index(">Outcomes by policy<") < page.index(">Provenance<") < page.index("scenario hash")
