"""What is fitted against what: the calibration file read and checked against the base scenario and the
observed data (targets, the dispersion and strike-pattern summaries, the suspension), the period cut.

:func:`load_calibration` reads ``scenarios/calibration.yaml`` (schema: :class:`experiments.scenario.blocks.CalibrationConfig`);
:func:`build_calibration` does the checks; :func:`summaries_known_by` leaves out of a refit what was
reported after its cut.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from experiments.analysis.calibration.statistics import dispersion_statistic, strike_pattern
from experiments.scenario.blocks import CalibrationConfig
from experiments.scenario.errors import UserError, from_validation
from experiments.scenario.inputs import float_paths
from experiments.scenario.observed import load_events, load_observed
from experiments.scenario.schema import Overrides, Scenario, apply_overrides, blame_overrides, load_scenario, read_yaml, with_overrides


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
    red_sea_pattern: dict[str, Any] | None = None  # the Red Sea strike pattern (as ``pattern``, on the Red Sea counts)

    @property
    def labels(self) -> list[str]:
        return [p.label for p in self.config.parameters]


def load_calibration(path: str | Path, overrides: Overrides | None = None, **fields: Any) -> Calibration:
    """Read and check ``scenarios/calibration.yaml`` (fields: budget=, seed=, ...; None keeps the file's
    value, ``out_of_time=False`` drops the out-of-time check, mappings merge into the file's blocks;
    ``overrides``: dotted paths set before validation, as ``--set``)."""
    path = Path(path)
    data = apply_overrides(read_calibration_yaml(path), overrides, file=path, fill_defaults=False)
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


LIST_KEYS = {"parameters": lambda e: (e.get("path"), e.get("mode", "value")), "targets": lambda e: (e.get("id"), e.get("minus")),
             "fixed": lambda e: e.get("path")}


def read_calibration_yaml(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A calibration file's mapping, with ``extends: <file in the same folder>`` resolved: the child's fields
    replace the parent's, except ``parameters``, ``targets`` and ``fixed``, whose entries are added to the
    parent's (an entry with the same path (and mode) or the same id (and minus) replaces the parent's in
    place). So a joint calibration keeps the Iraq/Syria calibration's priors and targets as that file
    changes, and says only what it adds (``scenarios/calibration_axis.yaml``)."""
    data = read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or Path(parent).name != parent:
        raise UserError("extends: expected a calibration file name in the same folder", file=path, path=("extends",))
    ppath = path.parent / parent
    if ppath.resolve() in [q.resolve() for q in (*_seen, path)]:
        raise UserError(f"extends: {parent!r} extends this file again (a cycle)", file=path, path=("extends",))
    if not ppath.exists():
        raise UserError(f"extends: {parent!r} not found (looked for {ppath})", file=path, path=("extends",))
    out = read_calibration_yaml(ppath, (*_seen, path))
    for key, value in data.items():
        if key in LIST_KEYS and isinstance(value, list) and isinstance(out.get(key), list):
            merged = list(out[key])
            where = {LIST_KEYS[key](e): i for i, e in enumerate(merged) if isinstance(e, dict)}
            for e in value:
                k = LIST_KEYS[key](e) if isinstance(e, dict) else None
                if k in where:
                    merged[where[k]] = e
                else:
                    merged.append(e)
            out[key] = merged
        else:
            out[key] = value
    return out


def build_calibration(cfg: CalibrationConfig, base: Scenario, file: Path | None = None) -> Calibration:
    """Check the config against the base scenario and the observed data; cut the period."""
    obs_file = None if cfg.observed is None else (file.parent / cfg.observed if file else Path(cfg.observed))
    observed = observed_counts(cfg, obs_file, file)
    events = load_events(obs_file).set_index("id")
    allowed = float_paths(base)
    n_mil = len(base.militias)
    for i, p in enumerate(cfg.parameters):
        for k, path in enumerate([p.path, *p.also]):
            paths = [path.replace("*", str(m)) for m in range(n_mil)] if "*" in path else [path]
            bad = [q for q in paths if q not in allowed]
            if bad:
                raise UserError(f"{bad[0]!r} is not a float parameter of the base scenario (see `escalation params`)",
                                file=file, path=("parameters", i, "path" if k == 0 else "also"))
        if p.also and p.mode == "multiplier":
            raise UserError("a pooled parameter ('also') takes mode 'value'", file=file, path=("parameters", i, "also"))
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
    pattern = _pattern_setup(cfg.strike_pattern, observed, start, file, "strike_pattern")
    if cfg.red_sea_pattern is not None and "red_sea" not in cfg.theatres:
        raise UserError("red_sea_pattern reads the Red Sea counts: add red_sea to theatres", file=file, path=("red_sea_pattern",))
    rs_pattern = _pattern_setup(cfg.red_sea_pattern, observed, start, file, "red_sea_pattern")
    susp = None
    if cfg.suspension is not None and cfg.suspension.fit:
        susp = {"scale": cfg.suspension.scale, "fit": True, "known": events.loc[cfg.suspension.event, "date_end"]}
    return Calibration(cfg, scenario, file, tdf, events.reset_index(), rates, observed.reset_index(), disp, pattern, susp, rs_pattern)


