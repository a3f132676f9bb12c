"""The Houthis (Ansar Allah): an optional second theatre, the campaign against Red Sea shipping.

Off unless a scenario's ``houthis:`` section says ``enabled: true``; with it off nothing here is built, no random
number is drawn and the Iraq/Syria tables are bit-identical to a model without this module.

One actor, stepped once a day after the Iraq/Syria theatre's strikes have landed:

1. its behaviour rules observe yesterday's losses (targets struck on it by the U.S./UK);
2. it attacks: one Poisson count a day (its own random stream, a fixed number of uniforms a day, so counts
   stay paired across policies) from
   ``base_rate x [campaign started] x launcher limit x stock limit x product of its rules' multipliers``
   (``gaza_solidarity``: the Gaza driver; ``iran_deference``: Iran's restraint, weighted by its own
   ``iran_obedience``, far below the Iraqi groups'; ``strike_response``: signed, deters or provokes); each
   attack is on a merchant ship (the CENTCOM running-count unit) or on a U.S./coalition warship;
3. the United States answers in this theatre with the SAME policy class as in Iraq/Syria (a second instance
   of ``united_states.policy``, reading Houthi attacks through :class:`RedSeaFront`); under ``historical`` it
   replays the dated U.S./UK strikes of ``houthis.strikes`` (inputs from the observed Red Sea data, passed in
   by the scenario layer: ``strikes: observed``);
4. the strikes land: each target struck removes launchers and stock; launchers are rebuilt at a
   regeneration rate (an assumption with a range).

Iran's side is one-way: Iran's restraint (driven by the Iraq/Syria theatre) reaches the Houthis through
``iran_obedience``; strikes in Yemen do not feed Iran's restraint or war pressure (assumption: the sources
report no IRGC losses in Yemen, and 'Iran has often deferred operational decision-making authority to the
Houthis', shared/data/red_sea_events.csv, Times of Israel, 2023-12-22). So with the Houthis on, the
Iraq/Syria theatre's numbers are unchanged.

Sources: 000 on whether Iran's allies can be deterred (the Houthis were struck and 'have not been'); rows of
shared/data/red_sea_events.csv cited as "red_sea_events.csv, <outlet>, <date>".
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import mesa
import numpy as np
from pydantic import Field

from model.actors.united_states import PolicySpec
from model.batch import StrikeOrder
from model.columns import Column
from model.params import Strict, sourced
from model.policies import POLICIES, Historical
from model.rule import Rule, classify, make
from model.sampling import decay_factor, poisson_inverse
from model.streams import ModelStream

if TYPE_CHECKING:
    pass

DATA = "shared/data/red_sea_events.csv"
FIELD = "houthis"  # its scenario section
OPTIONAL = True  # off unless houthis.enabled


# --------------------------------------------------------------------------- parameters


class YemenStrike(Strict):
    """One dated U.S./UK strike in Yemen (an input: replayed under the ``historical`` policy)."""

    date: dt.date
    targets: int = Field(ge=1, le=10_000, description="targets struck")
    kind: Literal["wave", "dynamic"] = Field("wave", description="a joint U.S./UK wave, or a 'dynamic' (self-defence) strike")
    source: str = Field("assumption", description="the data row (id) and its outlet")


class HouthiParams(Strict):
    """The Houthis' campaign against shipping. Every number cites a source or is marked an assumption."""

    enabled: bool = Field(False, description="run the Houthi actor (the Red Sea theatre); off by default")
    campaign_start: dt.date = sourced(
        dt.date(2023, 11, 19),
        f"{DATA}, CENTCOM via NewsX, 2023-12-31: 'the 23rd attack by the Houthis on international shipping since "
        "November 19' (the Galaxy Leader seizure); earlier launches were 'potentially toward targets in Israel' (ABC, 2023-10-20)",
        ge=dt.date(1900, 1, 1), le=dt.date(2200, 12, 31),
        description="first day of attacks on shipping",
    )
    base_rate: float = sourced(
        0.7,
        f"{DATA}: CENTCOM's running count, 27 attacks from Nov 19 to Jan 11 (CNN, 2024-01-12: 'since November 19th, "
        "27 as of today'): 27 attacks on merchant ships in ~48 days at the Gaza driver's full level (the truce Nov 24 - "
        "Dec 1 at 0.1) is ~0.57/day, over merchant_share 0.8 ~0.7/day of all attacks; prior for calibration log-uniform "
        "[0.2, 1.5] (assumption)",
        ge=0, le=100,
        description="attacks a day (merchant ships and warships) at full Gaza intensity, full launchers and no restraint",
    )
    merchant_share: float = sourced(
        0.8,
        f"{DATA}: the Jan 9 'complex attack' aimed at merchant ships and U.S. warships (The National, 2024-01-10); "
        "share of attacks on merchant ships is an assumption (prior [0.6, 0.95])",
        ge=0, le=1,
        description="share of attacks aimed at a merchant ship (counted by CENTCOM); the rest at U.S./coalition warships",
    )
    iran_obedience: float = sourced(
        0.1,
        f"000: Iran's allies; the Houthis were struck and 'have not been' deterred, while the Iraqi groups stopped after "
        f"Qaani's intervention; {DATA}, Times of Israel, 2023-12-22 (White House): 'Iran has often deferred operational "
        "decision-making authority to the Houthis', 'We have no reason to believe that Iran is trying to dissuade the "
        "Houthis'; RFE/RL, Jan 2024: 'fairly independent', 'will actually probably go beyond what the Iranians want'. "
        "Value assumption, well below the Iraqi groups' 0.4-0.7 (prior [0, 0.4])",
        ge=0, le=1,
        description="how strongly Iran's restraint lowers the Houthis' attacks and can make them suspend (distinct from the militias')",
    )
    launchers: float = sourced(
        100.0,
        f"{DATA}: after the first wave (more than 60 targets) the Houthis 'retain about 75% of their ability to launch' "
        "(BNN, 2024-01-13) and 'degraded ... by roughly 20-30 percent' (Politico, 2024-01-16): with launchers_per_target "
        "0.4, 60 targets remove ~24 of 100. Units: launcher-equivalents (assumption)",
        gt=0, le=1e5,
        description="launchers and launch sites at the start",
    )
    launchers_per_target: float = sourced(
        0.4,
        f"{DATA}, Reuters via BusinessLIVE, 2024-01-24: strikes Jan 11 - 23 'destroyed or degraded more than 25 missile "
        "launch and deployment facilities' (~75 targets replayed in that span: ~0.33); 'retain about 75%' after 60 "
        "targets: ~0.4. Prior [0.1, 1.0] (assumption)",
        ge=0, le=100,
        description="launchers removed per target struck",
    )
    regeneration_rate: float = sourced(
        0.03,
        "assumption: the Houthis rebuild and move launchers (mobile launchers, Iranian supply by sea: the Jan 11 dhow "
        f"interdiction, {DATA}); share of lost launchers restored per day, prior [0, 0.1] (no rebuilding to half "
        "restored in a week)",
        ge=0, le=1,
        description="share of the launchers lost that are rebuilt per day",
    )
    stock: float = sourced(
        400.0,
        f"assumption: the Houthis claim '183 missiles and drones' launched at Israel by Feb 22 on top of the shipping "
        f"campaign ({DATA}, Al-Ahed, 2024-02-22), so stocks of several hundred",
        ge=0, le=1e6,
        description="missiles, drones and boats at the start, in attack-equivalents",
    )
    stock_reference: float = sourced(50.0, "assumption", gt=0, le=1e6,
                                     description="stock at or above which attacks are not supply-limited")
    stock_per_target: float = sourced(
        0.5,
        f"{DATA}: 'more than 20 missiles' destroyed Jan 11 - 23 (~0.3 per target); dynamic strikes each hit missiles "
        "'preparing to launch' (Jan 16: 4, Jan 24: 2, Feb 14: 7 ASCM); value assumption",
        ge=0, le=100,
        description="attack-equivalents of stock destroyed per target struck",
    )
    supply_rate: float = sourced(
        1.0,
        f"assumption: local production and Iranian deliveries by sea ({DATA}: the dhow carrying Iranian weapons, Jan 11)",
        ge=0, le=1000,
        description="attack-equivalents added to the stock per day",
    )
    behaviours: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {"gaza_solidarity": {}, "iran_deference": {}, "strike_response": {}},
        description="named Houthi rules (kind 'houthi', model.rules) with parameter overrides; combined multiplicatively",
    )
    policy: PolicySpec | None = Field(
        None, description="the U.S. policy in this theatre (default: the same as united_states.policy, same rule class)")
    strikes: list[YemenStrike] | Literal["observed"] = Field(
        default_factory=list,
        description="dated U.S./UK strikes in Yemen replayed under the historical policy; a scenario writes "
                    "'strikes: observed' for the input rows of the observed Red Sea data")


