"""The registry of named rules, by kind and name, assembled from the explicit lists in
``model/policies.py`` and ``model/behaviours.py`` (no registration by import side effect)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from model.actors.houthis import HOUTHI_RULES
from model.behaviours import IRAN_RULES, IRAQ_RULES, MILITIA_BEHAVIOURS
from model.params import unknown_field
from model.policies import POLICIES
from model.rule import RULE_KINDS, Classifier, Rule, RuleError


def _by_name(kind: str, classes: tuple[type[Rule], ...]) -> dict[str, type[Rule]]:
    out: dict[str, type[Rule]] = {}
    for cls in classes:
        if cls.kind != kind or not cls.name or cls.name in out:
            raise TypeError(f"{cls.__name__}: a {kind} rule needs kind {kind!r} and a name of its own, got {cls.kind!r}, {cls.name!r}")
        out[cls.name] = cls
    return out


_LISTS = {"us_policy": POLICIES, "militia": MILITIA_BEHAVIOURS, "iran": IRAN_RULES, "iraq": IRAQ_RULES, "houthi": HOUTHI_RULES}
REGISTRY: dict[str, dict[str, type[Rule]]] = {kind: _by_name(kind, _LISTS[kind]) for kind in RULE_KINDS}


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
        if err["type"] == "value_error":  # the validator's own message names the value
            text = err["msg"].removeprefix("Value error, ")
        elif err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
            text = unknown_field(cls.Params, str(err["loc"][0]))
        else:
            text = err["msg"] + (f"; got {err['input']!r}" if err["type"] != "missing" and "input" in err else "")
        raise RuleError(("params", *err["loc"]), f"{text} (rule {name!r})") from None


def classifier_of(cls: type[Rule]) -> Classifier:
    """The rule class's own classifier (never one inherited from a base class)."""
    own = cls.__dict__.get("classifier")
    if not isinstance(own, Classifier):
        raise TypeError(f"{cls.__name__}: rule {cls.name!r} has no classifier of its own (classifier = classify(...))")
    return own


def rules_reading(what: str) -> list[tuple[str, str]]:
    """(kind, name) of every registered rule whose classifier says it reads ``what``."""
    return [(kind, name) for kind in RULE_KINDS for name, cls in REGISTRY[kind].items() if what in classifier_of(cls).reads]
