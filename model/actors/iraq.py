"""Iraq's government (al-Sudani): presses the groups to stop and accumulates pressure for a U.S. withdrawal.

This module is the whole actor: its parameters (:class:`IraqParams`, the scenario's ``iraq`` section), its
agent (:class:`IraqGovernment`), its rules (``RULES``: the named rule the scenario picks with ``iraq.rule``)
and the columns it records (``DAILY``). The actor protocol is in ``model/actors/__init__.py``.
"""

from __future__ import annotations

from typing import ClassVar

import mesa
import numpy as np
from pydantic import Field

from model.columns import Column
from model.params import Strict, sourced
from model.rule import Rule, classify, make
from model.sampling import decay_factor

FIELD = "iraq"
OPTIONAL = False


# --------------------------------------------------------------------------- parameters


class IraqParams(Strict):
    """Iraq's government (al-Sudani): wants good relations with both the U.S. and the groups (004)."""

    rule: str = Field("sudani_balancing", description="named Iraq rule (model.rules)")
    base_pressure: float = sourced(
        0.1, "004: al-Sudani 'came to power with the Iranian-backed groups' support'; value assumption", ge=0, le=1
    )
    pressure_per_us_killed: float = sourced(
        0.15, "000: after the Jordan deaths, intervention by 'Iraqi Prime Minister Mohammed Shia al-Sudani'; value assumption", ge=0, le=100
    )
    pressure_half_life: float = sourced(20.0, "assumption", gt=0, description="days")
    withdrawal_per_iraq_target: float = sourced(
        0.01,
        "004: the U.S. 'doesn't want to risk alienating the Iraqi government by striking within its borders'; "
        "000: counterstrikes 'sparked outrage among Iraqi officials'; value assumption",
        ge=0, le=100,
    )
    withdrawal_per_leader_strike: float = sourced(
        0.25,
        "003: 'The killing of Abu Baqir as-Saadi has spiked anti-US public opinion'; 004: the 2020 Baghdad strike "
        "'spawned demands for the withdrawal of all US forces'; value assumption",
        ge=0, le=100,
    )
    withdrawal_per_iraqi_killed: float = sourced(
        0.01, "001: PMF 'reported that U.S. strikes resulted in the deaths of 16 of its members'; value assumption", ge=0, le=100
    )
    withdrawal_half_life: float = sourced(90.0, "assumption", gt=0, le=3650, description="days")
    withdrawal_threshold: float = sourced(
        1.0, "assumption: level at which Baghdad formally demands a U.S. withdrawal", gt=0, le=1e6
    )


Params = IraqParams
default_params = IraqParams


def rule_specs(section: IraqParams):
    """(path within the section, rule kind, name, parameters) of the named rule the section uses."""
    yield ("rule",), "iraq", section.rule, None


# --------------------------------------------------------------------------- rules


class IraqRule(Rule):
    kind: ClassVar[str] = "iraq"

    def step(self, iraq: "IraqGovernment") -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _withdrawal_step(iraq: "IraqGovernment") -> None:
    """U.S. strikes on Iraqi soil and Iraqi deaths push Baghdad towards demanding a U.S. withdrawal."""
    p, model = iraq.params, iraq.model
    iraq.withdrawal = (
        iraq.withdrawal * iraq.withdrawal_decay
        + p.withdrawal_per_iraq_target * model.us.order.iraq
        + p.withdrawal_per_leader_strike * (model.us.order.leader >= 0)
        + p.withdrawal_per_iraqi_killed * model.battlespace.iraqi_killed_today
    )


class SudaniBalancing(IraqRule):
    """Press the militias to stop, more during diplomacy and after U.S. deaths; resent U.S. strikes in Iraq.

    004: al-Sudani 'came to power with the Iranian-backed groups' support' but 'wants continued good relations
    with the U.S.'; 000: strikes 'sparked outrage among Iraqi officials' and 'stalled U.S.-Iraqi talks'.
    """

    name = "sudani_balancing"
    source = "004: al-Sudani's 'difficult position'; 000: 'outrage among Iraqi officials'"
    classifier = classify("us_losses", "own_losses", "us_strikes", "replayed_inputs")

    def step(self, iraq):
        p, model = iraq.params, iraq.model
        iraq.alarm = iraq.alarm * iraq.pressure_decay + p.pressure_per_us_killed * model.us.killed_today
        iraq.pressure = np.minimum(1.0, p.base_pressure + iraq.alarm + model.event_today("iraq_diplomacy"))
        _withdrawal_step(iraq)


class Passive(IraqRule):
    """Counterfactual: Baghdad never presses the militias (but still resents strikes on its soil)."""

    name = "passive"
    source = "counterfactual to 004's account of al-Sudani's 'great pressure'"
    classifier = classify("own_losses", "us_strikes")

    def step(self, iraq):
        iraq.pressure = np.zeros(iraq.R)
        _withdrawal_step(iraq)


RULES: tuple[type[IraqRule], ...] = (SudaniBalancing, Passive)


# --------------------------------------------------------------------------- columns

DAILY: tuple[Column, ...] = (
    Column("iraq_withdrawal_pressure", np.float32, "state", "Baghdad's pressure for a U.S. withdrawal", "index"),
    Column("iraq_pressure", np.float32, "state", "Baghdad's pressure on the groups to stop", "0-1"),
)

SUMMARY: tuple[Column, ...] = (
    Column("max_withdrawal_pressure", np.float32, "state", "highest Iraqi pressure for a U.S. withdrawal", "index"),
    Column("withdrawal_demanded", np.bool_, "state", "the withdrawal pressure reached `iraq.withdrawal_threshold`", "",
           "P(Iraqi withdrawal pressure past threshold)"),
)


def summary(model) -> dict[str, np.ndarray]:
    pressure = model.records["iraq_withdrawal_pressure"][: model.day]
    peak = pressure.max(axis=0) if model.day else np.zeros(model.R)
    return {"max_withdrawal_pressure": peak, "withdrawal_demanded": peak >= model.config.iraq.withdrawal_threshold}


# --------------------------------------------------------------------------- agent


class IraqGovernment(mesa.Agent):
    """Baghdad: presses the groups to stop and accumulates pressure for a U.S. withdrawal."""

    def __init__(self, model: mesa.Model):
        super().__init__(model)
        R, cfg = model.R, model.config.iraq
        self.params = model.overlay.view("iraq", cfg)
        # the rule reads Iraq's parameters (self.params); it has none of its own
        self.rule = make({cls.name: cls for cls in RULES}, "iraq", cfg.rule).bind(model)
        self.pressure_decay = decay_factor(self.params.pressure_half_life)
        self.withdrawal_decay = decay_factor(self.params.withdrawal_half_life)
        self.alarm = np.zeros(R)
        self.pressure = np.zeros(R) + self.params.base_pressure
        self.withdrawal = np.zeros(R)

    @property
    def R(self) -> int:
        return self.model.R

    def step(self) -> None:
        self.rule.step(self)

    def record(self, t: int) -> None:
        rec = self.model.records
        rec["iraq_withdrawal_pressure"][t] = self.withdrawal
        rec["iraq_pressure"][t] = self.pressure


def build(model: mesa.Model) -> IraqGovernment:
    return IraqGovernment(model)
