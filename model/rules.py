"""Named rules: the base class and the registry shared by every kind of rule.

A rule is a small class with a ``name``, a ``kind`` (``us_policy``, ``militia``,
``iran`` or ``iraq``), ``classifier`` metadata (as in the Axelrod library), a
``source`` citation and a nested pydantic ``Params`` model. Subclassing registers
the rule, so adding a U.S. policy means adding one class (in ``model/policies.py``)
and one scenario YAML.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ValidationError

from model.params import Strict

RULE_KINDS = ("us_policy", "militia", "iran", "iraq")
REGISTRY: dict[str, dict[str, type["Rule"]]] = {kind: {} for kind in RULE_KINDS}


class RuleError(ValueError):
    """A rule name or its parameters are invalid; ``path`` locates the bad field."""

    def __init__(self, path: tuple[Any, ...], message: str):
        super().__init__(message)
        self.path = path
        self.message = message


class Rule:
    """Base class: subclasses set ``name``, ``kind``, ``source`` and a ``Params`` model."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    source: ClassVar[str] = ""
    classifier: ClassVar[dict[str, Any]] = {}

    class Params(Strict):
        pass

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            if cls.kind not in REGISTRY:
                raise TypeError(f"{cls.__name__}.kind must be one of {RULE_KINDS}")
            REGISTRY[cls.kind][cls.name] = cls

    def __init__(self, **params: Any):
        self.params = self.Params(**params)

    def bind(self, model: Any, prefix: str) -> "Rule":
        """Attach to a model: ``self.p`` holds the parameters, per-replicate arrays where overlaid."""
        self.p = model.overlay.view(prefix, self.params)
        self.reset(model.R, model)
        return self

    def reset(self, replicates: int, model: Any) -> None:
        """Allocate per-replicate state; called once when the model is built."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params.model_dump()})"


def rule_class(kind: str, name: str) -> type[Rule]:
    try:
        return REGISTRY[kind][name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY[kind])) or "(none)"
        raise RuleError(("name",), f"unknown {kind} rule {name!r}; expected one of: {known}") from None


def make_rule(kind: str, name: str, params: dict[str, Any] | None = None) -> Rule:
    """Build a rule by name, turning parameter errors into :class:`RuleError` with a field path."""
    cls = rule_class(kind, name)
    try:
        return cls(**(params or {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        got = f"; got {err['input']!r}" if err["type"] != "missing" and "input" in err else ""
        raise RuleError(("params", *err["loc"]), f"{err['msg']}{got} (rule {name!r})") from None


def check_rule(kind: str, name: str, params: dict[str, Any] | None = None) -> None:
    make_rule(kind, name, params)


def _load_rule_modules() -> None:
    # Importing registers the rule classes.
    from model import behaviours, policies  # noqa: F401


_load_rule_modules_done = False


def ensure_registered() -> None:
    global _load_rule_modules_done
    if not _load_rule_modules_done:
        _load_rule_modules()
        _load_rule_modules_done = True
