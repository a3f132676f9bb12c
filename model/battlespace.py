"""The battlespace: where attacks and strikes land.

The militias' attacks become U.S. injured and killed (capped by the troops in each country), with the
replayed casualty events (e.g. Tower 22) added when U.S. deaths are replayed; the U.S. strikes become
militia, IRGC and leader losses and destroyed stocks. The actors step (``model/actors/``); this module
resolves what their actions do to each other, and records the losses (``DAILY``). Its parameters are the
scenario's ``attack_effects`` (:class:`AttackEffects`) and ``united_states.strike_effects``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from model.batch import StrikeOrder, column, first_true, vec
from model.columns import Column
from model.drivers import casualty_events
from model.params import COUNTRIES, WEAPONS, PerCountry, PerCountryProbability, PerWeaponProbability, Strict, sourced
from model.sampling import poisson_where_positive
from model.streams import ModelStream

FIELD = "attack_effects"


class AttackEffects(Strict):
    """What an attack does to U.S. forces, by weapon and by country."""

    us_deaths: Literal["endogenous", "replayed"] = sourced(
        "endogenous",
        "design: 'replayed' conditions a historical run on the reported U.S. deaths (exogenous.events of kind "
        "us_casualties, e.g. Tower 22 on Jan 28 2024, 003) the way the historical policy conditions it on the "
        "reported strikes; 'endogenous' (counterfactuals) lets attacks kill with p_fatal_given_harm",
        description="where U.S. deaths come from: drawn from attacks, or replayed from dated casualty events",
    )

    p_harm: PerWeaponProbability = sourced(
        PerWeaponProbability(drone=0.06, rocket=0.04, missile=0.2),
        "004: 'in most cases there were no injuries and only minor damage'; values assumption, tuned to "
        "'at least 60 U.S. personnel have reported minor injuries' (004) after 61 attacks",
        description="probability that an attack injures or kills anyone",
    )
    defense: PerCountry = sourced(
        PerCountry(iraq=1.0, syria=1.0, jordan=2.5),
        "assumption: Tower 22 (000, 003) is a small outpost; the only U.S. deaths in the sources were there",
        description="multiplier on p_harm by country (force protection)",
    )
    injured_per_harm: float = sourced(
        12.0,
        "004: 'at least 60 U.S. personnel have reported minor injuries', most 'in the initial attacks between "
        "Oct. 17 and 21'; 003: Tower 22 'killed three US soldiers and injured 40 others'",
        gt=0, le=1000,
        description="mean U.S. injured per harmful attack (Poisson)",
    )
    p_fatal_given_harm: PerCountryProbability = sourced(
        PerCountryProbability(iraq=0.01, syria=0.01, jordan=0.4),
        "Iraq/Syria: no U.S. death in the 78 attacks to Dec 7 2023 (shared/data/pentagon_tallies.csv, Rudaw, "
        "2023-12-07; 004: one contractor 'suffered a cardiac arrest', not an attack death) nor, by 000, in 'more "
        "than 165 attacks' to Feb 6 2024 except Tower 22; Jordan: 000: 'a cross-border drone strike killed three "
        "American soldiers in Jordan'. Values assumption; they matter only with endogenous deaths (counterfactuals)",
        description="probability that a harmful attack kills U.S. personnel",
    )
    killed_per_fatal: float = sourced(
        3.0,
        "003: Tower 22 attack 'killed three US soldiers'",
        ge=1, le=1000,
        description="mean U.S. killed in a fatal attack (at least one)",
    )


DAILY: tuple[Column, ...] = (
    Column("us_injured", np.int32, "count", "U.S. personnel injured", "persons"),
    Column("us_killed", np.int32, "count", "U.S. personnel killed", "persons"),
    Column("militia_killed", np.int32, "count", "militia fighters killed by U.S. strikes", "persons"),
    Column("irgc_killed", np.int32, "count", "IRGC personnel killed by U.S. strikes", "persons"),
    Column("leaders_killed", np.int32, "count", "militia leaders killed by U.S. strikes", "persons"),
)

SUMMARY: tuple[Column, ...] = (
    Column("first_us_death_date", "datetime64[ns]", "state", "date of the first U.S. death (null if none)"),
)


def summary(model) -> dict[str, np.ndarray]:
    """The day of the first U.S. death (-1: none); the summary shows it as ``first_us_death_date``."""
    return {"first_us_death_day": first_true(model.records["us_killed"][: model.day] > 0)}


class Battlespace:
    """Resolves the day's attacks (:meth:`land_attacks`) and strikes (:meth:`land_strikes`) for R replicates.

    After them, today's outcomes are plain arrays: ``injured``, ``killed`` (R,), ``by_group`` (R, M) attacks by
    group, ``attacks_by_country`` (R, 3); ``killed_by_group`` (R, M), ``irgc_killed_today``,
    ``iraqi_killed_today`` and ``leaders_killed`` (R,).
    """

    def __init__(self, model):
        cfg, R = model.config, model.R
        self.model, self.R = model, R
        self.streams = model.streams
        replayed = cfg.attack_effects.us_deaths == "replayed"
        self.casualties = casualty_events(cfg.exogenous.events, model.start, model.n_days) if replayed else {}
        self.shorts = [m.short for m in cfg.militias]
        for events in self.casualties.values():
            for ev in events:
                if ev.group is not None and ev.group not in self.shorts:
                    raise ValueError(f"casualty event {ev.name!r}: no militia with short name {ev.group!r}; expected one of {self.shorts}")
        fx = model.overlay.view("attack_effects", cfg.attack_effects)
        self.p_harm = np.clip(vec(fx.p_harm, WEAPONS)[..., None, :] * vec(fx.defense, COUNTRIES)[..., :, None], 0.0, 1.0)
        # with replayed U.S. deaths, attacks injure but never kill: deaths come from the dated casualty events
        self.p_fatal = vec(fx.p_fatal_given_harm, COUNTRIES)[..., :, None] * (0.0 if replayed else 1.0)  # (3,1) or (R,3,1)
        self.injured_per_harm, self.killed_per_fatal = fx.injured_per_harm, fx.killed_per_fatal
        self.troops = np.array(cfg.united_states.posture.troops.as_tuple())
        self.strike_fx = model.overlay.view("united_states.strike_effects", cfg.united_states.strike_effects)
        M = len(cfg.militias)
        self.injured = np.zeros(R, dtype=np.int64)
        self.killed = np.zeros(R, dtype=np.int64)
        self.attacks_by_country = np.zeros((R, len(COUNTRIES)), dtype=np.int64)
        self.by_group = np.zeros((R, M), dtype=np.int64)
        self.irgc_killed_today = np.zeros(R, dtype=np.int64)
        self.iraqi_killed_today = np.zeros(R, dtype=np.int64)
        self.leaders_killed = np.zeros(R, dtype=np.int64)
        self.killed_by_group = np.zeros((R, M), dtype=np.int64)
        self._quiet = False  # yesterday had no strikes (its losses are zeros already)

    # ----------------------------------------------------------------- attacks

    def land_attacks(self, groups) -> None:
        """U.S. casualties from today's attacks; and attacks by group.

        Draws are made only for (replicate, country, weapon) cells that saw attacks, and
        only for harmful attacks after that, so quiet replicate-days cost nothing.
        """
        R = self.R
        cells = groups.cells  # (R, country x weapon)
        self.by_group = by_group = groups.attacks_total.T  # (R, M), a view: replayed attacks land in the groups' arrays
        self.attacks_by_country = cells.reshape(R, 3, 3).sum(axis=2)
        injured = np.zeros(R, dtype=np.int64)
        killed = np.zeros(R, dtype=np.int64)
        rows, cols = np.nonzero(cells)
        if rows.size:
            rng = self.streams[ModelStream.HARM]
            p_harm = self.p_harm.reshape(-1, 9)
            harmful = rng.binomial(cells[rows, cols], p_harm[rows if p_harm.shape[0] > 1 else 0, cols])
            hit = harmful > 0
            if hit.any():
                rows, country, harmful = rows[hit], cols[hit] // 3, harmful[hit]
                p_fatal = self.p_fatal.reshape(-1, 3)
                fatal = rng.binomial(harmful, p_fatal[rows if p_fatal.shape[0] > 1 else 0, country])
                inj_rate = np.broadcast_to(np.asarray(self.injured_per_harm, dtype=float), (R,))[rows]
                extra_rate = np.broadcast_to(np.asarray(self.killed_per_fatal, dtype=float) - 1.0, (R,))[rows]
                inj = rng.poisson(inj_rate * harmful)
                kil = fatal + rng.poisson(extra_rate * fatal)
                injured, killed = self._cap_by_country(rows, country, inj, kil)
        self._replay_casualties(injured, killed, by_group)
        self.injured, self.killed = injured, killed

    def _cap_by_country(self, rows: np.ndarray, country: np.ndarray, inj: np.ndarray, kil: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Today's U.S. injured and killed per replicate, capped per (country, day) by the troops there:
        the drone, rocket and missile cells of one country share its force, so a day's casualties in a
        country never exceed the troops in it (killed first, then injured from those left)."""
        R, C = self.R, len(COUNTRIES)
        key = rows * C + country
        kil_c = np.bincount(key, weights=kil, minlength=R * C).reshape(R, C)
        inj_c = np.bincount(key, weights=inj, minlength=R * C).reshape(R, C)
        kil_c = np.minimum(kil_c, self.troops)
        inj_c = np.minimum(inj_c, self.troops - kil_c)
        return inj_c.sum(axis=1).astype(np.int64), kil_c.sum(axis=1).astype(np.int64)

    def _replay_casualties(self, injured: np.ndarray, killed: np.ndarray, by_group: np.ndarray) -> None:
        """Add today's replayed casualty events (inputs): their attacks, injured and killed, in every replicate."""
        for ev in self.casualties.get(self.model.day, ()):
            c = COUNTRIES.index(ev.country)
            self.attacks_by_country[:, c] += ev.attacks
            injured += ev.injured
            killed += ev.killed
            if ev.group is not None:
                by_group[:, self.shorts.index(ev.group)] += ev.attacks

    # ----------------------------------------------------------------- strikes

    def land_strikes(self, order: StrikeOrder) -> None:
        """Allocate targets to groups by U.S. blame; draw militia, IRGC and leader losses."""
        model = self.model
        g, us = model.groups, model.us
        R, M = self.R, g.M
        if not order.total.any() and not (order.leader >= 0).any():  # a day without strikes anywhere: no losses
            if not self._quiet:  # (after a quiet day everything below is zero already)
                g.killed_yesterday, g.targets_yesterday, g.leader_lost_yesterday = (np.zeros((M, R)) for _ in range(3))
                self.irgc_killed_today, self.iraqi_killed_today, self.leaders_killed = (np.zeros(R, dtype=np.int64) for _ in range(3))
                self.killed_by_group = np.zeros((R, M), dtype=np.int64)
                self._quiet = True
            return
        self._quiet = False
        fx = self.strike_fx
        blame = us.blame
        share = np.where(blame.sum(axis=1, keepdims=True) > 0, blame, us.prior_share)
        share = share / share.sum(axis=1, keepdims=True)
        aimed = order.group >= 0  # strikes aimed at one named group (replayed strikes on Kata'ib Hezbollah sites)
        if aimed.any():
            share = share.copy()
            share[aimed] = 0.0
            share[np.flatnonzero(aimed), order.group[aimed]] = 1.0
        has_leader = order.leader >= 0
        leader_onehot = np.zeros((R, M))
        leader_onehot[np.flatnonzero(has_leader), order.leader[has_leader]] = 1.0
        iraq_general = order.iraq - has_leader  # the leader strike is one of the Iraq targets
        per_group = np.stack([order.syria[:, None] * share, iraq_general[:, None] * share + leader_onehot], axis=2)
        self.irgc_killed_today = np.zeros(R, dtype=np.int64)
        self.iraqi_killed_today = np.zeros(R, dtype=np.int64)
        leaders = np.zeros(R, dtype=bool)
        killed = np.zeros((R, M), dtype=np.int64)
        if order.total.any():
            rng = self.streams[ModelStream.STRIKES]
            killed_by_country = poisson_where_positive(rng, per_group * column(fx.militia_killed_per_target)[..., None])  # (R, M, 2)
            killed = killed_by_country[:, :, 0] + killed_by_country[:, :, 1]
            self.iraqi_killed_today = killed_by_country[:, :, 1].sum(axis=1)
            self.irgc_killed_today = poisson_where_positive(rng, order.total * order.irgc_share * fx.irgc_killed_per_target)
            leaders = has_leader & (rng.random(R) < fx.p_leader_killed)
        targets = per_group[:, :, 0] + per_group[:, :, 1]
        struck = targets > 0
        remaining = np.ones((R, M))  # share of each group's stock left (only struck groups lose any)
        remaining[struck] = np.power(np.broadcast_to(1.0 - column(fx.stock_destroyed_per_target), (R, M))[struck], targets[struck])
        g.stock = g.stock * remaining.T
        g.killed_yesterday = killed.T.astype(float)
        g.targets_yesterday = targets.T
        g.leader_lost_yesterday = (leaders & (order.leader == np.arange(M)[:, None])).astype(float)
        self.killed_by_group = killed
        self.leaders_killed = leaders.astype(np.int64)

    def record(self, t: int) -> None:
        rec = self.model.records
        rec["us_injured"][t] = self.injured
        rec["us_killed"][t] = self.killed
        rec["militia_killed"][t] = self.killed_by_group.sum(axis=1)
        rec["irgc_killed"][t] = self.irgc_killed_today
        rec["leaders_killed"][t] = self.leaders_killed