Params = HouthiParams
default_params = HouthiParams


def rule_specs(section: HouthiParams):
    """(path within the section, rule kind, name, parameters) of every named rule the section uses (none while off)."""
    if not section.enabled:
        return
    for name, params in section.behaviours.items():
        yield ("behaviours", name), "houthi", name, params
    if section.policy is not None:
        yield ("policy",), "us_policy", section.policy.name, section.policy.params


def check(section: HouthiParams) -> list[tuple[tuple[Any, ...], str]]:
    """A setting in a section that is off would be accepted and change nothing: refused by name."""
    if section.enabled:
        return []
    default = HouthiParams()  # (a section read back from a dump has every field set: compare values, not fields set)
    return [((name,), "has no effect while the Houthis are off; set houthis.enabled: true")
            for name in HouthiParams.model_fields if name != "enabled" and getattr(section, name) != getattr(default, name)]


def float_paths(section: HouthiParams) -> set[str]:
    """Every float parameter of the section and of its rules, as dotted paths (what a posterior, a sweep or a
    calibration may vary per replicate); none while off (an actor that is off has nothing to vary)."""
    if not section.enabled:
        return set()
    out = {f"{FIELD}.{f}" for f, field in HouthiParams.model_fields.items() if field.annotation is float}
    for name, params in section.behaviours.items():
        rule = make(RULE_CLASSES, "houthi", name, params)
        out |= {f"{FIELD}.behaviours.{name}.{f}" for f, field in type(rule.params).model_fields.items()
                if field.annotation is float}
    return out


