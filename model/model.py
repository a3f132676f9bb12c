"""EscalationModel: one Mesa model stepping R independent replicates with the same parameters.

A day (one ``step``): each actor of the registry (``model/actors/``) acts, in its order, then the day is
recorded.
1. the militias observe yesterday's losses and attack; the battlespace (``model/battlespace.py``) lands the
   attacks: U.S. injured and killed, and the replayed casualty events (e.g. Tower 22) when U.S. deaths are
   replayed;
2. the United States takes in the casualties, attributes the attacks and decides strikes; the battlespace
   lands them: militia and IRGC losses, stocks destroyed, leaders killed;
3. Iran updates its restraint and supply and may strike U.S. forces directly;
4. Iraq's government updates its pressure on the groups and its pressure for withdrawal;
5. every actor records its columns, and the escalation ladder is read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import mesa
import numpy as np

from model import battlespace, ladder
from model.actors import ACTORS, enabled
from model.config import ModelConfig, ParamOverlay
from model.drivers import EventKind, event_levels, series_on_days
from model.outputs import DAILY
from model.streams import block_generators
from model.tables import Tables


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

# the model attribute of an actor whose scenario section is named otherwise (the others: model.iran, model.iraq, ...)
_ATTRIBUTE = {"militias": "groups", "united_states": "us"}


class EscalationModel(Tables, mesa.Model):
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
        self.gaza, self.gaza_level, self.after_truce = self._gaza_series()
        self.events = event_levels(self.config.exogenous.events, self.dates)
        self.streams = block_generators(seed, block)

        # the actors taking part, in registry order; their daily records, (days, R) arrays in compact dtypes
        # (model/outputs.py; recording is memory-bound: first-touch page faults dominate at large R)
        self.actor_modules = [a for a in ACTORS if enabled(a, self.config)]
        recorded = {c.name for cols in [a.DAILY for a in self.actor_modules] + [battlespace.DAILY, ladder.DAILY] for c in cols}
        self.records = {c.name: np.zeros((self.n_days, replicates), dtype=c.dtype) for c in DAILY if c.name in recorded}
        self.battlespace = battlespace.Battlespace(self)
        self.actors = []
        for actor in self.actor_modules:
            agent = actor.build(self)
            setattr(self, _ATTRIBUTE.get(actor.FIELD, actor.FIELD), agent)  # model.groups, model.us, model.iran, ...
            self.actors.append(agent)
        self.militias = self.groups.militias  # model.militias[i] is group i's agent
        self.ladder = ladder.Ladder(self)
        self.running = True
        # an ordinary Mesa model at R = 1: a DataCollector of the day's numbers (what mesa.batch_run reads);
        # batched runs record into the arrays above instead
        self.datacollector = mesa.DataCollector(model_reporters=R1_REPORTERS) if replicates == 1 else None

    @property
    def date(self) -> dt.date:
        return self.dates[min(self.day, self.n_days - 1)]

    def _gaza_series(self) -> tuple[np.ndarray, Any, np.ndarray]:
        """The Gaza-intensity series on the run's days, the level after the truce (a scalar, or (R,) when it
        varies between replicates) and the days it applies to. A scalar level is applied to the series here
        (at 1, the default, the series is unchanged)."""
        ex = self.config.exogenous
        gaza = series_on_days(ex.gaza_intensity, self.dates)
        after = np.array([d >= ex.truce_end for d in self.dates], dtype=bool)
        level = self.overlay.values.get("exogenous.gaza_after_truce", ex.gaza_after_truce)
        if np.ndim(level) == 0:
            if float(level) != 1.0:
                gaza = np.where(after, gaza * float(level), gaza)
            return gaza, None, after
        return gaza, np.asarray(level, dtype=float), after

    @property
    def gaza_today(self) -> float | np.ndarray:
        """Today's Gaza-war intensity: a number, or (R,) after the truce when its level varies between replicates."""
        if self.gaza_level is not None and self.after_truce[self.day]:
            return self.gaza[self.day] * self.gaza_level
        return float(self.gaza[self.day])

    def event_today(self, kind: str | EventKind) -> float:
        return float(self.events[EventKind(kind)][self.day])

    def step(self) -> None:
        if self.day >= self.n_days:
            self.running = False
            return
        for actor in self.actors:
            actor.step()
        for actor in self.actors:
            actor.record(self.day)
        self.battlespace.record(self.day)
        self.ladder.record(self.day)
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

