"""The whole calibration in order: fit -> posterior predictive to the forecast end -> tables and checks
-> the out-of-time refit (:func:`calibrate`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from experiments.analysis.calibration.abc import Fit, Posterior, fit_posterior, fitted_deviations, rejection
from experiments.analysis.calibration.config import Calibration, without_theatre
from experiments.analysis.calibration.out_of_time import out_of_time
from experiments.analysis.calibration.predictive import forecast_summary, posterior_predictive, predictive_scenario, suspension_summary
from experiments.analysis.calibration.tables import coverage_table, intervals_table, predictive_table
from experiments.runner.executors import Executor


@dataclass
class CalibrationResult:
    cal: Calibration
    prior_values: np.ndarray
    distances: np.ndarray
    posterior: Posterior
    predictive: dict[str, np.ndarray]
    tables: dict[str, pd.DataFrame]
    fit: dict[str, Any]


def calibrate(cal: Calibration, *, executor: Executor | int | None = None, progress: Callable[[int], None] | None = None) -> CalibrationResult:
    """Fit (ABC-SMC or rejection) -> posterior predictive to the forecast end -> tables, checks, out-of-time."""
    cfg = cal.config
    fit_ = fit_posterior(cal, executor=executor, progress=progress)
    post, sims, dist = fit_.posterior, fit_.prior_sims, fit_.prior_distances
    pp = posterior_predictive(cal, post, executor=executor, progress=progress)

    tables = {
        "intervals": intervals_table(cal, fit_.prior_values, post),
        "targets": coverage_table(cal, pp["stats"].astype(float)),
        "predictive": predictive_table(cal, pp, predictive_scenario(cal)),
        "prior_predictive": coverage_table(cal, sims["stats"].astype(float)),
        "history": pd.DataFrame(fit_.history),
    }
    fit: dict[str, Any] = {
        "method": cfg.method,
        "budget": cfg.budget,
        "simulations": fit_.simulations,
        "accepted": int(len(post.values)),
        "acceptance_rate": len(post.values) / max(fit_.simulations, 1),
        "epsilon": post.epsilon,
        "generations": len(fit_.history),
        "distance_prior_median": float(np.median(dist)),
        "distance_accepted_median": float(np.median(post.distances)),
        "share_prior_distance_zero": float((dist == 0).mean()),
        "coverage_90": float(tables["targets"]["covered"].mean()),
        "coverage_90_fit_targets": float(tables["targets"].loc[tables["targets"]["fit"], "covered"].mean()),
        "regression_adjustment": cfg.regression and cfg.method == "rejection",
        "width_ratios": dict(zip(tables["intervals"]["parameter"], tables["intervals"]["width_ratio"].round(3))),
        "forecast": forecast_summary(predictive_scenario(cal), pp),
    }
    if "suspended_in_window" in pp:
        fit["suspension_check"] = suspension_summary(cal, pp, sims)
    if "pattern" in pp:
        fit["strike_pattern_check"] = _posterior_check(pp["pattern"], sims["pattern"], strikes=[w.strike for w in cfg.strike_pattern.windows],
                                                       observed=cal.pattern["observed"], fitted=cal.pattern["fit"])
    if "dispersion" in pp:
        fit["dispersion_check"] = _posterior_check(pp["dispersion"], sims["dispersion"], counts=cal.config.dispersion.counts,
                                                   observed=cal.dispersion["observed"], fitted=cal.dispersion["fit"])
    if "pattern_red_sea" in pp:
        fit["red_sea_pattern_check"] = _posterior_check(pp["pattern_red_sea"], sims["pattern_red_sea"],
                                                        strikes=[w.strike for w in cfg.red_sea_pattern.windows],
                                                        observed=cal.red_sea_pattern["observed"], fitted=cal.red_sea_pattern["fit"])
    if "cum_ships_attacked" in pp:
        fit["red_sea_forecast"] = red_sea_forecast(predictive_scenario(cal), pp)
    if {"iraq_syria", "red_sea"} <= set(cfg.theatres) and cfg.method == "rejection":
        tables["width_comparison"] = width_comparison(cal, fit_, tables["intervals"])
        fit["width_ratios_without_red_sea"] = dict(zip(tables["width_comparison"]["parameter"],
                                                       tables["width_comparison"]["width_ratio_without_red_sea"].round(3)))
    if cfg.out_of_time is not None:
        fit["out_of_time"], tables["out_of_time_scores"] = out_of_time(cal, executor=executor, progress=progress)
    return CalibrationResult(cal, fit_.prior_values, dist, post, pp, tables, fit)


def theatre_of(path: str, pooled: bool) -> str:
    """Which theatre a calibrated parameter belongs to: ``shared`` for a pooled parameter (``also``) and for
    Iran's restraint (one actor: its restraint reaches the Iraqi groups and the Houthis) and for the exogenous
    drivers (the Gaza war's level after the truce drives both theatres), ``red_sea`` for the Houthis',
    ``iraq_syria`` otherwise (Iran's war hazard included: strikes in Yemen do not feed it)."""
    if pooled or path.startswith(("iran.restraint", "exogenous.")):
        return "shared"
    return "red_sea" if path.startswith("houthis.") else "iraq_syria"


def width_comparison(cal: Calibration, fit_: Fit, intervals: pd.DataFrame) -> pd.DataFrame:
    """Width ratios with both theatres' data against those without the Red Sea (and with the Red Sea alone):
    the same prior simulations, the other theatre's summaries left out of the distance, the same rejection
    and regression adjustment. What the Red Sea adds to the shared parameters is the difference."""
    out = intervals[["parameter", "prior", "posterior_q05", "posterior_q50", "posterior_q95", "width_ratio"]].copy()
    out.insert(1, "theatre", [theatre_of(p.path, bool(p.also)) for p in cal.config.parameters])
    for theatre, name in (("red_sea", "without_red_sea"), ("iraq_syria", "red_sea_only")):
        part = without_theatre(cal, theatre)
        z = fitted_deviations(part, fit_.prior_sims)
        post = rejection(part, fit_.prior_values, z, np.sqrt((z * z).sum(axis=1)))
        iv = intervals_table(cal, fit_.prior_values, post)
        out[f"posterior_q50_{name}"] = iv["posterior_q50"].to_numpy()
        out[f"width_ratio_{name}"] = iv["width_ratio"].to_numpy()
    return out.rename(columns={"width_ratio": "width_ratio_joint", "posterior_q50": "posterior_q50_joint"})


RED_SEA_SINCE = dt.date(2023, 11, 19)  # CENTCOM's running count starts here (observed_red_sea.yaml, definition)
RED_SEA_CUT = dt.date(2024, 2, 29)  # the last day of Red Sea data


def red_sea_forecast(scenario: Any, pp: dict[str, np.ndarray]) -> dict[str, Any]:
    """Ships attacked (the CENTCOM unit) from the posterior-predictive curves: the running count since Nov 19
    at Feb 29 and at the forecast end, and the attacks after the data end (Mar 1 - forecast end), median and 90 %."""
    days = list(scenario.days)
    cum = pp["cum_ships_attacked"].astype(float)  # (T, n) from the scenario start
    index = {d: i for i, d in enumerate(days)}
    before = cum[index[RED_SEA_SINCE - dt.timedelta(days=1)]] if RED_SEA_SINCE - dt.timedelta(days=1) in index else 0.0

    def q(x: np.ndarray) -> dict[str, float]:
        v = np.quantile(x, [0.05, 0.5, 0.95])
        return {"q05": float(v[0]), "median": float(v[1]), "q95": float(v[2])}

    out: dict[str, Any] = {"since": str(RED_SEA_SINCE), "end": str(days[-1])}
    if RED_SEA_CUT in index:
        at_cut = cum[index[RED_SEA_CUT]]
        out["count_at_" + str(RED_SEA_CUT)] = q(at_cut - before)
        out["count_at_end"] = q(cum[-1] - before)
        if days[-1] > RED_SEA_CUT:
            out["after_" + str(RED_SEA_CUT)] = q(cum[-1] - at_cut)
            strikes = pp.get("cum_us_strikes_yemen")
            if strikes is not None:
                out["strike_targets_after_cut_median"] = float(np.median(strikes[-1] - strikes[index[RED_SEA_CUT]]))
    return out


def _posterior_check(predictive: Any, prior: Any, **what: Any) -> dict[str, Any]:
    """A summary statistic's posterior-predictive check: what it is, then its 5/50/95 % quantiles and the prior median."""
    q = np.quantile(predictive, [0.05, 0.5, 0.95])
    return {**what, "q05": float(q[0]), "median": float(q[1]), "q95": float(q[2]), "prior_median": float(np.median(prior))}