# --------------------------------------------------------------------------- rules


class HouthiRule(Rule):
    """A Houthi behaviour: ``observe(h)`` updates its memory, ``multiplier(h)`` scales the attack rate;
    ``h`` is the :class:`Houthis` agent (arrays of shape (R,))."""

    kind: ClassVar[str] = "houthi"

    def observe(self, h: "Houthis") -> None:
        """Update the rule's memory from yesterday."""

    def multiplier(self, h: "Houthis") -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class GazaSolidarity(HouthiRule):
    """Attacks rise and fall with the fighting in Gaza (the shared Gaza driver).

    The Houthis declared their attacks a blockade for Gaza: 'vowed to attack any Israeli ship' (Nov 14) and
    'declared all ships heading to Israel as legitimate targets' (Dec 9).
    """

    name = "gaza_solidarity"
    source = (f"{DATA}: Smart Economy (Al Jazeera/Xinhua), 2023-11-15: 'vowed to attack any Israeli ship sailing in the "
              "Red Sea'; maritimeindia.org, Dec 2023: 'declared all ships heading to Israel as legitimate targets'")
    classifier = classify("gaza_driver")

    def multiplier(self, h):
        return np.full(h.R, h.model.gaza_today)


class IranDeference(HouthiRule):
    """Iran's restraint lowers the Houthis' attacks in proportion to their own (weak) obedience, and can make
    them suspend: the same mechanism as the Iraqi groups' ``iran_following`` with a different obedience.

    000: the Iraqi groups stopped after Qaani's intervention, the Houthis 'have not been' deterred;
    red_sea_events.csv (White House, 2023-12-22): 'Iran has often deferred operational decision-making
    authority to the Houthis'.
    """

    name = "iran_deference"
    source = (f"000: the Iraqi groups stopped after Qaani's intervention, the Houthis 'have not been' deterred; {DATA}, "
              "Times of Israel, 2023-12-22: 'Iran has often deferred operational decision-making authority to the Houthis'")
    classifier = classify("iran_restraint", stochastic=True)

    class Params(Strict):
        suspend_threshold: float = sourced(0.25, "assumption: as the Iraqi groups' iran_following", ge=0, le=1)
        suspend_gain: float = sourced(4.0, "assumption: as the Iraqi groups' iran_following", ge=0, le=100)
        resume_rate: float = sourced(0.01, "assumption: as the Iraqi groups' iran_following", ge=0, le=1,
                                     description="daily chance a suspended campaign resumes at zero restraint")

    def observe(self, h):
        p, restraint = self.p, h.model.iran.restraint
        hazard = 1.0 - np.exp(-p.suspend_gain * np.maximum(h.iran_obedience * restraint - p.suspend_threshold, 0.0))
        u = h.suspension_draws()
        h.suspended = np.where(h.suspended, u >= p.resume_rate * (1.0 - restraint), u < hazard)

    def multiplier(self, h):
        return np.where(h.suspended, 0.0, 1.0 - h.iran_obedience * h.model.iran.restraint)


