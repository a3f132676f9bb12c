"""Approximate Bayesian computation (ABC) of the behavioural parameters against the reported counts.

Method (why: the batched model simulates thousands of parameter draws in one instance, so a
space-filling prior sample + rejection is cheap, embarrassingly parallel and exactly
reproducible; ABC-SMC (e.g. pyabc) would add a dependency and sequential rounds that cannot use
the batch as well):

1. a scrambled Sobol sample (``scipy.stats.qmc``) of the priors in ``scenarios/calibration.yaml``;
2. each chunk of draws is one runner :class:`~experiments.runner.runner.Job` with the draws as
   ``varying`` (one draw per replicate), in random-stream block (seed, chunk) so results do not
   depend on the executor (serial, pool or Dask);
3. summary statistics computed in the worker from the chunk's daily tables (:class:`ChunkStatistics`,
   the runner's ``reduce``): the cumulative count of each target's quantity from ``since`` to the
   first and last day of its report window; only these arrays travel back;
4. a distance on interval-censored observations: each reported figure stands for an interval
   ``[obs_low, obs_high]`` ("more than N" = (N, N + tol], "at least", "about"; the tolerance comes
   from the ``observation:`` block, :class:`experiments.scenario.observed.ObservationModel`); no penalty if
   the simulated counts over the report window overlap it, else the gap / ``scale``. ``minus:``
   targets are increments between two reports (far less correlated than cumulative counts);
5. rejection (keep the closest ``accept_quantile``) and an optional local-linear regression
   adjustment (Beaumont, Zhang & Balding 2002, Genetics 162:2025) on the signed deviations, done in
   logit space of the prior box so adjusted values stay inside the priors;
6. a posterior-predictive run that gives 90 % intervals (coverage), curves for the figures and the
   Kata'ib Hezbollah suspension check (never an input to the fit).

This module holds the configuration, priors, the ABC driver, its tables and the writing; the
statistics computed in the workers are in :mod:`experiments.analysis.calibration_stats`, the
figures in :mod:`experiments.analysis.calibration_plots`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from pydantic import ValidationError

from experiments.analysis.abc import smc, sobol
from experiments.analysis.calibration_plots import plot_calibration
from experiments.analysis.calibration_stats import (  # noqa: F401  (re-exported: the statistics' public names)
    PREDICTIVE_QUANTITIES,
    ChunkStatistics,
    deviations,
    dispersion_statistic,
    distance,
    strike_pattern,
    suspension_lag,
    target_stats,
)
from experiments.scenario.blocks import CalibrationConfig
from experiments.scenario.errors import UserError, from_validation
from experiments.scenario.identification import WIDTH_RATIO_THRESHOLD
from experiments.scenario.observed import load_events, load_observed
from experiments.scenario.schema import Overrides, Scenario, apply_overrides, blame_overrides, load_scenario, read_yaml, with_overrides
from experiments.runner.executors import Executor
from experiments.runner.runner import Job, run_jobs
from experiments.runner.streams import StreamKey, keyed_generator
from experiments.scenario.inputs import float_paths

PREDICTIVE_STREAM = StreamKey.PREDICTIVE  # chunk index offset for posterior-predictive runs (apart from the prior chunks)
OUT_OF_TIME_STREAM = StreamKey.OUT_OF_TIME  # block offset of the out-of-time refit (apart from the main fit's blocks)


# --------------------------------------------------------------------------- configuration schema


@dataclass
class Calibration:
    """A loaded calibration: its config, the base scenario cut to the fit period, and the targets."""

    config: CalibrationConfig
    scenario: Scenario
    file: Path | None
    targets: pd.DataFrame  # one row per target: observed interval, scale, fit, day indices (see build_calibration)
    events: pd.DataFrame
    militia_rates: dict[int, float] = field(default_factory=dict)  # defaults for multiplier priors
    observed: pd.DataFrame = field(default_factory=pd.DataFrame)  # every observed count, intervals under cfg.observation
    dispersion: dict[str, Any] | None = None  # quantity, day indices (since - 1, report days), observed statistic, scale, fit
    pattern: dict[str, Any] | None = None  # strike pattern: quantity, windows (S, 4) day indices, observed, scale, fit, known
    suspension_fit: dict[str, Any] | None = None  # the suspension as a fitted summary: scale, fit, known (last date it uses)

    @property
    def labels(self) -> list[str]:
        return [p.label for p in self.config.parameters]


def load_calibration(path: str | Path, overrides: Overrides | None = None, **fields: Any) -> Calibration:
    """Read and check ``scenarios/calibration.yaml`` (fields: budget=, seed=, ...; None keeps the file's
    value, ``out_of_time=False`` drops the out-of-time check, mappings merge into the file's blocks;
    ``overrides``: dotted paths set before validation, as ``--set``)."""
    path = Path(path)
    data = apply_overrides(read_yaml(path), overrides, file=path, fill_defaults=False)
    for key, value in fields.items():
        if value is False and key == "out_of_time":
            data.pop(key, None)
        elif isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        elif value is not None:
            data[key] = value
    with blame_overrides(overrides):  # a bad --set value names the option, not the file
        try:
            cfg = CalibrationConfig.model_validate(data)
        except ValidationError as exc:
            raise from_validation(exc, path) from None
    base_path = path.parent / cfg.base if not Path(cfg.base).is_absolute() else Path(cfg.base)
    if not base_path.exists():
        raise UserError(f"base scenario {cfg.base!r} not found (looked for {base_path})", file=path, path=("base",))
    return build_calibration(cfg, load_scenario(base_path), file=path)


def build_calibration(cfg: CalibrationConfig, base: Scenario, file: Path | None = None) -> Calibration:
    """Check the config against the base scenario and the observed data; cut the period."""
    obs_file = None if cfg.observed is None else (file.parent / cfg.observed if file else Path(cfg.observed))
    observed = load_observed(obs_file, cfg.observation).set_index("id")
    events = load_events(obs_file).set_index("id")
    allowed = float_paths(base)
    n_mil = len(base.militias)
    for i, p in enumerate(cfg.parameters):
        paths = [p.path.replace("*", str(k)) for k in range(n_mil)] if "*" in p.path else [p.path]
        bad = [q for q in paths if q not in allowed]
        if bad:
            raise UserError(f"{bad[0]!r} is not a float parameter of the base scenario (see `escalation params`)",
                            file=file, path=("parameters", i, "path"))
        if p.mode == "multiplier" and not p.path.startswith("militias.*."):
            raise UserError("mode 'multiplier' applies to 'militias.*.<field>' paths", file=file, path=("parameters", i, "mode"))
    labels = [p.label for p in cfg.parameters]
    if len(set(labels)) != len(labels):
        raise UserError(f"a parameter is listed twice: {labels}", file=file, path=("parameters",))
    tdf = target_table(cfg, observed, file)
    ids = tdf["id"].tolist()
    if cfg.suspension is not None:
        shorts = [m.short for m in base.militias]
        if cfg.suspension.group not in shorts:
            raise UserError(f"no militia {cfg.suspension.group!r}; expected one of {shorts}", file=file, path=("suspension", "group"))
        if cfg.suspension.event not in events.index:
            raise UserError(f"no observed event {cfg.suspension.event!r}", file=file, path=("suspension", "event"))
    if cfg.out_of_time is not None:
        labels_ = [p.label for p in cfg.parameters]
        for j, p in enumerate(cfg.out_of_time.priors):
            if p.label not in labels_:
                raise UserError(f"{p.label!r} is not a calibrated parameter; expected one of {labels_}",
                                file=file, path=("out_of_time", "priors", j, "path"))
        for j, pid in enumerate(cfg.out_of_time.predict):
            if pid not in ids:
                raise UserError(f"{pid!r} is not one of the targets", file=file, path=("out_of_time", "predict", j))
    last = tdf["date_end"].max()
    if cfg.suspension is not None:
        last = max(last, events.loc[cfg.suspension.event, "date_end"])
    end = cfg.end or last.date()
    if pd.Timestamp(end) < last:
        raise UserError(f"end {end} is before the last target date {last.date()}", file=file, path=("end",))
    scenario = with_overrides(base, {"end": end}, file=file)
    start = pd.Timestamp(scenario.start)
    for col in ("since", "date_start", "date_end", "minus_since", "minus_date_start", "minus_date_end"):
        tdf[f"{col}_day"] = (tdf[col] - start).dt.days.fillna(-1).astype(np.int64)
    early = (tdf["since_day"] < 0) | (tdf["minus"].ne("") & (tdf["minus_since_day"] < 0))
    if early.any():
        i = int(np.flatnonzero(early.to_numpy())[0])
        raise UserError(f"target {tdf['id'].iloc[i]!r} starts before the scenario start {scenario.start}", file=file, path=("targets", i))
    rates = {i: m.base_rate for i, m in enumerate(base.militias)}
    disp = _dispersion_setup(cfg, observed, start, file)
    pattern = _pattern_setup(cfg, observed, start, file)
    susp = None
    if cfg.suspension is not None and cfg.suspension.fit:
        susp = {"scale": cfg.suspension.scale, "fit": True, "known": events.loc[cfg.suspension.event, "date_end"]}
    return Calibration(cfg, scenario, file, tdf, events.reset_index(), rates, observed.reset_index(), disp, pattern, susp)


def _pattern_setup(cfg: CalibrationConfig, observed: pd.DataFrame, start: pd.Timestamp, file: Path | None) -> dict[str, Any] | None:
    """Day indices of the tallies bracketing each strike, and the observed pattern statistic (a worded
    figure counts at the middle of its interval)."""
    sp = cfg.strike_pattern
    if sp is None:
        return None
    ids = [i for w in sp.windows for i in (*w.before, *w.after)]
    for j, w in enumerate(sp.windows):
        for k, cid in enumerate((*w.before, *w.after)):
            if cid not in observed.index:
                raise UserError(f"no observed count {cid!r}", file=file, path=("strike_pattern", "windows", j))
    rows = observed.loc[ids]
    if rows["quantity"].nunique() != 1 or rows["since"].nunique() != 1 or (rows["date_start"] != rows["date_end"]).any():
        raise UserError("strike_pattern counts must share one quantity and start, with exact report dates",
                        file=file, path=("strike_pattern", "windows"))
    days = np.array([(observed.loc[i, "date_end"] - start).days for i in ids]).reshape(-1, 4)
    if ((days[:, 1] <= days[:, 0]) | (days[:, 3] <= days[:, 2])).any():
        raise UserError("each strike_pattern interval must run forward in time", file=file, path=("strike_pattern", "windows"))
    mid = ((rows["obs_low"] + rows["obs_high"]) / 2).to_numpy(float)
    T = int(days.max()) + 1
    cum = np.zeros((T, 1))
    for d, v in zip(days.reshape(-1), mid):
        cum[d, 0] = v
    obs = float(strike_pattern(cum, days, sp.offset)[0])
    return {"quantity": rows["quantity"].iloc[0], "windows": days, "offset": sp.offset, "scale": sp.scale, "fit": sp.fit,
            "observed": obs, "known": rows["date_end"].max()}


def summaries_known_by(cal: Calibration, cut: pd.Timestamp | dt.date) -> Calibration:
    """The calibration with the strike-pattern and suspension summaries left out of the fit when they read
    anything reported after ``cut`` (refits at an earlier origin must not see them)."""
    cut = pd.Timestamp(cut)
    out = cal
    if out.pattern is not None and out.pattern["fit"] and out.pattern["known"] > cut:
        out = dataclasses.replace(out, pattern={**out.pattern, "fit": False})
    if out.suspension_fit is not None and out.suspension_fit["fit"] and out.suspension_fit["known"] > cut:
        out = dataclasses.replace(out, suspension_fit={**out.suspension_fit, "fit": False})
    return out


def _dispersion_setup(cfg: CalibrationConfig, observed: pd.DataFrame, start: pd.Timestamp, file: Path | None) -> dict[str, Any] | None:
    d = cfg.dispersion
    if d is None:
        return None
    for j, cid in enumerate(d.counts):
        if cid not in observed.index:
            raise UserError(f"no observed count {cid!r}", file=file, path=("dispersion", "counts", j))
    rows = observed.loc[d.counts]
    if rows["quantity"].nunique() != 1 or rows["since"].nunique() != 1 or (rows["date_start"] != rows["date_end"]).any():
        raise UserError("dispersion counts must share one quantity and start, with exact report dates",
                        file=file, path=("dispersion", "counts"))
    if not rows["date_end"].is_monotonic_increasing or rows["date_end"].duplicated().any():
        raise UserError("dispersion counts must be in date order", file=file, path=("dispersion", "counts"))
    days = np.array([(rows["since"].iloc[0] - start).days - 1] + [(t - start).days for t in rows["date_end"]])
    values = np.concatenate([[0.0], rows["value"].to_numpy(float)])
    return {"quantity": rows["quantity"].iloc[0], "days": days, "scale": d.scale, "fit": d.fit,
            "observed": float(dispersion_statistic(values[None, :], days)[0])}


def target_table(cfg: CalibrationConfig, observed: pd.DataFrame, file: Path | None = None) -> pd.DataFrame:
    """One row per target: the observed count (``observed`` indexed by id, with ``obs_low``/``obs_high``
    from :func:`load_observed`), its ``scale`` and ``fit``, and for ``minus`` targets the subtracted
    count's quantity and dates (``minus_*``; empty/NaT otherwise).

    ``id`` is the target's key (the count id, or ``'<id>-<minus>'``); ``count_id`` the count. An
    increment X - Y is observed as ``[max(low_X - high_Y, 0), high_X - low_Y]`` and ``value`` is N_X - N_Y.
    """
    rows = []
    for i, t in enumerate(cfg.targets):
        for name in ("id", "minus"):
            ref = getattr(t, name)
            if ref is not None and ref not in observed.index:
                raise UserError(f"no observed count {ref!r}; expected one of {sorted(observed.index)}", file=file, path=("targets", i, name))
        x = observed.loc[t.id]
        row = {"id": t.key, "count_id": t.id, "minus": t.minus or "", **{c: x[c] for c in (
            "quantity", "since", "date_start", "date_end", "value", "bound", "obs_low", "obs_high",
            "report", "source", "reported_by", "reported_on", "measure", "quote")},
            "minus_quantity": "", "minus_since": pd.NaT, "minus_date_start": pd.NaT, "minus_date_end": pd.NaT,
            "scale": t.scale, "fit": t.fit}
        if t.minus is not None:
            y = observed.loc[t.minus]
            if t.minus == t.id or y["quantity"] != x["quantity"] or y["measure"] != x["measure"]:
                raise UserError(f"minus: {t.minus!r} must be another count of the same quantity and measure as {t.id!r} "
                                f"({x['quantity']}, {x['measure']})", file=file, path=("targets", i, "minus"))
            if y["date_end"] > x["date_start"]:
                raise UserError(f"minus: {t.minus!r} (reported by {y['date_end'].date()}) must be reported before {t.id!r} "
                                f"({x['date_start'].date()}): an increment runs forward", file=file, path=("targets", i, "minus"))
            # an increment of a cumulative count is never negative, so the interval starts at 0 at least
            # (the simulated increments are >= 0, so this changes no deviation, only the figures)
            row.update(value=x["value"] - y["value"], bound=f"{x['bound']}-{y['bound']}",
                       obs_low=max(x["obs_low"] - y["obs_high"], 0), obs_high=x["obs_high"] - y["obs_low"],
                       minus_quantity=y["quantity"], minus_since=y["since"], minus_date_start=y["date_start"],
                       minus_date_end=y["date_end"])
        rows.append(row)
    tdf = pd.DataFrame(rows)
    dup = tdf["id"][tdf["id"].duplicated()]
    if len(dup):
        raise UserError(f"target {dup.iloc[0]!r} is listed twice", file=file, path=("targets", int(dup.index[0])))
    if not tdf["fit"].any():
        raise UserError("at least one target needs fit: true", file=file, path=("targets",))
    for c in ("minus_since", "minus_date_start", "minus_date_end"):
        tdf[c] = pd.to_datetime(tdf[c])
    return tdf


# --------------------------------------------------------------------------- priors and parameter maps


def prior_sample(cal: Calibration, n: int, seed: int) -> np.ndarray:
    """Scrambled Sobol points in the unit cube, (n, d); deterministic in ``seed``."""
    return sobol(len(cal.config.parameters), n, seed)


def to_values(cal: Calibration, u: np.ndarray) -> np.ndarray:
    """Unit-cube points -> parameter values (n, d) on each prior's scale."""
    out = np.empty_like(u, dtype=float)
    for j, p in enumerate(cal.config.parameters):
        if p.scale == "log":
            out[:, j] = np.exp(np.log(p.low) + u[:, j] * (np.log(p.high) - np.log(p.low)))
        else:
            out[:, j] = p.low + u[:, j] * (p.high - p.low)
    return out


