"""Militia, Iran and Iraq behaviour rules: one class per behaviour, vectorised over replicates.

Militia behaviours each keep their own memory on the militia agent and return a
multiplier on the group's attack propensity; a group's propensity is the product of
its behaviours' multipliers (a group can follow tit-for-tat and be deterred at once).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from model.params import Strict, sourced
from model.batch import stack_rows
from model.rule import Rule, classify
from model.sampling import decay_factor

if TYPE_CHECKING:
    from model.agents import Iran, IraqGovernment, Militia


# --------------------------------------------------------------------------- militias


class MilitiaBehaviour(Rule):
    """``m`` is one group (a :class:`~model.agents.Militia`, arrays of shape (R,)) or several stepped
    together (a :class:`~model.agents.GroupRows`, shape (G, R)); the same code serves both."""

    kind: ClassVar[str] = "militia"

    @classmethod
    def for_groups(cls, rules: list["MilitiaBehaviour"], model) -> "MilitiaBehaviour":
        """One rule stepping several groups at once: each parameter stacked as a (G, 1) or (G, R) column."""
        batch = cls.__new__(cls)
        batch.params = rules[0].params
        batch.p = SimpleNamespace(**{n: stack_rows([getattr(r.p, n) for r in rules], model.R) for n in vars(rules[0].p)})
        batch.reset(model.R, model)
        return batch

    def observe(self, militia: "Militia") -> None:
        """Update the behaviour's memory from what happened to the group yesterday."""

    def multiplier(self, militia: "Militia") -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class TitForTat(MilitiaBehaviour):
    """Grievance from the group's own losses raises its attacks (retaliation for retaliation).

    003: 'for non-state actors such as Iran-backed militant groups, the objective is to challenge and
    provoke the United States'; 001: U.S. retaliation 'could ... exacerbate the cycle of tit-for-tat strikes'.
    """

    name = "tit_for_tat"
    source = "001: 'exacerbate the cycle of tit-for-tat strikes'; 003: the groups aim 'to challenge and provoke'"
    classifier = classify("own_losses")

    class Params(Strict):
        per_killed: float = sourced(0.05, "assumption", ge=0, description="grievance added per fighter killed")
        per_leader: float = sourced(
            5.0, "003: 'The killing of Abu Baqir as-Saadi has spiked anti-US public opinion'; value assumption", ge=0
        )
        max_boost: float = sourced(1.0, "assumption: grievance at most doubles the attack rate", ge=0)
        half_life: float = sourced(21.0, "assumption", gt=0, description="days")

    def reset(self, replicates, model):
        self.decay = decay_factor(self.p.half_life)

    def observe(self, m):
        p = self.p
        m.grievance = m.grievance * self.decay + p.per_killed * m.killed_yesterday + p.per_leader * m.leader_lost_yesterday

    def multiplier(self, m):
        return 1.0 + self.p.max_boost * (1.0 - np.exp(-m.grievance))


class Deterred(MilitiaBehaviour):
    """Fear of costs: U.S. strikes on the group lower its attacks (deterrence by punishment).

    004: strikes aim to show 'consequences'; 003: the U.S. wants 'to reinstate US deterrence';
    Schelling (1966) *Arms and Influence*.
    """

    name = "deterred"
    source = "003: 'reinstate US deterrence and redlines'; 004: 'deter the militants'; Schelling (1966)"
    classifier = classify("own_losses")

    class Params(Strict):
        per_target: float = sourced(0.04, "assumption", ge=0, description="fear added per U.S. target struck on the group")
        per_leader: float = sourced(1.0, "assumption", ge=0)
        half_life: float = sourced(30.0, "assumption", gt=0, description="days")

    def reset(self, replicates, model):
        self.decay = decay_factor(self.p.half_life)

    def observe(self, m):
        p = self.p
        m.fear = m.fear * self.decay + p.per_target * m.targets_yesterday + p.per_leader * m.leader_lost_yesterday

    def multiplier(self, m):
        return np.exp(-m.fear)


STRIKE_RESPONSE_LITERATURE = (
    "Abrahams et al. (2020), 'Mostly Deterred': little short-term effect of retaliation on attacks; "
    "Haushofer, Biletzki & Kanwisher (2010), PNAS 107: attacks rise after the other side's killings (provocation); "
    "Jaeger & Paserman (2008), AER 98: no predictable Palestinian response to Israeli killings; "
    "Dell & Querubin (2018), QJE 133: U.S. bombing in Vietnam raised insurgent activity; "
    "004: the strikes 'obviously failed to deter the groups'"
)


