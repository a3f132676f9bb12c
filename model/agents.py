"""The four kinds of agent. Each steps a whole batch of R replicates: state is numpy arrays of shape (R,).

With R = 1 they behave as ordinary Mesa agents; the arrays simply have one element.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from model.config import vec
from model.params import COUNTRIES, WEAPONS, MilitiaParams
from model.policies import StrikeOrder
from model.rules import make_rule
from model.sampling import decay_factor, poisson_inverse

if TYPE_CHECKING:
    from model.model import EscalationModel


def rowsum(a: np.ndarray) -> np.ndarray:
    """Sum over the last axis of an (R, 3) array; much faster than .sum(axis=1) for 3 columns."""
    return a[:, 0] + a[:, 1] + a[:, 2]


def column(x) -> np.ndarray:
    """A scalar or per-replicate parameter as a column, to broadcast against (R, k) arrays."""
    return np.asarray(x, dtype=float).reshape(-1, 1)


class Militia(mesa.Agent):
    """One armed group: decides how many attacks to launch each day, where, and with what.

    Attack rate = Gaza-war intensity x supply limit x the product of its behaviours' multipliers
    (tit-for-tat, deterred, Iran-following, umbrella-following, Iraq-pressured) x
    [(1 - b) x base rate + excitation]: a self-exciting (Hawkes) process in which each attack
    triggers on average b = ``self_excitation`` further attacks over the next days (exponential
    kernel), so that counts are over-dispersed and pauses linger (Lewis et al. 2012). Without
    behaviours and at full intensity the mean rate is the base rate.
    Attacks are claimed under the Islamic Resistance in Iraq umbrella (001), so the
    U.S. sees them by country, not by group.
    """

    def __init__(self, model: "EscalationModel", params: MilitiaParams, index: int, rng: np.random.Generator):
        super().__init__(model)
        R, prefix = model.R, f"militias.{index}"
        self.name, self.short, self.index, self.stream = params.name, params.short, index, rng
        self.p = model.overlay.view(prefix, params)
        self.iran_obedience = self.p.iran_obedience
        self.iraq_susceptibility = self.p.iraq_susceptibility
        targets = vec(self.p.target_weights, COUNTRIES)
        self.target_p = targets / targets.sum(axis=-1, keepdims=True)  # (3,) or (R, 3)
        self.mix = vec(self.p.weapon_mix, WEAPONS)
        self.capacity = np.broadcast_to(vec(self.p.stock, WEAPONS), (R, len(WEAPONS))).copy()
        self.stock = self.capacity.copy()  # (R, 3) attack-equivalents by weapon
        self.behaviours = [make_rule("militia", n, bp).bind(model, f"{prefix}.behaviours.{n}") for n, bp in params.behaviours.items()]
        self.excitation_decay = decay_factor(self.p.excitation_half_life)
        self.excitation = np.zeros(R)  # attacks/day triggered by the group's own past attacks
        self.grievance = np.zeros(R)
        self.fear = np.zeros(R)
        self.suspended = np.zeros(R, dtype=bool)
        self.killed_yesterday = np.zeros(R)
        self.targets_yesterday = np.zeros(R)
        self.leader_lost_yesterday = np.zeros(R)
        self.attacks = np.zeros((R, len(COUNTRIES), len(WEAPONS)), dtype=np.int64)
        self.attacks_total = np.zeros(R, dtype=np.int64)

    @property
    def R(self) -> int:
        return self.model.R

    def propensity(self) -> np.ndarray:
        """Expected attacks today, per replicate."""
        supply_limit = np.minimum(1.0, rowsum(self.stock) / self.p.stock_reference)
        rate = ((1.0 - self.p.self_excitation) * self.p.base_rate + self.excitation) * self.model.gaza_today * supply_limit
        for behaviour in self.behaviours:
            rate = rate * behaviour.multiplier(self)
        return np.maximum(rate, 0.0)

    def excite(self, attacks: np.ndarray) -> None:
        """Today's attacks trigger later ones: excitation decays and is topped up by b (1 - decay) per attack."""
        d = self.excitation_decay
        self.excitation = self.excitation * d + self.p.self_excitation * (1.0 - d) * attacks

    def step(self) -> None:
        for behaviour in self.behaviours:
            behaviour.observe(self)
        n = poisson_inverse(self.stream.random(self.R), self.propensity())
        available = self.mix * (self.stock >= 1.0)  # (R, 3): weapons the group still has
        n = np.where(rowsum(available) > 0, n, 0)
        cells = self._split(n, available)
        self.attacks = cells.reshape(self.R, len(COUNTRIES), len(WEAPONS))
        self.attacks_total = n
        used = cells[:, 0:3] + cells[:, 3:6] + cells[:, 6:9]  # by weapon, summed over countries
        self.stock = np.maximum(self.stock - used, 0.0)
        self.stock = np.minimum(self.stock + self.model.iran.supply[:, None] * self.mix, self.capacity)

    def _split(self, n: np.ndarray, available: np.ndarray) -> np.ndarray:
        """Assign each attack a (country, weapon) cell; returns counts (R, 9).

        Equivalent to a multinomial per replicate, but only attacks that happen cost a draw
        (most replicate-days have none), which is what keeps large batches fast.
        """
        rows = np.flatnonzero(n)
        if rows.size == 0:
            return np.zeros((self.R, 9), dtype=np.int64)
        owner = np.repeat(rows, n[rows])
        weapon_p = available[owner]
        target_p = self.target_p[owner] if self.target_p.ndim == 2 else self.target_p
        cum = np.cumsum((target_p[..., :, None] * weapon_p[:, None, :]).reshape(owner.size, 9), axis=1)
        cell = (self.stream.random(owner.size)[:, None] * cum[:, -1:] >= cum[:, :-1]).sum(axis=1)
        return np.bincount(owner * 9 + cell, minlength=self.R * 9).reshape(self.R, 9)


