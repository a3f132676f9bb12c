"""The four kinds of agent. Each steps a whole batch of R replicates: state is numpy arrays of shape (R,).

With R = 1 they behave as ordinary Mesa agents; the arrays simply have one element.
"""

from __future__ import annotations

import mesa
import numpy as np

from model.batch import StrikeOrder, column, stack_rows, vec
from model.params import COUNTRIES, WEAPONS, MilitiaParams
from model.rule import Rule
from model.sampling import decay_factor, poisson_inverse
from model.streams import ModelStream


# The groups' state lives in (M, R) arrays (group x replicate) stepped together; parameters are per-group
# columns, (M, 1) when every replicate shares them or (M, R) when a batch varies them. Per-weapon arrays
# (stock, capacity, weapon mix) are weapon-major, (3, M, R), so sums over weapons are two additions.
# A Militia agent (and a GroupRows selection of several groups) reads and writes its rows of these arrays.
GROUP_STATE = ("excitation", "grievance", "fear", "exposure", "suspended", "killed_yesterday", "targets_yesterday",
               "leader_lost_yesterday", "attacks_total")
GROUP_PARAMS = ("base_rate", "self_excitation", "stock_reference", "iran_obedience", "iraq_susceptibility")


class _Rows:
    """An attribute backed by rows of one of the militia arrays: reading gives the rows (a view for one
    group or all of them), writing stores into them (a per-group parameter column becomes per-replicate
    when a single group's value is set per replicate)."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return getattr(obj.arrays, self.name)[obj.rows]

    def __set__(self, obj, value) -> None:
        arrays = obj.arrays
        arr = getattr(arrays, self.name)
        value = np.asarray(value)
        row_shape = arr[obj.rows].shape
        if arr.shape[1] == 1 and np.broadcast_shapes(value.shape, row_shape) != row_shape:
            arr = np.repeat(arr, arrays.R, axis=1)
            setattr(arrays, self.name, arr)
        arr[obj.rows] = value


class GroupView:
    """Attributes every behaviour rule reads: rows of the militia arrays. A :class:`Militia` is one row
    (arrays of shape (R,)); a :class:`GroupRows` is several (shape (G, R)); rules are written once for both."""

    arrays: "MilitiaArrays"
    rows: int | slice | np.ndarray

    @property
    def R(self) -> int:
        return self.arrays.R

    @property
    def index(self):
        """Group number(s) of these rows."""
        return self.rows

    def suspension_draws(self) -> np.ndarray:
        """Uniforms for today's suspension decisions, one per group and replicate."""
        shape = np.broadcast_shapes(self.arrays.suspended[self.rows].shape)
        return self.arrays.streams[ModelStream.SUSPENSIONS].random(shape)


for _name in GROUP_STATE + GROUP_PARAMS:  # one row attribute per array: militia.grievance, militia.base_rate, ...
    setattr(GroupView, _name, _Rows(_name))


class GroupRows(GroupView):
    """Several groups seen as one batch (the groups that follow one behaviour)."""

    def __init__(self, arrays: "MilitiaArrays", rows: slice | np.ndarray):
        self.arrays, self.rows, self.model = arrays, rows, arrays.model


class Militia(GroupView, mesa.Agent):
    """One armed group: decides how many attacks to launch each day, where, and with what.

    Attack rate = Gaza-war intensity x supply limit x the product of its behaviours' multipliers
    (tit-for-tat, strike response, Iran-following, umbrella-following, Iraq-pressured) x
    [(1 - b) x base rate + excitation]: a self-exciting (Hawkes) process in which each attack
    triggers on average b = ``self_excitation`` further attacks over the next days (exponential
    kernel), so that counts are over-dispersed and pauses linger (Lewis et al. 2012). Without
    behaviours and at full intensity the mean rate is the base rate.
    Attacks are claimed under the Islamic Resistance in Iraq umbrella (001), so the
    U.S. sees them by country, not by group.

    All groups step together (:class:`MilitiaArrays`); this agent is the group's row of those arrays:
    ``militia.grievance`` is an (R,) view, and setting it writes the row.
    """

    def __init__(self, model: mesa.Model, params: MilitiaParams, index: int, arrays: "MilitiaArrays", behaviours: list[Rule]):
        super().__init__(model)
        self.name, self.short, self.arrays, self.rows = params.name, params.short, arrays, index
        self.p = model.overlay.view(f"militias.{index}", params)
        self.behaviours = [rule.bind(model, f"militias.{index}.behaviours.{rule.name}") for rule in behaviours]

    @property
    def stock(self) -> np.ndarray:
        """Weapons stock (R, 3) in attack-equivalents (a view of the weapon-major arrays)."""
        return self.arrays.stock[:, self.rows].T

    @stock.setter
    def stock(self, value) -> None:
        self.arrays.stock[:, self.rows] = np.asarray(value, dtype=float).T

    def propensity(self) -> np.ndarray:
        """Expected attacks today, per replicate."""
        return self.arrays.propensity()[self.rows]

    def excite(self, attacks: np.ndarray) -> None:
        self.excitation = self.arrays.excited(self.excitation, attacks, self.rows)


