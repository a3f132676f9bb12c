"""Two reference implementations of the model's daily rules, for benchmarks/bench_sweep.py.

* :func:`numpy_kernel`: the rules written once as flat numpy over (groups, replicates), the speed
  limit for this engine. Same rules and parameters as the model for the benchmark's policies
  (``restraint``, ``proportional``): Hawkes (self-exciting) counts by inverse-CDF uniforms, supply
  limit, stocks and Iranian resupply, tit-for-tat, deterred, Iran-following (with suspensions),
  umbrella-following, Iraq-pressured; (country, weapon) split; harm, fatality and injury draws
  (replayed U.S. deaths: the casualty events of the scenario); U.S. domestic pressure and blame;
  strikes split by blame, militia/IRGC losses and stocks destroyed; Iran's restraint, supply and war
  hazard; Iraq's pressure and withdrawal pressure; the ladder with memory; per-replicate summaries.
  Left out: the date-indexed ``historical`` policy, leader strikes, strikes aimed at one group and on
  Iran (none happen under these two policies), parameters varied per replicate, every daily and
  per-group record (only the summary outcomes are kept), Mesa agents, rule objects, and writing.
* :class:`ScalarModel`: what a Mesa user would write for the same rules: one replicate per model,
  Python floats, ``self.random``, one agent per group (the anchor a', run through batch_run). The
  kernel's rules, per replicate; it keeps no daily records either, but collects four model
  reporters each step with a DataCollector, as a Mesa model does.
"""

from __future__ import annotations

import math
from pathlib import Path

import mesa
import numpy as np

from model.drivers import EventKind, casualty_events, event_levels, series_on_days
from model.params import COUNTRIES, WEAPONS
from model.rules import make_rule
from model.sampling import decay_factor, poisson_inverse


def _militia_columns(sc, obedience: float | None):
    """Per-group parameter columns (M, 1) and behaviour parameters, from the scenario."""
    ms = sc.militias
    col = lambda f: np.array([[f(m)] for m in ms], dtype=float)  # noqa: E731
    beh = {n: make_rule("militia", n, ms[0].behaviours.get(n, {})).params for n in ms[0].behaviours}
    return {
        "base": col(lambda m: m.base_rate), "b": col(lambda m: m.self_excitation),
        "exc_decay": col(lambda m: decay_factor(m.excitation_half_life)), "ref": col(lambda m: m.stock_reference),
        "obed": col(lambda m: m.iran_obedience if obedience is None else obedience), "susc": col(lambda m: m.iraq_susceptibility),
        "target_p": np.array([np.array(m.target_weights.as_tuple()) / sum(m.target_weights.as_tuple()) for m in ms]),
        "mix": np.array([m.weapon_mix.as_tuple() for m in ms]), "cap": np.array([m.stock.as_tuple() for m in ms]),
    }, beh


