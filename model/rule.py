"""Named rules: the base class every kind of rule shares.

A rule is a small class with a ``name``, a ``kind`` (one per actor: ``us_policy``, ``militia``, ``iran``,
``iraq``, ...), a ``source`` citation and a nested pydantic ``Params`` model. Each actor module
(``model/actors/``) lists its rules in ``RULES`` (the U.S. policies are in ``model/policies.py``), and
``model/rules.py`` looks them up by kind and name: adding a U.S. policy means adding one class to ``POLICIES``
and one scenario YAML.

Like Axelrod's strategies, every rule class also carries a ``classifier``: what it reads (a subset
of :data:`READS`) and whether it draws random numbers. tests/test_rule_classifiers.py checks, for
every rule in the registry, that the classifier is the rule's own and that the rule's output moves
when, and only when, something it declares it reads moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import ValidationError

from model.params import Strict, unknown_field

# What a rule may read, for its classifier (Axelrod-style metadata: no behaviour depends on it).
READS: dict[str, str] = {
    "own_losses": "the actor's own losses: a group's fighters and leaders killed and targets struck on it; U.S. "
                  "killed and injured for the U.S.; IRGC deaths for Iran; Iraqi deaths for Iraq",
    "us_losses": "U.S. personnel killed (read by actors other than the U.S.)",
    "attacks": "attacks on U.S. forces (by day, country or window)",
    "us_strikes": "U.S. strikes beyond the actor's own losses (targets struck today, strikes inside Iraq or on Iran)",
    "others_suspensions": "other groups' suspensions of their attacks",
    "iran_restraint": "Iran's restraint signal",
    "iraq_pressure": "the Iraqi government's pressure on the groups",
    "gaza_driver": "the Gaza-fighting intensity driver",
    "attribution": "the U.S. attribution (blame) of attacks to groups",
    "replayed_inputs": "dated inputs replayed from data (strikes, events)",
}


@dataclass(frozen=True)
class Classifier:
    """What a rule reads (keys of :data:`READS`) and whether it draws random numbers."""

    reads: frozenset[str]
    stochastic: bool = False

    def __post_init__(self) -> None:
        unknown = sorted(set(self.reads) - set(READS))
        if unknown:
            raise ValueError(f"unknown classifier reads {unknown}; expected some of {sorted(READS)}")
        object.__setattr__(self, "reads", frozenset(self.reads))


def classify(*reads: str, stochastic: bool = False) -> Classifier:
    """``classifier = classify("own_losses", stochastic=True)`` in a rule's class body."""
    return Classifier(frozenset(reads), stochastic)


class RuleError(ValueError):
    """A rule name or its parameters are invalid; ``path`` locates the bad field."""

    def __init__(self, path: tuple[Any, ...], message: str):
        super().__init__(message)
        self.path = path
        self.message = message


class Rule:
    """Base class: subclasses set ``name``, ``kind``, ``source``, ``classifier`` and a ``Params`` model."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    source: ClassVar[str] = ""
    classifier: ClassVar[Classifier | None] = None  # every registered rule sets its own

    class Params(Strict):
        pass

    def __init__(self, **params: Any):
        self.params = self.Params(**params)

    def bind(self, model: Any, prefix: str | None = None) -> "Rule":
        """Attach to a model: ``self.p`` holds the parameters, per-replicate arrays where the overlay varies
        them under ``prefix`` (no prefix: the parameters are levers, fixed for the model)."""
        self.p = self.params if prefix is None else model.overlay.view(prefix, self.params)
        self.reset(model.R, model)
        return self

    def reset(self, replicates: int, model: Any) -> None:
        """Allocate per-replicate state; called once when the model is built."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params.model_dump()})"


def make(classes: dict[str, type[Rule]], kind: str, name: str, params: dict[str, Any] | None = None) -> Rule:
    """Build the rule ``name`` of ``classes`` (name -> class), turning an unknown name or bad parameters into
    :class:`RuleError` with a field path."""
    cls = classes.get(name)
    if cls is None:
        known = ", ".join(sorted(classes)) or "(none)"
        raise RuleError(("name",), f"unknown {kind} rule {name!r}; expected one of: {known}")
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