class MilitiaArrays:
    """All groups' state as (M, R) arrays, stepped together (one Python pass per day, not one per group).

    Each behaviour steps the groups that follow it at once (:meth:`MilitiaBehaviour.for_groups`), with
    its parameters stacked per group; a group without a behaviour simply gets no multiplier from it.
    Draws: one uniform per group and replicate a day for the attack counts (``attacks`` stream, so
    counts stay paired across policies), one per attack for its (country, weapon) cell (``targets``),
    one per group and replicate for suspensions (``suspensions``).
    """

    def __init__(self, model: mesa.Model, params: list[MilitiaParams], streams: dict[ModelStream, np.random.Generator],
                 behaviours: list[list[Rule]]):
        """``behaviours``: each group's (unbound) behaviour rules, in the order of ``params``."""
        self.model, self.R, self.M, self.streams = model, model.R, len(params), streams
        R, M = self.R, self.M
        self.militias = [Militia(model, mp, i, self, rules) for i, (mp, rules) in enumerate(zip(params, behaviours))]
        views = [m.p for m in self.militias]
        for name in GROUP_PARAMS:
            setattr(self, name, stack_rows([getattr(v, name) for v in views], R))
        self.excitation_decay = stack_rows([decay_factor(v.excitation_half_life) for v in views], R)
        targets = stack_rows([vec(v.target_weights, COUNTRIES) for v in views], R, len(COUNTRIES))
        self.target_p = targets / targets.sum(axis=-1, keepdims=True)  # (M, 1|R, 3)
        self.mix = np.moveaxis(stack_rows([vec(v.weapon_mix, WEAPONS) for v in views], R, len(WEAPONS)), 2, 0)  # (3, M, 1|R)
        capacity = np.moveaxis(stack_rows([vec(v.stock, WEAPONS) for v in views], R, len(WEAPONS)), 2, 0)
        self.capacity = np.ascontiguousarray(np.broadcast_to(capacity, (len(WEAPONS), M, R)))
        self.stock = self.capacity.copy()  # (3, M, R) attack-equivalents by weapon
        for name in GROUP_STATE:
            setattr(self, name, np.zeros((M, R), dtype={"suspended": bool, "attacks_total": np.int64}.get(name, float)))
        self.cells = np.zeros((R, len(COUNTRIES) * len(WEAPONS)), dtype=np.int64)  # today's attacks by (country, weapon)
        self.rules = self._batch_rules()

    def _batch_rules(self) -> list[tuple[Rule, GroupRows]]:
        """One batched rule per behaviour, over the groups that follow it (in first-seen order)."""
        by_name: dict[str, list[int]] = {}
        for m in self.militias:
            for rule in m.behaviours:
                by_name.setdefault(rule.name, []).append(m.rows)
        out = []
        for name, idx in by_name.items():
            rules = [next(r for r in self.militias[i].behaviours if r.name == name) for i in idx]
            rows = slice(None) if idx == list(range(self.M)) else np.array(idx)
            out.append((type(rules[0]).for_groups(rules, self.model), GroupRows(self, rows)))
        return out

    def propensity(self) -> np.ndarray:
        """Expected attacks today, (M, R)."""
        s = self.stock
        supply_limit = np.minimum(1.0, (s[0] + s[1] + s[2]) / self.stock_reference)
        rate = (1.0 - self.self_excitation) * self.base_rate + self.excitation
        rate *= self.model.gaza_today * supply_limit
        for rule, rows in self.rules:
            if isinstance(rows.rows, slice):
                rate *= rule.multiplier(rows)
            else:
                rate[rows.rows] *= rule.multiplier(rows)
        return np.maximum(rate, 0.0)

    def step(self) -> None:
        for rule, rows in self.rules:
            rule.observe(rows)
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
            iraq[rows.rows] *= rule.iraq_weight(rows)
        w = np.broadcast_to(self.target_p, (self.M, self.R, 3)).copy()
        w[:, :, 0] *= iraq
        return w / w.sum(axis=-1, keepdims=True)

    def excited(self, excitation: np.ndarray, attacks: np.ndarray, rows=slice(None)) -> np.ndarray:
        """Today's attacks trigger later ones: excitation decays and is topped up by b (1 - decay) per attack."""
        d = self.excitation_decay[rows]
        return excitation * d + self.self_excitation[rows] * (1.0 - d) * attacks

    def excite(self) -> None:
        self.excitation = self.excited(self.excitation, self.attacks_total)


class UnitedStates(mesa.Agent):
    """Sees attacks and casualties, keeps a domestic-pressure account and an attribution of attacks
    to groups, and strikes back through its deterrence policy."""

    def __init__(self, model: mesa.Model, rng: np.random.Generator, policy: Rule):
        super().__init__(model)
        R, cfg = model.R, model.config.united_states
        self.stream = rng
        self.p = model.overlay.view("united_states", cfg)
        self.policy = policy.bind(model)  # a lever: its parameters are never varied per replicate
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

    def __init__(self, model: mesa.Model, rng: np.random.Generator, rule: Rule):
        super().__init__(model)
        R, cfg = model.R, model.config.iran
        self.stream = rng
        self.params = model.overlay.view("iran", cfg)
        self.rule = rule.bind(model)  # the rule reads Iran's parameters (self.params); it has none of its own
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

    def __init__(self, model: mesa.Model, rule: Rule):
        super().__init__(model)
        R, cfg = model.R, model.config.iraq
        self.params = model.overlay.view("iraq", cfg)
        self.rule = rule.bind(model)  # the rule reads Iraq's parameters (self.params); it has none of its own
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