class HouthiStrikeResponse(HouthiRule):
    """U.S./UK strikes on the Houthis move their attacks either way (deterrence or provocation), as the Iraqi
    groups' ``strike_response``: a signed stock S topped up by ``per_target`` per target struck, decaying with
    ``half_life``; multiplier exp(-S) for S >= 0, 1 + max_boost (1 - exp(S)) for S < 0.

    000: the Houthis were struck almost daily and 'have not been' deterred; red_sea_events.csv: attacks
    went on after the waves (57 'since November' by Feb 23, Washington Post).
    """

    name = "strike_response"
    source = ("000: struck almost daily, the Houthis 'have not been' deterred; literature on both signs: Abrahams et al. "
              "(2020); Haushofer et al. (2010); Dell & Querubin (2018)")
    classifier = classify("own_losses")

    class Params(Strict):
        per_target: float = sourced(
            0.0, "default 0 = no net effect beyond the launchers lost (Abrahams et al. 2020); prior [-0.05, 0.05] "
                 "(a 36-target wave moving attacks by up to a factor of ~6 either way; assumption)",
            ge=-1, le=1, description="signed response per target struck on the Houthis: > 0 deters, < 0 provokes")
        max_boost: float = sourced(1.0, "assumption: provocation at most doubles the attack rate (as the militias')", ge=0, le=10)
        half_life: float = sourced(30.0, "assumption", gt=0, le=3650, description="days")

    def reset(self, replicates, model):
        self.decay = decay_factor(self.p.half_life)

    def observe(self, h):
        h.resolve = h.resolve * self.decay + self.p.per_target * h.targets_yesterday

    def multiplier(self, h):
        s = h.resolve
        return np.where(s >= 0, np.exp(-np.maximum(s, 0.0)), 1.0 + self.p.max_boost * (1.0 - np.exp(np.minimum(s, 0.0))))


# the registry's Houthi rules (model/rules.py), in the order the documentation lists them
HOUTHI_RULES: tuple[type[HouthiRule], ...] = (GazaSolidarity, IranDeference, HouthiStrikeResponse)
RULES = HOUTHI_RULES
RULE_CLASSES = {cls.name: cls for cls in RULES}


# --------------------------------------------------------------------------- columns

