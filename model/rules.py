"""The registry of named rules, by kind and name, assembled from each actor module's ``RULES``
(``model/actors/``, in registry order; no registration by import side effect)."""

from __future__ import annotations

from typing import Any

from model.actors import ACTORS
from model.rule import Classifier, Rule, RuleError, make


def _by_kind() -> dict[str, dict[str, type[Rule]]]:
    out: dict[str, dict[str, type[Rule]]] = {}
    for actor in ACTORS:
        for cls in actor.RULES:
            named = out.setdefault(cls.kind, {})
            if not cls.kind or not cls.name or cls.name in named:
                raise TypeError(f"{cls.__name__}: a rule needs a kind and a name of its own, got {cls.kind!r}, {cls.name!r}")
            named[cls.name] = cls
    return out


REGISTRY: dict[str, dict[str, type[Rule]]] = _by_kind()
RULE_KINDS: tuple[str, ...] = tuple(REGISTRY)  # one kind per actor, in registry order: militia, us_policy, iran, iraq, ...


def rule_class(kind: str, name: str) -> type[Rule]:
    try:
        return REGISTRY[kind][name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY.get(kind, {}))) or "(none)"
        raise RuleError(("name",), f"unknown {kind} rule {name!r}; expected one of: {known}") from None


def make_rule(kind: str, name: str, params: dict[str, Any] | None = None) -> Rule:
    """Build a rule by name, turning parameter errors into :class:`RuleError` with a field path."""
    return make(REGISTRY.get(kind, {}), kind, name, params)


def classifier_of(cls: type[Rule]) -> Classifier:
    """The rule class's own classifier (never one inherited from a base class)."""
    own = cls.__dict__.get("classifier")
    if not isinstance(own, Classifier):
        raise TypeError(f"{cls.__name__}: rule {cls.name!r} has no classifier of its own (classifier = classify(...))")
    return own


def rules_reading(what: str) -> list[tuple[str, str]]:
    """(kind, name) of every registered rule whose classifier says it reads ``what``."""
    return [(kind, name) for kind in RULE_KINDS for name, cls in REGISTRY[kind].items() if what in classifier_of(cls).reads]
