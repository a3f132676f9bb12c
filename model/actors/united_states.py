"""The United States: sees attacks and casualties, attributes them to groups, and strikes back by policy.

This module is the whole actor: its parameters (:class:`UnitedStatesParams`, the scenario's ``united_states``
section), its agent (:class:`UnitedStates`), its rules and the columns it records (``DAILY``). Its rules are the
deterrence policies of ``model/policies.py`` (``RULES`` below: one class per policy, ``POLICIES`` there); the
strikes a policy orders land in ``model/battlespace.py``. The actor protocol is in ``model/actors/__init__.py``.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np
from pydantic import Field

from model.batch import StrikeOrder, column
from model.columns import Column
from model.params import COUNTRIES, PerCountry, Strict, sourced
from model.policies import POLICIES, USPolicy
from model.rule import make
from model.sampling import decay_factor
from model.streams import ModelStream

FIELD = "united_states"
OPTIONAL = False


# --------------------------------------------------------------------------- parameters


class Posture(Strict):
    """U.S. force posture; troops cap the casualties an attack in that country can cause."""

    troops: PerCountry = sourced(
        PerCountry(iraq=2500, syria=900, jordan=350),
        "000: 'American troops number 2,500 in Iraq and 900 in Syria' (004 says 'about 2,000' in Iraq); "
        "Jordan (Tower 22) figure is an assumption",
    )


class StrikeEffects(Strict):
    """What one U.S. strike target does to the militias and to Iran."""

    militia_killed_per_target: float = sourced(
        0.4,
        "001: Feb 2 strikes on 'over 85 sites', 'at least 18 militia group members' killed in Syria and "
        "'16 of its members' (PMF) in Iraq: 34/85",
        ge=0, le=100,
        description="mean militia fighters killed per target struck (Poisson)",
    )
    stock_destroyed_per_target: float = sourced(
        0.03,
        "004: 'the strikes have degraded the group's military stockpiles and made the sites unusable'; value assumption",
        ge=0,
        le=1,
        description="fraction of the struck group's stock destroyed per target",
    )
    irgc_killed_per_target: float = sourced(
        0.05,
        "004: Nov 12 strike: 'IRGC-related personnel were there and likely struck'; value assumption (the sources "
        "report militia deaths from the Feb 2 strikes on 'over 85 sites' (001) but no IRGC death)",
        ge=0, le=100,
        description="mean IRGC personnel killed per IRGC-linked target",
    )
    p_leader_killed: float = sourced(
        0.8,
        "000: 'a U.S. drone strike in Baghdad killed a leader of the Harakat al-Nujaba militia'; 003: Abu Baqir "
        "al-Saadi 'killed in a US drone strike in Baghdad'; value assumption",
        ge=0,
        le=1,
        description="probability that a strike on a leader kills him",
    )


class UnitedStatesParams(Strict):
    posture: Posture = Field(default_factory=Posture)
    policy: "PolicySpec" = Field(default_factory=lambda: PolicySpec(name="historical"))
    strike_effects: StrikeEffects = Field(default_factory=StrikeEffects)
    attribution_accuracy: float = sourced(
        0.5,
        "001: the umbrella name lets militias 'conceal the identities of the actual perpetrators' and "
        "'hinders direct attribution'; value assumption",
        ge=0,
        le=1,
        description="weight on the true attacker when the U.S. attributes attacks to groups (rest: prior shares)",
    )
    pressure_per_killed: float = sourced(
        1.0,
        "003: 'the Biden administration is facing significant domestic pressure to take tougher measures'; value assumption",
        ge=0, le=1000,
        description="domestic pressure added per U.S. service member killed",
    )
    pressure_per_injured: float = sourced(
        0.01, "assumption (critics: response 'pales in comparison with the 60 attacks and American injuries', 004)", ge=0, le=1000
    )
    pressure_half_life: float = sourced(30.0, "assumption", gt=0, le=3650, description="days")
    blame_half_life: float = sourced(
        14.0, "assumption: how long the U.S. remembers which group it thinks attacked", gt=0, le=3650, description="days"
    )


class PolicySpec(Strict):
    """A U.S. deterrence policy by name, with parameter overrides."""

    name: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


UnitedStatesParams.model_rebuild()
Params = UnitedStatesParams
default_params = UnitedStatesParams


def rule_specs(section: UnitedStatesParams):
    """(path within the section, rule kind, name, parameters) of the named rule the section uses."""
    yield ("policy",), "us_policy", section.policy.name, section.policy.params


# --------------------------------------------------------------------------- rules

# the U.S. deterrence policies (model/policies.py), in the order the documentation lists them
RULES: tuple[type[USPolicy], ...] = POLICIES


# --------------------------------------------------------------------------- columns

DAILY: tuple[Column, ...] = (
    Column("us_strikes_syria", np.int32, "count", "targets struck by U.S. strikes in Syria", "targets"),
    Column("us_strikes_iraq", np.int32, "count", "targets struck by U.S. strikes in Iraq", "targets"),
    Column("us_domestic_pressure", np.float32, "state", "U.S. domestic pressure from casualties (decaying)", "index"),
)


# --------------------------------------------------------------------------- agent


class UnitedStates(mesa.Agent):
    """Sees attacks and casualties, keeps a domestic-pressure account and an attribution of attacks
    to groups, and strikes back through its deterrence policy."""

    def __init__(self, model: mesa.Model):
        super().__init__(model)
        R, cfg = model.R, model.config.united_states
        self.stream = model.streams[ModelStream.US]
        self.p = model.overlay.view("united_states", cfg)
        # a lever: its parameters are never varied per replicate
        self.policy = make({cls.name: cls for cls in RULES}, "us_policy", cfg.policy.name, cfg.policy.params).bind(model)
        self.pressure_decay = decay_factor(self.p.pressure_half_life)
        self.blame_decay = decay_factor(self.p.blame_half_life)
        # prior attribution from the groups' base rates as this batch sees them (per replicate when
        # varied); uniform where every rate is zero
        rates = model.groups.base_rates
        total = rates.sum(axis=1, keepdims=True)
        self.prior_share = np.where(total > 0, rates / np.where(total > 0, total, 1.0), 1.0 / rates.shape[1])  # (R, M)
        self.blame = np.zeros((R, model.groups.M))
        self.pressure = np.zeros(R)
        self.injured_today = np.zeros(R, dtype=np.int64)
        self.killed_today = np.zeros(R, dtype=np.int64)
        self.injured_total = np.zeros(R, dtype=np.int64)
        self.killed_total = np.zeros(R, dtype=np.int64)
        self.order = StrikeOrder.none(R)
        self.targets_today = np.zeros(R, dtype=np.int64)

    @property
    def R(self) -> int:
        return self.model.R

    @property
    def day(self) -> int:
        return self.model.day

    def window(self, column: str, days: int) -> np.ndarray:
        """Sum of a recorded daily column over the last ``days`` days, today included."""
        t = self.model.day
        return self.model.records[column][max(0, t - days + 1) : t + 1].sum(axis=0)

    def attacks_on_day(self, day: int) -> np.ndarray:
        """Attacks by country (R, 3) on a past day (zeros before the start)."""
        rec = self.model.records
        if day < 0:
            return np.zeros((self.R, len(COUNTRIES)), dtype=np.int64)
        return np.stack([rec[f"attacks_{c}"][day] for c in COUNTRIES], axis=1)

    def step(self) -> None:
        """See today's attacks and casualties, decide today's strikes, and let the battlespace land them."""
        bs = self.model.battlespace
        self.observe(bs.injured, bs.killed, bs.by_group)
        self.decide()
        bs.land_strikes(self.order)

    def observe(self, injured: np.ndarray, killed: np.ndarray, by_group: np.ndarray) -> None:
        """Take in today's casualties and attribute today's attacks to groups (with uncertainty, 001)."""
        self.injured_today, self.killed_today = injured, killed
        self.injured_total = self.injured_total + injured
        self.killed_total = self.killed_total + killed
        self.pressure = self.pressure * self.pressure_decay + self.p.pressure_per_killed * killed + self.p.pressure_per_injured * injured
        total = by_group.sum(axis=1, keepdims=True)
        a = column(self.p.attribution_accuracy)
        self.blame = self.blame * column(self.blame_decay) + a * by_group + (1.0 - a) * total * self.prior_share

    def decide(self) -> None:
        self.order = self.policy.decide(self)
        self.targets_today = self.order.total

    def record(self, t: int) -> None:
        rec = self.model.records
        rec["us_strikes_syria"][t] = self.order.syria
        rec["us_strikes_iraq"][t] = self.order.iraq
        rec["us_domestic_pressure"][t] = self.pressure


def build(model: mesa.Model) -> UnitedStates:
    return UnitedStates(model)
