"""The last mile of the command line: option help, tables that fold instead of cutting, the note
when `run` replaces a run made with other replicates or another seed."""

from __future__ import annotations

import io
import re

import click
import pandas as pd
import typer
from rich.console import Console
from typer.testing import CliRunner

from conftest import short_scenario
from experiments.cli.main import app

runner = CliRunner()


def test_every_option_and_argument_of_every_command_has_help():
    group = typer.main.get_command(app)
    missing = []
    for name, cmd in group.commands.items():
        assert (cmd.help or "").strip(), f"{name} has no description"
        for param in cmd.params:
            if isinstance(param, click.Option) and "--help" in param.opts:
                continue
            if not (getattr(param, "help", None) or "").strip():
                missing.append(f"{name} {'/'.join(getattr(param, 'opts', [param.name]))}")
    assert not missing, f"without help: {missing}"


def test_tables_fold_long_names_at_any_width():
    from experiments.analysis.sensitivity import flag_indices, print_indices

    names = ["militias.*.behaviours.tit_for_tat.max_boost", "militias.*.behaviours.deterred.per_target"]
    ind = flag_indices(pd.DataFrame({"method": "sobol", "outcome": "withdrawal_demanded", "parameter": names,
                                     "S1": [0.4, -0.2], "S1_conf": [0.1, 0.3], "ST": [0.5, 1.1], "ST_conf": [0.1, 0.1], "note": ""}))
    for width in (40, 80, 200):
        buf = io.StringIO()
        print_indices({"indices": ind, "samples": pd.DataFrame(index=range(8)), "runtime": 1.0, "boxes": pd.DataFrame()},
                      Console(file=buf, width=width, color_system=None))
        text = buf.getvalue()
        assert "…" not in text and max(map(len, text.splitlines())) <= width
        lines = text.splitlines()
        header = next((i for i, line in enumerate(lines) if line.startswith("outcome") and "parameter" in line), None)
        if header is None:  # too narrow for a table: one record per row, "parameter:" then the name, folded
            column, inside = "", False
            for line in lines:
                if line.startswith("parameter:"):
                    inside, line = True, line[len("parameter:"):]
                elif not line.startswith(" "):
                    inside = False
                if inside:
                    column += line.strip()
        else:  # the parameter column: from its header to the next column's, over the table's rows
            start = lines[header].index("parameter")  # left-aligned: each row's fragment starts there (names hold no spaces)
            body = [line for line in lines[header + 2:] if len(line) > start and line[start] != " "]
            column = "".join(line[start:].split()[0] for line in body)
        assert "".join(names) in column or column == "".join(names), f"width {width}: the parameter column reads {column!r}"
        for number in ("0.400", "-0.200", "0.500", "1.100"):
            assert number in text, f"width {width}: {number} broken"


def test_run_says_when_it_replaces_a_run_with_other_replicates_or_seed(tmp_path):
    src = short_scenario(tmp_path, name="note", days=10, replicates=3)
    out = tmp_path / "out"
    first = runner.invoke(app, ["run", str(src), "--out", str(out), "-q"])
    assert first.exit_code == 0 and "note:" not in first.output
    again = runner.invoke(app, ["run", str(src), "--out", str(out), "-q"])  # same replicates and seed: silent
    assert again.exit_code == 0 and "note:" not in again.output
    (out / "figures").mkdir()  # figures drawn from the old tables
    other = runner.invoke(app, ["run", str(src), "--out", str(out), "-q", "-n", "5", "--seed", "2"], terminal_width=300)
    assert other.exit_code == 0
    assert "3 replicates and seed 20231007" in other.output and "5 replicates and seed 2" in other.output
    assert "figures" in other.output and "escalation plot" in other.output
    assert not (out / "figures").exists()  # stale figures go with the tables they were drawn from (issue 11)