class UnitedStates(mesa.Agent):
    """Sees attacks and casualties, keeps a domestic-pressure account and an attribution of attacks
    to groups, and strikes back through its deterrence policy."""

    def __init__(self, model: "EscalationModel", rng: np.random.Generator):
        super().__init__(model)
        R, cfg = model.R, model.config.united_states
        self.stream = rng
        self.p = model.overlay.view("united_states", cfg)
        self.policy = make_rule("us_policy", cfg.policy.name, cfg.policy.params)
        self.policy.p = self.policy.params
        self.policy.reset(R, model)
        self.pressure_decay = decay_factor(self.p.pressure_half_life)
        self.blame_decay = decay_factor(self.p.blame_half_life)
        # prior attribution from the groups' base rates as this batch sees them (per replicate when
        # varied); uniform where every rate is zero
        rates = model.base_rates
        total = rates.sum(axis=1, keepdims=True)
        self.prior_share = np.where(total > 0, rates / np.where(total > 0, total, 1.0), 1.0 / rates.shape[1])  # (R, M)
        self.blame = np.zeros((R, len(model.militias)))
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

    def observe(self, injured: np.ndarray, killed: np.ndarray, by_group: np.ndarray) -> None:
        """Take in today's casualties and attribute today's attacks to groups (with uncertainty, 001)."""
        self.injured_today, self.killed_today = injured, killed
        self.injured_total = self.injured_total + injured
        self.killed_total = self.killed_total + killed
        self.pressure = self.pressure * self.pressure_decay + self.p.pressure_per_killed * killed + self.p.pressure_per_injured * injured
        total = by_group.sum(axis=1, keepdims=True)
        a = column(self.p.attribution_accuracy)
        self.blame = self.blame * column(self.blame_decay) + a * by_group + (1.0 - a) * total * self.prior_share

    def step(self) -> None:
        self.order = self.policy.decide(self)
        self.targets_today = self.order.total


class Iran(mesa.Agent):
    """IRGC-Quds Force: supplies the groups and signals restraint through its named rule."""

    def __init__(self, model: "EscalationModel", rng: np.random.Generator):
        super().__init__(model)
        R, cfg = model.R, model.config.iran
        self.stream = rng
        self.params = model.overlay.view("iran", cfg)
        self.rule = make_rule("iran", cfg.rule).bind(model, "iran.rule_params")
        self.decay = decay_factor(self.params.restraint_half_life)
        self.war_decay = decay_factor(self.params.war_pressure_half_life)
        self.war_pressure = np.zeros(R)  # decaying stock of IRGC losses (and strikes on Iran)
        self.restraint = np.zeros(R)
        self.supply = np.full(R, 0.0) + self.params.supply_rate
        self.strikes_us = np.zeros(R, dtype=bool)

    @property
    def R(self) -> int:
        return self.model.R

    def step(self) -> None:
        self.rule.step(self)


class IraqGovernment(mesa.Agent):
    """Baghdad: presses the groups to stop and accumulates pressure for a U.S. withdrawal."""

    def __init__(self, model: "EscalationModel"):
        super().__init__(model)
        R, cfg = model.R, model.config.iraq
        self.params = model.overlay.view("iraq", cfg)
        self.rule = make_rule("iraq", cfg.rule).bind(model, "iraq.rule_params")
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