DAILY: tuple[Column, ...] = (
    Column("ships_attacked", np.int32, "count", "Houthi attacks on commercial shipping, in the unit of the Pentagon/CENTCOM "
           "running count since Nov 19, 2023 (experiments/scenario/data/observed_red_sea.yaml, `definition`)", "attacks",
           "Ships attacked (Red Sea)"),
    Column("warship_attacks", np.int32, "count", "Houthi attacks on U.S./coalition warships", "attacks", "Attacks on warships (Red Sea)"),
    Column("us_strikes_yemen", np.int32, "count", "targets struck by U.S./UK strikes in Yemen (waves and dynamic strikes)", "targets",
           "U.S./UK strike targets in Yemen"),
    Column("houthi_launchers", np.float32, "state", "Houthi launchers left (launcher-equivalents)", "launchers"),
    Column("houthi_stock", np.float32, "state", "Houthi missiles, drones and boats in stock", "attack-equivalents"),
)
# (their run totals are in the summary table with every other count column, with these labels: model/outputs.py)


# --------------------------------------------------------------------------- the U.S. in this theatre


class RedSeaFront:
    """What a U.S. policy reads, for the Red Sea theatre: the same interface as the ``UnitedStates`` agent
    (``R``, ``day``, ``window``, ``attacks_on_day``, casualties, ``blame``), so the same policy classes decide here.

    Attacks are Houthi attacks (merchant ships and warships); they are reported in the second of the three
    country columns (not Iraq), so a policy's Iraq share does not apply. No U.S. personnel were killed or
    injured by Houthi attacks in the data (to Feb 29, 2024): casualties read zero, so tiers triggered by U.S.
    deaths (graduated's heavy tier, red_line) never fire here.
    """

    def __init__(self, houthis: "Houthis"):
        self.houthis, self.model = houthis, houthis.model
        R = houthis.R
        self.killed_today = self.injured_today = self.killed_total = self.injured_total = np.zeros(R, dtype=np.int64)
        self.pressure = np.zeros(R)
        self.blame = np.ones((R, 1))

    @property
    def R(self) -> int:
        return self.houthis.R

    @property
    def day(self) -> int:
        return self.model.day

    def window(self, column: str, days: int) -> np.ndarray:
        t = self.model.day
        return self.houthis.attacks[max(0, t - days + 1) : t + 1].sum(axis=0)

    def attacks_on_day(self, day: int) -> np.ndarray:
        out = np.zeros((self.R, 3), dtype=np.int64)
        if day >= 0:
            out[:, 1] = self.houthis.attacks[day]
        return out


# --------------------------------------------------------------------------- the agent


