"""Parameter building blocks shared by the actors: every parameter has a default and the source it comes from.

Each actor's own parameters live in its module (``model/actors/``); the battlespace's in ``model/battlespace.py``.

Every numeric parameter is declared with :func:`sourced`, which stores the citation
(seed file + quote, a paper, or the word "assumption") in the field's JSON-schema
metadata. ``docs/ODD.md``'s parameter tables are generated from these declarations
(``escalation params``), so the code and the documentation cannot drift apart.

Source files are abbreviated by their number in ``shared/sources``:
000 = CS Monitor (Feb 6 2024), 001 = The Conversation (early Feb 2024),
002 = AP reprint + Sept 2024 piece, 003 = policy brief (Feb 2024),
004 = AP (mid-Nov 2023).
"""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

COUNTRIES = ("iraq", "syria", "jordan")
WEAPONS = ("drone", "rocket", "missile")


MAX_MAGNITUDE = 1e6  # largest float any parameter may take (per-field bounds are tighter)


def sourced(default: Any, source: str, **constraints: Any) -> Any:
    """A pydantic field whose default carries its citation."""
    return Field(default, json_schema_extra={"source": source}, **constraints)


def bool_as_number(annotation: Any, value: Any) -> bool:
    """Whether ``value`` holds a boolean where ``annotation`` wants a number (also inside lists,
    tuples and mappings of numbers); a union that takes booleans or anything takes it."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return bool_as_number(args[0], value)
    if origin in (Union, UnionType):
        if isinstance(value, bool):
            return not any(a is bool or a is Any for a in args) and any(a in (int, float) for a in args)
        return any(bool_as_number(a, value) for a in args)
    if isinstance(value, bool):
        return annotation in (int, float)
    if origin in (list, tuple, set, frozenset) and isinstance(value, (list, tuple)):
        items = args[:1] * len(value) if origin is not tuple or (len(args) == 2 and args[1] is Ellipsis) else args
        return any(bool_as_number(a, v) for a, v in zip(items, value))
    if origin is dict and isinstance(value, dict) and len(args) == 2:
        return any(bool_as_number(args[1], v) for v in value.values())
    return False


def unknown_field(model: Any, name: str) -> str:
    """An unknown key, in words: "unknown field 'polcy'; did you mean 'policy'? (valid: name, policy, ...)"."""
    import difflib

    fields = list(getattr(model, "model_fields", None) or {})
    if not fields:
        return "unknown field (check the spelling; docs/scenario_reference.md lists the fields)"
    near = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return f"unknown field {name!r}{hint} (valid: {', '.join(fields)})"


class Strict(BaseModel):
    """Base for every parameter block: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML's ``true`` is not 1: a boolean where a number (or a list or mapping of numbers) is
        expected is refused, instead of pydantic's lax reading of ``true`` as 1 for a seed or a rate."""
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and bool_as_number(field.annotation, value):
            got = f"the boolean {value!r}" if isinstance(value, bool) else "a boolean among its values"
            raise ValueError(f"expected a number, got {got} (YAML reads true/false/yes/no/on/off as booleans)")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _within_magnitude(cls, value: Any) -> Any:
        """Safety net under the per-field bounds: no float parameter may exceed what float32 records and
        int32 counts can hold once multiplied out (``.inf`` and NaN are refused by ``allow_inf_nan``)."""
        if isinstance(value, float) and abs(value) > MAX_MAGNITUDE:
            raise ValueError(f"expected a number of magnitude at most {MAX_MAGNITUDE:g}")
        return value


class PerCountry(Strict):
    iraq: float = Field(ge=0, le=1e6)
    syria: float = Field(ge=0, le=1e6)
    jordan: float = Field(ge=0, le=1e6)

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.iraq, self.syria, self.jordan)


class PerCountryProbability(PerCountry):
    """Per-country probabilities (bounds on each value: ge/le cannot apply to a whole mapping)."""

    iraq: float = Field(ge=0, le=1)
    syria: float = Field(ge=0, le=1)
    jordan: float = Field(ge=0, le=1)


class PerWeapon(Strict):
    drone: float = Field(ge=0, le=1e6)
    rocket: float = Field(ge=0, le=1e6)
    missile: float = Field(ge=0, le=1e6)

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.drone, self.rocket, self.missile)


class PerWeaponProbability(PerWeapon):
    """Per-weapon probabilities."""

    drone: float = Field(ge=0, le=1)
    rocket: float = Field(ge=0, le=1)
    missile: float = Field(ge=0, le=1)


def weights_positive(values: tuple[float, ...], what: str) -> None:
    if sum(values) <= 0:
        raise ValueError(f"{what} must not all be zero")


class LadderParams(Strict):
    memory_days: int = sourced(
        14, "assumption: a rung reached stays the current level for this many days", ge=1, le=365
    )