class StrikeResponse(MilitiaBehaviour):
    """U.S. strikes on the group move its attacks either way: deterrence or provocation.

    Deterrence is fear of costs, provocation revenge and recruitment; both scale with the number of
    targets struck on the group and with leaders lost.

    A signed stock S decays with ``half_life`` and is topped up by ``per_target`` per target struck on
    the group and ``per_leader`` per leader lost. The multiplier is exp(-S) while S >= 0 (deterred) and
    1 + max_boost (1 - exp(S)) while S < 0 (provoked, saturating at 1 + max_boost). Positive values
    deter, negative ones provoke; the calibration's prior spans both because the literature finds both
    (see ``STRIKE_RESPONSE_LITERATURE``); Schelling (1966) for the deterrence side. It replaces the
    deterrence-only ``deterred`` rule in the defaults (``deterred`` stays for old scenarios: the same
    rule with per_target >= 0).
    """

    name = "strike_response"
    source = STRIKE_RESPONSE_LITERATURE
    classifier = classify("own_losses")

    class Params(Strict):
        per_target: float = sourced(
            0.0,
            "literature spans both signs (Abrahams et al. 2020; Haushofer et al. 2010; Jaeger & Paserman 2008; "
            "Dell & Querubin 2018): a round of ~3 targets moving the group's attacks by up to about +-30 % gives "
            "+-0.1 per target (range assumption); default 0 = no net effect (Abrahams et al. 2020)",
            ge=-1, le=1,
            description="signed response per U.S. target struck on the group: > 0 deters, < 0 provokes",
        )
        per_leader: float = sourced(
            0.0,
            "003: al-Saadi's killing 'spiked anti-US public opinion' (provocation, carried by tit_for_tat.per_leader); "
            "value assumption: no further net effect here",
            ge=-10, le=10,
            description="signed response per leader lost: > 0 deters, < 0 provokes",
        )
        max_boost: float = sourced(1.0, "assumption: provocation at most doubles the attack rate (as tit_for_tat)", ge=0, le=10)
        half_life: float = sourced(30.0, "assumption", gt=0, le=3650, description="days")

    def reset(self, replicates, model):
        self.decay = decay_factor(self.p.half_life)

    def observe(self, m):
        p = self.p
        m.fear = m.fear * self.decay + p.per_target * m.targets_yesterday + p.per_leader * m.leader_lost_yesterday

    def multiplier(self, m):
        s = m.fear
        return np.where(s >= 0, np.exp(-np.maximum(s, 0.0)), 1.0 + self.p.max_boost * (1.0 - np.exp(np.minimum(s, 0.0))))


class AvoidExposure(MilitiaBehaviour):
    """After U.S. strikes inside Iraq, groups move attacks from U.S. sites in Iraq to Syria and Jordan.

    There a strike in reply does not land on Iraqi soil and the Iraqi government's pressure weighs less.

    An exposure stock E decays with ``half_life`` and is topped up by ``per_iraq_target`` per U.S. target
    struck in Iraq (any group's: the strikes show where the U.S. is willing to hit); the group's weight on
    Iraq is multiplied by exp(-(E + per_pressure x susceptibility x Iraqi pressure)) and its target shares
    renormalised, so the total is unchanged and only the split moves. 004: the U.S. 'doesn't want to risk
    alienating the Iraqi government by striking within its borders' (so strikes in Iraq raise the cost of
    attacking from there); the Pentagon tallies (shared/data/pentagon_tallies.csv) move from 36 Iraq / 37 Syria
    on Nov 23 to 57 / 83 on Jan 18, after the first U.S. strikes inside Iraq (Nov 21 on). Values: calibrated.
    """

    name = "avoid_exposure"
    source = ("004: the U.S. 'doesn't want to risk alienating the Iraqi government by striking within its borders'; "
              "shared/data/pentagon_tallies.csv: Iraq 36 of 73 (Nov 23), 57 of 140 (Jan 18) after strikes in Iraq")
    classifier = classify("us_strikes", "iraq_pressure")

    class Params(Strict):
        per_iraq_target: float = sourced(
            0.0, "assumption; calibrated to the Iraq/Syria tallies (scenarios/calibration.yaml)", ge=0, le=10,
            description="exposure added per U.S. target struck inside Iraq (log-weight moved off Iraq)",
        )
        per_pressure: float = sourced(
            0.0, "004: al-Sudani's 'great pressure' on the militias; value assumption (0: pressure lowers attacks, not their place)",
            ge=0, le=10,
            description="log-weight moved off Iraq per unit of Iraqi pressure x the group's susceptibility",
        )
        half_life: float = sourced(30.0, "assumption", gt=0, le=3650, description="days")

    def reset(self, replicates, model):
        self.decay = decay_factor(self.p.half_life)

    def observe(self, m):
        m.exposure = m.exposure * self.decay + self.p.per_iraq_target * m.model.us.order.iraq

    def multiplier(self, m):
        return 1.0

    def iraq_weight(self, m) -> np.ndarray:
        """Multiplier on the group's weight for targets in Iraq today."""
        return np.exp(-(m.exposure + self.p.per_pressure * m.iraq_susceptibility * m.model.iraq.pressure))


