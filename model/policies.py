"""U.S. deterrence policies: one class per policy, vectorised over replicates.

``decide(us)`` is called once a day after the day's attacks have been seen and returns
a :class:`StrikeOrder` for every replicate. Policies only read what the U.S. can see:
attacks by country, U.S. casualties, domestic pressure and its own (uncertain)
attribution of attacks to groups. To add a policy, subclass :class:`USPolicy`, give it
a ``name``, ``source`` and ``Params``, list it in ``POLICIES`` and add a scenario YAML.

These are the rules of the U.S. actor (``model/actors/united_states.py``, whose ``RULES`` they are); ``us``
below is its agent, :class:`~model.actors.united_states.UnitedStates`.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

import numpy as np
from pydantic import Field, model_validator

from model.params import Strict, sourced
from model.batch import StrikeOrder
from model.rule import Rule, RuleError, classify


class USPolicy(Rule):
    kind: ClassVar[str] = "us_policy"

    def decide(self, us: "mesa.Agent") -> StrikeOrder:  # pragma: no cover - abstract
        raise NotImplementedError


def _split(targets: np.ndarray, iraq_share: float) -> tuple[np.ndarray, np.ndarray]:
    iraq = np.rint(targets * iraq_share).astype(np.int64)
    return targets - iraq, iraq


class CooldownMixin:
    """Per-replicate day of the last strike, for policies that wait between strikes."""

    def reset(self, replicates: int, model) -> None:
        self.last_strike = np.full(replicates, -(10**6), dtype=np.int64)

    def ready(self, us: "mesa.Agent", cooldown: int) -> np.ndarray:
        return us.day - self.last_strike >= cooldown

    def mark(self, us: "mesa.Agent", fired: np.ndarray) -> None:
        self.last_strike = np.where(fired, us.day, self.last_strike)


class Restraint(USPolicy):
    """Never strike back; rely on force protection and diplomacy.

    The lower bound of the policy space: 004 reports 'concerns within the administration
    that more substantial retaliation could escalate the violence'.
    """

    name = "restraint"
    source = "004: 'concerns within the administration that more substantial retaliation could escalate the violence'"
    classifier = classify()

    def decide(self, us):
        return StrikeOrder.none(us.R)


class Proportional(USPolicy):
    """Tit-for-tat: strike back against every day with attacks, sized to the attacks.

    Axelrod's tit-for-tat (Axelrod 1984, *The Evolution of Cooperation*); some U.S. lawmakers
    called the strikes 'a necessary and proportionate response' (003).
    """

    name = "proportional"
    source = "Axelrod (1984); 003: 'a necessary and proportionate response'"
    classifier = classify("attacks")

    class Params(Strict):
        targets_per_attack: float = sourced(1.0, "assumption: one target per attack", ge=0, le=100)
        lag_days: int = sourced(1, "assumption", ge=0, le=60, description="days between the attacks and the response")
        max_targets: int = sourced(10, "assumption", ge=0, le=10_000)
        strike_in_iraq: bool = sourced(True, "assumption: respond where the attacks were")
        irgc_share: float = sourced(0.5, "004: strikes hit 'IRGC weapons storage' and 'Iranian-backed groups'", ge=0, le=1)

    def decide(self, us):
        p = self.params
        attacks = us.attacks_on_day(us.day - p.lag_days)  # (R, 3) by country
        targets = np.minimum(np.rint(attacks * p.targets_per_attack), p.max_targets).astype(np.int64)
        order = StrikeOrder.none(us.R)
        iraq = targets[:, 0] if p.strike_in_iraq else np.zeros(us.R, dtype=np.int64)
        order.iraq = np.minimum(iraq, p.max_targets)
        order.syria = np.minimum(targets.sum(axis=1) - order.iraq, p.max_targets - order.iraq)
        order.irgc_share[:] = p.irgc_share
        return order


class Threshold(CooldownMixin, USPolicy):
    """Strike once attacks within a window reach k, then wait out a cooldown."""

    name = "threshold"
    source = "assumption: a stylised 'k strikes and you are out' trigger (Schelling 1966, *Arms and Influence*)"
    classifier = classify("attacks")

    class Params(Strict):
        attacks: int = sourced(10, "assumption", ge=1, le=1_000_000, description="attacks in the window that trigger a strike")
        window_days: int = sourced(7, "assumption", ge=1, le=365)
        targets: int = sourced(3, "assumption", ge=1, le=10_000)
        cooldown_days: int = sourced(7, "assumption", ge=0, le=3650)
        iraq_share: float = sourced(0.0, "assumption", ge=0, le=1)
        irgc_share: float = sourced(0.5, "004: 'hitting Iranian Revolutionary Guard sites'", ge=0, le=1)

    def decide(self, us):
        p = self.params
        fire = (us.window("attacks_total", p.window_days) >= p.attacks) & self.ready(us, p.cooldown_days)
        self.mark(us, fire)
        order = StrikeOrder.none(us.R)
        order.syria, order.iraq = _split(np.where(fire, p.targets, 0), p.iraq_share)
        order.irgc_share[:] = p.irgc_share
        return order


class Graduated(CooldownMixin, USPolicy):
    """The 2023-24 practice as a rule: Syria-only strikes, then Iraq, then heavy strikes after deaths.

    004: the U.S. 'conducted retaliatory airstrikes only against locations in Syria' at first;
    000: after the Tower 22 deaths '85 strikes ... against militias', in Iraq and Syria (001).
    """

    name = "graduated"
    source = "004: strikes 'only against locations in Syria'; 000/001: the Feb 2 strikes on 85 targets in Iraq and Syria"
    classifier = classify("attacks", "own_losses")

    class Params(Strict):
        attacks: int = sourced(15, "004: 3 strike rounds after 61 attacks (~1 per 20); value assumption", ge=1, le=1_000_000)
        window_days: int = sourced(10, "assumption", ge=1, le=365)
        syria_targets: int = sourced(2, "004: Oct 27 'struck two weapons and ammunition storage sites'", ge=0, le=10_000)
        cooldown_days: int = sourced(7, "004: strikes on Oct 27, Nov 8, Nov 12", ge=0, le=3650)
        iraq_after_injured: int = sourced(
            100, "assumption: Iraq strikes once U.S. injured pass this total (000: the U.S. struck in Baghdad in January)", ge=0, le=1_000_000
        )
        iraq_targets: int = sourced(1, "000: 'a U.S. drone strike in Baghdad killed a leader'", ge=0, le=10_000)
        heavy_targets: int = sourced(85, "000: 'American warplanes launched 85 strikes Friday'", ge=0, le=10_000)
        heavy_iraq_share: float = sourced(0.42, "assumption: 3 of the 7 facilities (000: 'seven different targets in Iraq and Syria')", ge=0, le=1)
        heavy_delay_days: int = sourced(5, "000/001: deaths on Jan 28, strikes on Feb 2", ge=0, le=60)
        irgc_share: float = sourced(0.5, "001: 'Sites associated with Iran's Islamic Revolutionary Guard Corps (IRGC) were among those hit'", ge=0, le=1)

    def reset(self, replicates, model):
        CooldownMixin.reset(self, replicates, model)
        self.heavy_due = np.full(replicates, -1, dtype=np.int64)

    def decide(self, us):
        p = self.params
        order = StrikeOrder.none(us.R)
        # tier 3: heavy strike a few days after any U.S. death
        self.heavy_due = np.where((us.killed_today > 0) & (self.heavy_due < us.day), us.day + p.heavy_delay_days, self.heavy_due)
        heavy = self.heavy_due == us.day
        # tiers 1-2: routine strikes, Syria first, Iraq once injuries mount
        routine = (us.window("attacks_total", p.window_days) >= p.attacks) & self.ready(us, p.cooldown_days) & ~heavy
        in_iraq = routine & (us.injured_total >= p.iraq_after_injured)
        heavy_syria, heavy_iraq = _split(np.full(us.R, p.heavy_targets), p.heavy_iraq_share)
        order.syria = np.where(heavy, heavy_syria, np.where(routine, p.syria_targets, 0))
        order.iraq = np.where(heavy, heavy_iraq, np.where(in_iraq, p.iraq_targets, 0))
        order.irgc_share[:] = p.irgc_share
        self.mark(us, routine | heavy)
        return order


class RedLine(USPolicy):
    """No strikes until the first U.S. death, then massive retaliation (optionally on Iran itself).

    003: the administration wants 'to reinstate US deterrence and redlines'; Republican lawmakers
    compared the response 'with harsher actions taken by previous Republican presidents'.
    """

    name = "red_line"
    source = "003: 'reinstate US deterrence and redlines'; 'harsher actions taken by previous Republican presidents'"
    classifier = classify("own_losses")

    class Params(Strict):
        targets: int = sourced(150, "assumption: about twice the Feb 2 strikes (85, 000)", ge=0, le=10_000)
        iraq_share: float = sourced(0.5, "assumption", ge=0, le=1)
        delay_days: int = sourced(2, "assumption", ge=0, le=60)
        irgc_share: float = sourced(0.8, "assumption: IRGC-linked sites first", ge=0, le=1)
        strike_iran: bool = sourced(False, "assumption: whether the red line includes targets inside Iran (raises Iran's war pressure)")

    def reset(self, replicates, model):
        self.due = np.full(replicates, -1, dtype=np.int64)

    def decide(self, us):
        p = self.params
        self.due = np.where((us.killed_today > 0) & (self.due < us.day), us.day + p.delay_days, self.due)
        fire = self.due == us.day
        order = StrikeOrder.none(us.R)
        order.syria, order.iraq = _split(np.where(fire, p.targets, 0), p.iraq_share)
        order.irgc_share[:] = p.irgc_share
        order.iran = fire & p.strike_iran
        return order


class Decapitation(CooldownMixin, USPolicy):
    """Strike the leader of the group the U.S. blames most, in Iraq, when attacks persist.

    000: 'a U.S. drone strike in Baghdad killed a leader of the Harakat al-Nujaba militia';
    003: the strategy of 'targeting ... militia commanders outside Iran' 'has thus far failed'.
    """

    name = "decapitation"
    source = "000: Baghdad strike on a Nujaba leader; 003: Abu Baqir al-Saadi 'killed in a US drone strike in Baghdad'"
    classifier = classify("attacks", "attribution")

    class Params(Strict):
        attacks: int = sourced(15, "assumption", ge=1, le=1_000_000)
        window_days: int = sourced(14, "assumption", ge=1, le=365)
        cooldown_days: int = sourced(21, "000/003: Baghdad strikes about a month apart (early Jan, early Feb)", ge=0, le=3650)

    def decide(self, us):
        p = self.params
        fire = (us.window("attacks_total", p.window_days) >= p.attacks) & self.ready(us, p.cooldown_days)
        self.mark(us, fire)
        order = StrikeOrder.none(us.R)
        order.iraq = fire.astype(np.int64)
        order.leader = np.where(fire, np.argmax(us.blame, axis=1), -1)
        return order


class DatedStrike(Strict):
    date: dt.date
    syria: int = Field(0, ge=0, le=10_000)
    iraq: int = Field(0, ge=0, le=10_000)
    irgc_share: float = Field(0.5, ge=0, le=1)
    leader: str | None = Field(None, description="short name of the group whose leader is struck")
    group: str | None = Field(None, description="short name of the group whose sites are struck (default: split by U.S. blame)")
    source: str = "assumption"

    @model_validator(mode="after")
    def _something(self) -> "DatedStrike":
        if self.syria + self.iraq == 0 and self.leader is None:
            raise ValueError("a dated strike needs targets in syria or iraq, or a leader")
        return self


TALLIES = "shared/data/pentagon_tallies.csv"  # secondary reports (not one of the five articles)


def reported_strikes() -> list[DatedStrike]:
    """The U.S. strikes reported in the sources (dates of leader strikes are windows, see docs).

    Strikes inside Iraq from the secondary reports carry no target counts: the counts below are
    assumptions read from what was hit (one target per facility, site or vehicle named).
    """
    return [
        DatedStrike(date=dt.date(2023, 10, 27), syria=2, irgc_share=1.0,
                    source="004: 'On Oct. 27, U.S. fighter jets struck two weapons and ammunition storage sites in eastern Syria'"),
        DatedStrike(date=dt.date(2023, 11, 8), syria=1, irgc_share=1.0,
                    source="004: 'On Nov. 8, fighter jets dropped bombs on an IRGC weapons storage facility'"),
        DatedStrike(date=dt.date(2023, 11, 12), syria=2, irgc_share=1.0,
                    source="004: 'on Nov. 12, U.S. airstrikes targeted a training facility and a safe house'"),
        DatedStrike(date=dt.date(2023, 11, 21), iraq=1, irgc_share=0.0,
                    source=f"{TALLIES}, VOA, 2023-11-21: 'an AC-130J struck the vehicle and fighters who had just fired a "
                           "close-range ballistic missile at Ain al-Asad'; 1 target (the vehicle) is an assumption"),
        DatedStrike(date=dt.date(2023, 11, 22), iraq=2, irgc_share=0.0, group="KH",
                    source=f"{TALLIES}, VOA, 2023-11-22: 'two Kata'ib Hezbollah facilities (operations centre and command "
                           "node) near Jurf al-Sakhar'; 2 targets (one per facility) is an assumption"),
        DatedStrike(date=dt.date(2023, 12, 3), iraq=1, irgc_share=0.0,
                    source=f"{TALLIES}, NTD (CENTCOM statement), 2023-12-03: 'MQ-9 strike near Kirkuk on a team preparing "
                           "a drone launch; 5 militants killed'; 1 target is an assumption"),
        DatedStrike(date=dt.date(2023, 12, 25), iraq=3, irgc_share=0.0, group="KH",
                    source=f"{TALLIES}, VOA, 2023-12-25: 'three Kata'ib Hezbollah facilities'; 3 targets is an assumption"),
        DatedStrike(date=dt.date(2024, 1, 4), iraq=1, irgc_share=0.0, leader="HaN",
                    source="000 (Feb 6): 'One month ago, a U.S. drone strike in Baghdad killed a leader of the Harakat al-Nujaba militia'"),
        DatedStrike(date=dt.date(2024, 1, 23), iraq=3, irgc_share=0.0, group="KH",
                    source=f"{TALLIES}, Kurdistan24 (CENTCOM statement), 2024-01-23/24: 'three Kata'ib Hezbollah sites incl. "
                           "Jurf al-Sakhar and al-Qaim'; 3 targets on the first day of the window is an assumption"),
        DatedStrike(date=dt.date(2024, 2, 2), syria=49, iraq=36, irgc_share=0.5,
                    source="000: 'American warplanes launched 85 strikes Friday'; 001: 'over 85 sites across Iraq and Syria'; "
                           "Iraq/Syria split is an assumption (3 of 7 facilities)"),
        DatedStrike(date=dt.date(2024, 2, 7), iraq=1, irgc_share=0.0, leader="KH",
                    source="003: 'Abu Baqir al-Saadi, a senior commander of Kata'ib Hezbollah ... killed in a US drone strike in Baghdad'"),
    ]


class Historical(USPolicy):
    """Replay the dated U.S. strikes reported in the sources, whatever the militias do.

    Strikes neither the articles nor the secondary reports list are left out (the model shows what
    the sources show).
    """

    name = "historical"
    source = (
        "004 (Oct 27, Nov 8, Nov 12 strikes), 000 (Jan Baghdad strike, Feb 2 strikes), 003 (Feb Baghdad strike); "
        "strikes inside Iraq on Nov 21, Nov 22, Dec 3, Dec 25, Jan 23 from shared/data/pentagon_tallies.csv (secondary reports)"
    )
    classifier = classify("replayed_inputs")

    class Params(Strict):
        strikes: list[DatedStrike] = Field(default_factory=reported_strikes)

    def check_config(self, config) -> list[tuple[tuple, str]]:
        shorts = [m.short for m in config.militias]
        return [
            (("params", "strikes", i, key), f"no militia with short name {name!r}; expected one of {shorts}")
            for i, s in enumerate(self.params.strikes)
            for key, name in (("leader", s.leader), ("group", s.group))
            if name is not None and name not in shorts
        ]

    def reset(self, replicates, model):
        problems = self.check_config(model.config)
        if problems:
            raise RuleError(*problems[0])
        self.shorts = [m.short for m in model.config.militias]
        self.by_day = {(s.date - model.start).days: s for s in self.params.strikes}

    def decide(self, us):
        order = StrikeOrder.none(us.R)
        s = self.by_day.get(us.day)
        if s is not None:
            order.syria[:] = s.syria
            order.iraq[:] = s.iraq
            order.irgc_share[:] = s.irgc_share
            if s.leader is not None:
                order.leader[:] = self.shorts.index(s.leader)
            if s.group is not None:
                order.group[:] = self.shorts.index(s.group)
        return order


# the registry's U.S. policies (model/rules.py), in the order the documentation lists them
POLICIES: tuple[type[USPolicy], ...] = (Restraint, Proportional, Threshold, Graduated, RedLine, Decapitation, Historical)
