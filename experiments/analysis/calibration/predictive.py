"""What the posterior predicts: posterior-predictive runs to ``forecast_end`` (new random streams), the
forecasts read from them and the Kata'ib Hezbollah suspension check (never an input to the fit)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable

import numpy as np

from experiments.analysis.calibration.abc import Posterior
from experiments.analysis.calibration.config import Calibration
from experiments.analysis.calibration.simulate import simulate
from experiments.runner.executors import Executor
from experiments.runner.streams import StreamKey, keyed_generator
from experiments.scenario.schema import Scenario, with_overrides

PREDICTIVE_STREAM = StreamKey.PREDICTIVE  # chunk index offset for posterior-predictive runs (apart from the prior chunks)


def predictive_scenario(cal: Calibration) -> Scenario:
    """The calibration scenario run on to ``forecast_end`` (posterior-predictive curves and forecasts)."""
    end = cal.config.forecast_end
    if end is None or end <= cal.scenario.end:
        return cal.scenario
    return with_overrides(cal.scenario, {"end": end})


def posterior_predictive(cal: Calibration, post: Posterior, *, executor: Executor | int | None = None, block0: int = PREDICTIVE_STREAM,
                         progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """Re-simulate ``predictive_draws`` posterior draws (resampled by weight, new random streams) to ``forecast_end``."""
    cfg = cal.config
    rng = keyed_generator(cfg.seed, block0)
    rows = rng.choice(len(post.values), size=cfg.predictive_draws, p=post.weights)
    run = dataclasses.replace(cal, scenario=predictive_scenario(cal))
    return simulate(run, post.values[rows], block0=block0, executor=executor, curves=True, on_done=progress)


DEATH_EVENT = "tower22_attack"  # the first U.S. deaths in the sources (000, 003)


def suspension_summary(cal: Calibration, pp: dict[str, np.ndarray], sims: dict[str, np.ndarray]) -> dict[str, Any]:
    """Kata'ib Hezbollah's suspension (never an input): in the calendar window, and as a lag after the first death."""
    cfg = cal.config
    ev = cal.events.set_index("id").loc[cfg.suspension.event]
    out: dict[str, Any] = {
        "group": cfg.suspension.group,
        "window": [str(ev.date_start.date()), str(ev.date_end.date())],
        "share_suspending_in_window": float(pp["suspended_in_window"].mean()),
        "share_suspended_before_window": float(pp["suspended_before"].mean()),
        "prior_share_suspending_in_window": float(sims["suspended_in_window"].mean()),
    }
    lag = pp["suspension_lag"][np.isfinite(pp["suspension_lag"])]  # runs with a death and a suspension
    death_day = cal.events.set_index("id").loc[DEATH_EVENT, "date_start"]
    lo, hi = (ev.date_start - death_day).days, (ev.date_end - death_day).days
    out.update({
        "observed_lag_days": [lo, hi],
        "runs_with_death_and_suspension": int(lag.size),
        "share_lag_in_observed_window": float(np.mean((lag >= lo) & (lag <= hi))) if lag.size else None,
        "share_lag_0_to_observed_end": float(np.mean((lag >= 0) & (lag <= hi))) if lag.size else None,
        "share_suspended_before_first_death": float(np.mean(lag < 0)) if lag.size else None,
        "median_lag_days": float(np.median(lag)) if lag.size else None,
    })
    return out


FORECAST_SINCE = dt.date(2023, 10, 17)  # the Pentagon's tallies count from here (004, shared/data)
FORECAST_DATES = (dt.date(2023, 12, 31), dt.date(2024, 1, 31), dt.date(2024, 2, 29))


def forecast_summary(scenario: Scenario, pp: dict[str, np.ndarray]) -> dict[str, Any]:
    """Cumulative attacks since Oct 17 at the ends of December, January and February (median, 90 %), and
    the Feb 8 - Mar 31 attack rate as a share of January's, from posterior-predictive curves."""
    days = scenario.days
    cum = pp["cum_attacks_total"].astype(float)  # (T, n), from the scenario start
    index = {d: i for i, d in enumerate(days)}

    def at(d: dt.date) -> np.ndarray:
        return cum[index[d]] if d in index else np.full(cum.shape[1], np.nan)

    base = at(FORECAST_SINCE - dt.timedelta(days=1)) if FORECAST_SINCE - dt.timedelta(days=1) in index else 0.0
    out: dict[str, Any] = {"since": str(FORECAST_SINCE)}
    for d in FORECAST_DATES:
        x = at(d) - base
        if np.isfinite(x).all():
            q = np.quantile(x, [0.05, 0.5, 0.95])
            out[str(d)] = {"q05": float(q[0]), "median": float(q[1]), "q95": float(q[2])}
    jan_a, jan_b, f_a, f_b = dt.date(2023, 12, 31), dt.date(2024, 1, 31), dt.date(2024, 2, 7), dt.date(2024, 3, 31)
    if all(d in index for d in (jan_a, jan_b, f_a, f_b)):
        jan = (at(jan_b) - at(jan_a)) / 31.0
        later = (at(f_b) - at(f_a)) / float((f_b - f_a).days)
        share = np.where(jan > 0, later / np.where(jan > 0, jan, 1.0), np.nan)
        q = np.nanquantile(share, [0.05, 0.5, 0.95])
        out["feb8_mar31_rate_share_of_january"] = {"q05": float(q[0]), "median": float(q[1]), "q95": float(q[2]),
                                                   "of_mean_rates": float(later.mean() / jan.mean())}
    return out
