"""Console tables that fold long cells onto more lines instead of cutting them ("histor…"), at any
terminal width, piped or not. Every table the commands print is made here."""

from __future__ import annotations

from typing import Iterable

from rich.table import Table


def console_table(title: str, columns: Iterable[str], right: Iterable[str] = (), **kwargs) -> Table:
    """A rich Table whose columns fold (never ellipsize); ``right`` names the right-aligned columns."""
    right = set(right)
    table = Table(title=title, title_justify="left", **kwargs)
    for name in columns:
        table.add_column(name, justify="right" if name in right else "left", overflow="fold")
    return table
