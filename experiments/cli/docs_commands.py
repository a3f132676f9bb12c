"""The README's command reference, generated from the typer app itself: every command, its purpose
(first paragraph of its docstring), arguments and options with defaults and help.

``python -m experiments.cli.docs_commands`` rewrites the part of README.md between the markers;
tests/test_cli_options.py fails when README.md no longer matches the commands.
"""

from __future__ import annotations

# typer (0.29) ships its own copy of click: parameters are told apart by param_type_name, not by class
import sys
from pathlib import Path

from typing import Any

import typer.main

from experiments.cli.docs import markdown_table, update_generated

README_FILE = Path(__file__).resolve().parents[2] / "README.md"
BEGIN = "<!-- BEGIN COMMANDS: generated from the typer app; regenerate with `python -m experiments.cli.docs_commands` -->"
END = "<!-- END COMMANDS -->"


def _purpose(text: str | None) -> str:
    """The first paragraph on one line; ``<`` escaped so ``results/<scenario name>`` is not read as HTML."""
    return " ".join((text or "").strip().split("\n\n")[0].split()).replace("<", "&lt;")


def _usage(name: str, cmd: Any) -> str:
    words = ["escalation", name]
    for p in cmd.params:
        if p.param_type_name == "argument":
            word = p.name.upper() + ("..." if p.nargs == -1 else "")
            words.append(word if p.required else f"[{word}]")
    return " ".join(words) + (" [OPTIONS]" if any(p.param_type_name == "option" for p in cmd.params) else "")


def _option_row(p: Any) -> tuple[str, str, str]:
    names = ", ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
    if not p.is_flag:
        kind = getattr(getattr(p, "type_descriptor", None), "annotation", None)
        names += f" {p.metavar or getattr(kind, '__name__', 'VALUE').upper().replace('STR', 'TEXT')}"
    shown = p.default is not None and not p.is_flag and p.show_default is not False and p.default != ()
    return names, f"`{p.default}`" if shown else "", _purpose(p.help)


def _options_table(params: list[Any]) -> str:
    rows = [_option_row(p) for p in params if p.param_type_name == "option" and p.name != "help"]
    return markdown_table(("option", "default", "meaning"), rows, code_first=False) if rows else ""


def command_reference() -> str:
    """Markdown: the global options, then one section per command in the order ``--help`` lists them."""
    from experiments.cli.main import app

    group = typer.main.get_command(app)
    parts = ["`escalation [--version] COMMAND [ARGS] [OPTIONS]`", "", _options_table(group.params), ""]
    for name, cmd in group.commands.items():
        parts += [f"#### `{name}`", "", f"`{_usage(name, cmd)}`", "", _purpose(cmd.help), ""]
        table = _options_table(cmd.params)
        if table:
            parts += [table, ""]
    return "\n".join(parts).rstrip() + "\n"


def update_readme(path: Path = README_FILE) -> bool:
    """Replace the generated command reference in README.md; returns True if the file changed."""
    return update_generated(path, BEGIN, END, command_reference())


if __name__ == "__main__":  # python -m experiments.cli.docs_commands [README.md]
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else README_FILE
    print(f"{target}: {'updated' if update_readme(target) else 'already current'}")
