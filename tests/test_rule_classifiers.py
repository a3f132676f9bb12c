"""Every rule in the registry carries its own Axelrod-style classifier (what it reads, whether it is
stochastic), and the classifier is true: in a small world built per rule kind, the rule's output moves
when one thing it declares it reads moves, and stays put when anything else moves; it draws random
numbers exactly when it says it is stochastic. The tests iterate over the registry, not a hand-kept list."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import pytest

from model.batch import StrikeOrder
from model.actors.iran import IranParams
from model.actors.iraq import IraqParams
from model.rule import READS, Classifier, classify
from model.rules import REGISTRY, RULE_KINDS, classifier_of, rules_reading
from model.sampling import decay_factor

R = 1
RULES = [(kind, name, cls) for kind in RULE_KINDS for name, cls in REGISTRY[kind].items()]
IDS = [f"{kind}:{name}" for kind, name, _ in RULES]


class Bag(SimpleNamespace):
    """A stand-in agent or model: state it was not given reads as zeros (shape (R,))."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = np.zeros(R)
        setattr(self, name, value)
        return value


class Draws:
    """Random numbers for a rule, fixed (so outputs compare), recording whether any were drawn."""

    def __init__(self) -> None:
        self.used = False

    def random(self, size=None) -> np.ndarray:
        self.used = True
        return np.full(size if size is not None else R, 0.5)

    def zeros(self) -> np.ndarray:
        self.used = True
        return np.zeros(R)


def _on(active: str | None, name: str, high: float, low: float = 0.0) -> np.ndarray:
    return np.full(R, high if active == name else low)


def _model(active: str | None, draws: Draws, **extra: Any) -> Bag:
    """What every kind of actor may look at, with the ``active`` channel switched on."""
    order = StrikeOrder.none(R)
    if active == "us_strikes":
        order.iraq[:], order.syria[:], order.iran[:], order.leader[:] = 10, 10, True, 0
    return Bag(
        R=R, day=5, gaza_today=1.5 if active == "gaza_driver" else 0.5,
        iran=Bag(restraint=_on(active, "iran_restraint", 0.9)),
        iraq=Bag(pressure=_on(active, "iraq_pressure", 0.9)),
        us=Bag(order=order, targets_today=order.total, killed_today=_on(active, "us_losses", 2),
               blame=np.array([[0.0, 1.0, 0.0]]) if active == "attribution" else np.array([[1.0, 0.0, 0.0]])),
        event_today=lambda kind: 1.0 if active == "replayed_inputs" else 0.0,
        **extra,
    )


def _active_params(cls) -> dict[str, float]:
    """Parameters that are 0 by default (no effect) set to 0.5 where allowed, so every channel can act."""
    out = {}
    for name, field in cls.Params.model_fields.items():
        if field.annotation is float and field.default == 0.0:
            try:
                cls.Params(**{name: 0.5})
                out[name] = 0.5
            except Exception:  # noqa: BLE001 - a bound forbids 0.5: keep the default
                pass
    return out


def _militia(cls, active: str | None) -> tuple[list, bool]:
    draws = Draws()
    model = _model(active, draws)
    own = active == "own_losses"
    # the group arrays (M, R) of one group; the rule reads and writes its row 0
    g = Bag(model=model, grievance=np.zeros((1, R)), fear=np.zeros((1, R)), exposure=np.zeros((1, R)),
            suspended=np.zeros((1, R), dtype=bool), conveyed_restraint=np.zeros((1, R)), killed_yesterday=np.full((1, R), 10 if own else 0),
            leader_lost_yesterday=np.full((1, R), 1 if own else 0), targets_yesterday=np.full((1, R), 10 if own else 0),
            iran_obedience=np.full((1, 1), 0.8), iraq_susceptibility=np.full((1, 1), 0.8),
            suspension_draws=lambda rows: draws.zeros(), suspended_share=lambda rows: _on(active, "others_suspensions", 0.8))
    rule = cls(**_active_params(cls)).bind(model)
    out = []
    for _ in range(3):
        rule.observe(g, 0)
        out.append(np.asarray(rule.multiplier(g, 0), dtype=float).copy())
        if hasattr(rule, "iraq_weight"):
            out.append(np.asarray(rule.iraq_weight(g, 0), dtype=float).copy())
    return out, draws.used


_STRIKES = sorted(s.date for s in REGISTRY["us_policy"]["historical"].Params().strikes)


def _us_policy(cls, active: str | None) -> tuple[list, bool]:
    draws = Draws()
    day0 = 30
    start = _STRIKES[0] - dt.timedelta(days=day0) if active == "replayed_inputs" else dt.date(2000, 1, 1)
    shorts = ["KH", "HaN", "KSS"]
    model = Bag(R=R, start=start, config=Bag(militias=[Bag(short=s) for s in shorts]))
    rate = 0 if active == "attacks" else 20  # attacks go on in the base world (a policy reads the rest only when they do)
    own = active == "own_losses"
    us = Bag(R=R, day=day0, model=model, stream=draws,
             killed_today=np.full(R, 1 if own else 0), injured_today=np.full(R, 5 if own else 0),
             injured_total=np.full(R, 100 if own else 0), killed_total=np.full(R, 1 if own else 0),
             blame=np.array([[0.0, 1.0, 0.0]]) if active == "attribution" else np.array([[1.0, 0.0, 0.0]]),
             window=lambda column, days: np.full(R, rate * days),
             attacks_on_day=lambda day: np.full((R, 3), rate if day >= 0 else 0))
    rule = cls(**_active_params(cls)).bind(model)
    out = []
    for day in range(day0, day0 + 12):
        us.day = day
        o = rule.decide(us)
        out.extend(np.asarray(a, dtype=float).copy() for a in (o.syria, o.iraq, o.irgc_share, o.leader, o.iran, o.group))
    return out, draws.used


