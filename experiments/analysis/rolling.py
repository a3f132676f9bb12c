"""Rolling-origin forecasts of the Pentagon tallies, scored against four naive forecasters.

For each origin (a day in the tally series) the calibration is refitted on what was reported by then,
as the out-of-time check does (:func:`experiments.analysis.calibration.out_of_time.out_of_time`): only the fitted
targets whose report windows end by the origin, every fixed value whose number comes from a later
source replaced (``out_of_time.replace``) and the priors that read later sources widened
(``out_of_time.priors``); the dispersion summary enters only if all its counts are reported by the
origin. Every default origin precedes Tower 22 (Jan 28, 2024), the first of those later sources.

With the rejection method the refits share one prior sample and its simulations (on the out-of-time
check's random-stream blocks; only the rejection step, i.e. which targets count, differs per origin),
so the Dec 7 refit is the out-of-time check's posterior and each extra origin costs only its
posterior-predictive runs. ABC-SMC refits each origin.

Each forecast starts from the reported state at the origin: for each quantity (total, Iraq, Syria)
the last tally reported by the origin (its *anchor*) plus the simulated increment from the anchor's
day on (the posterior-predictive run, conditional on the replayed inputs after the origin, as the
historical scenario is). The naive forecasters see only the tallies of the same quantity up to the
origin and start from the same anchor. Every later tally is scored as its *increment* over the anchor
(experiments/analysis/forecast.py: interval CRPS, log score, mid PIT; a lower bound by its log score
only). Predictive samples are keyed by origin in random-stream block ``ROLLING + 100 x day``, so an
origin's forecast does not depend on which other origins were asked for or on the data after it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from experiments.analysis import forecast as fc
from experiments.analysis.calibration.abc import fit_posterior, fitted_deviations, Posterior, rejection
from experiments.analysis.calibration.config import Calibration, summaries_known_by
from experiments.analysis.calibration.out_of_time import OUT_OF_TIME_STREAM
from experiments.analysis.calibration.predictive import FORECAST_SINCE, posterior_predictive
from experiments.analysis.calibration.priors import prior_sample, to_values
from experiments.analysis.calibration.simulate import simulate
from experiments.runner.executors import Executor
from experiments.runner.streams import StreamKey, keyed_generator
from experiments.scenario.errors import UserError
from experiments.scenario.schema import with_overrides

DEFAULT_ORIGINS = (dt.date(2023, 11, 23), dt.date(2023, 12, 7), dt.date(2023, 12, 21), dt.date(2024, 1, 9), dt.date(2024, 1, 18))
QUANTITIES = ("attacks_total", "attacks_iraq", "attacks_syria")
LONG_RUN_END = dt.date(2024, 12, 31)  # the full-data forecast from the last tally runs on to here
MIN_SAMPLES = 1000  # per origin and date, in the command (issue 18); tests use fewer
# The start state: the predictive runs are conditioned on the tally increments reported in the last
# RECENT_DAYS before the origin (see :func:`condition_on_recent`): OVERSAMPLE x samples runs, the closest kept.
RECENT_DAYS = 21
OVERSAMPLE = 10
MODEL, REFERENCE, PIT_BAND = fc.MODEL, fc.REFERENCE, fc.PIT_BAND


# --------------------------------------------------------------------------- the tallies and the origins


def tally_table(cal: Calibration) -> pd.DataFrame:
    """The Pentagon's running tallies (secondary reports counted from Oct 17, one report day each)."""
    o = cal.observed
    keep = ((o["report"] == "secondary") & o["quantity"].isin(QUANTITIES) & (o["since"] == pd.Timestamp(FORECAST_SINCE))
            & (o["date_start"] == o["date_end"]))
    t = o.loc[keep, ["id", "quantity", "date_end", "value", "bound", "obs_low", "obs_high"]].rename(columns={"date_end": "date"})
    t["date"] = t["date"].dt.date
    return t.sort_values(["quantity", "date"], ignore_index=True)


