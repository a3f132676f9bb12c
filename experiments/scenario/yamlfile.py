"""Reading a YAML file of the user's: every problem (missing, a folder, too large, not UTF-8, not YAML,
an impossible date, alias bombs, a key given twice, not a mapping) is a one-line :class:`UserError`
naming the file. Shared by scenarios, analysis blocks, calibration configs, the observed data and the
values of ``--set``: YAML means one thing everywhere (:func:`load_text`)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

from experiments.scenario.errors import UserError

MAX_FILE_BYTES = 5_000_000  # a scenario is a few KiB; anything this large is a mistake
MAX_NODES = 200_000  # values in a document once YAML aliases are expanded (billion-laughs guard)
_DATE_LIKE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")


class DuplicateKey(yaml.YAMLError):
    """A mapping gives the same key twice (PyYAML would silently keep the last)."""

    def __init__(self, key: Any, first: int, second: int):
        super().__init__(f"key {key!r} is given twice (lines {first} and {second}); a key may appear once")
        self.problem = str(self)
        self.problem_mark = None


class OneMeaningLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a key given twice in one mapping, naming both lines.

    Keys brought in by a merge (``<<: *base``) may be overridden by the mapping's own keys, as YAML
    intends; only keys written twice in the same mapping are refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    continue  # PyYAML refuses unhashable keys itself, with a position
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise DuplicateKey(key, seen[key], line)
                seen[key] = line
        return super().construct_mapping(node, deep=deep)



def load_text(text: str) -> Any:
    """YAML text read the one way this project reads YAML: safe types only, no key twice."""
    return yaml.load(text, Loader=OneMeaningLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping from a regular file; every problem is a one-line :class:`UserError`."""
    path = Path(path)
    if not path.exists():
        raise UserError("file not found", file=path)
    if path.is_dir():
        raise UserError("is a folder; expected a YAML file", file=path)
    if not path.is_file():
        raise UserError("is not a regular file (a device or pipe?); expected a YAML file", file=path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror or exc}", file=path) from None
    if len(raw) > MAX_FILE_BYTES:
        raise UserError(f"is larger than {MAX_FILE_BYTES:,} bytes; expected a scenario file", file=path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError("not a UTF-8 text file", file=path) from None
    try:
        data = load_text(text)
    except DuplicateKey as exc:
        raise UserError(str(exc), file=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise UserError(f"not valid YAML{where}: {getattr(exc, 'problem', exc)}", file=path) from None
    except (ValueError, OverflowError) as exc:  # e.g. a date such as 2023-02-30
        raise UserError(_bad_scalar(text, exc), file=path) from None
    except RecursionError:
        raise UserError("nested too deeply", file=path) from None
    if not isinstance(data, dict):
        raise UserError(f"expected a mapping of fields at the top level, got {type(data).__name__}", file=path)
    if expanded_size(data) > MAX_NODES:
        raise UserError(f"expands to more than {MAX_NODES:,} values (YAML aliases?); expected a scenario file", file=path)
    return data


def _bad_scalar(text: str, exc: Exception) -> str:
    """Name the line of an impossible date, which PyYAML reports without a position."""
    for lineno, line in enumerate(text.splitlines(), 1):
        for m in _DATE_LIKE.finditer(line.split("#", 1)[0]):
            try:
                dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError as bad:
                return f"line {lineno}: {m.group(0)!r} is not a date ({bad})"
    return f"a value cannot be read: {exc}"


def expanded_size(data: Any, limit: int = MAX_NODES) -> int:
    """Number of values in ``data`` counting every alias as a full copy (stops counting past ``limit``)."""
    memo: dict[int, int] = {}

    def size(node: Any, depth: int = 0) -> int:
        if depth > 200:
            return limit + 1
        if not isinstance(node, (dict, list)):
            return 1
        key = id(node)
        if key not in memo:
            memo[key] = limit + 1  # a cycle (a recursive alias) counts as too large
            children = node.items() if isinstance(node, dict) else enumerate(node)
            total = 1
            for _, child in children:
                total += size(child, depth + 1)
                if total > limit:
                    break
            memo[key] = total
        return memo[key]

    return size(data)
