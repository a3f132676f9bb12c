"""EscalationModel: one Mesa model stepping R independent replicates with the same parameters.

A day (one ``step``):
1. militias observe yesterday's losses, then attack (one Poisson count per group from its
   self-exciting rate, split by country and weapon);
2. the attacks land: U.S. injured and killed (the battlespace); replayed casualty events
   (e.g. Tower 22) add their attack and casualties when U.S. deaths are replayed;
3. the United States takes in the casualties, attributes the attacks and decides strikes;
4. the strikes land: militia and IRGC losses, stocks destroyed, leaders killed;
5. Iran updates its restraint and supply and may strike U.S. forces directly;
6. Iraq's government updates its pressure on the groups and its pressure for withdrawal;
7. the escalation ladder is read and the day is recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import mesa
import numpy as np
import pandas as pd

from model.agents import Iran, IraqGovernment, MilitiaArrays, UnitedStates
from model.batch import column, rowsum, vec
from model.config import ModelConfig, ParamOverlay
from model.drivers import EventKind, casualty_events, event_levels, series_on_days
from model.ladder import EscalationLevel, daily_rung
from model.outputs import COUNT_COLUMNS, DAILY_COLUMNS, DTYPES, GROUP_COLUMNS, QUIET_DAYS
from model.params import COUNTRIES, WEAPONS
from model.rules import make_rule
from model.sampling import poisson_where_positive
from model.streams import ModelStream, block_generators


def _today(column: str):
    return lambda m: m.records[column][m.day - 1, 0].item()


def _so_far(column: str):
    return lambda m: m.records[column][: m.day, 0].sum().item()


# what the DataCollector records each day at R = 1 (names as in the daily and summary tables)
R1_REPORTERS = {
    "date": lambda m: m.dates[m.day - 1].isoformat(),
    **{c: _today(c) for c in ("attacks_total", "us_strikes_syria", "us_strikes_iraq", "us_injured", "us_killed",
                                "escalation_level", "war")},
    **{f"cumulative_{c}": _so_far(c) for c in ("attacks_total", "us_killed")},
}


class EscalationModel(mesa.Model):
    """Batched escalation model. ``replicates`` copies share parameters, each with its own randomness.

    ``varying`` maps dotted float-parameter paths (see ``model.config.float_paths``) to arrays of
    shape (replicates,), so one batch can carry many parameter draws (used by calibration).
    ``block`` and ``replicate_offset`` place this batch inside a larger run: block b always draws
    the same random streams from ``seed``, whatever process runs it.
    """

    def __init__(
        self,
        config: ModelConfig | None = None,
        *,
        replicates: int = 1,
        seed: int | None = 0,
        block: int = 0,
        replicate_offset: int = 0,
        varying: dict[str, Any] | None = None,
        rng: Any = None,
    ):
        # Mesa's own keyword (mesa.batch_run passes ``rng``, or ``seed=None`` for a fresh one): a whole number is
        # the seed; a Generator or None gives one (the model's streams are keyed by a whole-number seed)
        if rng is not None or seed is None:
            seed = int(rng) if isinstance(rng, (int, np.integer)) else int(np.random.default_rng(rng).integers(2**31))
        super().__init__(rng=seed)  # Mesa >= 3.5 deprecates seed= in favour of rng=
        if replicates < 1:
            raise ValueError("replicates must be at least 1")
        self.config = config if config is not None else ModelConfig()
        self.R = replicates
        self.seed, self.block, self.replicate_offset = seed, block, replicate_offset
        self.overlay = ParamOverlay(self.config, replicates, varying)
        self.dates: list[dt.date] = self.config.days
        self.start, self.n_days = self.config.start, len(self.dates)
        self.day = 0
        self.gaza = series_on_days(self.config.exogenous.gaza_intensity, self.dates)
        self.events = event_levels(self.config.exogenous.events, self.dates)

        self.streams = block_generators(seed, block)

        # Iran and Iraq first: the militias read their state when they step.
        cfg = self.config
        self.iran = Iran(self, self.streams[ModelStream.IRAN], make_rule("iran", cfg.iran.rule))
        self.iraq = IraqGovernment(self, make_rule("iraq", cfg.iraq.rule))
        # all groups' state as (M, R) arrays stepped together; model.militias[i] is group i's agent (its row)
        behaviours = [[make_rule("militia", n, bp) for n, bp in m.behaviours.items()] for m in cfg.militias]
        self.groups = MilitiaArrays(self, cfg.militias, self.streams, behaviours)
        self.militias = self.groups.militias
        # the groups' base rates as this batch sees them (per replicate when varied): (R, M)
        self.base_rates = np.broadcast_to(self.groups.base_rate, (len(self.militias), replicates)).T
        policy = cfg.united_states.policy
        self.us = UnitedStates(self, self.streams[ModelStream.US], make_rule("us_policy", policy.name, policy.params))
        replayed = self.config.attack_effects.us_deaths == "replayed"
        self.casualties = casualty_events(self.config.exogenous.events, self.start, self.n_days) if replayed else {}
        shorts = [m.short for m in self.militias]
        for events in self.casualties.values():
            for ev in events:
                if ev.group is not None and ev.group not in shorts:
                    raise ValueError(f"casualty event {ev.name!r}: no militia with short name {ev.group!r}; expected one of {shorts}")

        fx = self.overlay.view("attack_effects", self.config.attack_effects)
        self._p_harm = np.clip(vec(fx.p_harm, WEAPONS)[..., None, :] * vec(fx.defense, COUNTRIES)[..., :, None], 0.0, 1.0)
        # with replayed U.S. deaths, attacks injure but never kill: deaths come from the dated casualty events
        self._p_fatal = vec(fx.p_fatal_given_harm, COUNTRIES)[..., :, None] * (0.0 if replayed else 1.0)  # (3,1) or (R,3,1)
        self._injured_per_harm, self._killed_per_fatal = fx.injured_per_harm, fx.killed_per_fatal
        self._troops = np.array(self.config.united_states.posture.troops.as_tuple())
        self._strike_fx = self.overlay.view("united_states.strike_effects", self.config.united_states.strike_effects)

        T, R, M = self.n_days, replicates, len(self.militias)
        # Compact dtypes (model/outputs.py): recording is memory-bound (first-touch page faults dominate at large R).
        self.records = {c: np.zeros((T, R), dtype=DTYPES["daily"][c]) for c in DAILY_COLUMNS}
        # attacks by country in one (T, 3, R) block, so a day is recorded in one assignment; the
        # per-country records are views onto it
        self._country_attacks = np.zeros((T, len(COUNTRIES), R), dtype=DTYPES["daily"]["attacks_iraq"])
        for i, c in enumerate(COUNTRIES):
            self.records[f"attacks_{c}"] = self._country_attacks[:, i, :]
        self.group_records = {c: np.zeros((T, M, R), dtype=DTYPES["groups"][c]) for c in GROUP_COLUMNS}
        self._rungs = np.zeros((T, R), dtype=np.int8)
        self.war = np.zeros(R, dtype=bool)
        self.irgc_killed_today = np.zeros(R, dtype=np.int64)
        self.iraqi_killed_today = np.zeros(R, dtype=np.int64)
        self._quiet = False  # yesterday had no strikes (its losses are zeros already)
        self.houthis = self._houthis() if cfg.houthis is not None and cfg.houthis.enabled else None  # the optional Red Sea theatre
        self.running = True
        # an ordinary Mesa model at R = 1: a DataCollector of the day's numbers (what mesa.batch_run reads);
        # batched runs record into the arrays above instead
        self.datacollector = mesa.DataCollector(model_reporters=R1_REPORTERS) if replicates == 1 else None

    # ----------------------------------------------------------------- drivers

    @property
    def date(self) -> dt.date:
        return self.dates[min(self.day, self.n_days - 1)]

    @property
    def gaza_today(self) -> float:
        return float(self.gaza[self.day])

    def event_today(self, kind: str | EventKind) -> float:
        return float(self.events[EventKind(kind)][self.day])

    def suspended_share(self, index) -> np.ndarray:
        """Share of the other groups' base-rate weight that was suspended yesterday: (R,) for one group
        index, (G, R) for several (an index array or slice)."""
        w = np.broadcast_to(self.groups.base_rate, (len(self.militias), self.R))
        shape = w[index].shape
        if self.day == 0:
            return np.zeros(shape)
        held = w * self.group_records["suspended"][self.day - 1]  # (M, R)
        others_held = held.sum(axis=0) - held[index]
        others = w.sum(axis=0) - w[index]
        return np.where(others > 0, np.clip(others_held, 0.0, None) / np.where(others > 0, others, 1.0), 0.0)

    # ----------------------------------------------------------------- the day

    def step(self) -> None:
        if self.day >= self.n_days:
            self.running = False
            return
        if self.config.iraq_syria:
            self.groups.step()
            injured, killed, by_group = self._resolve_attacks()
            self.groups.excite()
            self.us.observe(injured, killed, by_group)
            self.us.step()
            self._resolve_strikes(self.us.order)
        else:  # the Red Sea theatre alone: nothing happens in Iraq, Syria or Jordan
            injured = killed = np.zeros(self.R, dtype=np.int64)
            self._attacks_by_country = np.zeros((self.R, len(COUNTRIES)), dtype=np.int64)
            self._resolve_strikes(self.us.order)
        if self.houthis is not None:
            self.houthis.step()
        self.iran.step()
        self.iraq.step()
        self.war = self.war | self.iran.strikes_us
        self._record(injured, killed)
        self.day += 1
        if self.datacollector is not None:
            self.datacollector.collect(self)
        if self.day >= self.n_days:
            self.running = False
            # Mesa keeps a class-level id counter per model (mesa.Agent._ids), which keeps every model
            # alive; this one creates no more agents, so let it go (a million-replicate run builds 1,000 models)
            getattr(mesa.Agent, "_ids", {}).pop(self, None)  # (Mesa 3.5 keeps no such counter)

    def run(self) -> "EscalationModel":
        """Step to the end date."""
        while self.running:
            self.step()
        return self

    def _resolve_attacks(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """U.S. casualties from today's attacks; and attacks by group.

        Draws are made only for (replicate, country, weapon) cells that saw attacks, and
        only for harmful attacks after that, so quiet replicate-days cost nothing.
        """
        R = self.R
        cells = self.groups.cells  # (R, country x weapon)
        by_group = self.groups.attacks_total.T  # (R, M), a view: replayed attacks land in the groups' arrays
        self._attacks_by_country = cells.reshape(R, 3, 3).sum(axis=2)
        injured = np.zeros(R, dtype=np.int64)
        killed = np.zeros(R, dtype=np.int64)
        rows, cols = np.nonzero(cells)
        if rows.size == 0:
            self._replay_casualties(injured, killed, by_group)
            return injured, killed, by_group
        rng = self.streams[ModelStream.HARM]
        p_harm = self._p_harm.reshape(-1, 9)
        harmful = rng.binomial(cells[rows, cols], p_harm[rows if p_harm.shape[0] > 1 else 0, cols])
        hit = harmful > 0
        if hit.any():
            rows, country, harmful = rows[hit], cols[hit] // 3, harmful[hit]
            p_fatal = self._p_fatal.reshape(-1, 3)
            fatal = rng.binomial(harmful, p_fatal[rows if p_fatal.shape[0] > 1 else 0, country])
            inj_rate = np.broadcast_to(np.asarray(self._injured_per_harm, dtype=float), (R,))[rows]
            extra_rate = np.broadcast_to(np.asarray(self._killed_per_fatal, dtype=float) - 1.0, (R,))[rows]
            inj = rng.poisson(inj_rate * harmful)
            kil = fatal + rng.poisson(extra_rate * fatal)
            injured, killed = self._cap_by_country(rows, country, inj, kil)
        self._replay_casualties(injured, killed, by_group)
        return injured, killed, by_group

    def _cap_by_country(self, rows: np.ndarray, country: np.ndarray, inj: np.ndarray, kil: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Today's U.S. injured and killed per replicate, capped per (country, day) by the troops there:
        the drone, rocket and missile cells of one country share its force, so a day's casualties in a
        country never exceed the troops in it (killed first, then injured from those left)."""
        R, C = self.R, len(COUNTRIES)
        key = rows * C + country
        kil_c = np.bincount(key, weights=kil, minlength=R * C).reshape(R, C)
        inj_c = np.bincount(key, weights=inj, minlength=R * C).reshape(R, C)
        kil_c = np.minimum(kil_c, self._troops)
        inj_c = np.minimum(inj_c, self._troops - kil_c)
        return inj_c.sum(axis=1).astype(np.int64), kil_c.sum(axis=1).astype(np.int64)

    def _replay_casualties(self, injured: np.ndarray, killed: np.ndarray, by_group: np.ndarray) -> None:
        """Add today's replayed casualty events (inputs): their attacks, injured and killed, in every replicate."""
        for ev in self.casualties.get(self.day, ()):
            c = COUNTRIES.index(ev.country)
            self._attacks_by_country[:, c] += ev.attacks
            injured += ev.injured
            killed += ev.killed
            if ev.group is not None:
                by_group[:, [m.short for m in self.militias].index(ev.group)] += ev.attacks

    def _resolve_strikes(self, order) -> None:
        """Allocate targets to groups by U.S. blame; draw militia, IRGC and leader losses."""
        R, M = self.R, len(self.militias)
        if not order.total.any() and not (order.leader >= 0).any():  # a day without strikes anywhere: no losses
            if not self._quiet:  # (after a quiet day everything below is zero already)
                g = self.groups
                g.killed_yesterday, g.targets_yesterday, g.leader_lost_yesterday = (np.zeros((M, R)) for _ in range(3))
                self.irgc_killed_today, self.iraqi_killed_today, self._leaders_killed = (np.zeros(R, dtype=np.int64) for _ in range(3))
                self._killed_by_group = np.zeros((R, M), dtype=np.int64)
                self._quiet = True
            return
        self._quiet = False
        fx = self._strike_fx
        blame = self.us.blame
        share = np.where(blame.sum(axis=1, keepdims=True) > 0, blame, self.us.prior_share)
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
        g = self.groups
        g.stock = g.stock * remaining.T
        g.killed_yesterday = killed.T.astype(float)
        g.targets_yesterday = targets.T
        g.leader_lost_yesterday = (leaders & (order.leader == np.arange(M)[:, None])).astype(float)
        self._killed_by_group = killed
        self._leaders_killed = leaders.astype(np.int64)

    def _record(self, injured: np.ndarray, killed: np.ndarray) -> None:
        t, rec, order = self.day, self.records, self.us.order
        self._country_attacks[t] = self._attacks_by_country.T
        rec["attacks_total"][t] = rowsum(self._attacks_by_country)
        rec["us_strikes_syria"][t] = order.syria
        rec["us_strikes_iraq"][t] = order.iraq
        rec["us_injured"][t] = injured
        rec["us_killed"][t] = killed
        rec["militia_killed"][t] = self._killed_by_group.sum(axis=1)
        rec["irgc_killed"][t] = self.irgc_killed_today
        rec["leaders_killed"][t] = self._leaders_killed
        rec["war"][t] = self.war
        rec["iraq_withdrawal_pressure"][t] = self.iraq.withdrawal
        rec["iraq_pressure"][t] = self.iraq.pressure
        rec["iran_restraint"][t] = self.iran.restraint
        rec["us_domestic_pressure"][t] = self.us.pressure
        irgc_killed = self.irgc_killed_today > 0
        self._rungs[t] = daily_rung(rec["attacks_total"][t], injured, killed, order.syria, order.iraq, irgc_killed, self.war)
        memory = self.config.ladder.memory_days
        level = self._rungs[max(0, t - memory + 1) : t + 1].max(axis=0)
        rec["escalation_level"][t] = np.where(self.war, EscalationLevel.DIRECT_EXCHANGE, level)
        gr, g = self.group_records, self.groups
        gr["attacks"][t] = _fits(g.attacks_total, DTYPES["groups"]["attacks"], "attacks by one group in a day")
        gr["killed"][t] = _fits(self._killed_by_group.T, DTYPES["groups"]["killed"], "fighters of one group killed in a day")
        gr["suspended"][t] = g.suspended
        gr["stock"][t] = g.stock[0] + g.stock[1] + g.stock[2]
        rec["groups_suspended"][t] = g.suspended.sum(axis=0)

    def _houthis(self):
        """The Houthi actor (model/actors/houthis.py), with the U.S. policy it faces: a second instance of the
        same rule class as in Iraq/Syria (or ``houthis.policy`` when the scenario names one)."""
        from model.actors.houthis import Houthis

        h = self.config.houthis
        spec = h.policy or self.config.united_states.policy
        rules = [make_rule("houthi", n, bp) for n, bp in h.behaviours.items()]
        return Houthis(self, h, self.streams[ModelStream.HOUTHIS], rules, make_rule("us_policy", spec.name, spec.params))

    # ----------------------------------------------------------------- outputs

    def summary_arrays(self) -> dict[str, np.ndarray]:
        """Per-replicate outcomes over the days stepped so far (arrays of shape (R,))."""
        T = self.day
        rec = {c: v[:T] for c, v in self.records.items()}
        out: dict[str, np.ndarray] = {c: rec[c].sum(axis=0) for c in COUNT_COLUMNS}
        out["max_escalation_level"] = rec["escalation_level"].max(axis=0) if T else np.zeros(self.R, dtype=np.int64)
        out["mean_escalation_level"] = rec["escalation_level"].mean(axis=0) if T else np.zeros(self.R)
        out["first_us_death_day"] = _first_true(rec["us_killed"] > 0)
        out["war"] = rec["war"].any(axis=0) if T else np.zeros(self.R, dtype=bool)
        out["first_war_day"] = _first_true(rec["war"].astype(bool))
        out["max_withdrawal_pressure"] = rec["iraq_withdrawal_pressure"].max(axis=0) if T else np.zeros(self.R)
        out["withdrawal_demanded"] = out["max_withdrawal_pressure"] >= self.config.iraq.withdrawal_threshold
        out["attacks_stop_day"] = _quiet_from(rec["attacks_total"], QUIET_DAYS)
        if self.houthis is not None:
            out.update(self.houthis.summary(T))
        return out

    def summary_frame(self) -> pd.DataFrame:
        """One row per replicate (day numbers turned into dates, nulls where it never happened)."""
        s = self.summary_arrays()
        df = pd.DataFrame({"replicate": self.replicate_ids(), **s})
        for col, new in (("first_us_death_day", "first_us_death_date"), ("first_war_day", "first_war_date")):
            df[new] = self._day_to_date(df.pop(col))
        df["attacks_stop_date"] = self._day_to_date(df["attacks_stop_day"])
        df["attacks_stop_day"] = df["attacks_stop_day"].astype("float64").where(df["attacks_stop_day"] >= 0)
        return df

    def daily_columns(self, days: slice = slice(None)) -> dict[str, Any]:
        """The daily table's columns for a range of the days stepped (rows: day, then replicate)."""
        t0, t1, _ = days.indices(self.day)
        n, R = max(t1 - t0, 0), self.R
        data: dict[str, Any] = {
            "replicate": np.tile(self.replicate_ids(), n),
            "day": np.repeat(np.arange(t0, t0 + n, dtype=np.int64), R),
            "date": np.repeat(np.array(self.dates[t0 : t0 + n], dtype="datetime64[s]"), R),
        }
        for c in DAILY_COLUMNS:
            data[c] = self.records[c][t0 : t0 + n].reshape(-1)
        if self.houthis is not None:
            data.update(self.houthis.daily(t0, n))
        return data

    def group_columns(self, days: slice = slice(None)) -> dict[str, Any]:
        """The per-group table's columns for a range of the days stepped (rows: day, group, replicate);
        ``group`` is categorical (codes, not one string per row)."""
        t0, t1, _ = days.indices(self.day)
        n, M, R = max(t1 - t0, 0), len(self.militias), self.R
        codes = np.tile(np.repeat(np.arange(M, dtype=np.int8), R), n)
        data: dict[str, Any] = {
            "replicate": np.tile(self.replicate_ids(), n * M),
            "day": np.repeat(np.arange(t0, t0 + n, dtype=np.int64), M * R),
            "date": np.repeat(np.array(self.dates[t0 : t0 + n], dtype="datetime64[s]"), M * R),
            "group": pd.Categorical.from_codes(codes, [m.short for m in self.militias]),
        }
        for c in GROUP_COLUMNS:
            data[c] = self.group_records[c][t0 : t0 + n].reshape(-1)
        return data

    def daily_frame(self) -> pd.DataFrame:
        """One row per (replicate, date), long form."""
        return pd.DataFrame(self.daily_columns())

    def groups_frame(self) -> pd.DataFrame:
        """One row per (replicate, date, group): attacks, fighters killed, suspended, stock."""
        df = pd.DataFrame(self.group_columns())
        df["group"] = df["group"].astype(str)
        return df

    def replicate_ids(self) -> np.ndarray:
        return np.arange(self.replicate_offset, self.replicate_offset + self.R, dtype=np.int64)

    def _day_to_date(self, days: pd.Series) -> pd.Series:
        dates = pd.to_datetime(pd.Series(self.dates))
        valid = days >= 0
        out = pd.Series(pd.NaT, index=days.index, dtype="datetime64[ns]")
        out[valid] = dates.iloc[days[valid].astype(int)].to_numpy()
        return out


