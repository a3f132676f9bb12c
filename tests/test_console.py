"""The console as an analyst meets it at 80 columns: tables never break a number (names fold instead),
help shows flags as flags, --force means one thing, every command that runs the model can be bounded
(--max-memory, --max-hours) and resumed where it stores tasks, `python -m experiments` works, and the
note on unidentified parameters is one line with values."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer.main
from rich.console import Console
from typer.testing import CliRunner

from experiments.analysis.compare import print_table
from experiments.analysis.tables import console_table
from experiments.cli.main import app

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = typer.main.get_command(app).commands
RUNS_MODEL = {"run", "sweep", "calibrate", "compare", "sensitivity", "phase-map", "forecast"}
STORES_TASKS = {"sweep", "compare", "phase-map"}  # resumable task stores (experiments.runner.sweep.STORE)
NUMBER = re.compile(r"-?\d[\d,]*\.\d+|\[-?\d[\d,]*\.\d+, -?\d[\d,]*\.\d+\]")


def render(table, width: int = 80) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, force_terminal=False, color_system=None).print(table)
    return buf.getvalue()


def long_compare_table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    policies = ["historical", "restraint", "a_policy_of_my_own_with_a_long_name", "graduated"]
    for oc, label, kind in (("attacks_total", "Total attacks over the whole period of the scenario", "mean"),
                            ("war", "P(direct U.S.-Iran war)", "prob"), ("us_killed", "U.S. killed", "mean")):
        for p in policies:
            est = rng.uniform(-300, 3000) if kind == "mean" else rng.uniform(0, 1)
            rows.append(dict(policy=p, outcome=oc, label=label, kind=kind, estimate=est, ci_low=est - 123.456, ci_high=est + 98.7,
                             diff=est - 1000.5, diff_low=est - 1234.5, diff_high=est - 876.5, reference="historical", replicates=10))
    return pd.DataFrame(rows)


def cells(table: pd.DataFrame) -> list[str]:
    """Every number print_table shows, as it formats it."""
    out = []
    for _, r in table.iterrows():
        f = "{:.3f}" if r.kind == "prob" else "{:.1f}"
        out += [f.format(r.estimate), f"[{f.format(r.ci_low)}, {f.format(r.ci_high)}]"]
        if r.policy != r.reference:
            out += [f.format(r["diff"]), f"[{f.format(r.diff_low)}, {f.format(r.diff_high)}]"]
    return out


@pytest.mark.parametrize("width", [80, 100, 200])
def test_compare_table_keeps_every_number_whole_and_folds_names(width):
    table = long_compare_table()
    buf = io.StringIO()
    print_table(table, Console(file=buf, width=width, color_system=None))
    text = buf.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width
    for number in cells(table):
        assert number in text, f"{number!r} broken or cut at {width} columns:\n{text}"
    assert "…" not in text
    if width == 80:  # the long policy name folds onto more lines, nothing is cut
        folded = re.findall(r"^\s*\S*\s+(\S+)", text, flags=re.M)  # second column where a name folds
        assert any(x.startswith("a_poli") for x in folded) and not re.search(r"a_policy_of_my_own_with_a_long_name", text)


def test_folding_table_gives_numbers_their_width_and_names_the_rest():
    t = console_table("title", ["name", "value", "interval"], right=["value", "interval"])
    t.add_row("a very long parameter name " * 4, "12345.678", "[-12345.678, 98765.432]")
    text = render(t, 50)
    assert "12345.678" in text and "[-12345.678, 98765.432]" in text
    assert max(len(line) for line in text.splitlines()) <= 50
    assert text.count("\n") > 4  # the name folded


def test_numbers_in_a_table_are_right_aligned():
    t = console_table("", ["name", "n"], right=["n"])
    t.add_row("a", "1.5")
    t.add_row("b", "1234.5")
    lines = [ln for ln in render(t).splitlines() if ln.startswith(("a", "b"))]
    assert lines[0].rstrip().endswith("1.5") and len(lines[0].rstrip()) == len(lines[1].rstrip())


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_shows_flags_as_flags(command):
    res = CliRunner().invoke(app, [command, "--help"], terminal_width=80, env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    assert "<bool>" not in res.output and "BOOLEAN" not in res.output, res.output


def test_force_means_one_thing_everywhere():
    helps = {name: next(p.help for p in cmd.params if "--force" in getattr(p, "opts", ()))
             for name, cmd in COMMANDS.items() if any("--force" in getattr(p, "opts", ()) for p in cmd.params)}
    assert set(helps) >= RUNS_MODEL | {"report"}
    assert len(set(helps.values())) == 1, helps


def test_every_command_that_runs_the_model_can_be_bounded_and_resumed_where_it_stores_tasks():
    for name in RUNS_MODEL:
        opts = {o for p in COMMANDS[name].params for o in getattr(p, "opts", ())}
        assert {"--max-memory", "--max-hours"} <= opts, name
        if name in STORES_TASKS:
            assert "--resume" in opts, name


@pytest.mark.parametrize("command,args", [("phase-map", ["phase_map.yaml", "-n", "1000000"]),
                                          ("sensitivity", ["sensitivity.yaml", "--samples", "1024"])])
def test_new_budget_limits_refuse_before_simulating(tmp_path, command, args):
    res = CliRunner().invoke(app, [command, str(ROOT / "scenarios" / args[0]), *args[1:], "--out", str(tmp_path / "o"),
                                   "--max-hours", "0.001"])
    assert res.exit_code == 2 and "--max-hours" in res.output and "would take about" in res.output, res.output
    assert not (tmp_path / "o" / "manifest.json").exists()


def test_python_dash_m_experiments_is_the_cli():
    res = subprocess.run([sys.executable, "-m", "experiments", "--version"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0 and res.stdout.startswith("escalation-model"), res.stderr


def test_unidentified_note_is_one_short_line_with_values():
    from experiments.scenario.identification import REFERENCE_POSTERIOR, notice_for
    from experiments.scenario.schema import load_scenario, with_overrides

    if not REFERENCE_POSTERIOR.exists():
        pytest.skip("no committed calibration")
    sc = with_overrides(load_scenario(ROOT / "scenarios" / "restraint.yaml"), {"uncertainty": None})
    notice = notice_for(sc, None)
    assert notice is not None and "\n" not in notice.line
    assert "default" not in notice.line and "?" not in notice.line
    assert len(notice.line) < 400
    for p in notice.parameters:  # every parameter with a number
        assert p.split(".")[-1] in notice.line
    assert re.search(r"war_hazard=[\d.e-]+", notice.line)
