"""Iran (the IRGC-Quds Force): supplies the groups, signals restraint, and may strike U.S. forces directly.

This module is the whole actor: its parameters (:class:`IranParams`, the scenario's ``iran`` section), its
agent (:class:`Iran`), its rules (``RULES``: the named rule the scenario picks with ``iran.rule``) and the
columns it records (``DAILY``). The actor protocol is in ``model/actors/__init__.py``.
"""

from __future__ import annotations

from typing import ClassVar

import mesa
import numpy as np
from pydantic import Field

from model.batch import first_true
from model.columns import Column
from model.params import Strict, sourced
from model.rule import Rule, classify, make
from model.sampling import decay_factor
from model.streams import ModelStream

FIELD = "iran"
OPTIONAL = False


# --------------------------------------------------------------------------- parameters


class IranParams(Strict):
    """IRGC-Quds Force: supplies the militias, wants 'to show force, but not to risk any escalation' (000)."""

    rule: str = Field("show_force_avoid_war", description="named Iran rule (model.rules)")
    restraint_per_us_killed: float = sourced(
        0.5,
        "000: after the three deaths, 'direct intervention by ... Qaani' made Kata'ib Hezbollah cease attacks; value assumption",
        ge=0, le=100,
    )
    restraint_per_irgc_killed: float = sourced(
        0.05, "004: U.S. strikes on IRGC sites aim 'to pressure Iran to tell the militia groups to stop'; value assumption", ge=0, le=100
    )
    restraint_per_target: float = sourced(
        0.002, "000: the 'scale of U.S. counterstrikes'; value assumption (000: airstrikes alone have 'not very "
        "promising' records; 004: strikes 'obviously failed to deter the groups')", ge=0, le=100,
        description="restraint added per U.S. target struck (large strikes raise war risk)",
    )
    restraint_half_life: float = sourced(
        45.0,
        "default assumption; calibrated (scenarios/calibration.yaml, prior log-uniform [15, 180] days: 001, U.S. actions "
        "since 2017 'have not completely halted attacks', pauses end; CRS R46148 on the 2020 exchange) and carried as "
        "posterior draws by scenarios/calibrated.yaml",
        gt=0, le=3650, description="days",
    )
    supply_rate: float = sourced(
        1.5,
        "001: Tehran supports the network 'with money, weapons and training'; value assumption",
        ge=0, le=1000,
        description="attack-equivalents of weapons delivered per group per day, cut by restraint",
    )
    war_hazard: float = sourced(
        5e-4,
        "prior: CRS R46148 (2020), 'U.S. Killing of Qasem Soleimani': the killing of the Qods Force commander drew Iran's "
        "direct missile strike on al-Asad within five days, while U.S. strikes that killed IRGC-linked personnel in Syria "
        "(004: 'IRGC-related personnel were there and likely struck') drew none; so a rank-and-file IRGC death carries a "
        "small cumulative chance of a direct exchange (~1 % at zero restraint: 5e-4/day x ~20 days of pressure). "
        "001: 'any direct U.S. retaliation against Iranian interests could heighten regional tensions'",
        ge=0,
        le=1,
        description="daily hazard of a direct Iranian strike on U.S. forces per unit of war pressure, at zero restraint",
    )
    war_pressure_half_life: float = sourced(
        14.0, "assumption: Iran's 2020 retaliation came within five days (CRS R46148); the grievance fades over weeks",
        gt=0, le=365, description="days",
    )
    war_pressure_per_strike_on_iran: float = sourced(
        50.0,
        "assumption: a U.S. strike on Iranian territory weighs like the 2020 killing of a senior commander "
        "(~40 % chance of a direct exchange at zero restraint)",
        ge=0,
        le=10_000,
        description="war pressure added by a day of U.S. strikes on Iranian territory (in IRGC-killed equivalents)",
    )


Params = IranParams
default_params = IranParams


def rule_specs(section: IranParams):
    """(path within the section, rule kind, name, parameters) of the named rule the section uses."""
    yield ("rule",), "iran", section.rule, None


# --------------------------------------------------------------------------- rules