def parse_origins(text: str | None) -> list[dt.date]:
    """``2023-12-07,2024-01-09`` -> dates (None: the defaults); a malformed date is a one-line error."""
    if text is None or not text.strip():
        return list(DEFAULT_ORIGINS)
    out = []
    for part in text.split(","):
        try:
            out.append(dt.date.fromisoformat(part.strip()))
        except ValueError:
            raise UserError(f"expected dates as YYYY-MM-DD separated by commas, got {part.strip()!r}", path="--origins") from None
    return out


def check_origins(cal: Calibration, origins: Sequence[dt.date]) -> list[dt.date]:
    """Sorted, checked origins: each needs a total tally on or before it (the anchor, not a lower bound)
    and a later tally to forecast."""
    if not origins:
        raise UserError("give at least one origin", path="--origins")
    if len(set(origins)) != len(origins):
        raise UserError("an origin is listed twice", path="--origins")
    total = tally_table(cal).query("quantity == 'attacks_total'")
    first, last = total["date"].min(), total["date"].max()
    for o in origins:
        if o < first:
            raise UserError(f"origin {o} is before the first tally ({first}): nothing to start from", path="--origins")
        if o >= last:
            raise UserError(f"origin {o} is on or after the last tally ({last}): nothing to forecast", path="--origins")
        anchor = total[total["date"] <= o].iloc[-1]
        if anchor["bound"] == "more_than":
            raise UserError(f"origin {o}: the last tally by then ({anchor['date']}) is a lower bound; choose another origin",
                            path="--origins")
    return sorted(origins)


def anchors(tallies: pd.DataFrame, origin: dt.date) -> dict[str, pd.Series]:
    """Per quantity, the last tally reported by ``origin`` (the forecast's starting state)."""
    out = {}
    for q in QUANTITIES:
        known = tallies[(tallies["quantity"] == q) & (tallies["date"] <= origin)]
        if len(known):
            out[q] = known.iloc[-1]
    return out


def later_dates(tallies: pd.DataFrame, origin: dt.date) -> list[dt.date]:
    return sorted(set(tallies.loc[tallies["date"] > origin, "date"]))


# --------------------------------------------------------------------------- refits


def refit_calibration(cal: Calibration) -> Calibration:
    """The calibration with the out-of-time block's replacements and priors (fixed values read from later
    sources); unchanged without an ``out_of_time`` block."""
    oot = cal.config.out_of_time
    if oot is None:
        return cal
    refit = cal
    overrides = {r.path: r.value for r in oot.replace}
    if overrides:
        refit = dataclasses.replace(refit, scenario=with_overrides(cal.scenario, overrides, file=cal.file))
    if oot.priors:
        own = {p.label: p for p in oot.priors}
        refit = dataclasses.replace(refit, config=refit.config.model_copy(
            update={"parameters": [own.get(p.label, p) for p in refit.config.parameters]}))
    return refit


def known_mask(cal: Calibration, origin: dt.date) -> np.ndarray:
    """Fitted targets whose report windows (and subtracted counts') end by ``origin``."""
    cut = pd.Timestamp(origin)
    t = cal.targets
    known = (t["date_end"] <= cut) & (t["minus_date_end"].isna() | (t["minus_date_end"] <= cut))
    return (known & t["fit"]).to_numpy(bool)


def at_origin(cal: Calibration, origin: dt.date) -> Calibration:
    """The calibration as of ``origin``: the dispersion, strike-pattern and suspension summaries are fitted
    only if all they read is known."""
    cal = summaries_known_by(cal, origin)
    d = cal.dispersion
    if d is None or not d["fit"]:
        return cal
    counts = cal.observed.set_index("id").loc[cal.config.dispersion.counts]
    if (counts["date_end"] <= pd.Timestamp(origin)).all():
        return cal
    return dataclasses.replace(cal, dispersion={**d, "fit": False, "observed": float("nan")})