def to_unit(cal: Calibration, x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x, dtype=float)
    for j, p in enumerate(cal.config.parameters):
        if p.scale == "log":
            out[:, j] = (np.log(x[:, j]) - np.log(p.low)) / (np.log(p.high) - np.log(p.low))
        else:
            out[:, j] = (x[:, j] - p.low) / (p.high - p.low)
    return out


def varying_from(cal: Calibration, values: np.ndarray) -> dict[str, np.ndarray]:
    """Parameter values (n, d) -> ``varying=`` for the model: multipliers become per-militia paths."""
    out: dict[str, np.ndarray] = {}
    for j, p in enumerate(cal.config.parameters):
        if p.mode == "multiplier":
            field_name = p.path.split(".", 2)[2]
            base = _militia_defaults(cal.scenario, field_name)
            for i, b in enumerate(base):
                out[f"militias.{i}.{field_name}"] = values[:, j] * b
        else:
            out[p.path] = values[:, j]
    return out


def _militia_defaults(scenario: Scenario, dotted: str) -> list[float]:
    vals = []
    for m in scenario.militias:
        obj: Any = m
        for part in dotted.split("."):
            obj = obj.get(part, {}) if isinstance(obj, dict) else getattr(obj, part)
        vals.append(float(obj))
    return vals