class IranRule(Rule):
    kind: ClassVar[str] = "iran"

    def step(self, iran: "Iran") -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class ShowForceAvoidWar(IranRule):
    """Supply and green-light the militias, restrain them as the risk of war with the U.S. rises.

    000: 'The logic of violence that Iran wants is to show force, but not to risk any escalation' (Mansour);
    001: Iran's 'forward defense' strategy means it 'will continue to support proxies'.
    Restraint rises with U.S. deaths, IRGC deaths and the size of U.S. strikes, and decays;
    a direct Iranian strike on U.S. forces (war) is a hazard driven by IRGC losses (see ``_war_step``).
    """

    name = "show_force_avoid_war"
    source = "000: 'show force, but not to risk any escalation'; 001: 'forward defense'"
    classifier = classify("us_losses", "own_losses", "us_strikes", "replayed_inputs", stochastic=True)

    def step(self, iran):
        p, model = iran.params, iran.model
        risk = (
            p.restraint_per_us_killed * model.us.killed_today
            + p.restraint_per_irgc_killed * model.battlespace.irgc_killed_today
            + p.restraint_per_target * model.us.targets_today
        )
        event = model.event_today("iran_restraint")
        iran.restraint = iran.restraint * iran.decay
        iran.restraint = iran.restraint + (1.0 - iran.restraint) * (1.0 - np.exp(-risk))
        iran.restraint = np.maximum(iran.restraint, event)
        iran.supply = p.supply_rate * (1.0 - iran.restraint) * (1.0 - model.event_today("supply_cut"))
        _war_step(iran)


class Unrestrained(IranRule):
    """Counterfactual: Iran keeps supplying and never restrains the groups (no Qaani intervention)."""

    name = "unrestrained"
    source = "counterfactual to 000's account of Qaani's intervention"
    classifier = classify("own_losses", "us_strikes", "replayed_inputs", stochastic=True)

    def step(self, iran):
        p, model = iran.params, iran.model
        iran.restraint = np.full(iran.R, model.event_today("iran_restraint"))
        iran.supply = p.supply_rate * (1.0 - model.event_today("supply_cut"))
        _war_step(iran)


def _war_step(iran: "Iran") -> None:
    """Direct Iranian strike on U.S. forces (war) as a state-dependent daily hazard.

    War pressure is a decaying stock of IRGC personnel killed and U.S. strikes on Iranian territory;
    Iran's restraint (its wish 'to show force, but not to risk any escalation', 000) damps the hazard.
    So no single day decides war: a large strike raises the risk for weeks, and less so while Iran
    is restraining its allies.
    """
    p, model = iran.params, iran.model
    iran.war_pressure = (
        iran.war_pressure * iran.war_decay
        + model.battlespace.irgc_killed_today
        + p.war_pressure_per_strike_on_iran * model.us.order.iran
    )
    hazard = 1.0 - np.exp(-p.war_hazard * iran.war_pressure * (1.0 - iran.restraint))
    iran.strikes_us = iran.stream.random(iran.R) < hazard


RULES: tuple[type[IranRule], ...] = (ShowForceAvoidWar, Unrestrained)


# --------------------------------------------------------------------------- columns

DAILY: tuple[Column, ...] = (
    Column("war", np.bool_, "state", "a direct U.S.-Iran exchange has happened (absorbing)"),
    Column("iran_restraint", np.float32, "state", "Iran's restraint of the groups", "0-1"),
)

SUMMARY: tuple[Column, ...] = (
    Column("war", np.bool_, "state", "a direct U.S.-Iran exchange happened", "", "P(direct U.S.-Iran war)"),
    Column("first_war_date", "datetime64[ns]", "state", "date of the first direct U.S.-Iran exchange (null if none)"),
)


def summary(model) -> dict[str, np.ndarray]:
    war = model.records["war"][: model.day]
    return {"war": war.any(axis=0) if model.day else np.zeros(model.R, dtype=bool), "first_war_day": first_true(war.astype(bool))}


# --------------------------------------------------------------------------- agent


class Iran(mesa.Agent):
    """IRGC-Quds Force: supplies the groups and signals restraint through its named rule."""

    def __init__(self, model: mesa.Model):
        super().__init__(model)
        R, cfg = model.R, model.config.iran
        self.stream = model.streams[ModelStream.IRAN]
        self.params = model.overlay.view("iran", cfg)
        # the rule reads Iran's parameters (self.params); it has none of its own
        self.rule = make({cls.name: cls for cls in RULES}, "iran", cfg.rule).bind(model)
        self.decay = decay_factor(self.params.restraint_half_life)
        self.war_decay = decay_factor(self.params.war_pressure_half_life)
        self.war_pressure = np.zeros(R)  # decaying stock of IRGC losses (and strikes on Iran)
        self.restraint = np.zeros(R)
        self.supply = np.full(R, 0.0) + self.params.supply_rate
        self.strikes_us = np.zeros(R, dtype=bool)  # Iran strikes U.S. forces directly today
        self.war = np.zeros(R, dtype=bool)  # a direct exchange has happened (absorbing)

    @property
    def R(self) -> int:
        return self.model.R

    def step(self) -> None:
        self.rule.step(self)
        self.war = self.war | self.strikes_us

    def record(self, t: int) -> None:
        rec = self.model.records
        rec["war"][t] = self.war
        rec["iran_restraint"][t] = self.restraint


def build(model: mesa.Model) -> Iran:
    return Iran(model)
