"""The ABC fit: distances of the fitted summaries, rejection with the local-linear regression adjustment
(Beaumont, Zhang & Balding 2002, Genetics 162:2025), or ABC-SMC
(:func:`experiments.analysis.calibration.sampler.smc`); :func:`fit_posterior` runs the configured method."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from experiments.analysis.calibration.config import Calibration
from experiments.analysis.calibration.priors import prior_sample, to_unit, to_values
from experiments.analysis.calibration.sampler import smc
from experiments.analysis.calibration.simulate import simulate
from experiments.analysis.calibration.statistics import deviations
from experiments.runner.executors import Executor


@dataclass
class Posterior:
    values: np.ndarray  # (n_accepted, d) adjusted (or raw) parameter values
    raw: np.ndarray  # (n_accepted, d) accepted prior draws before adjustment
    weights: np.ndarray  # (n_accepted,) normalised
    index: np.ndarray  # rows of the prior sample that were accepted
    epsilon: float
    distances: np.ndarray  # (n_accepted,)


def fitted_deviations(cal: Calibration, sims: dict[str, np.ndarray], mask: np.ndarray | None = None) -> np.ndarray:
    """Scaled deviations (R, J') of the fitted summaries: the fitted targets (or ``mask``) and, when they are
    fitted, the dispersion statistic, the strike patterns (Iraq/Syria, Red Sea) and the suspension. The ABC distance is their Euclidean norm."""
    use = cal.targets["fit"].to_numpy(bool) if mask is None else mask
    z = deviations(sims["stats"].astype(float), cal.targets)[:, use] / cal.targets["scale"].to_numpy(float)[use]
    d = cal.dispersion
    if d is not None and d["fit"] and "dispersion" in sims:
        z = np.column_stack([z, (sims["dispersion"].astype(float) - d["observed"]) / d["scale"]])
    pt = cal.pattern
    if pt is not None and pt["fit"] and "pattern" in sims:
        z = np.column_stack([z, (sims["pattern"].astype(float) - pt["observed"]) / pt["scale"]])
    rs = cal.red_sea_pattern
    if rs is not None and rs["fit"] and "pattern_red_sea" in sims:
        z = np.column_stack([z, (sims["pattern_red_sea"].astype(float) - rs["observed"]) / rs["scale"]])
    s = cal.suspension_fit
    if s is not None and s["fit"] and "suspended_in_window" in sims:
        met = sims["suspended_in_window"].astype(bool) & ~sims["suspended_before"].astype(bool)
        z = np.column_stack([z, (~met).astype(float) / s["scale"]])
    return z


def rejection(cal: Calibration, values: np.ndarray, dev: np.ndarray, dist: np.ndarray) -> Posterior:
    """Keep the closest ``accept_quantile`` of the draws; regression-adjust if configured.

    ``dev``: the scaled deviations of the fitted summaries (:func:`fitted_deviations`), which the
    regression adjustment uses."""
    n = len(dist)
    keep = min(n, max(cal.config.min_accept, int(math.ceil(cal.config.accept_quantile * n))))
    idx = np.argsort(dist, kind="stable")[:keep]
    eps = float(dist[idx[-1]])
    raw = values[idx]
    if eps > 0:
        w = 1.0 - (dist[idx] / eps) ** 2
        w = np.where(w <= 0, 0.5 / keep, w)  # the last draw still counts a little
    else:
        w = np.ones(keep)
    w = w / w.sum()
    adjusted = raw
    if cal.config.regression:
        adjusted = regression_adjust(cal, raw, dev[idx], w)
    return Posterior(adjusted, raw, w, idx, eps, dist[idx])


def regression_adjust(cal: Calibration, raw: np.ndarray, dev: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Local-linear regression adjustment (Beaumont et al. 2002) on the signed deviations.

    theta* = theta - beta . dev, fitted by weighted least squares in logit space of the prior box,
    so adjusted values stay inside the priors. Deviations that are 0 for every accepted draw carry
    no information and are dropped.
    """
    u = np.clip(to_unit(cal, raw), 1e-6, 1 - 1e-6)
    z = np.log(u / (1 - u))
    cols = dev.std(axis=0) > 0
    if not cols.any() or len(raw) <= cols.sum() + 2:
        return raw
    X = np.column_stack([np.ones(len(raw)), dev[:, cols]])
    sw = np.sqrt(w)[:, None]
    beta, *_ = np.linalg.lstsq(X * sw, z * sw, rcond=None)
    z_adj = z - dev[:, cols] @ beta[1:]
    return to_values(cal, 1.0 / (1.0 + np.exp(-z_adj)))


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: np.ndarray) -> np.ndarray:
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    cw = (cw - 0.5 * w[order]) / cw[-1]
    return np.interp(q, cw, x[order])


@dataclass
class Fit:
    """A posterior and what produced it: the prior (generation-0) sample, its simulations and the run's history."""

    posterior: Posterior
    prior_values: np.ndarray  # (n0, d) prior draws on the parameters' scale
    prior_sims: dict[str, np.ndarray]  # their simulated statistics
    prior_distances: np.ndarray
    simulations: int
    history: list[dict[str, Any]]


def fit_posterior(cal: Calibration, *, mask: np.ndarray | None = None, executor: Executor | int | None = None, block_base: int = 0,
                  progress: Callable[[int], None] | None = None) -> Fit:
    """ABC posterior of the calibrated parameters on the fitted targets (or ``mask``), by the configured method.

    Both methods simulate in batches through :func:`simulate` (chunk k of a batch starting at block b
    uses random-stream block ``block_base + b + k``), so the result does not depend on ``workers``.
    """
    cfg = cal.config
    if cfg.method == "rejection":
        values = to_values(cal, prior_sample(cal, cfg.budget, cfg.seed))
        sims = simulate(cal, values, block0=block_base, executor=executor, on_done=progress)
        z = fitted_deviations(cal, sims, mask)
        dist = np.sqrt((z * z).sum(axis=1))
        post = rejection(cal, values, z, dist)
        history = [{"generation": 0, "epsilon": post.epsilon, "accepted": len(post.values), "proposed": cfg.budget,
                    "simulations": cfg.budget}]
        return Fit(post, values, sims, dist, cfg.budget, history)
    s = cfg.smc
    initial, batch = min(s.initial, cfg.budget), min(s.batch, cfg.budget)
    population = min(s.population, max(cfg.min_accept, initial // 10))  # generation 0 keeps at most 10 %
    step = math.ceil(max(initial, batch) / cfg.chunk_size)
    first: dict[str, Any] = {}

    def sim_distance(u: np.ndarray, block: int) -> np.ndarray:
        sims = simulate(cal, to_values(cal, u), block0=block_base + block, executor=executor, on_done=progress)
        z = fitted_deviations(cal, sims, mask)
        dist = np.sqrt((z * z).sum(axis=1))
        if block == 0:
            first.update(sims=sims, distances=dist, values=to_values(cal, u))
        return dist

    pop = smc(sim_distance, len(cfg.parameters), population=population, initial=initial, batch=batch,
              budget=cfg.budget, seed=cfg.seed, quantile=s.quantile, min_accept=cfg.min_accept, block_step=step)
    values = to_values(cal, pop.u)
    post = Posterior(values, values, pop.weights, np.arange(len(values)), pop.epsilon, pop.distances)
    return Fit(post, first["values"], first["sims"], first["distances"], pop.simulations, pop.history)