def _iran(cls, active: str | None) -> tuple[list, bool]:
    draws = Draws()
    model = _model(active, draws, battlespace=Bag(irgc_killed_today=_on(active, "own_losses", 5)))
    p = IranParams()
    iran = Bag(R=R, model=model, params=p, stream=draws, decay=decay_factor(p.restraint_half_life),
               war_decay=decay_factor(p.war_pressure_half_life), war_pressure=np.zeros(R), restraint=np.zeros(R),
               supply=np.full(R, p.supply_rate), strikes_us=np.zeros(R, dtype=bool))
    rule = cls(**_active_params(cls)).bind(model)
    out = []
    for _ in range(3):
        rule.step(iran)
        out.extend(np.asarray(a, dtype=float).copy() for a in (iran.restraint, iran.supply, iran.war_pressure, iran.strikes_us))
    return out, draws.used


def _iraq(cls, active: str | None) -> tuple[list, bool]:
    draws = Draws()
    model = _model(active, draws, battlespace=Bag(iraqi_killed_today=_on(active, "own_losses", 5)))
    p = IraqParams()
    iraq = Bag(R=R, model=model, params=p, pressure_decay=decay_factor(p.pressure_half_life),
               withdrawal_decay=decay_factor(p.withdrawal_half_life), alarm=np.zeros(R), pressure=np.zeros(R) + p.base_pressure,
               withdrawal=np.zeros(R))
    rule = cls(**_active_params(cls)).bind(model)
    out = []
    for _ in range(3):
        rule.step(iraq)
        out.extend(np.asarray(a, dtype=float).copy() for a in (iraq.pressure, iraq.withdrawal))
    return out, draws.used


def _houthi(cls, active: str | None) -> tuple[list, bool]:
    draws = Draws()
    model = _model(active, draws)
    own = active == "own_losses"
    h = Bag(model=model, R=R, suspended=np.zeros(R, dtype=bool), resolve=np.zeros(R), iran_obedience=np.full(R, 0.8),
            targets_yesterday=np.full(R, 10 if own else 0), suspension_draws=draws.zeros)
    rule = cls(**_active_params(cls)).bind(model)
    out = []
    for _ in range(3):
        rule.observe(h)
        out.append(np.asarray(rule.multiplier(h), dtype=float).copy())
    return out, draws.used


WORLDS: dict[str, Callable] = {"militia": _militia, "us_policy": _us_policy, "iran": _iran, "iraq": _iraq, "houthi": _houthi}


def test_every_kind_has_a_world():
    assert set(WORLDS) == set(RULE_KINDS), "add a small world for the new rule kind to this test"


@pytest.mark.parametrize("kind, name, cls", RULES, ids=IDS)
def test_every_rule_has_its_own_classifier(kind, name, cls):
    c = classifier_of(cls)
    assert isinstance(c, Classifier) and c.reads <= set(READS) and isinstance(c.stochastic, bool)
    assert cls.source and cls.name == name and cls.kind == kind  # name + classifier + citation, as Axelrod's


@pytest.mark.parametrize("kind, name, cls", RULES, ids=IDS)
def test_the_classifier_is_what_the_rule_does(kind, name, cls):
    """Output moves exactly with the channels the classifier names; random draws exactly when stochastic."""
    world = WORLDS[kind]
    base, used = world(cls, None)
    moved = set()
    for channel in READS:
        out, used_here = world(cls, channel)
        used = used or used_here
        if any(not np.array_equal(a, b) for a, b in zip(base, out, strict=True)):
            moved.add(channel)
    c = classifier_of(cls)
    assert moved == set(c.reads), f"{name}: declares {sorted(c.reads)}, its output moves with {sorted(moved)}"
    assert used == c.stochastic, f"{name}: declares stochastic={c.stochastic}, drew random numbers: {used}"


def test_lookups_by_what_rules_read():
    assert ("militia", "iran_following") in rules_reading("iran_restraint")
    assert ("militia", "umbrella_following") in rules_reading("others_suspensions")
    assert ("militia", "tit_for_tat") in rules_reading("own_losses")
    assert all(c in READS for c in ("own_losses", "others_suspensions", "iran_restraint", "gaza_driver"))


def test_a_classifier_without_its_own_is_refused():
    class Borrowed(REGISTRY["militia"]["tit_for_tat"]):
        name = "borrowed"

    with pytest.raises(TypeError, match="no classifier of its own"):
        classifier_of(Borrowed)
    with pytest.raises(ValueError, match="unknown classifier reads"):
        classify("the_weather")
