"""The tidy tables of a fit: prior and posterior intervals, predictive coverage of every target, daily
predictive quantiles, the posterior as model columns, the point estimate and the width ratios."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.analysis.calibration.abc import Posterior, weighted_quantile
from experiments.analysis.calibration.config import Calibration
from experiments.analysis.calibration.priors import varying_from
from experiments.analysis.calibration.statistics import PREDICTIVE_QUANTITIES, RED_SEA_QUANTITIES, deviations
from experiments.scenario.schema import Scenario


def intervals_table(cal: Calibration, prior_values: np.ndarray, post: Posterior) -> pd.DataFrame:
    q = np.array([0.05, 0.5, 0.95])
    rows = []
    for j, p in enumerate(cal.config.parameters):
        pr = np.quantile(prior_values[:, j], q)
        po = weighted_quantile(post.values[:, j], post.weights, q)
        rows.append({"parameter": p.label, "prior": f"{p.scale}-uniform[{p.low:g}, {p.high:g}]",
                     "prior_q05": pr[0], "prior_q50": pr[1], "prior_q95": pr[2],
                     "posterior_q05": po[0], "posterior_q50": po[1], "posterior_q95": po[2],
                     "width_ratio": (po[2] - po[0]) / (pr[2] - pr[0]), "source": p.source})
    return pd.DataFrame(rows)


def coverage_table(cal: Calibration, stats: np.ndarray) -> pd.DataFrame:
    """Per target: 90 % predictive interval of the window counts, and whether the observation is inside.

    Covered if [q05 of the first-day count, q95 of the last-day count] overlaps the observed
    interval [obs_low, obs_high]; ``share_consistent`` = share of runs with deviation 0.
    """
    t = cal.targets
    lo5 = np.quantile(stats[:, :, 0], 0.05, axis=0)
    med = np.quantile(stats[:, :, 1], 0.5, axis=0)
    hi95 = np.quantile(stats[:, :, 1], 0.95, axis=0)
    covered = (lo5 <= t["obs_high"].to_numpy(float)) & (hi95 >= t["obs_low"].to_numpy(float))
    consistent = (deviations(stats, t) == 0).mean(axis=0)
    return pd.DataFrame({"id": t["id"], "quantity": t["quantity"], "minus": t["minus"], "since": t["since"],
                         "date_start": t["date_start"], "date_end": t["date_end"], "observed": t["value"].to_numpy(float),
                         "bound": t["bound"], "obs_low": t["obs_low"], "obs_high": t["obs_high"], "report": t["report"],
                         "source": t["source"], "measure": t["measure"], "fit": t["fit"],
                         "q05": lo5, "median": med, "q95": hi95, "covered": covered, "share_consistent": consistent})


def predictive_table(cal: Calibration, pp: dict[str, np.ndarray], scenario: Scenario | None = None) -> pd.DataFrame:
    """Tidy daily quantiles of the posterior-predictive cumulative counts (for the figures)."""
    dates = pd.to_datetime(pd.Series((scenario or cal.scenario).days))
    qs = (0.05, 0.25, 0.5, 0.75, 0.95)
    frames = []
    for q in (*PREDICTIVE_QUANTITIES, *(q for q in RED_SEA_QUANTITIES if f"cum_{q}" in pp)):
        arr = pp[f"cum_{q}"]  # (T, n)
        quant = np.quantile(arr, qs, axis=1)
        frames.append(pd.DataFrame({"date": dates, "quantity": q, **{f"q{int(x * 100):02d}": quant[i] for i, x in enumerate(qs)}}))
    return pd.concat(frames, ignore_index=True)


def posterior_frame(cal: Calibration, post: Posterior) -> pd.DataFrame:
    """``posterior.parquet``: one column per dotted float path (multipliers expanded) + weight.

    This is the format ``experiments.runner.run.load_draws`` reads for ``uncertainty: {posterior: ...}``.
    """
    df = pd.DataFrame(varying_from(cal, post.values))
    df["weight"] = post.weights
    return df


def draws_frame(cal: Calibration, post: Posterior) -> pd.DataFrame:
    """Posterior draws on the calibrated parameters' own scale (multipliers as multipliers)."""
    df = pd.DataFrame(post.values, columns=cal.labels)
    df["weight"] = post.weights
    df["distance"] = post.distances
    return df


def point_estimate(cal: Calibration, post: Posterior) -> dict[str, float]:
    """Weighted posterior medians, as explicit per-militia values for '*' paths."""
    med = np.array([weighted_quantile(post.values[:, j], post.weights, np.array([0.5]))[0] for j in range(len(cal.labels))])
    values = varying_from(cal, med[None, :])
    out: dict[str, float] = {}
    for path, v in values.items():
        keys = [path.replace("*", str(i)) for i in range(len(cal.scenario.militias))] if "*" in path else [path]
        for k in keys:
            out[k] = float(v[0])
    return out


def identification(cal: Calibration, intervals: pd.DataFrame) -> dict[str, float]:
    """Width ratio of every posterior column (multipliers apply to each militia's column)."""
    ratio = dict(zip(intervals["parameter"], intervals["width_ratio"]))
    out: dict[str, float] = {}
    for p in cal.config.parameters:
        if p.mode == "multiplier":
            field_name = p.path.split(".", 2)[2]
            out.update({f"militias.{i}.{field_name}": ratio[p.label] for i in range(len(cal.scenario.militias))})
        else:
            out.update({path: ratio[p.label] for path in (p.path, *p.also)})
    return out
