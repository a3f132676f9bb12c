"""The whole calibration in order: fit -> posterior predictive to the forecast end -> tables and checks
-> the out-of-time refit (:func:`calibrate`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from experiments.analysis.calibration.abc import Posterior, fit_posterior
from experiments.analysis.calibration.config import Calibration
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
        q = np.quantile(pp["pattern"], [0.05, 0.5, 0.95])
        fit["strike_pattern_check"] = {"strikes": [w.strike for w in cfg.strike_pattern.windows], "observed": cal.pattern["observed"],
                                       "fitted": cal.pattern["fit"], "q05": float(q[0]), "median": float(q[1]), "q95": float(q[2]),
                                       "prior_median": float(np.median(sims["pattern"]))}
    if "dispersion" in pp:
        q = np.quantile(pp["dispersion"], [0.05, 0.5, 0.95])
        fit["dispersion_check"] = {"counts": cal.config.dispersion.counts, "observed": cal.dispersion["observed"],
                                   "fitted": cal.dispersion["fit"], "q05": float(q[0]), "median": float(q[1]), "q95": float(q[2]),
                                   "prior_median": float(np.median(sims["dispersion"]))}
    if cfg.out_of_time is not None:
        fit["out_of_time"], tables["out_of_time_scores"] = out_of_time(cal, executor=executor, progress=progress)
    return CalibrationResult(cal, fit_.prior_values, dist, post, pp, tables, fit)