class IranFollowing(MilitiaBehaviour):
    """Iran's restraint signal lowers attacks and can make an obedient group suspend them.

    000: after Qaani's 'direct intervention', Kata'ib Hezbollah 'issued a statement saying it would cease
    all attacks on Americans – and even indicated that it had been unhappily pressured by Iran';
    003: the suspension was 'probably due to the pressure from the Iraqi government and possible intervention from Iran'.
    """

    name = "iran_following"
    source = "000: Qaani's intervention and KH's statement; 003: KH 'announced the suspension of attacks'"
    classifier = classify("iran_restraint", "iraq_pressure", stochastic=True)

    class Params(Strict):
        suspend_threshold: float = sourced(
            0.25, "assumption: obedience x restraint above which a suspension becomes possible", ge=0, le=1
        )
        suspend_gain: float = sourced(4.0, "assumption: daily suspension hazard per unit above the threshold", ge=0)
        iraq_weight: float = sourced(
            0.5, "003: suspension 'probably due to the pressure from the Iraqi government'; value assumption", ge=0
        )
        resume_rate: float = sourced(
            0.01,
            "default assumption; calibrated (scenarios/calibration.yaml, prior log-uniform [0.002, 0.05]/day: 001, KH's "
            "'halt in attacks' and earlier pauses that did not hold) and carried as posterior draws by scenarios/calibrated.yaml",
            ge=0, le=1, description="daily chance a suspended group resumes at zero restraint",
        )

    def observe(self, m):
        p = self.p
        drive = m.iran_obedience * m.model.iran.restraint + p.iraq_weight * m.iraq_susceptibility * m.model.iraq.pressure
        hazard = 1.0 - np.exp(-p.suspend_gain * np.maximum(drive - p.suspend_threshold, 0.0))
        resume = p.resume_rate * (1.0 - m.model.iran.restraint)
        u = m.suspension_draws()
        m.suspended = np.where(m.suspended, u >= resume, u < hazard)

    def multiplier(self, m):
        return np.where(m.suspended, 0.0, 1.0 - m.iran_obedience * m.model.iran.restraint)


class UmbrellaFollowing(MilitiaBehaviour):
    """Groups under the Islamic Resistance in Iraq umbrella follow the others: when groups that carry a
    large share of the umbrella's attacks suspend, the rest slow down (coordination, and fewer partners
    to hide behind).

    001: the umbrella 'has, since around 2020, integrated various Iran-backed militias' and lets them
    'conceal the identities of the actual perpetrators'; 000: the groups 'at times will take orders from
    Iran – but at other times will diverge'. The share is read from yesterday's suspensions, weighted by
    the groups' base rates, so the order in which groups step does not matter.
    """

    name = "umbrella_following"
    source = "001: the umbrella 'integrated various Iran-backed militias'; 000: 'at times will take orders from Iran'"
    classifier = classify("others_suspensions")

    class Params(Strict):
        conformity: float = sourced(
            0.7, "assumption: a group alone under the umbrella keeps 30 % of its rate when all others have suspended", ge=0, le=1
        )

    def multiplier(self, m):
        return 1.0 - self.p.conformity * m.model.suspended_share(m.index)


class IraqPressured(MilitiaBehaviour):
    """Pressure from Baghdad lowers attacks, in proportion to the group's stake in the government.

    004: al-Sudani 'put "great pressure" on the militias not to carry out attacks during Blinken's visit';
    003: 'many of the Iraq-based groups are ... integrated into its defense apparatuses'.
    """

    name = "iraq_pressured"
    source = "004: al-Sudani's 'great pressure' during Blinken's visit; 003: groups integrated in the state"
    classifier = classify("iraq_pressure")

    def multiplier(self, m):
        return 1.0 - m.iraq_susceptibility * m.model.iraq.pressure


# --------------------------------------------------------------------------- Iran


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
            + p.restraint_per_irgc_killed * model.irgc_killed_today
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
        + model.irgc_killed_today
        + p.war_pressure_per_strike_on_iran * model.us.order.iran
    )
    hazard = 1.0 - np.exp(-p.war_hazard * iran.war_pressure * (1.0 - iran.restraint))
    iran.strikes_us = iran.stream.random(iran.R) < hazard


# --------------------------------------------------------------------------- Iraq


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
        + p.withdrawal_per_iraqi_killed * model.iraqi_killed_today
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


# the registry's rules by kind (model/rules.py), in the order the documentation lists them
MILITIA_BEHAVIOURS: tuple[type[MilitiaBehaviour], ...] = (
    TitForTat, StrikeResponse, AvoidExposure, Deterred, IranFollowing, UmbrellaFollowing, IraqPressured
)
IRAN_RULES: tuple[type[IranRule], ...] = (ShowForceAvoidWar, Unrestrained)
IRAQ_RULES: tuple[type[IraqRule], ...] = (SudaniBalancing, Passive)
