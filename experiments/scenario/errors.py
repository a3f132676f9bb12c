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
    """('militias', 0, 'base_rate') -> 'militias.0.base_rate': the one path syntax of the project, the
    one ``--set``, sweeps, levers and posterior columns take, so an error's path can be pasted into
    ``--set PATH=VALUE`` as printed."""
    return ".".join(str(part) for part in path) or "(top level)"


MAX_SEED = 2**63 - 1  # seeds are stored as int64 in the tables


def check_option(value: int | float | None, option: str, low: float, high: float) -> None:
    """A command-line override outside its range: one line naming the option (None = not given)."""
    if value is not None and not low <= value <= high:
        raise UserError(f"expected {low:,} to {high:,}, got {value:,}", path=option)


def from_validation(exc: Any, file: str | Path | None = None, prefix: tuple[Any, ...] = ()) -> UserError:
    """The one conversion of a pydantic ``ValidationError`` into a :class:`UserError`: the first
    problem's field path (under ``prefix``, e.g. the block's key), what is wrong, the value given,
    and how many more problems there are."""
    err = exc.errors()[0]
    loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
    return UserError(describe_error(err) + more, file=file, path=loc)


def describe_error(err: dict[str, Any]) -> str:
    """One pydantic error as a phrase: what was expected and what was given."""
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; see docs/ODD.md for the fields)"
    if kind == "missing":
        return "required field is missing"
    if kind == "value_error":  # our validators' messages already name the value
        return msg.removeprefix("Value error, ")
    value = err.get("input")
    shown = "a mapping" if isinstance(value, dict) else f"a list of {len(value)} items" if isinstance(value, list) else repr(value)
    return f"{msg}; got {shown}"
