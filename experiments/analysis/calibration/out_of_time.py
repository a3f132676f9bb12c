"""The out-of-time check: refit on what was known by ``fit_until``, forecast past it and score the
forecasts against naive ones (:mod:`experiments.analysis.forecast`)."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np
import pandas as pd

from experiments.analysis.calibration.abc import fit_posterior
from experiments.analysis.calibration.config import Calibration, summaries_known_by
from experiments.analysis.calibration.predictive import (
    FORECAST_SINCE,
    PREDICTIVE_STREAM,
    forecast_summary,
    posterior_predictive,
    predictive_scenario,
)
from experiments.analysis.calibration.tables import intervals_table
from experiments.runner.executors import Executor
from experiments.runner.streams import StreamKey
from experiments.scenario.schema import with_overrides

OUT_OF_TIME_STREAM = StreamKey.OUT_OF_TIME  # block offset of the out-of-time refit (apart from the main fit's blocks)


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