# --------------------------------------------------------------------------- simulation


DEATH_EVENT = "tower22_attack"  # the first U.S. deaths in the sources (000, 003)


def _suspension_setup(cal: Calibration) -> tuple[int | None, tuple[int, int] | None]:
    s = cal.config.suspension
    if s is None:
        return None, None
    ev = cal.events.set_index("id").loc[s.event]
    start = pd.Timestamp(cal.scenario.start)
    window = ((ev.date_start - start).days, (ev.date_end - start).days)
    return [m.short for m in cal.scenario.militias].index(s.group), window


def chunk_statistics(cal: Calibration, curves: bool = False) -> ChunkStatistics:
    """The statistics a calibration reads from each chunk's tables (``curves``: posterior-predictive curves too)."""
    group, window = _suspension_setup(cal)
    return ChunkStatistics(cal.targets, len(cal.scenario.militias), group, window, curves, cal.dispersion, cal.pattern)


def chunk_jobs(cal: Calibration, values: np.ndarray, block0: int = 0, statistics: ChunkStatistics | None = None) -> list[Job]:
    """Runner jobs for parameter values (n, d): chunk k of ``chunk_size`` draws (one per replicate, as
    ``varying``) uses random-stream block ``block0 + k`` of the calibration's seed; each builds only the
    tables and columns ``statistics`` read."""
    stats = statistics or chunk_statistics(cal)
    size = cal.config.chunk_size
    return [Job(cal.scenario, cal.config.seed, block0 + k, 0, len(values[a : a + size]), varying_from(cal, values[a : a + size]),
                tables=stats.tables(), columns=stats.columns())
            for k, a in enumerate(range(0, len(values), size))]