def numpy_kernel(sc, R: int, seed: int = 0, policy: str = "proportional", obedience: float | None = None) -> dict[str, np.ndarray]:
    """The model's rules for one batch of R replicates (see the module docstring)."""
    g, beh = _militia_columns(sc, obedience)
    tft, det, fol, umb = beh["tit_for_tat"], beh["deterred"], beh["iran_following"], beh["umbrella_following"]
    days = sc.days
    T, M = len(days), len(sc.militias)
    gaza = series_on_days(sc.exogenous.gaza_intensity, days)
    events = event_levels(sc.exogenous.events, days)
    replayed = sc.attack_effects.us_deaths == "replayed"
    casualties = casualty_events(sc.exogenous.events, sc.start, T) if replayed else {}
    shorts = [m.short for m in sc.militias]
    fx, us, ir, iq, sfx = sc.attack_effects, sc.united_states, sc.iran, sc.iraq, sc.united_states.strike_effects
    p_harm = np.clip(np.outer(fx.defense.as_tuple(), fx.p_harm.as_tuple()), 0, 1).reshape(9)
    p_fatal = np.repeat(np.array(fx.p_fatal_given_harm.as_tuple()) * (0.0 if replayed else 1.0), 3)
    troops = np.repeat(np.array(us.posture.troops.as_tuple()), 3)
    pol = make_rule("us_policy", policy).params if policy != "restraint" else None
    rngs = [np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i,))) for i in range(7)]
    r_att, r_cell, r_sus, r_harm, r_str, r_iran = rngs[:6]
    d_tft, d_det, d_exc = decay_factor(tft.half_life), decay_factor(det.half_life), g["exc_decay"]
    d_press, d_blame = decay_factor(us.pressure_half_life), decay_factor(us.blame_half_life)
    d_rest, d_war = decay_factor(ir.restraint_half_life), decay_factor(ir.war_pressure_half_life)
    d_alarm, d_wd = decay_factor(iq.pressure_half_life), decay_factor(iq.withdrawal_half_life)
    prior = (g["base"][:, 0] / g["base"].sum())[None, :]  # (1, M)
    w = g["base"]  # umbrella weights (M, 1)

    stock = np.broadcast_to(g["cap"][:, None, :], (M, R, 3)).copy()
    exc, griev, fear = np.zeros((M, R)), np.zeros((M, R)), np.zeros((M, R))
    susp, susp_y = np.zeros((M, R), bool), np.zeros((M, R), bool)
    killed_y, targets_y = np.zeros((M, R)), np.zeros((M, R))
    blame, press = np.zeros((R, M)), np.zeros(R)
    restraint, supply, war_p, war = np.zeros(R), np.full(R, ir.supply_rate), np.zeros(R), np.zeros(R, bool)
    alarm, iq_press, withdrawal = np.zeros(R), np.full(R, iq.base_pressure), np.zeros(R)
    by_country_y = np.zeros((R, 3), np.int64)
    rungs = np.zeros((T, R), np.int8)
    tot = {k: np.zeros(R) for k in ("attacks", "injured", "killed", "strikes", "militia_killed", "irgc_killed")}
    first_death = np.full(R, -1)
    max_level = np.zeros(R, np.int8)
    for t in range(T):
        # militias: observe, then Hawkes counts
        griev = griev * d_tft + tft.per_killed * killed_y
        fear = fear * d_det + det.per_target * targets_y
        drive = g["obed"] * restraint + fol.iraq_weight * g["susc"] * iq_press
        hazard = 1 - np.exp(-fol.suspend_gain * np.maximum(drive - fol.suspend_threshold, 0))
        u = r_sus.random((M, R))
        susp = np.where(susp, u >= fol.resume_rate * (1 - restraint), u < hazard)
        held = w * susp_y
        share = (held.sum(0) - held) / (w.sum() - w)
        rate = ((1 - g["b"]) * g["base"] + exc) * gaza[t] * np.minimum(1, stock.sum(2) / g["ref"])
        rate *= (1 + tft.max_boost * (1 - np.exp(-griev))) * np.exp(-fear)
        rate *= np.where(susp, 0.0, 1 - g["obed"] * restraint) * (1 - umb.conformity * share) * (1 - g["susc"] * iq_press)
        n = poisson_inverse(r_att.random((M, R)), np.maximum(rate, 0))
        avail = g["mix"][:, None, :] * (stock >= 1)
        n = np.where(avail.any(2), n, 0)
        flat = n.reshape(-1)
        idx = np.flatnonzero(flat)
        owner = np.repeat(idx, flat[idx])
        cum = np.cumsum((g["target_p"][owner // R][:, :, None] * avail.reshape(-1, 3)[owner][:, None, :]).reshape(-1, 9), 1)
        cell = (r_cell.random(owner.size)[:, None] * cum[:, -1:] >= cum[:, :-1]).sum(1)
        cells = np.bincount((owner % R) * 9 + cell, minlength=R * 9).reshape(R, 9)
        used = np.bincount(owner * 3 + cell % 3, minlength=M * R * 3).reshape(M, R, 3)
        stock = np.minimum(np.maximum(stock - used, 0) + supply[:, None] * g["mix"][:, None, :], g["cap"][:, None, :])
        # the attacks land
        harmful = r_harm.binomial(cells, p_harm)
        fatal = r_harm.binomial(harmful, p_fatal)
        injured = np.minimum(r_harm.poisson(fx.injured_per_harm * harmful), troops).sum(1)
        killed = np.minimum(fatal + r_harm.poisson((fx.killed_per_fatal - 1) * fatal), troops).sum(1)
        by_country = cells.reshape(R, 3, 3).sum(2)
        by_group = n.T.copy()
        for ev in casualties.get(t, ()):
            by_country[:, COUNTRIES.index(ev.country)] += ev.attacks
            injured, killed = injured + ev.injured, killed + ev.killed
            if ev.group is not None:
                by_group[:, shorts.index(ev.group)] += ev.attacks
        exc = exc * d_exc + g["b"] * (1 - d_exc) * by_group.T
        # the United States
        press = press * d_press + us.pressure_per_killed * killed + us.pressure_per_injured * injured
        a = us.attribution_accuracy
        blame = blame * d_blame + a * by_group + (1 - a) * by_group.sum(1, keepdims=True) * prior
        if pol is None:
            syria = iraq = np.zeros(R, np.int64)
            irgc_share = 0.0
        else:
            tg = np.minimum(np.rint(by_country_y * pol.targets_per_attack), pol.max_targets).astype(np.int64)
            iraq = np.minimum(tg[:, 0] if pol.strike_in_iraq else 0 * tg[:, 0], pol.max_targets)
            syria = np.minimum(tg.sum(1) - iraq, pol.max_targets - iraq)
            irgc_share = pol.irgc_share
        by_country_y = by_country
        total = syria + iraq
        sh = np.where(blame.sum(1, keepdims=True) > 0, blame, prior)
        sh = sh / sh.sum(1, keepdims=True)
        per_group = np.stack([syria[:, None] * sh, iraq[:, None] * sh], axis=2)
        mk = r_str.poisson(per_group * sfx.militia_killed_per_target) if total.any() else np.zeros((R, M, 2), np.int64)
        irgc = r_str.poisson(total * irgc_share * sfx.irgc_killed_per_target) if total.any() else np.zeros(R, np.int64)
        targets = per_group.sum(2)
        stock *= np.power(1 - sfx.stock_destroyed_per_target, targets).T[:, :, None]
        killed_y, targets_y, susp_y = mk.sum(2).T.astype(float), targets.T, susp
        # Iran, Iraq
        risk = ir.restraint_per_us_killed * killed + ir.restraint_per_irgc_killed * irgc + ir.restraint_per_target * total
        restraint = restraint * d_rest
        restraint = np.maximum(restraint + (1 - restraint) * (1 - np.exp(-risk)), events[EventKind("iran_restraint")][t])
        supply = ir.supply_rate * (1 - restraint) * (1 - events[EventKind("supply_cut")][t])
        war_p = war_p * d_war + irgc
        war |= r_iran.random(R) < 1 - np.exp(-ir.war_hazard * war_p * (1 - restraint))
        alarm = alarm * d_alarm + iq.pressure_per_us_killed * killed
        iq_press = np.minimum(1, iq.base_pressure + alarm + events[EventKind("iraq_diplomacy")][t])
        withdrawal = withdrawal * d_wd + iq.withdrawal_per_iraq_target * iraq + iq.withdrawal_per_iraqi_killed * mk[:, :, 1].sum(1)
        # ladder and outcomes
        attacks = by_country.sum(1)
        rungs[t] = np.select([war, irgc > 0, killed > 0, iraq > 0, syria > 0, injured > 0, attacks > 0], [7, 6, 5, 4, 3, 2, 1], 0)
        max_level = np.maximum(max_level, rungs[max(0, t - sc.ladder.memory_days + 1) : t + 1].max(0))
        first_death = np.where((first_death < 0) & (killed > 0), t, first_death)
        for k, v in (("attacks", attacks), ("injured", injured), ("killed", killed), ("strikes", total),
                     ("militia_killed", mk.sum((1, 2))), ("irgc_killed", irgc)):
            tot[k] += v
    return {**tot, "max_escalation_level": max_level, "war": war, "first_us_death_day": first_death,
            "withdrawal": withdrawal}


# --------------------------------------------------------------------------- (a') a scalar Mesa model


def poisson(rng, lam: float) -> int:
    """Poisson draw by inverting the CDF at one uniform (as the engine does), in Python floats."""
    k, p = 0, math.exp(-lam)
    cdf, u = p, rng.random()
    while u > cdf and k < 200:
        k += 1
        p *= lam / k
        cdf += p
    return k


class ScalarMilitia(mesa.Agent):
    """One group, one replicate, Python floats: the same rules as the engine's militias."""

    def __init__(self, model: "ScalarModel", p, behaviours, index: int):
        super().__init__(model)
        self.p, self.b, self.index = p, behaviours, index
        self.excitation = self.grievance = self.fear = self.killed_y = self.targets_y = 0.0
        self.suspended = self.suspended_y = False
        self.attacks = 0
        self.stock = list(p.stock.as_tuple())
        self.capacity = list(p.stock.as_tuple())
        self.mix = list(p.weapon_mix.as_tuple())
        self.target_p = [x / sum(p.target_weights.as_tuple()) for x in p.target_weights.as_tuple()]
        self.d_exc = float(decay_factor(p.excitation_half_life))

    def step(self) -> None:
        m, p, b = self.model, self.p, self.b
        tft, det, fol, umb = b["tit_for_tat"], b["deterred"], b["iran_following"], b["umbrella_following"]
        self.grievance = self.grievance * m.d_tft + tft.per_killed * self.killed_y
        self.fear = self.fear * m.d_det + det.per_target * self.targets_y
        drive = p.iran_obedience * m.restraint + fol.iraq_weight * p.iraq_susceptibility * m.iraq_pressure
        hazard = 1 - math.exp(-fol.suspend_gain * max(drive - fol.suspend_threshold, 0.0))
        u = self.random.random()
        self.suspended = u >= fol.resume_rate * (1 - m.restraint) if self.suspended else u < hazard
        others = [g for g in m.groups if g is not self]
        weight = sum(g.p.base_rate for g in others)
        share = sum(g.p.base_rate for g in others if g.suspended_y) / weight if weight > 0 else 0.0
        rate = ((1 - p.self_excitation) * p.base_rate + self.excitation) * m.gaza[m.t]
        rate *= min(1.0, sum(self.stock) / p.stock_reference)
        rate *= 1 + tft.max_boost * (1 - math.exp(-self.grievance))
        rate *= math.exp(-self.fear) * (0.0 if self.suspended else 1 - p.iran_obedience * m.restraint)
        rate *= (1 - umb.conformity * share) * (1 - p.iraq_susceptibility * m.iraq_pressure)
        n = poisson(self.random, max(rate, 0.0))
        available = [w if s >= 1 else 0.0 for w, s in zip(self.mix, self.stock)]
        self.attacks = n if sum(available) > 0 else 0
        used = [0, 0, 0]
        for _ in range(self.attacks):
            c = self.random.choices(range(3), weights=self.target_p)[0]
            w = self.random.choices(range(3), weights=available)[0]
            m.cells[c][w] += 1
            used[w] += 1
        self.stock = [min(max(s - x, 0.0) + m.supply * mx, cap) for s, x, mx, cap in zip(self.stock, used, self.mix, self.capacity)]


class ScalarModel(mesa.Model):
    """The engine's rules for one replicate, as a Mesa tutorial would write them (policies ``restraint``
    and ``proportional``; replayed casualty events; a DataCollector every step)."""

    def __init__(self, scenario=None, policy: str = "proportional", seed: int = 0):
        super().__init__(seed=seed)
        sc = scenario
        self.sc, self.t, self.policy = sc, 0, policy
        self.gaza = [float(x) for x in series_on_days(sc.exogenous.gaza_intensity, sc.days)]
        self.events = {k: [float(x) for x in v] for k, v in event_levels(sc.exogenous.events, sc.days).items()}
        self.casualties = casualty_events(sc.exogenous.events, sc.start, len(sc.days)) if sc.attack_effects.us_deaths == "replayed" else {}
        beh = {n: make_rule("militia", n, sc.militias[0].behaviours.get(n, {})).params for n in sc.militias[0].behaviours}
        self.pol = make_rule("us_policy", policy).params if policy != "restraint" else None
        self.d_tft, self.d_det = float(decay_factor(beh["tit_for_tat"].half_life)), float(decay_factor(beh["deterred"].half_life))
        us, ir, iq = sc.united_states, sc.iran, sc.iraq
        self.d = {k: float(decay_factor(h)) for k, h in (("press", us.pressure_half_life), ("blame", us.blame_half_life),
                  ("rest", ir.restraint_half_life), ("war", ir.war_pressure_half_life), ("alarm", iq.pressure_half_life),
                  ("wd", iq.withdrawal_half_life))}
        self.groups = [ScalarMilitia(self, m, beh, i) for i, m in enumerate(sc.militias)]
        total = sum(m.base_rate for m in sc.militias)
        self.prior = [m.base_rate / total for m in sc.militias]
        self.restraint = self.war_pressure = self.alarm = self.withdrawal = self.us_pressure = 0.0
        self.iraq_pressure, self.supply = iq.base_pressure, ir.supply_rate
        self.war, self.attacks_total, self.injured_total, self.level = False, 0, 0, 0
        self.rungs: list[int] = []
        self.blame = [0.0] * len(self.groups)
        self.by_country_y = [0, 0, 0]
        fx = sc.attack_effects
        self.p_harm = [[min(1.0, h * d) for h in fx.p_harm.as_tuple()] for d in fx.defense.as_tuple()]
        self.troops = list(us.posture.troops.as_tuple())
        self.datacollector = mesa.DataCollector(
            model_reporters={"attacks": "attacks_total", "us_injured": "injured_total", "escalation_level": "level", "war": "war"}
        )

    def step(self) -> None:
        sc, fx, sfx, ir, iq, us = self.sc, self.sc.attack_effects, self.sc.united_states.strike_effects, self.sc.iran, self.sc.iraq, self.sc.united_states
        self.cells = [[0, 0, 0] for _ in range(3)]
        for g in self.groups:
            g.suspended_y = g.suspended
        for g in self.groups:
            g.step()
        injured = killed = 0
        for c in range(3):
            for w in range(3):
                for _ in range(self.cells[c][w]):
                    if self.random.random() < self.p_harm[c][w]:
                        injured += min(poisson(self.random, fx.injured_per_harm), self.troops[c])
        by_country = [sum(row) for row in self.cells]
        by_group = [g.attacks for g in self.groups]
        for ev in self.casualties.get(self.t, ()):
            by_country[COUNTRIES.index(ev.country)] += ev.attacks
            injured, killed = injured + ev.injured, killed + ev.killed
            if ev.group is not None:
                by_group[[g.p.short for g in self.groups].index(ev.group)] += ev.attacks
        for g, n in zip(self.groups, by_group):
            g.excitation = g.excitation * g.d_exc + g.p.self_excitation * (1 - g.d_exc) * n
        total = sum(by_group)
        self.us_pressure = self.us_pressure * self.d["press"] + us.pressure_per_killed * killed + us.pressure_per_injured * injured
        a = us.attribution_accuracy
        self.blame = [x * self.d["blame"] + a * n + (1 - a) * total * pr for x, n, pr in zip(self.blame, by_group, self.prior)]
        syria = iraq = 0
        if self.pol is not None:
            tg = [min(round(x * self.pol.targets_per_attack), self.pol.max_targets) for x in self.by_country_y]
            iraq = min(tg[0] if self.pol.strike_in_iraq else 0, self.pol.max_targets)
            syria = min(sum(tg) - iraq, self.pol.max_targets - iraq)
        self.by_country_y = by_country
        bsum = sum(self.blame)
        share = [x / bsum for x in self.blame] if bsum > 0 else self.prior
        irgc = iraqi = mk_total = 0
        for g, sh in zip(self.groups, share):
            g.targets_y = (syria + iraq) * sh
            ks, ki = poisson(self.random, syria * sh * sfx.militia_killed_per_target), poisson(self.random, iraq * sh * sfx.militia_killed_per_target)
            g.killed_y, iraqi, mk_total = float(ks + ki), iraqi + ki, mk_total + ks + ki
            g.stock = [s * (1 - sfx.stock_destroyed_per_target) ** g.targets_y for s in g.stock]
        if syria + iraq:
            irgc = poisson(self.random, (syria + iraq) * (self.pol.irgc_share if self.pol else 0) * sfx.irgc_killed_per_target)
        risk = ir.restraint_per_us_killed * killed + ir.restraint_per_irgc_killed * irgc + ir.restraint_per_target * (syria + iraq)
        self.restraint *= self.d["rest"]
        self.restraint = max(self.restraint + (1 - self.restraint) * (1 - math.exp(-risk)), self.events[EventKind("iran_restraint")][self.t])
        self.supply = ir.supply_rate * (1 - self.restraint) * (1 - self.events[EventKind("supply_cut")][self.t])
        self.war_pressure = self.war_pressure * self.d["war"] + irgc
        self.war = self.random.random() < 1 - math.exp(-ir.war_hazard * self.war_pressure * (1 - self.restraint)) or self.war
        self.alarm = self.alarm * self.d["alarm"] + iq.pressure_per_us_killed * killed
        self.iraq_pressure = min(1.0, iq.base_pressure + self.alarm + self.events[EventKind("iraq_diplomacy")][self.t])
        self.withdrawal = self.withdrawal * self.d["wd"] + iq.withdrawal_per_iraq_target * iraq + iq.withdrawal_per_iraqi_killed * iraqi
        attacks = sum(by_country)
        self.attacks_total += attacks
        self.injured_total += injured
        rung = 7 if self.war else 6 if irgc else 5 if killed else 4 if iraq else 3 if syria else 2 if injured else 1 if attacks else 0
        self.rungs.append(rung)
        self.level = max(self.rungs[-sc.ladder.memory_days :])
        self.t += 1
        self.datacollector.collect(self)
        if self.t >= len(self.gaza):
            self.running = False


def scenario_path() -> Path:
    return Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"