def observed_counts(cfg: CalibrationConfig, obs_file: Path | None, file: Path | None = None) -> pd.DataFrame:
    """Every observed count of the configured theatres, indexed by id, with a ``theatre`` column
    (iraq_syria: ``observed`` or the project's observed.yaml; red_sea: observed_red_sea.yaml)."""
    frames = []
    for theatre in dict.fromkeys(cfg.theatres):
        df = load_observed(obs_file if theatre == "iraq_syria" else None, cfg.observation, theatre=theatre)
        frames.append(df.assign(theatre=theatre))
    observed = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    dup = observed["id"][observed["id"].duplicated()]
    if len(dup):
        raise UserError(f"count id {dup.iloc[0]!r} is in two theatres' data", file=file, path=("theatres",))
    return observed.set_index("id")


def _pattern_setup(sp: Any, observed: pd.DataFrame, start: pd.Timestamp, file: Path | None, block: str) -> dict[str, Any] | None:
    """Day indices of the tallies bracketing each strike, and the observed pattern statistic (a worded
    figure counts at the middle of its interval; with ``report_day: first`` a count reported within a
    window is read on its first day)."""
    if sp is None:
        return None
    ids = [i for w in sp.windows for i in (*w.before, *w.after)]
    for j, w in enumerate(sp.windows):
        for k, cid in enumerate((*w.before, *w.after)):
            if cid not in observed.index:
                raise UserError(f"no observed count {cid!r}", file=file, path=(block, "windows", j))
    rows = observed.loc[ids]
    windowed = (rows["date_start"] != rows["date_end"]).any() and sp.report_day == "exact"
    if rows["quantity"].nunique() != 1 or rows["since"].nunique() != 1 or windowed:
        raise UserError(f"{block} counts must share one quantity and start, with exact report dates (or report_day: first)",
                        file=file, path=(block, "windows"))
    day_col = "date_end" if sp.report_day == "exact" else "date_start"
    days = np.array([(observed.loc[i, day_col] - start).days for i in ids]).reshape(-1, 4)
    if ((days[:, 1] <= days[:, 0]) | (days[:, 3] <= days[:, 2])).any():
        raise UserError(f"each {block} interval must run forward in time", file=file, path=(block, "windows"))
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
    if out.red_sea_pattern is not None and out.red_sea_pattern["fit"] and out.red_sea_pattern["known"] > cut:
        out = dataclasses.replace(out, red_sea_pattern={**out.red_sea_pattern, "fit": False})
    if out.suspension_fit is not None and out.suspension_fit["fit"] and out.suspension_fit["known"] > cut:
        out = dataclasses.replace(out, suspension_fit={**out.suspension_fit, "fit": False})
    return out


def without_theatre(cal: Calibration, theatre: str) -> Calibration:
    """The calibration with one theatre's summaries left out of the fit (its targets become checks): the
    same prior simulations then give the posterior without that theatre's data."""
    targets = cal.targets.assign(fit=cal.targets["fit"] & (cal.targets["theatre"] != theatre))
    out = dataclasses.replace(cal, targets=targets)
    if theatre == "red_sea" and out.red_sea_pattern is not None:
        out = dataclasses.replace(out, red_sea_pattern={**out.red_sea_pattern, "fit": False})
    if theatre == "iraq_syria":
        for name in ("dispersion", "pattern", "suspension_fit"):
            if getattr(out, name) is not None:
                out = dataclasses.replace(out, **{name: {**getattr(out, name), "fit": False}})
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
            "report", "source", "reported_by", "reported_on", "measure", "quote")}, "theatre": x.get("theatre", "iraq_syria"),
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
