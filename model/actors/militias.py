"""The militias: the armed groups under the Islamic Resistance in Iraq umbrella, one actor of many groups.

This module is the whole actor: its parameters (:class:`MilitiaParams`, the scenario's ``militias`` list),
its agents (:class:`Militia`, one per group, and :class:`Militias`, all groups' state as (M, R) numpy arrays
stepped together), its behaviour rules (one class per behaviour, listed in ``RULES``) and the columns it
records (``DAILY`` and the per-group table ``GROUPS``). The protocol every actor module follows is in
``model/actors/__init__.py``.

A day: each behaviour observes yesterday (its memory), the groups attack (one Poisson count per group from
its self-exciting rate, split by country and weapon), the battlespace lands the attacks
(``model/battlespace.py``), and today's attacks excite later ones.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated, Any, ClassVar

import mesa
import numpy as np
from pydantic import AfterValidator, Field, model_validator

from model.batch import quiet_from, rowsum, stack_rows, vec
from model.columns import Column, fits, key
from model.params import COUNTRIES, WEAPONS, PerCountry, PerWeapon, Strict, sourced, weights_positive
from model.rule import Rule, classify, make
from model.sampling import decay_factor, poisson_inverse
from model.streams import ModelStream

FIELD = "militias"
OPTIONAL = False
QUIET_DAYS = 14  # attacks have "stopped" once this many days pass without one (assumption)


# --------------------------------------------------------------------------- parameters

MOBILISATION_LITERATURE = (
    "Conflict-event intensity as a latent, drifting log-rate: Zammit-Mangion, Dewar, Kadirkamanathan & Sanguinetti "
    "(2012), PNAS 109(31), 'Point process modelling of the Afghan War Diary' (log-Gaussian Cox process: a latent "
    "Gaussian field drives the log intensity); Brandt, Freeman & Schrodt (2011), Conflict Management and Peace "
    "Science 28(1), 'Real time, time series forecasting of inter- and intra-state political conflict' (Bayesian "
    "time-series forecasts with time-varying dynamics); Lewis, Mohler, Brantingham & Bertozzi (2012): a "
    "self-exciting process with a non-stationary background rate for Iraq (as we recall; assumption otherwise)"
)



class MilitiaParams(Strict):
    """One armed group under the Islamic Resistance in Iraq umbrella."""

    name: str = Field(min_length=1)
    short: str = Field(min_length=1, max_length=12)
    base_rate: float = sourced(
        0.5,
        "004: '61 attacks ... since Oct. 17' by mid-Nov (~27 days, ~2.3/day for all groups); "
        "the split between groups is an assumption (000: Kata'ib Hezbollah 'long at the forefront of attacks')",
        ge=0, le=100,
        description="attacks per day at full Gaza-war intensity with no deterrence, grievance or restraint",
    )
    target_weights: PerCountry = sourced(
        PerCountry(iraq=29, syria=32, jordan=0.5),
        "004: 'Of those, 29 have been in Iraq and 32 in Syria'; Jordan: the Pentagon tallies to Nov 23 2023 "
        "(shared/data/pentagon_tallies.csv, Reuters, 2023-11-23: 73 attacks, 36 Iraq + 37 Syria) hold no attack "
        "in Jordan, so its weight is half an attack in ~60 (a half-count prior for 0 of 73; assumption); "
        "000: the 'cross-border drone strike' on Tower 22 is the only Jordan attack in the sources",
        description="relative weight of each country's U.S. sites in the group's target choice",
    )
    weapon_mix: PerWeapon = sourced(
        PerWeapon(drone=0.55, rocket=0.4, missile=0.05),
        "004: 'The bulk of the attacks ... have been with one-way suicide drones or rockets'; split is an assumption",
        description="share of attacks by weapon when stocks are full",
    )
    stock: PerWeapon = sourced(
        PerWeapon(drone=80, rocket=80, missile=10),
        "assumption (001: strikes aimed at 'storage locations for rockets, missiles, drones')",
        description="initial weapons stock in attack-equivalents",
    )
    stock_reference: float = sourced(
        40.0,
        "assumption",
        gt=0, le=1e6,
        description="stock at or above which the group is not supply-limited (propensity scales with stock/reference below it)",
    )
    iran_obedience: float = sourced(
        0.6,
        "000: groups 'at times will take orders from Iran – but at other times will diverge' (Mansour); value assumption",
        ge=0,
        le=1,
        description="how strongly Iran's restraint signal lowers the group's attacks and can make it suspend",
    )
    self_excitation: float = sourced(
        0.4,
        "Lewis, Mohler, Brantingham & Bertozzi (2012), 'Self-exciting point process models of civilian deaths in "
        "Iraq', Security Journal 25: 37-50 % of insurgent attacks are triggered by earlier ones (Mohler et al. 2011, "
        "JASA 106, for the method); value: middle of that range",
        ge=0,
        le=0.9,
        description="branching ratio of the self-exciting (Hawkes) attack process: mean attacks triggered per attack",
    )
    excitation_half_life: float = sourced(
        3.0,
        "assumption: triggered attacks follow within days (Lewis et al. 2012 report triggering over days to weeks)",
        gt=0,
        le=60,
        description="days; half-life of the exponential triggering kernel",
    )
    iraq_susceptibility: float = sourced(
        0.3,
        "004: al-Sudani put 'great pressure' on the militias not to attack during Blinken's visit; value assumption",
        ge=0,
        le=1,
        description="how strongly Iraqi government pressure lowers the group's attacks",
    )
    mobilisation_volatility: float = sourced(
        0.0,
        MOBILISATION_LITERATURE + "; default 0 = a constant base rate. Tried in the calibration with a U[0, 0.05] "
        "prior and not kept: no rolling-forecast skill gained at Jan 9 (docs/calibration.md)",
        ge=0, le=1,
        description="daily standard deviation of the log mobilisation level, a latent umbrella-wide drift of the base "
        "rate (Ornstein-Uhlenbeck; one shock a day shared by all groups); 0 = no drift",
    )
    mobilisation_half_life: float = sourced(
        60.0,
        "assumption: shifts in the groups' activity level last about two months (the tallies run at ~2/day "
        "Oct 17 - Nov 23, ~1.5/day Dec 7 - Jan 18); only acts when mobilisation_volatility > 0",
        gt=0, le=3650,
        description="days; half-life of the mobilisation level's reversion to the base rate",
    )
    behaviours: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {
            "tit_for_tat": {}, "strike_response": {}, "avoid_exposure": {}, "iran_following": {}, "umbrella_following": {},
            "iraq_pressured": {},
        },
        description="named militia behaviour rules (model.rules) with parameter overrides; combined multiplicatively",
    )

    @model_validator(mode="after")
    def _check(self) -> "MilitiaParams":
        weights_positive(self.target_weights.as_tuple(), "target_weights")
        weights_positive(self.weapon_mix.as_tuple(), "weapon_mix")
        return self


def default_militias() -> list[MilitiaParams]:
    """The five groups shipped by default.

    Names from 000/001/004 ('Kata'ib Hezbollah', 'Harakat al-Nujaba', 'Asaib Ahl al-Haq');
    Kata'ib Sayyid al-Shuhada is named in the issue and the literature (Knights, Washington
    Institute 'Militia Spotlight' profiles); the rate split (sums to ~2.3/day) and obedience
    values are assumptions, ordered by the sources' emphasis on Kata'ib Hezbollah.
    """
    return [
        MilitiaParams(name="Kata'ib Hezbollah", short="KH", base_rate=0.8, iran_obedience=0.7, iraq_susceptibility=0.2),
        MilitiaParams(name="Harakat al-Nujaba", short="HaN", base_rate=0.6, iran_obedience=0.4, iraq_susceptibility=0.1),
        MilitiaParams(name="Kata'ib Sayyid al-Shuhada", short="KSS", base_rate=0.35, iran_obedience=0.6),
        MilitiaParams(name="Asa'ib Ahl al-Haq", short="AAH", base_rate=0.15, iran_obedience=0.6, iraq_susceptibility=0.6),
        MilitiaParams(name="Other IRI factions", short="IRI", base_rate=0.4, iran_obedience=0.5),
    ]


def _unique_shorts(militias: list[MilitiaParams]) -> list[MilitiaParams]:
    shorts = [m.short for m in militias]
    if len(set(shorts)) != len(shorts):
        raise ValueError(f"militia short names must be unique, got {shorts}")
    return militias


# the scenario's ``militias`` section: a list of groups
Params = Annotated[list[MilitiaParams], Field(min_length=1, max_length=100), AfterValidator(_unique_shorts)]
default_params = default_militias


def rule_specs(groups: list[MilitiaParams]):
    """(path within the section, rule kind, name, parameters) of every named rule the section uses."""
    for i, m in enumerate(groups):
        for name, params in m.behaviours.items():
            yield (i, "behaviours", name), "militia", name, params


def check(groups: list[MilitiaParams]) -> list[tuple[tuple[Any, ...], str]]:
    """Problems a field validator cannot see (paths within the section)."""
    return [((i, "behaviours"), "a militia needs at least one behaviour") for i, m in enumerate(groups) if not m.behaviours]


# --------------------------------------------------------------------------- behaviour rules


class MilitiaBehaviour(Rule):
    """A behaviour reads and writes rows ``rows`` of the group arrays ``g`` (:class:`Militias`): the groups
    that follow it, stepped together (``g.grievance[rows]`` is (G, R), or (R,) for one group's index)."""

    kind: ClassVar[str] = "militia"

    @classmethod
    def for_groups(cls, rules: list["MilitiaBehaviour"], model) -> "MilitiaBehaviour":
        """One rule stepping several groups at once: each parameter stacked as a (G, 1) or (G, R) column."""
        batch = cls.__new__(cls)
        batch.params = rules[0].params
        batch.p = SimpleNamespace(**{n: stack_rows([getattr(r.p, n) for r in rules], model.R) for n in vars(rules[0].p)})
        batch.reset(model.R, model)
        return batch

    def observe(self, g: "Militias", rows) -> None:
        """Update the behaviour's memory from what happened to the group yesterday."""

    def multiplier(self, g: "Militias", rows) -> np.ndarray:  # pragma: no cover - abstract
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

    def observe(self, g, rows):
        p = self.p
        g.grievance[rows] = g.grievance[rows] * self.decay + p.per_killed * g.killed_yesterday[rows] + p.per_leader * g.leader_lost_yesterday[rows]

    def multiplier(self, g, rows):
        return 1.0 + self.p.max_boost * (1.0 - np.exp(-g.grievance[rows]))


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

    def observe(self, g, rows):
        p = self.p
        g.fear[rows] = g.fear[rows] * self.decay + p.per_target * g.targets_yesterday[rows] + p.per_leader * g.leader_lost_yesterday[rows]

    def multiplier(self, g, rows):
        return np.exp(-g.fear[rows])


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

    def observe(self, g, rows):
        p = self.p
        g.fear[rows] = g.fear[rows] * self.decay + p.per_target * g.targets_yesterday[rows] + p.per_leader * g.leader_lost_yesterday[rows]

    def multiplier(self, g, rows):
        s = g.fear[rows]
        return np.where(s >= 0, np.exp(-np.maximum(s, 0.0)), 1.0 + self.p.max_boost * (1.0 - np.exp(np.minimum(s, 0.0))))


class AvoidExposure(MilitiaBehaviour):
    """After U.S. strikes inside Iraq, groups move attacks from U.S. sites in Iraq to Syria and Jordan.

    There a strike in reply does not land on Iraqi soil and the Iraqi government's pressure weighs less.

    An exposure stock E decays with ``half_life`` and is topped up by ``per_iraq_target`` per U.S. target
    struck in Iraq (any group's: the strikes show where the U.S. is willing to hit); the group's weight on
    Iraq is multiplied by exp(-(E + per_pressure x susceptibility x Iraqi pressure)) and its target shares
    renormalised. 004: the U.S. 'doesn't want to risk alienating the Iraqi government by striking within its
    borders' (so strikes in Iraq raise the cost of attacking from there); the Pentagon tallies
    (shared/data/pentagon_tallies.csv) move from 36 Iraq / 37 Syria on Nov 23 to 57 / 83 on Jan 18, after the
    first U.S. strikes inside Iraq (Nov 21 on). Values: calibrated.

    Displacement: of the attacks moved off Iraq, the share ``displacement`` is made elsewhere instead and the
    rest is forgone. With Iraq share p before the move and Iraq-weight multiplier m, the weight p (1 - m) taken
    off Iraq is made up to the share ``displacement``: the group's rate is multiplied by
    1 - (1 - displacement) p (1 - m) and split with the renormalised weights. At 1 (the default) the total is
    unchanged and only the split moves (the rule then multiplies nothing, so tables are bit-identical to the
    rule without it); at 0 the group makes p m of its rate in Iraq and 1 - p elsewhere, as before the strikes:
    the attacks moved off Iraq are simply not made. Substitution after counter-terrorism measures is real but partial: Enders & Sandler
    (1993), APSR 87(4), 'The Effectiveness of Antiterrorism Policies: A Vector-Autoregression-Intervention
    Analysis' (measures against one mode of attack raise others, but not one for one); the share is an
    assumption. After the strikes inside Iraq the tallies' Iraq rate fell from ~1.0 to ~0.3 a day while Syria's
    stayed at ~1.0 (the total fell), but a U[0, 1] prior in the calibration was not narrowed by the split tallies
    and cost the rolling forecasts from Jan 9 and Jan 18 their skill (docs/calibration.md), so it is not calibrated.
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
        displacement: float = sourced(
            1.0,
            "Enders & Sandler (1993), APSR 87(4): substitution after counter-terrorism measures is real but partial; "
            "value assumption (1 = every attack moved off Iraq is made elsewhere). Tried in the calibration with a U[0, 1] prior and "
            "not kept: rolling-forecast skill lost at Jan 9 and Jan 18 (docs/calibration.md)",
            ge=0, le=1,
            description="share of the attacks moved off Iraq that are made in Syria or Jordan instead (the rest are forgone)",
        )

    def reset(self, replicates, model):
        self.decay = decay_factor(self.p.half_life)
        # full displacement everywhere: the rate is untouched (skip the product, so tables stay bit-identical)
        self.partial = bool(np.any(np.asarray(self.p.displacement) < 1.0))

    def observe(self, g, rows):
        g.exposure[rows] = g.exposure[rows] * self.decay + self.p.per_iraq_target * g.model.us.order.iraq

    def multiplier(self, g, rows):
        """1 - (1 - displacement) x p_iraq x (1 - m): the attacks moved off Iraq and not made elsewhere."""
        if not self.partial:
            return 1.0
        p_iraq = g.target_p[rows][..., 0]  # the group's Iraq share before the move, (G, 1|R) or (1|R,)
        return 1.0 - (1.0 - self.p.displacement) * p_iraq * (1.0 - self.iraq_weight(g, rows))

    def iraq_weight(self, g, rows) -> np.ndarray:
        """Multiplier on the group's weight for targets in Iraq today."""
        return np.exp(-(g.exposure[rows] + self.p.per_pressure * g.iraq_susceptibility[rows] * g.model.iraq.pressure))


class IranFollowing(MilitiaBehaviour):
    """Iran's restraint signal lowers attacks and can make an obedient group suspend them.

    000: after Qaani's 'direct intervention', Kata'ib Hezbollah 'issued a statement saying it would cease
    all attacks on Americans – and even indicated that it had been unhappily pressured by Iran';
    003: the suspension was 'probably due to the pressure from the Iraqi government and possible intervention from Iran'.

    Lag: the groups read Iran's restraint as it reaches them, not as Iran decides it. 000: Kata'ib Hezbollah
    ceased 'after direct intervention by Brig. Gen. Esmail Qaani ... and Iraqi Prime Minister ... al-Sudani':
    a decision, a visit and meetings take days, and the groups that 'at other times will diverge' (000) hear it
    last. The restraint conveyed to group i follows Iran's with a first-order lag of mean
    ``restraint_lag`` x (1 - iran_obedience_i) days, c <- c + (1 - exp(-1/lag)) (restraint - c), read by the
    multiplier, the suspension hazard and the resume chance. At 0 (the default) the conveyed restraint *is*
    Iran's (no state is kept, so tables are bit-identical to the rule without the lag). The Houthis read Iran's
    restraint instantly (model/actors/houthis.py).
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
        restraint_lag: float = sourced(
            0.0,
            "000: KH ceased 'after direct intervention by Brig. Gen. Esmail Qaani ... and Iraqi Prime Minister ... "
            "al-Sudani' (an intervention takes days: a decision, a visit, meetings) and the groups 'at other times "
            "will diverge'; default assumption (0 = the groups read Iran's restraint the day Iran sets it); calibrated "
            "(scenarios/calibration.yaml, prior U[0, 20]) and carried as posterior draws by scenarios/calibrated.yaml",
            ge=0, le=365,
            description="days of delay (first-order lag) per unit of disobedience: group i hears Iran's restraint with "
            "a mean delay of restraint_lag x (1 - iran_obedience_i) days",
        )

    def reset(self, replicates, model):
        # no lag anywhere: the groups read Iran's restraint directly (no state, tables bit-identical)
        self.lagging = bool(np.any(np.asarray(self.p.restraint_lag) > 0))

    def restraint(self, g, rows) -> np.ndarray:
        """Iran's restraint as it has reached the groups ``rows``: (G, R), or Iran's own (R,) without a lag."""
        return g.conveyed_restraint[rows] if self.lagging else g.model.iran.restraint

    def observe(self, g, rows):
        p = self.p
        if self.lagging:
            lag = p.restraint_lag * (1.0 - g.iran_obedience[rows])
            pull = np.where(lag > 0, -np.expm1(-1.0 / np.maximum(lag, 1e-12)), 1.0)
            c = g.conveyed_restraint[rows]
            g.conveyed_restraint[rows] = c + pull * (g.model.iran.restraint - c)
        restraint = self.restraint(g, rows)
        drive = g.iran_obedience[rows] * restraint + p.iraq_weight * g.iraq_susceptibility[rows] * g.model.iraq.pressure
        hazard = 1.0 - np.exp(-p.suspend_gain * np.maximum(drive - p.suspend_threshold, 0.0))
        resume = p.resume_rate * (1.0 - restraint)
        u = g.suspension_draws(rows)
        g.suspended[rows] = np.where(g.suspended[rows], u >= resume, u < hazard)

    def multiplier(self, g, rows):
        return np.where(g.suspended[rows], 0.0, 1.0 - g.iran_obedience[rows] * self.restraint(g, rows))


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

    def multiplier(self, g, rows):
        return 1.0 - self.p.conformity * g.suspended_share(rows)


class IraqPressured(MilitiaBehaviour):
    """Pressure from Baghdad lowers attacks, in proportion to the group's stake in the government.

    004: al-Sudani 'put "great pressure" on the militias not to carry out attacks during Blinken's visit';
    003: 'many of the Iraq-based groups are ... integrated into its defense apparatuses'.
    """

    name = "iraq_pressured"
    source = "004: al-Sudani's 'great pressure' during Blinken's visit; 003: groups integrated in the state"
    classifier = classify("iraq_pressure")

    def multiplier(self, g, rows):
        return 1.0 - g.iraq_susceptibility[rows] * g.model.iraq.pressure


# the actor's rules, in the order the documentation lists them (model/rules.py builds the registry from RULES)
RULES: tuple[type[MilitiaBehaviour], ...] = (
    TitForTat, StrikeResponse, AvoidExposure, Deterred, IranFollowing, UmbrellaFollowing, IraqPressured
)


# --------------------------------------------------------------------------- columns

DAILY: tuple[Column, ...] = (
    Column("attacks_iraq", np.int32, "count", "militia attacks on U.S. forces in Iraq", "attacks"),
    Column("attacks_syria", np.int32, "count", "militia attacks on U.S. forces in Syria", "attacks"),
    Column("attacks_jordan", np.int32, "count", "militia attacks on U.S. forces in Jordan", "attacks"),
    Column("attacks_total", np.int32, "count", "militia attacks on U.S. forces, all countries", "attacks"),
    Column("groups_suspended", np.int8, "state", "groups that have suspended their attacks", "groups"),
)

GROUPS: tuple[Column, ...] = (
    key("group", object, "the group's short name"),
    Column("attacks", np.int32, "count", "attacks launched by the group", "attacks"),
    Column("killed", np.int32, "count", "the group's fighters killed by U.S. strikes", "persons"),
    Column("suspended", np.bool_, "state", "the group has suspended its attacks"),
    Column("stock", np.float32, "state", "the group's weapons stock, all weapons", "attack-equivalents"),
)

SUMMARY: tuple[Column, ...] = (
    Column("attacks_stop_day", np.float64, "state", f"first day after the first attack from which no attack happens for "
           f"{QUIET_DAYS} days (or to the end, if at least that many remain); NaN if attacks never stop", "days", outcome=False),
    Column("attacks_stop_date", "datetime64[ns]", "state", "date of `attacks_stop_day` (null if attacks never stop)"),
)


def summary(model) -> dict[str, np.ndarray]:
    return {"attacks_stop_day": quiet_from(model.records["attacks_total"][: model.day], QUIET_DAYS)}


# --------------------------------------------------------------------------- agents


class Militia(mesa.Agent):
    """One armed group: decides how many attacks to launch each day, where, and with what.

    Attack rate = Gaza-war intensity x supply limit x the product of its behaviours' multipliers
    (tit-for-tat, strike response, Iran-following, umbrella-following, Iraq-pressured) x
    [(1 - b) x base rate + excitation]: a self-exciting (Hawkes) process in which each attack
    triggers on average b = ``self_excitation`` further attacks over the next days (exponential
    kernel), so that counts are over-dispersed and pauses linger (Lewis et al. 2012). Without
    behaviours and at full intensity the mean rate is the base rate.
    Attacks are claimed under the Islamic Resistance in Iraq umbrella (001), so the
    U.S. sees them by country, not by group.

    All groups step together: the group's state is row ``index`` of the arrays of :class:`Militias`
    (``model.groups.grievance[militia.index]``, shape (R,)).
    """

    def __init__(self, model: mesa.Model, params: MilitiaParams, index: int, behaviours: list[Rule]):
        super().__init__(model)
        self.name, self.short, self.index = params.name, params.short, index
        self.p = model.overlay.view(f"militias.{index}", params)
        self.behaviours = [rule.bind(model, f"militias.{index}.behaviours.{rule.name}") for rule in behaviours]

    def propensity(self) -> np.ndarray:
        """Expected attacks today, per replicate."""
        return self.model.groups.propensity()[self.index]


class Militias:
    """All groups' state as plain (M, R) numpy arrays (group x replicate), stepped together: one Python pass
    per day, not one per group. ``groups.grievance[i]`` is group i's grievance in every replicate.

    Parameters are per-group columns, (M, 1) when every replicate shares them or (M, R) when a batch varies
    them. Per-weapon arrays (``stock``, ``capacity``, ``mix``) are weapon-major, (3, M, R), so sums over weapons
    are two additions. Each behaviour steps the groups that follow it at once (``rules``: the rule, with its
    parameters stacked per group, and the rows of those groups); a group without a behaviour simply gets no
    multiplier from it.
    Draws: one uniform per group and replicate a day for the attack counts (``attacks`` stream, so
    counts stay paired across policies), one per attack for its (country, weapon) cell (``targets``),
    one per group and replicate for suspensions (``suspensions``).
    """

    def __init__(self, model: mesa.Model):
        params = model.config.militias
        self.model, self.R, self.M, self.streams = model, model.R, len(params), model.streams
        R, M = self.R, self.M
        by_name = {cls.name: cls for cls in RULES}
        self.militias = [Militia(model, mp, i, [make(by_name, "militia", n, bp) for n, bp in mp.behaviours.items()])
                         for i, mp in enumerate(params)]
        views = [m.p for m in self.militias]
        # parameters: (M, 1) columns, or (M, R) when a batch varies them
        self.base_rate = stack_rows([v.base_rate for v in views], R)
        self.self_excitation = stack_rows([v.self_excitation for v in views], R)
        self.stock_reference = stack_rows([v.stock_reference for v in views], R)
        self.iran_obedience = stack_rows([v.iran_obedience for v in views], R)
        self.iraq_susceptibility = stack_rows([v.iraq_susceptibility for v in views], R)
        self.excitation_decay = stack_rows([decay_factor(v.excitation_half_life) for v in views], R)
        self.mobilisation_volatility = stack_rows([v.mobilisation_volatility for v in views], R)
        self.mobilisation_decay = stack_rows([decay_factor(v.mobilisation_half_life) for v in views], R)
        # the drift is simulated (and its stream drawn) only if some group in some replicate has volatility > 0,
        # so that at 0 every table is bit-identical to the model without it
        self.mobilising = bool(np.any(self.mobilisation_volatility > 0))
        targets = stack_rows([vec(v.target_weights, COUNTRIES) for v in views], R, len(COUNTRIES))
        self.target_p = targets / targets.sum(axis=-1, keepdims=True)  # (M, 1|R, 3)
        self.mix = np.moveaxis(stack_rows([vec(v.weapon_mix, WEAPONS) for v in views], R, len(WEAPONS)), 2, 0)  # (3, M, 1|R)
        capacity = np.moveaxis(stack_rows([vec(v.stock, WEAPONS) for v in views], R, len(WEAPONS)), 2, 0)
        self.capacity = np.ascontiguousarray(np.broadcast_to(capacity, (len(WEAPONS), M, R)))
        # state: (M, R) arrays
        self.stock = self.capacity.copy()  # (3, M, R) attack-equivalents by weapon
        self.excitation = np.zeros((M, R))  # self-excited part of the attack rate
        self.grievance = np.zeros((M, R))  # tit_for_tat's memory of losses
        self.fear = np.zeros((M, R))  # deterred's / strike_response's signed memory of strikes
        self.exposure = np.zeros((M, R))  # avoid_exposure's memory of strikes inside Iraq
        self.mobilisation = np.zeros((M, R))  # log mobilisation level (OU; mean-corrected in propensity)
        self.mobilisation_var = np.zeros((M, R))  # its variance given the start (deterministic), for the correction
        self.suspended = np.zeros((M, R), dtype=bool)
        self.conveyed_restraint = np.zeros((M, R))  # iran_following's lagged copy of Iran's restraint (when lagged)
        self.attacks_total = np.zeros((M, R), dtype=np.int64)  # today's attacks (the battlespace adds replayed ones)
        # what the strikes did yesterday (set by the battlespace)
        self.killed_yesterday = np.zeros((M, R))
        self.targets_yesterday = np.zeros((M, R))
        self.leader_lost_yesterday = np.zeros((M, R))
        self.cells = np.zeros((R, len(COUNTRIES) * len(WEAPONS)), dtype=np.int64)  # today's attacks by (country, weapon)
        self.rules = self._batch_rules()
        # (the prior attribution the U.S. starts from, per replicate when varied): (R, M)
        self.base_rates = np.broadcast_to(self.base_rate, (M, R)).T
        # records: the per-group table's columns as (T, M, R) arrays; the attacks by country as one (T, 3, R)
        # block, so that a day is recorded in one assignment (the daily records are views onto it)
        T = model.n_days
        self.records = {c.name: np.zeros((T, M, R), dtype=c.dtype) for c in GROUPS if c.kind != "key"}
        self.country_attacks = np.zeros((T, len(COUNTRIES), R), dtype=np.int32)
        for i, c in enumerate(COUNTRIES):
            model.records[f"attacks_{c}"] = self.country_attacks[:, i, :]

    def _batch_rules(self) -> list[tuple[Rule, slice | np.ndarray]]:
        """One batched rule per behaviour, with the rows of the groups that follow it (in first-seen order)."""
        by_name: dict[str, list[int]] = {}
        for m in self.militias:
            for rule in m.behaviours:
                by_name.setdefault(rule.name, []).append(m.index)
        out = []
        for name, idx in by_name.items():
            rules = [next(r for r in self.militias[i].behaviours if r.name == name) for i in idx]
            rows = slice(None) if idx == list(range(self.M)) else np.array(idx)
            out.append((type(rules[0]).for_groups(rules, self.model), rows))
        return out

    def __iter__(self):
        return iter(self.militias)

    def __len__(self) -> int:
        return self.M

    def suspension_draws(self, rows) -> np.ndarray:
        """Uniforms for today's suspension decisions, one per group and replicate of ``rows``."""
        return self.streams[ModelStream.SUSPENSIONS].random(self.suspended[rows].shape)

    def suspended_share(self, rows) -> np.ndarray:
        """Share of the other groups' base-rate weight that was suspended yesterday: (R,) for one group
        index, (G, R) for several (an index array or slice)."""
        w = np.broadcast_to(self.base_rate, (self.M, self.R))
        shape = w[rows].shape
        day = self.model.day
        if day == 0:
            return np.zeros(shape)
        held = w * self.records["suspended"][day - 1]  # (M, R)
        others_held = held.sum(axis=0) - held[rows]
        others = w.sum(axis=0) - w[rows]
        return np.where(others > 0, np.clip(others_held, 0.0, None) / np.where(others > 0, others, 1.0), 0.0)

    # ----------------------------------------------------------------- the day

    def step(self) -> None:
        """Observe yesterday, attack, let the battlespace land the attacks, excite later attacks."""
        self.attack()
        self.model.battlespace.land_attacks(self)
        self.excitation = self.excited(self.excitation, self.attacks_total)

    def propensity(self) -> np.ndarray:
        """Expected attacks today, (M, R)."""
        s = self.stock
        supply_limit = np.minimum(1.0, (s[0] + s[1] + s[2]) / self.stock_reference)
        rate = (1.0 - self.self_excitation) * self.base_rate + self.excitation
        rate *= self.model.gaza_today * supply_limit
        if self.mobilising:
            rate *= self.mobilisation_multiplier()
        for rule, rows in self.rules:
            if isinstance(rows, slice):
                rate *= rule.multiplier(self, rows)
            else:
                rate[rows] *= rule.multiplier(self, rows)
        return np.maximum(rate, 0.0)

    def mobilise(self) -> None:
        """Today's umbrella-wide mobilisation shock: x <- d x + sigma z, z ~ N(0, 1) shared by the groups (one
        draw per replicate from the ``mobilisation`` stream); the variance of x given its start is carried along."""
        z = self.streams[ModelStream.MOBILISATION].standard_normal(self.R)
        d, sigma = self.mobilisation_decay, self.mobilisation_volatility
        self.mobilisation = self.mobilisation * d + sigma * z
        self.mobilisation_var = self.mobilisation_var * d * d + sigma * sigma

    def mobilisation_multiplier(self) -> np.ndarray:
        """exp(x - var/2): the drifting level, with mean 1 in every replicate and day, so the base rate keeps
        its meaning (the mean rate) and only the spread of paths grows."""
        return np.exp(self.mobilisation - 0.5 * self.mobilisation_var)

    def attack(self) -> None:
        for rule, rows in self.rules:
            rule.observe(self, rows)
        if self.mobilising:
            self.mobilise()
        n = poisson_inverse(self.streams[ModelStream.ATTACKS].random((self.M, self.R)), self.propensity())
        available = self.mix * (self.stock >= 1.0)  # (3, M, R): weapons the group still has
        n = np.where((available[0] > 0) | (available[1] > 0) | (available[2] > 0), n, 0)
        # a group cannot launch more attacks in a day than the attack-equivalents it holds (binds only at
        # extreme parameters; it also bounds the per-attack draws of _split)
        n = np.minimum(n, np.floor(self.stock[0] + self.stock[1] + self.stock[2]).astype(np.int64))
        used = self._split(n, available)
        self.attacks_total = n
        stock = np.maximum(self.stock - used, 0.0)
        self.stock = np.minimum(stock + self.model.iran.supply * self.mix, self.capacity)

    def _split(self, n: np.ndarray, available: np.ndarray) -> np.ndarray:
        """Assign each attack a (country, weapon) cell. Sets ``cells`` (R, 9), today's attacks by cell
        summed over groups, and returns the weapons used, (3, M, R).

        Equivalent to a multinomial per group and replicate, but only attacks that happen cost a draw
        (most group-days have none), which is what keeps large batches fast.
        """
        M, R = n.shape
        flat = n.reshape(-1)
        rows = np.flatnonzero(flat)
        if rows.size == 0:
            self.cells = np.zeros((R, 9), dtype=np.int64)
            return np.zeros((3, M, R))
        owner = np.repeat(rows, flat[rows])  # group * R + replicate, one entry per attack
        weapon_p = available.reshape(3, M * R)[:, owner].T
        tp = self.target_shares()
        target_p = tp[owner // R, 0] if tp.shape[1] == 1 else tp.reshape(M * R, 3)[owner]
        cum = np.cumsum((target_p[:, :, None] * weapon_p[:, None, :]).reshape(owner.size, 9), axis=1)
        cell = (self.streams[ModelStream.TARGETS].random(owner.size)[:, None] * cum[:, -1:] >= cum[:, :-1]).sum(axis=1)
        self.cells = np.bincount((owner % R) * 9 + cell, minlength=R * 9).reshape(R, 9)
        return np.bincount((cell % 3) * (M * R) + owner, minlength=3 * M * R).reshape(3, M, R).astype(float)

    def target_shares(self) -> np.ndarray:
        """Today's target shares by country, (M, 1|R, 3): the groups' weights with the Iraq weight moved by
        the rules that move it (``iraq_weight``, e.g. avoid_exposure), renormalised."""
        moving = [(rule, rows) for rule, rows in self.rules if hasattr(rule, "iraq_weight")]
        if not moving:
            return self.target_p
        iraq = np.ones((self.M, self.R))
        for rule, rows in moving:
            iraq[rows] *= rule.iraq_weight(self, rows)
        w = np.broadcast_to(self.target_p, (self.M, self.R, 3)).copy()
        w[:, :, 0] *= iraq
        return w / w.sum(axis=-1, keepdims=True)

    def excited(self, excitation: np.ndarray, attacks: np.ndarray) -> np.ndarray:
        """Today's attacks trigger later ones: excitation decays and is topped up by b (1 - decay) per attack."""
        d = self.excitation_decay
        return excitation * d + self.self_excitation * (1.0 - d) * attacks

    # ----------------------------------------------------------------- records

    def record(self, t: int) -> None:
        bs, rec, gr = self.model.battlespace, self.model.records, self.records
        self.country_attacks[t] = bs.attacks_by_country.T
        rec["attacks_total"][t] = rowsum(bs.attacks_by_country)
        rec["groups_suspended"][t] = self.suspended.sum(axis=0)
        gr["attacks"][t] = fits(self.attacks_total, gr["attacks"].dtype, "attacks by one group in a day")
        gr["killed"][t] = fits(bs.killed_by_group.T, gr["killed"].dtype, "fighters of one group killed in a day")
        gr["suspended"][t] = self.suspended
        gr["stock"][t] = self.stock[0] + self.stock[1] + self.stock[2]


def build(model: mesa.Model) -> Militias:
    return Militias(model)