def refit_posteriors(cal: Calibration, origins: Sequence[dt.date], *, executor: Executor | int | None = None,
                     progress: Callable[[int], None] | None = None) -> dict[dt.date, tuple[Calibration, Posterior, list[str]]]:
    """Per origin: its calibration, the posterior on what was known by then, and the targets it was fitted on."""
    refit = refit_calibration(cal)
    out = {}
    if refit.config.method == "rejection":
        values = to_values(refit, prior_sample(refit, refit.config.budget, refit.config.seed))
        sims = simulate(refit, values, block0=OUT_OF_TIME_STREAM, executor=executor, on_done=progress)
        for o in origins:
            c, mask = at_origin(refit, o), known_mask(refit, o)
            z = fitted_deviations(c, sims, mask)
            out[o] = (c, rejection(c, values, z, np.sqrt((z * z).sum(axis=1))), refit.targets.loc[mask, "id"].tolist())
    else:
        for o in origins:
            c, mask = at_origin(refit, o), known_mask(refit, o)
            post = fit_posterior(c, mask=mask, executor=executor, block_base=OUT_OF_TIME_STREAM, progress=progress).posterior
            out[o] = (c, post, refit.targets.loc[mask, "id"].tolist())
    return out


def _block(cal: Calibration, day: dt.date, extra: int = 0) -> int:
    return int(StreamKey.ROLLING) + 100 * (day - cal.scenario.start).days + extra


def predictive_curves(cal: Calibration, post: Posterior, end: dt.date, samples: int, block0: int, *,
                      executor: Executor | int | None = None, progress: Callable[[int], None] | None = None) -> tuple[list[dt.date], dict[str, np.ndarray]]:
    """Posterior-predictive cumulative daily curves (T, samples) of the attack quantities, to ``end``."""
    run = dataclasses.replace(cal, config=cal.config.model_copy(update={"forecast_end": end, "predictive_draws": samples}))
    pp = posterior_predictive(run, post, executor=executor, block0=block0, progress=progress)
    days = list(with_overrides(cal.scenario, {"end": max(end, cal.scenario.end)}).days)
    return days, {q: pp[f"cum_{q}"].astype(np.float64) for q in QUANTITIES}


def anchored_samples(days: list[dt.date], curves: dict[str, np.ndarray], starts: dict[str, pd.Series],
                     dates: Sequence[dt.date]) -> dict[str, np.ndarray]:
    """Per quantity, samples (n, len(dates)) of the cumulative tally: the anchor's reported value plus the
    simulated increment from the anchor's day (NaN where the quantity has no anchor)."""
    index = {d: i for i, d in enumerate(days)}
    out = {}
    for q, cum in curves.items():
        if q not in starts:
            out[q] = np.full((cum.shape[1], len(dates)), np.nan)
            continue
        a = starts[q]
        base = cum[index[a["date"]]]
        out[q] = np.stack([float(a["value"]) + cum[index[d]] - base for d in dates], axis=1)
    return out


def recent_intervals(tallies: pd.DataFrame, origin: dt.date, days: int = RECENT_DAYS) -> list[tuple[str, pd.Series, pd.Series]]:
    """The tally intervals (quantity, earlier tally, later tally) reported by ``origin`` whose later tally
    falls in the last ``days`` days up to the origin: what was reported of the current rate."""
    out = []
    for q in QUANTITIES:
        t = tallies[(tallies["quantity"] == q) & (tallies["date"] <= origin)]
        for (_, a), (_, b) in zip(t.iloc[:-1].iterrows(), t.iloc[1:].iterrows()):
            if b["date"] >= origin - dt.timedelta(days=days):
                out.append((q, a, b))
    return out


