"""User-facing errors: name the file, the field path and what was expected; the CLI exits 2."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from model.params import unknown_field


class UserError(Exception):
    """Bad input from the user. ``str()`` is the whole message the CLI prints: always one line (a library's
    multi-line message, e.g. a YAML reader error on a control character, is joined into it)."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | Path | None = None, path: tuple[Any, ...] | str | None = None):
        self.file, self.path, self.message = file, path, message
        where = []
        if file is not None:
            where.append(str(file))
        if path:
            where.append(path if isinstance(path, str) else format_path(path))
        text = f"{': '.join(where)}: {message}" if where else message
        super().__init__(re.sub(r"\s*[\r\n]+\s*", " ", text).strip())


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
    and how many more problems there are.

    Pydantic names the branch of a union it tried (``levers.3.str``, ``levers.3.Lever.policy``):
    paths here leave those out, and of a union's branches the one the value was meant for speaks
    (a mapping given for ``str | Lever`` gets the Lever's complaint, not "expected a string")."""
    root = _model_named(getattr(exc, "title", ""))
    # a misspelt field is both unknown and (under its right name) missing: the unknown one explains both
    ordered = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    errors = [(err, *_walk(root, tuple(err["loc"]))) for err in ordered]
    err, loc, union_at, _ = errors[0]
    group = [e for e in errors if e[2] is not None and e[2] == union_at and e[1][:union_at] == loc[:union_at]] if union_at is not None else []
    if group:
        # the branch the value was meant for: one whose complaint is not only "another kind of value", or
        # one that got inside the value (a mapping given to `str | Lever` is a Lever with a bad field)
        meant = [e for e in group if not _mismatch(e[0])] or [e for e in group if len(e[1]) > union_at]
        if meant:
            err, loc, _, _ = meant[0]
            text = describe_error(err, _parent(root, err))
        else:
            text = f"expected {' or '.join(_alternatives(root, err, union_at))}; got {_shown(err.get('input'))}"
            loc = loc[:union_at]
    else:
        text = describe_error(err, _parent(root, err))
    rest = {e[1] for e in errors if e not in group and e is not errors[0]} - {loc}
    more = f" (and {len(rest)} more problem(s))" if rest else ""
    return UserError(text + more, file=file, path=prefix + loc)


def describe_error(err: dict[str, Any], model: Any = None) -> str:
    """One pydantic error as a phrase: what was expected and what was given (``model``: the class
    that holds the field, to list its valid names when the field is unknown)."""
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return unknown_field(model, str(err["loc"][-1]) if err["loc"] else "")
    if kind == "missing":
        return "required field is missing"
    if kind == "value_error":  # our validators' messages already name the value
        return msg.removeprefix("Value error, ")
    return f"{msg}; got {_shown(err.get('input'))}"


def _shown(value: Any) -> str:
    return "a mapping" if isinstance(value, dict) else f"a list of {len(value)} items" if isinstance(value, list) else repr(value)


def _mismatch(err: dict[str, Any]) -> bool:
    """An error that only says the value is of another kind than this branch of a union takes."""
    return err["type"].endswith("_type") or err["type"] in ("is_instance_of", "literal_error")


def _model_named(name: str) -> Any:
    """The pydantic model class a ``ValidationError`` is about (by its title), or None."""
    from pydantic import BaseModel

    todo, seen = [BaseModel], set()
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                if sub.__name__ == name:
                    return sub
                todo.append(sub)
    return None


def _members(tp: Any) -> list[Any]:
    """A type's alternatives: a union's members other than None (``Annotated`` unwrapped)."""
    import types
    import typing

    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(tp) if a is not type(None) for m in _members(a)]
    return [tp]


def _tag(tp: Any) -> str:
    """The first word of the name pydantic gives a union's branch: 'str', 'Lever', 'list', 'dict'."""
    import typing

    origin = typing.get_origin(tp)
    return getattr(origin or tp, "__name__", str(tp)).lower() if origin or tp in (str, int, float, bool) else getattr(tp, "__name__", str(tp))


def _walk(root: Any, loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], int | None, Any]:
    """``loc`` without pydantic's union-branch names; the position of the first union; the type there."""
    import typing

    from pydantic import BaseModel

    cur: Any = root if root is not None else typing.Any
    out: list[Any] = []
    union_at = None
    for part in loc:
        members = _members(cur)
        if isinstance(part, str) and part.startswith("function-"):  # a validator's wrapper: 'function-after[f(), Lever]'
            if len(members) < 2:
                continue
            part = part.rstrip("]").split(", ")[-1]
        if len(members) > 1:
            chosen = next((m for m in members if isinstance(part, str) and _tag(m) == part.split("[")[0]), None)
            if chosen is not None:
                union_at = len(out) if union_at is None else union_at
                cur = chosen
                continue
            cur = typing.Any
        else:
            cur = members[0]
        origin, args = typing.get_origin(cur), typing.get_args(cur)
        if isinstance(cur, type) and issubclass(cur, BaseModel):
            field = cur.model_fields.get(part) if isinstance(part, str) else None
            cur = field.annotation if field is not None else typing.Any
        elif origin in (list, set, frozenset) and args:
            cur = args[0]
        elif origin is tuple and args:
            cur = args[0] if len(args) == 2 and args[1] is Ellipsis else args[part] if isinstance(part, int) and part < len(args) else typing.Any
        elif origin is dict and len(args) == 2:
            cur = args[1]
        else:
            cur = typing.Any
        out.append(part)
    members = _members(cur)
    return tuple(out), union_at, members[0] if len(members) == 1 else cur


def _parent(root: Any, err: dict[str, Any]) -> Any:
    """The model class holding the field an error is about (for an unknown field: where it was given)."""
    return _walk(root, tuple(err["loc"])[:-1])[2] if err["loc"] else root


def _alternatives(root: Any, err: dict[str, Any], union_at: int) -> list[str]:
    """What each branch of the union at ``union_at`` takes, in words."""
    import typing

    from pydantic import BaseModel

    loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    # the union's type: walk to just before its branch name
    cur = root
    clean_seen = 0
    for i, part in enumerate(loc):
        if clean_seen == union_at:
            cur = _walk(root, tuple(loc[:i]))[2]
            break
        clean_seen += 0 if len(_members(_walk(root, tuple(loc[:i]))[2])) > 1 else 1
    words = []
    for m in _members(cur):
        origin = typing.get_origin(m)
        if isinstance(m, type) and issubclass(m, BaseModel):
            words.append(f"a mapping with fields {', '.join(m.model_fields)}")
        elif m is str:
            words.append("a name (text)")
        elif m in (int, float):
            words.append("a number")
        elif origin in (list, set, frozenset):
            words.append("a list")
        elif origin is tuple:
            words.append(f"a list of {len(typing.get_args(m))} values")
        elif origin is dict:
            words.append("a mapping")
        else:
            words.append(str(m))
    return words or ["another kind of value"]
