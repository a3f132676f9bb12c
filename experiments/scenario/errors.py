"""User-facing errors: name the file, the field path and what was expected; the CLI exits 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class UserError(Exception):
    """Bad input from the user. ``str()`` is the whole message the CLI prints."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | Path | None = None, path: tuple[Any, ...] | str | None = None):
        self.file, self.path, self.message = file, path, message
        where = []
        if file is not None:
            where.append(str(file))
        if path:
            where.append(path if isinstance(path, str) else format_path(path))
        super().__init__(f"{': '.join(where)}: {message}" if where else message)


def format_path(path: tuple[Any, ...]) -> str:
    """('militias', 0, 'base_rate') -> 'militias[0].base_rate'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


MAX_SEED = 2**63 - 1  # seeds are stored as int64 in the tables


def check_option(value: int | float | None, option: str, low: float, high: float) -> None:
    """A command-line override outside its range: one line naming the option (None = not given)."""
    if value is not None and not low <= value <= high:
        raise UserError(f"expected {low:,} to {high:,}, got {value:,}", path=option)