def _fits(values: np.ndarray, dtype, what: str) -> np.ndarray:
    """``values`` unchanged if they fit ``dtype``; otherwise a clear error (not a wrapped-around count): counts that
    a schema-valid scenario could push past their compact dtype's range are checked as they are recorded."""
    limit = np.iinfo(dtype).max
    if values.size and values.max() > limit:
        raise OverflowError(f"{what} exceeded {limit} (the {np.dtype(dtype).name} record); the scenario's rates are out of range")
    return values


def _first_true(x: np.ndarray) -> np.ndarray:
    """Index of the first True along axis 0, -1 where none (x: (T, R))."""
    if x.shape[0] == 0:
        return np.full(x.shape[1], -1, dtype=np.int64)
    return np.where(x.any(axis=0), x.argmax(axis=0), -1).astype(np.int64)


def _quiet_from(attacks: np.ndarray, quiet: int) -> np.ndarray:
    """First day after the first attack from which no attack happens for ``quiet`` days (or to the end
    if at least ``quiet`` days remain); -1 where attacks never stop."""
    T, R = attacks.shape
    out = np.full(R, -1, dtype=np.int64)
    if T == 0:
        return out
    any_attack = attacks > 0
    first = np.where(any_attack.any(axis=0), any_attack.argmax(axis=0), T)
    # days to the next attack, counted backwards
    run = np.zeros((T + 1, R), dtype=np.int64)
    for t in range(T - 1, -1, -1):
        run[t] = np.where(any_attack[t], 0, run[t + 1] + 1)
    ok = (run[:T] >= quiet) & (np.arange(T)[:, None] > first[None, :])
    found = ok.any(axis=0)
    out[found] = ok.argmax(axis=0)[found]
    return out
