"""Named rules: the base class every kind of rule shares.

A rule is a small class with a ``name``, a ``kind`` (``us_policy``, ``militia``, ``iran`` or ``iraq``),
a ``source`` citation and a nested pydantic ``Params`` model. The rules are listed by kind in
``model/policies.py`` and ``model/behaviours.py`` and looked up by name through ``model/rules.py``:
adding a U.S. policy means adding one class to ``POLICIES`` and one scenario YAML.
"""

from __future__ import annotations

from typing import Any, ClassVar

from model.params import Strict

RULE_KINDS = ("us_policy", "militia", "iran", "iraq")


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