def simulate(cal: Calibration, values: np.ndarray, *, block0: int = 0, executor: Executor | int | None = None, curves: bool = False,
             on_done: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """Simulate parameter values (n, d) through the runner in chunks of ``chunk_size`` (chunk k: block
    ``block0 + k``); the statistics are computed in the workers. ``on_done`` receives the number of
    simulations each finished chunk held."""
    reduce = chunk_statistics(cal, curves)
    jobs = chunk_jobs(cal, values, block0, reduce)
    report = None if on_done is None else (lambda i: on_done(jobs[i].size))
    parts = run_jobs(jobs, executor, reduce, report)
    axis = {k: (1 if k.startswith("cum_") else 0) for k in parts[0]}
    return {k: np.concatenate([p[k] for p in parts], axis=axis[k]) for k in parts[0]}


# --------------------------------------------------------------------------- ABC


@dataclass
class Posterior:
    values: np.ndarray  # (n_accepted, d) adjusted (or raw) parameter values
    raw: np.ndarray  # (n_accepted, d) accepted prior draws before adjustment
    weights: np.ndarray  # (n_accepted,) normalised
    index: np.ndarray  # rows of the prior sample that were accepted
    epsilon: float
    distances: np.ndarray  # (n_accepted,)


def fitted_deviations(cal: Calibration, sims: dict[str, np.ndarray], mask: np.ndarray | None = None) -> np.ndarray:
    """Scaled deviations (R, J') of the fitted summaries: the fitted targets (or ``mask``) and, when it is
    fitted, the dispersion statistic. The ABC distance is their Euclidean norm."""
    use = cal.targets["fit"].to_numpy(bool) if mask is None else mask
    z = deviations(sims["stats"].astype(float), cal.targets)[:, use] / cal.targets["scale"].to_numpy(float)[use]
    d = cal.dispersion
    if d is not None and d["fit"] and "dispersion" in sims:
        z = np.column_stack([z, (sims["dispersion"].astype(float) - d["observed"]) / d["scale"]])
    pt = cal.pattern
    if pt is not None and pt["fit"] and "pattern" in sims:
        z = np.column_stack([z, (sims["pattern"].astype(float) - pt["observed"]) / pt["scale"]])
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


# --------------------------------------------------------------------------- the whole calibration


@dataclass
class CalibrationResult:
    cal: Calibration
    prior_values: np.ndarray
    distances: np.ndarray
    posterior: Posterior
    predictive: dict[str, np.ndarray]
    tables: dict[str, pd.DataFrame]
    fit: dict[str, Any]


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


def out_of_time(cal: Calibration, *, executor: Executor | int | None = None, progress: Callable[[int], None] | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    """Refit strictly on what was known by ``fit_until`` (targets, and fixed values through ``replace``),
    forecast to ``forecast_end`` and score the forecasts of ``predict`` against two naive forecasts.

    The model forecast is conditional on the scenario's inputs after the cut (the replayed strikes and
    the Tower 22 casualty event), as the historical scenario is; the naive forecasts see only the
    Pentagon tallies up to the cut. Scores: log score and interval CRPS (experiments/analysis/forecast.py).
    """
    from experiments.analysis import forecast as fc

    cfg, oot = cal.config, cal.config.out_of_time
    cut = pd.Timestamp(oot.fit_until)
    known = cal.targets["date_end"] <= cut
    known &= cal.targets["minus_date_end"].isna() | (cal.targets["minus_date_end"] <= cut)
    mask = (known & cal.targets["fit"]).to_numpy(bool)
    overrides = {r.path: r.value for r in oot.replace}
    refit = dataclasses.replace(cal, scenario=with_overrides(cal.scenario, overrides, file=cal.file)) if overrides else cal
    refit = summaries_known_by(refit, cut)
    if oot.priors:
        own = {p.label: p for p in oot.priors}
        refit = dataclasses.replace(refit, config=cfg.model_copy(update={"parameters": [own.get(p.label, p) for p in cfg.parameters]}))
    fit_ = fit_posterior(refit, mask=mask, executor=executor, block_base=OUT_OF_TIME_STREAM, progress=progress)
    pp = posterior_predictive(refit, fit_.posterior, executor=executor, block0=OUT_OF_TIME_STREAM + PREDICTIVE_STREAM, progress=progress)

    tallies = cal.observed[(cal.observed["quantity"] == "attacks_total") & (cal.observed["report"] == "secondary")
                           & (cal.observed["date_end"] <= cut)]
    tallies = pd.DataFrame({"date": tallies["date_end"].dt.date, "count": tallies["value"].astype(float)}).sort_values("date")
    tix = cal.targets.set_index("id")
    rows = []
    for pid in oot.predict:
        t = tix.loc[pid]
        j = int(np.flatnonzero(cal.targets["id"].to_numpy() == pid)[0])
        sample = pp["stats"][:, j, 1].astype(float)  # the count on the window's last day
        common = {"target": pid, "obs_low": float(t["obs_low"]), "obs_high": float(t["obs_high"])}
        rows.append({"model": "escalation model (fit to " + str(oot.fit_until) + ")", "samples": sample, **common})
        if t["quantity"] == "attacks_total" and t["minus"] == "":
            for name, fn in fc.NAIVE_FORECASTS.items():
                # the tallies count from Oct 17; earlier days (Gaza intensity 0.1, 004: the jump "began 10 days
                # after Hamas' Oct. 7 incursion") count as none for the naive forecasts
                since = max(t["since"].date(), FORECAST_SINCE)
                naive = fn(tallies, [t["date_end"].date()], since, n=oot.naive_samples, seed=cfg.seed, origin=FORECAST_SINCE)
                rows.append({"model": name, "samples": naive[:, 0], **common})
    table, summary = fc.score_table(pd.DataFrame(rows))
    out = {
        "fit_until": str(oot.fit_until),
        "fitted_on": cal.targets.loc[mask, "id"].tolist(),
        "replaced": [r.model_dump(mode="json") for r in oot.replace],
        "priors": [p.model_dump(mode="json") for p in oot.priors],
        "simulations": fit_.simulations,
        "width_ratios": dict(zip(cal.labels, intervals_table(cal, fit_.prior_values, fit_.posterior)["width_ratio"].round(3))),
        "forecast": forecast_summary(predictive_scenario(refit), pp),
        "summary": summary.to_dict(orient="records"),
    }
    return out, table


# --------------------------------------------------------------------------- tables


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
    for q in PREDICTIVE_QUANTITIES:
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
            out[p.path] = ratio[p.label]
    return out


def calibrated_yaml(cal: Calibration, intervals: pd.DataFrame, posterior: str, extends: str = "baseline.yaml") -> str:
    """The calibrated scenario: the base scenario carrying the posterior draws (one draw per replicate).

    Point values would publish unidentified parameters as known; the draws carry what the data say
    about each (the console, manifests and reports name the parameters the data do not identify).
    """
    import yaml

    lines = [f"#   {r.parameter}: median {r.posterior_q50:.4g}, 90 % [{r.posterior_q05:.4g}, {r.posterior_q95:.4g}], "
             f"width ratio {r.width_ratio:.2f}{' (not identified)' if r.width_ratio >= WIDTH_RATIO_THRESHOLD else ''}"
             for r in intervals.itertuples()]
    header = (
        "# Generated by `escalation calibrate scenarios/calibration.yaml --publish`: the baseline carrying the ABC\n"
        "# posterior draws (method, checks and width ratios: docs/calibration.md). Posterior per parameter:\n"
        + "\n".join(lines) + "\n"
    )
    body = {"name": "calibrated", "extends": extends,
            "description": f"baseline with the ABC posterior draws ({cal.config.method}, budget {cal.config.budget}, "
                           f"seed {cal.config.seed})",
            "uncertainty": {"posterior": posterior}}
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def publish(res: "CalibrationResult", folder: Path) -> list[Path]:
    """Write the posterior (with its identification record) and calibrated.yaml next to the calibration file."""
    from experiments.runner.store import write_posterior
    from experiments.runner.run import atomic_write_bytes

    cal = res.cal
    rel = cal.config.publish or "data/calibrated_posterior.parquet"
    target = folder / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    write_posterior(posterior_frame(cal, res.posterior), target, identification(cal, res.tables["intervals"]))
    scenario = folder / "calibrated.yaml"
    atomic_write_bytes(scenario, calibrated_yaml(cal, res.tables["intervals"], rel).encode())
    return [target, scenario]


# --------------------------------------------------------------------------- writing and figures


def write_calibration(res: CalibrationResult, out: Path, force: bool = False, figures: bool = True) -> list[Path]:
    """Write posterior.parquet, draws, intervals, fit statistics, predictive tables, manifest and figures."""
    from experiments.runner.run import atomic_write_json, atomic_write_parquet, check_out_dir, manifest

    cal = res.cal
    check_out_dir(out, cal.scenario.identity_hash(), force, kind="calibration")
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "posterior_draws.parquet": draws_frame(cal, res.posterior),
        "prior_draws.parquet": pd.DataFrame(res.prior_values, columns=cal.labels).assign(distance=res.distances),
        "intervals.parquet": res.tables["intervals"],
        "targets.parquet": res.tables["targets"],
        "prior_targets.parquet": res.tables["prior_predictive"],
        "predictive.parquet": res.tables["predictive"],
        "observed.parquet": cal.observed,  # every reported count with its interval (for the figures)
        "history.parquet": res.tables["history"],
    }
    if "out_of_time_scores" in res.tables:
        files["out_of_time_scores.parquet"] = res.tables["out_of_time_scores"].drop(columns=["samples"], errors="ignore")
    from experiments.runner.store import write_posterior

    written = [write_posterior(posterior_frame(cal, res.posterior), out / "posterior.parquet", identification(cal, res.tables["intervals"]))]
    for name, df in files.items():
        atomic_write_parquet(df, out / name)
        written.append(out / name)
    from experiments.runner.run import atomic_write_bytes

    atomic_write_bytes(out / "intervals.csv", res.tables["intervals"].to_csv(index=False).encode())
    atomic_write_json(res.fit, out / "fit.json")
    atomic_write_json(manifest(cal.scenario, cal.config.seed, cal.config.budget, kind="calibration",
                               calibration=cal.config.model_dump(mode="json"), files=sorted(files) + ["posterior.parquet", "intervals.csv", "fit.json"],
                               point_estimate=point_estimate(cal, res.posterior)), out / "manifest.json")
    atomic_write_bytes(out / "calibrated.yaml", calibrated_yaml(cal, res.tables["intervals"], "posterior.parquet").encode())
    written += [out / "intervals.csv", out / "fit.json", out / "manifest.json", out / "calibrated.yaml"]
    if figures:
        written += plot_calibration(out)
    return written