def recent_distance(days: list[dt.date], curves: dict[str, np.ndarray], intervals: list[tuple[str, pd.Series, pd.Series]]) -> np.ndarray:
    """Per predictive run, the Euclidean distance of its simulated increments over ``intervals`` from the
    reported ones: 0 inside the reported interval (worded tallies by interval arithmetic, as the targets),
    else the gap in Poisson standard deviations of the reported count (sqrt of its midpoint, at least 1)."""
    index = {d: i for i, d in enumerate(days)}
    n = next(iter(curves.values())).shape[1]
    total = np.zeros(n)
    for q, a, b in intervals:
        cum = curves[q]
        sim = cum[index[b["date"]]] - cum[index[a["date"]]]
        low, high = float(b["obs_low"]) - float(a["obs_high"]), float(b["obs_high"]) - float(a["obs_low"])
        gap = np.maximum(sim - high, 0.0) + np.minimum(sim - max(low, 0.0), 0.0)
        total += (gap / np.sqrt(max(0.5 * (max(low, 0.0) + high), 1.0))) ** 2
    return np.sqrt(total)


def condition_on_recent(days: list[dt.date], curves: dict[str, np.ndarray], tallies: pd.DataFrame, origin: dt.date,
                        samples: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The start state: of the predictive runs (re-simulated from the posterior draws with new random
    streams, so their state at the origin -- excitation, grievance, fear, suspensions -- ignores what
    was reported), keep the ``samples`` whose increments over the recently reported tally intervals
    (:func:`recent_intervals`) come closest to them (:func:`recent_distance`; ties by run order).

    The posterior draws are fitted to every target reported by the origin, but a re-simulated path's
    state at the origin is a draw from its prior: a run whose groups were attacking at twice the reported
    rate in the last weeks carries that excitation into the forecast. This rejection step conditions the
    state on the latest reports, as a particle filter weights its particles by the latest observation,
    and so makes the forecast track the current rate. It reads only tallies reported by the origin."""
    intervals = recent_intervals(tallies, origin)
    n = next(iter(curves.values())).shape[1]
    info = {"intervals": [f"{q}: {a['date']} -> {b['date']}" for q, a, b in intervals], "runs": n, "kept": min(samples, n)}
    if not intervals or n <= samples:
        return {q: c[:, :samples] for q, c in curves.items()}, info
    dist = recent_distance(days, curves, intervals)
    keep = np.sort(np.argsort(dist, kind="stable")[:samples])
    info["max_distance"] = float(dist[keep].max())
    return {q: c[:, keep] for q, c in curves.items()}, info


# --------------------------------------------------------------------------- scores


def _naive_seed(seed: int, origin: dt.date, quantity: int, forecaster: int) -> int:
    return int(keyed_generator(seed, int(StreamKey.ROLLING), origin.toordinal(), quantity, forecaster).integers(2**62))


def score_origin(tallies: pd.DataFrame, origin: dt.date, model: dict[str, np.ndarray], dates: Sequence[dt.date],
                 seed: int, n_naive: int) -> pd.DataFrame:
    """Scores of the model's and the naive forecasters' increments over each anchor, for every later tally."""
    starts = anchors(tallies, origin)
    rows = []
    for qi, q in enumerate(QUANTITIES):
        if q not in starts:
            continue
        a = starts[q]
        fit = tallies[(tallies["quantity"] == q) & (tallies["date"] <= origin)]
        later = tallies[(tallies["quantity"] == q) & (tallies["date"] > origin)]
        if later.empty:
            continue
        fit_tallies = pd.DataFrame({"date": fit["date"], "count": fit["value"].astype(float)})
        target_dates = list(later["date"])
        forecasts = {MODEL: model[q][:, [list(dates).index(d) for d in target_dates]]}
        for fi, (name, fn) in enumerate(fc.NAIVE_FORECASTERS.items()):
            forecasts[name] = fn(fit_tallies, target_dates, FORECAST_SINCE, n=n_naive, seed=_naive_seed(seed, origin, qi, fi))
        for j, r in enumerate(later.itertuples()):
            base = float(a["value"])
            if r.bound == "more_than":
                low, high = float(r.value) + 1 - base, np.inf
            else:
                low, high = max(float(r.obs_low) - base, 0.0), float(r.obs_high) - base
            for name, s in forecasts.items():
                inc = s[:, j] - base
                q05, q50, q95 = np.quantile(inc, [0.05, 0.5, 0.95])
                rows.append({"origin": origin, "date": r.date, "quantity": q, "forecaster": name, "anchor_date": a["date"],
                             "anchor": base, "bound": r.bound, "obs_low": low, "obs_high": high,
                             "median": q50, "q05": q05, "q95": q95, **fc.score_report(inc, low, high, r.bound)})
    return pd.DataFrame(rows)


def summarise(scores: pd.DataFrame) -> pd.DataFrame:
    """Per origin and forecaster: mean CRPS and log score over the later tallies (all three quantities,
    and totals only), and the ratio of the mean CRPS to the reference (constant rate, Poisson)."""
    g = scores.groupby(["origin", "forecaster"], sort=False)
    tot = scores[scores["quantity"] == "attacks_total"].groupby(["origin", "forecaster"], sort=False)
    s = pd.DataFrame({"tallies": g["crps"].count(), "crps": g["crps"].mean(), "log_score": g["log_score"].mean(),
                      "crps_total": tot["crps"].mean()}).reset_index()
    ref = s[s["forecaster"] == REFERENCE].set_index("origin")
    s["crps_ratio"] = s["crps"] / s["origin"].map(ref["crps"])
    s["crps_total_ratio"] = s["crps_total"] / s["origin"].map(ref["crps_total"])
    return s


def goal(scores: pd.DataFrame, summary: pd.DataFrame) -> dict[str, Any]:
    """Issue 18's goal: at every origin the model's mean CRPS over the later tallies is at most the
    reference's, and every PIT of the model's increments lies in [0.1, 0.9]. Judged on all three
    quantities (``crps``) and on the totals alone (``crps_total``)."""
    m = summary[summary["forecaster"] == MODEL].set_index("origin")
    ref = summary[summary["forecaster"] == REFERENCE].set_index("origin")
    out: dict[str, Any] = {}
    for col, which in (("crps", "all"), ("crps_total", "totals")):
        pit = scores[(scores["forecaster"] == MODEL) & scores["pit"].notna()]
        if which == "totals":
            pit = pit[pit["quantity"] == "attacks_total"]
        inside = pit["pit"].between(*PIT_BAND)
        beat = bool((m[col] <= ref[col]).all())
        out[which] = {
            "crps_ratio": {str(o): float(r) for o, r in (m[col] / ref[col]).items()},
            "crps_ratio_overall": float(m[col].mean() / ref[col].mean()),
            "crps_at_most_reference_everywhere": beat,
            "pit_inside": int(inside.sum()), "pit_scored": int(len(pit)), "pit_all_inside": bool(inside.all()),
            "met": beat and bool(inside.all()),
        }
    return out


# --------------------------------------------------------------------------- the whole run


@dataclass
class RollingForecast:
    origins: list[dt.date]
    predictive: pd.DataFrame  # origin, date, sample, attacks_total, attacks_iraq, attacks_syria
    scores: pd.DataFrame
    summary: pd.DataFrame
    long_run: pd.DataFrame  # date, sample, the three quantities (full-data posterior, from the last tally)
    info: dict[str, Any]


def identity(cal: Calibration, samples: int) -> str:
    """What a stored origin's forecast depends on (resuming reuses it only if this matches): the
    calibration, its scenario, the observed data and targets as read, the samples and the code's version."""
    from experiments.runner.run import git_commit, versions

    data = pd.util.hash_pandas_object(cal.observed.astype(str), index=False).to_numpy().tobytes()
    data += pd.util.hash_pandas_object(cal.targets.astype(str), index=False).to_numpy().tobytes()
    blob = json.dumps({"config": cal.config.model_dump(mode="json"), "scenario": cal.scenario.identity_hash(),
                       "data": hashlib.sha256(data).hexdigest(), "samples": samples, "versions": versions(),
                       "start_state": {"recent_days": RECENT_DAYS, "oversample": OVERSAMPLE},
                       "commit": git_commit()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _frame(origin: Any, dates: Sequence[dt.date], samples: dict[str, np.ndarray]) -> pd.DataFrame:
    n = next(iter(samples.values())).shape[0]
    df = pd.DataFrame({"date": np.repeat(np.array(dates, dtype=object), n), "sample": np.tile(np.arange(n), len(dates))})
    if origin is not None:
        df.insert(0, "origin", origin)
    for q in QUANTITIES:
        df[q] = samples[q].T.ravel()
    return df


def _samples(df: pd.DataFrame, dates: Sequence[dt.date]) -> dict[str, np.ndarray]:
    n = int(df["sample"].max()) + 1
    return {q: df[q].to_numpy(float).reshape(len(dates), n).T for q in QUANTITIES}


def long_run_dates(last: dt.date, end: dt.date = LONG_RUN_END) -> list[dt.date]:
    """Month ends after ``last`` up to ``end`` (and ``end``)."""
    ends = [d.date() for d in pd.date_range(last, end, freq="ME") if d.date() > last]
    return ends if ends and ends[-1] == end else ends + [end]


def rolling_forecast(cal: Calibration, origins: Sequence[dt.date], *, samples: int | None = None,
                     executor: Executor | int | None = None, progress: Callable[[int], None] | None = None,
                     store: Path | None = None, long_run: bool = True) -> RollingForecast:
    """Refit at each origin, forecast every later tally, score against the naive forecasters; with
    ``long_run`` also forecast from the last tally to :data:`LONG_RUN_END` with the full-data posterior.

    ``store``: a folder for finished parts (one file per origin and the long run, named by
    :func:`identity`): a rerun reuses them, so an interrupted run resumes where it stopped."""
    origins = check_origins(cal, origins)
    samples = samples or cal.config.predictive_draws
    if samples < 1:
        raise UserError(f"expected at least one predictive sample per origin, got {samples:,}", path="--samples")
    tallies = tally_table(cal)
    last = tallies["date"].max()
    key = identity(cal, samples)

    def part(name: str) -> Path | None:
        return None if store is None else store / f"{name}-{key}.parquet"

    if store is not None and store.is_dir():  # parts of another calibration, data or code cannot be reused
        for stale in store.glob("*.parquet"):
            if not stale.name.endswith(f"-{key}.parquet"):
                stale.unlink()
    frames: dict[dt.date, pd.DataFrame] = {}
    for o in origins:
        p = part(f"origin-{o}")
        if p is not None and p.exists():
            frames[o] = pd.read_parquet(p)
    todo = [o for o in origins if o not in frames]
    fitted: dict[str, list[str]] = {}
    if todo:
        posts = refit_posteriors(cal, todo, executor=executor, progress=progress)
        for o in todo:
            c, post, ids = posts[o]
            dates = later_dates(tallies, o)
            days, curves = predictive_curves(c, post, last, samples * OVERSAMPLE, _block(cal, o), executor=executor, progress=progress)
            curves, _ = condition_on_recent(days, curves, tallies, o, samples)
            frames[o] = _frame(o, dates, anchored_samples(days, curves, anchors(tallies, o), dates))
            if p := part(f"origin-{o}"):
                from experiments.runner.store import atomic_write_parquet

                p.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_parquet(frames[o], p)
            fitted[str(o)] = ids
    for o in origins:
        if str(o) not in fitted:
            fitted[str(o)] = refit_calibration(cal).targets.loc[known_mask(refit_calibration(cal), o), "id"].tolist()

    score_frames = []
    for o in origins:
        dates = later_dates(tallies, o)
        score_frames.append(score_origin(tallies, o, _samples(frames[o], dates), dates, cal.config.seed, samples))
    scores = pd.concat(score_frames, ignore_index=True)
    summary = summarise(scores)
    predictive = pd.concat([frames[o] for o in origins], ignore_index=True)

    lr = pd.DataFrame()
    if long_run:
        p = part("long-run")
        if p is not None and p.exists():
            lr = pd.read_parquet(p)
        else:
            post = fit_posterior(cal, executor=executor, progress=progress).posterior  # the calibration's own posterior
            dates = long_run_dates(last)
            days, curves = predictive_curves(cal, post, dates[-1], samples * OVERSAMPLE, _block(cal, last, 50), executor=executor,
                                             progress=progress)
            curves, _ = condition_on_recent(days, curves, tallies, last, samples)
            lr = _frame(None, dates, anchored_samples(days, curves, anchors(tallies, last), dates))
            if p is not None:
                from experiments.runner.store import atomic_write_parquet

                p.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_parquet(lr, p)
    info = {"origins": [str(o) for o in origins], "samples": samples, "identity": key, "last_tally": str(last),
            "fitted_on": fitted, "reference": REFERENCE,
            "start_state": {"recent_days": RECENT_DAYS, "oversample": OVERSAMPLE,
                            "conditioned_on": {str(o): [f"{q}: {a['date']} -> {b['date']}" for q, a, b in recent_intervals(tallies, o)]
                                               for o in origins}}, "goal": goal(scores, summary),
            "replaced": [] if cal.config.out_of_time is None else [r.model_dump(mode="json") for r in cal.config.out_of_time.replace],
            "priors": [] if cal.config.out_of_time is None else [p_.model_dump(mode="json") for p_ in cal.config.out_of_time.priors]}
    if not lr.empty:
        info["long_run"] = long_run_summary(lr, tallies)
    return RollingForecast(list(origins), predictive, scores, summary, lr, info)


def long_run_summary(lr: pd.DataFrame, tallies: pd.DataFrame) -> dict[str, Any]:
    """Attacks after the last tally to each date (median, 90 %), and the cumulative total since Oct 17."""
    last = tallies["date"].max()
    base = float(tallies[(tallies["quantity"] == "attacks_total") & (tallies["date"] == last)]["value"].iloc[0])
    out: dict[str, Any] = {"from": str(last), "reported": base, "dates": {}}
    for d, g in lr.groupby("date", sort=True):
        x = g["attacks_total"].to_numpy(float)
        inc = np.quantile(x - base, [0.05, 0.5, 0.95])
        cum = np.quantile(x, [0.05, 0.5, 0.95])
        out["dates"][str(d)] = {"after": {"q05": inc[0], "median": inc[1], "q95": inc[2]},
                                "cumulative": {"q05": cum[0], "median": cum[1], "q95": cum[2]}}
    return out


# --------------------------------------------------------------------------- writing


def write_forecast(res: RollingForecast, cal: Calibration, out: Path, figures: bool = True) -> list[Path]:
    from experiments.runner.run import manifest
    from experiments.runner.store import atomic_write_json, atomic_write_parquet

    out.mkdir(parents=True, exist_ok=True)
    written = []
    tables = {"predictive.parquet": res.predictive, "scores.parquet": res.scores, "summary.parquet": res.summary,
              "long_run.parquet": res.long_run}
    (out / "long_run.parquet").unlink(missing_ok=True)  # a run without the long run leaves none behind
    for name, df in tables.items():
        if not df.empty:
            atomic_write_parquet(df, out / name)
            written.append(out / name)
    atomic_write_json(res.info, out / "forecast.json")
    written.append(out / "forecast.json")
    atomic_write_json(manifest(cal.scenario, cal.config.seed, cal.config.budget, kind="forecast", files=[p.name for p in written],
                               origins=res.info["origins"], samples=res.info["samples"], identity=res.info["identity"],
                               calibration=cal.config.model_dump(mode="json")), out / "manifest.json")
    written.append(out / "manifest.json")
    if figures:
        from experiments.analysis.rolling_plots import plot_forecast

        written += plot_forecast(out)
    return written


__all__ = [
    "DEFAULT_ORIGINS", "LONG_RUN_END", "OVERSAMPLE", "RECENT_DAYS", "condition_on_recent", "recent_distance",
    "recent_intervals", "MODEL", "QUANTITIES", "REFERENCE", "RollingForecast", "anchored_samples", "anchors",
    "at_origin", "check_origins", "goal", "known_mask", "later_dates", "long_run_dates", "parse_origins", "predictive_curves",
    "refit_calibration", "refit_posteriors", "rolling_forecast", "score_origin", "summarise", "tally_table", "write_forecast",
]