class Houthis(mesa.Agent):
    """The Houthis' state per replicate (arrays of shape (R,)): launchers, stock, the strike-response stock,
    suspension; it records the theatre's ``DAILY`` columns into ``model.records``."""

    def __init__(self, model: mesa.Model):
        super().__init__(model)
        R, T = model.R, model.n_days
        params = model.config.houthis
        self.stream = model.streams[ModelStream.HOUTHIS]  # its own stream: the others' draws do not move
        self.p = model.overlay.view(FIELD, params)
        self.rules = [make(RULE_CLASSES, "houthi", n, bp).bind(model, f"{FIELD}.behaviours.{n}") for n, bp in params.behaviours.items()]
        # the U.S. policy it faces: a second instance of the same rule class as in Iraq/Syria (or houthis.policy)
        spec = params.policy or model.config.united_states.policy
        policy = make({cls.name: cls for cls in POLICIES}, "us_policy", spec.name, spec.params)
        self.start_day = (params.campaign_start - model.start).days
        self.launchers0 = np.zeros(R) + self.p.launchers
        self.launchers = self.launchers0.copy()
        self.stock_cap = np.zeros(R) + self.p.stock
        self.stock = self.stock_cap.copy()
        self.iran_obedience = np.zeros(R) + self.p.iran_obedience
        self.suspended = np.zeros(R, dtype=bool)
        self.resolve = np.zeros(R)
        self.targets_yesterday = np.zeros(R)
        self.front = RedSeaFront(self)
        self.replay = isinstance(policy, Historical)
        self.policy = None if self.replay else policy.bind(model)  # a lever: never varied per replicate
        self.by_day: dict[int, int] = {}
        if params.strikes == "observed":  # the model reads no files
            raise ValueError("houthis.strikes: 'observed' is read from the observed Red Sea data by the scenario layer "
                             "(experiments.scenario.schema.replay_inputs); a ModelConfig needs the list of strikes")
        for s in params.strikes:
            d = (s.date - model.start).days
            if 0 <= d < T:
                self.by_day[d] = self.by_day.get(d, 0) + s.targets
        self.attacks = np.zeros((T, R), dtype=np.int64)  # all attacks (what the U.S. sees in this theatre)
        self.merchant = np.zeros(R, dtype=np.int64)
        self.targets = np.zeros(R, dtype=np.int64)

    @property
    def R(self) -> int:
        return self.model.R

    def suspension_draws(self) -> np.ndarray:
        return self.stream.random(self.R)

    def propensity(self) -> np.ndarray:
        p = self.p
        if self.model.day < self.start_day:
            return np.zeros(self.R)
        rate = p.base_rate * np.minimum(1.0, self.launchers / self.launchers0) * np.minimum(1.0, self.stock / p.stock_reference)
        for rule in self.rules:
            rate = rate * rule.multiplier(self)
        return np.maximum(rate, 0.0)

    def step(self) -> None:
        """One day in the Red Sea: observe, attack, the U.S. decides, the strikes land, record."""
        t, p, R = self.model.day, self.p, self.R
        for rule in self.rules:
            rule.observe(self)
        u = self.stream.random((2, R))  # a fixed number of uniforms a day: counts stay paired across policies
        n = np.minimum(poisson_inverse(u[0], self.propensity()), np.floor(self.stock).astype(np.int64))
        merchant = _binomial_inverse(u[1], n, p.merchant_share)
        self.attacks[t] = n
        self.stock = np.minimum(self.stock - n + p.supply_rate, self.stock_cap)
        targets = self._decide()
        lost = self.launchers0 - self.launchers
        self.launchers = np.maximum(self.launchers - p.launchers_per_target * targets, 0.0) + p.regeneration_rate * lost
        self.launchers = np.minimum(self.launchers, self.launchers0)
        self.stock = np.maximum(self.stock - p.stock_per_target * targets, 0.0)
        self.targets_yesterday = targets.astype(float)
        self.merchant, self.targets = merchant, targets

    def record(self, t: int) -> None:
        rec = self.model.records
        rec["ships_attacked"][t] = self.merchant
        rec["warship_attacks"][t] = self.attacks[t] - self.merchant
        rec["us_strikes_yemen"][t] = self.targets
        rec["houthi_launchers"][t] = self.launchers
        rec["houthi_stock"][t] = self.stock

    def _decide(self) -> np.ndarray:
        """Targets the U.S./UK strike in Yemen today (R,): the replayed strikes, or the policy's order."""
        if self.replay:
            return np.full(self.R, self.by_day.get(self.model.day, 0), dtype=np.int64)
        order: StrikeOrder = self.policy.decide(self.front)
        return order.total + (order.leader >= 0) * (order.total == 0)  # a leader strike with no targets is one target



def build(model: mesa.Model) -> Houthis:
    return Houthis(model)


def _binomial_inverse(u: np.ndarray, n: np.ndarray, p: float | np.ndarray) -> np.ndarray:
    """Binomial(n, p) quantile at uniforms ``u`` (one uniform per draw, so the stream's use is fixed)."""
    from scipy.stats import binom

    n = np.asarray(n)
    out = binom.ppf(u, n, np.broadcast_to(p, n.shape)).astype(np.int64)
    return np.clip(out, 0, n)
