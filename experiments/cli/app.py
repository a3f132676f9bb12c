"""``escalation app [SCENARIO]``: an interactive Mesa SolaraViz page for one to a few hundred replicates.

Like a Mesa example's ``app.py`` (or NetLogo's interface tab): choose the U.S. policy and its parameters,
the militia behaviours and each group's attack rate and obedience to Iran, Iran's rule, then Reset /
Step / play and watch the curves (medians with 50 % and 90 % bands over replicates; the counts reported
in the sources over the cumulative attacks). "Save scenario" writes the settings of the run on screen as
a self-contained scenario YAML that ``escalation run`` accepts.

* **Every scenario file opens**: plain scenarios, files with an analysis block (compare, sweep,
  sensitivity, phase map: the page shows their scenario) and calibration files (their base scenario).
  Posterior draws are found relative to the scenario file, as ``escalation run`` finds them.
* **Reset on an untouched page is the file**: the controls start at the file's values (each group its
  own), and a run with untouched controls is ``escalation run FILE -n R --seed S``, table for table
  (tests/test_app.py). A control moved away from the file holds that parameter fixed in every
  replicate, over the posterior's draws (as ``--set`` does); the page says which.
* **Bad values never break the page**: each control checks its value as it changes; a value the
  scenario schema refuses is shown as a message beside the control and is not applied.
* **Charts are Vega-Lite** (drawn by the browser from the bundled vega files, no CDN): a step sends a few
  hundred numbers per chart, not a re-rendered figure.

The page is an optional extra (``pip install -e .[app]``). It lives in experiments/ because it reads
and writes files (the model knows none). Launched by the CLI as ``solara run experiments/cli/app.py``
with the scenario and the save folder in environment variables (``ESCALATION_APP_SCENARIO``,
``ESCALATION_APP_SAVE_DIR``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from experiments.scenario.errors import UserError
from experiments.scenario.schema import Scenario, load_scenario, parse_overrides, resolve_raw, validate_data
from model import EscalationModel
from model.rules import REGISTRY

ENV_SCENARIO = "ESCALATION_APP_SCENARIO"
ENV_SAVE_DIR = "ESCALATION_APP_SAVE_DIR"
ENV_OVERRIDES = "ESCALATION_APP_SET"  # the command's --set strings, as a JSON list
MAX_REPLICATES = 300  # the page redraws every step: a few hundred replicates keep it interactive
PAGE_REPLICATES = 50  # the page's default replicate count (the file's, if smaller)
CHARTS = ("cumulative_attacks", "escalation_ladder", "us_strikes", "us_casualties")
RED_SEA_CHART = "red_sea"  # shown when the scenario enables the Houthis (the Red Sea theatre)
FIGURES = CHARTS  # (older name)


def rule_names(kind: str) -> list[str]:
    return list(REGISTRY[kind])


# --------------------------------------------------------------------------- which scenario a file holds


def page_scenario(path: str | Path, changes: Any = None) -> Scenario:
    """The scenario a file stands for on the page: the file itself, the scenario of a file with an analysis
    block (compare, sweep, sensitivity, phase map), or a calibration file's base scenario."""
    path = Path(path)
    raw = resolve_raw(path)
    if {"base", "parameters"} <= set(raw):  # a calibration file
        from experiments.analysis.calibration.config import load_calibration

        return load_calibration(path, overrides=changes).scenario
    blocks = {"compare": "CompareSpec", "sensitivity": "SensitivitySpec", "phase_map": "PhaseMapSpec"}
    kind = next((k for k in blocks if k in raw), None)
    if kind is not None:
        from experiments.scenario import blocks as block_module
        from experiments.scenario.schema import load_block

        scenario = load_block(path, kind, getattr(block_module, blocks[kind]), changes)[0]
        scenario._base_dir = path.resolve().parent  # its posterior path is relative to the file, as for `run`
        return scenario
    return load_scenario(path, changes)


# --------------------------------------------------------------------------- settings -> scenario


def policy_param_fields(policy: str) -> dict[str, Any]:
    """The policy's scalar parameters (name -> pydantic field): what the page offers a box for."""
    params = getattr(REGISTRY["us_policy"][policy], "Params", None)
    if params is None:
        return {}
    return {n: f for n, f in params.model_fields.items() if f.annotation in (int, float, bool)}


def policy_defaults(base: Scenario, policy: str) -> dict[str, Any]:
    """A policy's parameter values as the page starts them: the base scenario's for its own policy, else the
    policy's sourced defaults."""
    own = base.united_states.policy.params if base.united_states.policy.name == policy else {}
    own = own if isinstance(own, dict) else dict(own)
    return {n: own.get(n, f.default) for n, f in policy_param_fields(policy).items()}


def default_settings(base: Scenario) -> dict[str, Any]:
    """The controls' starting values: the scenario as written (each group its own values, its own rules)."""
    behaviours = {name for m in base.militias for name in m.behaviours}
    s: dict[str, Any] = {
        "policy": base.united_states.policy.name,
        **{f"behaviour_{name}": name in behaviours for name in rule_names("militia")},
        "iran_rule": base.iran.rule,
        "iran_supply_rate": float(base.iran.supply_rate),
        "war_hazard": float(base.iran.war_hazard),
        "replicates": int(min(base.replicates, PAGE_REPLICATES)),
        "seed": str(base.seed),
    }
    for i, m in enumerate(base.militias):
        s[f"base_rate_{i}"] = float(m.base_rate)
        s[f"iran_obedience_{i}"] = float(m.iran_obedience)
    for name, value in policy_defaults(base, s["policy"]).items():
        s[f"policy_{name}"] = value
    return s


def changed_paths(base: Scenario, settings: dict[str, Any]) -> list[str]:
    """Dotted parameter paths the settings move away from the base scenario (held fixed over posterior draws)."""
    d = default_settings(base)
    paths = []
    for i in range(len(base.militias)):
        for field in ("base_rate", "iran_obedience"):
            if float(settings.get(f"{field}_{i}", d[f"{field}_{i}"])) != d[f"{field}_{i}"]:
                paths.append(f"militias.{i}.{field}")
    for key, path in (("iran_supply_rate", "iran.supply_rate"), ("war_hazard", "iran.war_hazard")):
        if float(settings.get(key, d[key])) != d[key]:
            paths.append(path)
    return paths


def scenario_from_settings(base: Scenario, settings: dict[str, Any]) -> Scenario:
    """The base scenario with the page's settings applied, validated like any scenario file.

    Untouched settings give the base scenario itself (same name, same values). A policy other than the
    base scenario's starts from its sourced defaults; its ``policy_*`` settings set its parameters.
    Unticking a behaviour removes it from every militia, ticking one the file lacks adds it (with its
    defaults) to every militia; behaviours left as they are stay as each group has them.
    """
    d = default_settings(base)
    s = {**d, **settings}
    data = base.model_dump(mode="python", exclude={"sweep", "extends"})
    if s["policy"] != data["united_states"]["policy"]["name"]:
        data["united_states"]["policy"] = {"name": s["policy"], "params": {}}
    params = dict(data["united_states"]["policy"].get("params") or {})
    for name in policy_param_fields(s["policy"]):
        key = f"policy_{name}"
        if key in settings and (s["policy"] != base.united_states.policy.name or settings[key] != d.get(key)):
            params[name] = settings[key]
    data["united_states"]["policy"]["params"] = params
    chosen = [name for name in rule_names("militia") if s.get(f"behaviour_{name}")]
    if not chosen:
        raise UserError("tick at least one militia behaviour", path="militia behaviours")
    for i, m in enumerate(data["militias"]):
        own = m["behaviours"]
        kept = {name: p for name, p in own.items() if s.get(f"behaviour_{name}")}
        added = {name: {} for name in chosen if name not in own and not d[f"behaviour_{name}"]}
        m["behaviours"] = {**kept, **added}
        m["base_rate"] = float(s[f"base_rate_{i}"])
        m["iran_obedience"] = float(s[f"iran_obedience_{i}"])
    data["iran"]["rule"] = s["iran_rule"]
    data["iran"]["supply_rate"] = float(s["iran_supply_rate"])
    data["iran"]["war_hazard"] = float(s["war_hazard"])
    data["replicates"] = check_replicates(s["replicates"])
    data["seed"] = parse_seed(s["seed"])
    untouched = all(s[k] == d[k] for k in d if k not in ("replicates", "seed"))
    if not untouched:
        data["name"] = f"{base.name}_{s['policy']}" if s["policy"] != base.united_states.policy.name else f"{base.name}_edited"
        data["description"] = f"Saved from `escalation app` (based on {base.name}). {base.description}".strip()
    scenario = validate_data(data, file="(page settings)")
    scenario._base_dir, scenario._overrides = base.base_dir, base.overrides  # posterior paths stay relative to the file
    return scenario


def _whole_number(value: Any, path: str, low: int, high: int, bounds: str) -> int:
    """A control's text as a whole number within [low, high]; anything else is one line for that control."""
    try:
        n = int(str(value).strip())
    except ValueError:
        raise UserError(f"expected a whole number, got {value!r}", path=path) from None
    if not low <= n <= high:
        raise UserError(f"expected {bounds}, got {n}", path=path)
    return n


def parse_seed(value: Any) -> int:
    from experiments.scenario.errors import MAX_SEED

    return _whole_number(value, "seed", 0, MAX_SEED, f"a whole number from 0 to {MAX_SEED}")


def check_replicates(value: Any) -> int:
    return _whole_number(value, "replicates", 1, MAX_REPLICATES, f"1 to {MAX_REPLICATES} on the page")


def parse_number(value: Any, kind: type, key: str) -> Any:
    """A text box's value as ``kind`` (int, float or bool), or a UserError naming the control."""
    text = str(value).strip()
    try:
        if kind is bool:
            if text.lower() in ("true", "false"):
                return text.lower() == "true"
            raise ValueError
        number = float(text)
        if not np.isfinite(number):
            raise ValueError
        if kind is int:
            if number != int(number):
                raise ValueError
            return int(number)
        return number
    except ValueError:
        what = {int: "a whole number", float: "a number", bool: "true or false"}[kind]
        raise UserError(f"expected {what}, got {text!r}", path=key) from None


def scenario_yaml(scenario: Scenario, folder: Path | None = None) -> str:
    """A self-contained scenario file (every field written out, no ``extends:``); a posterior path is written
    relative to ``folder`` (where the file goes), so the saved file finds the same draws."""
    data = scenario.model_dump(mode="json", exclude={"sweep", "extends"}, exclude_none=True)
    found = scenario.posterior_file()
    if found is not None and folder is not None:
        data["uncertainty"]["posterior"] = os.path.relpath(found.resolve(), Path(folder).resolve())
    head = "# Saved by `escalation app`; run it with `escalation run FILE`.\n"
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def save_scenario(scenario: Scenario, folder: str | Path) -> Path:
    """Write ``folder/<name>.yaml``; never over an existing file (adds -2, -3... instead)."""
    from experiments.runner.run import atomic_write_bytes

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserError("expected a folder for saved scenarios, got a file", file=folder)
    path = folder / f"{scenario.name}.yaml"
    k = 2
    while path.exists():
        path = folder / f"{scenario.name}-{k}.yaml"
        k += 1
    atomic_write_bytes(path, scenario_yaml(scenario, folder).encode("utf-8"))
    return path


# --------------------------------------------------------------------------- the model on the page


class PageState:
    """The controls' checked values and their messages, shared by the controls and the model.

    SolaraViz passes it to every new model as a fixed parameter, so Reset builds the model from the values
    the controls hold now. A value is stored only once it makes a valid scenario with the others; a
    refused value stays in its box with the message beside it."""

    def __init__(self, base: Scenario):
        self.base = base
        self.values = default_settings(base)
        self.errors: dict[str, str] = {}
        self.text: dict[str, Any] = {}  # what a box shows when its value was refused

    def set(self, key: str, value: Any) -> bool:
        """Check and store one control's value; False (and a message for the control) when refused."""
        self.text[key] = value
        try:
            if key == "seed":
                parse_seed(value)
            elif key == "replicates":
                value = check_replicates(value)
            elif key.startswith("policy_"):
                field = policy_param_fields(self.values["policy"])[key.removeprefix("policy_")]
                value = parse_number(value, field.annotation, key)
            candidate = {**self.values, key: value}
            if key == "policy":  # a new policy starts from its own defaults
                candidate = {k: v for k, v in candidate.items() if not k.startswith("policy_")}
                candidate.update({f"policy_{n}": v for n, v in policy_defaults(self.base, value).items()})
            scenario_from_settings(self.base, candidate)
        except UserError as exc:
            self.errors[key] = control_message(exc)
            return False
        self.values = candidate
        self.errors.pop(key, None)
        self.text.pop(key, None)
        if key == "policy":
            for k in [k for k in self.errors if k.startswith("policy_")]:
                self.errors.pop(k)
                self.text.pop(k, None)
        return True


def control_message(exc: UserError) -> str:
    """A UserError as a short line beside a control (what was expected, without the file prefix)."""
    text = str(exc)
    return text.split(": ", 1)[1] if text.startswith("(page settings)") and ": " in text else text


class AppModel(EscalationModel):
    """The batched model built from the page's controls (keyword arguments, as SolaraViz expects).

    ``base`` is the scenario the page started from and ``state`` the controls' values (both fixed model
    parameters: Reset rebuilds the model from them). Keywords name settings directly (as in the tests).
    """

    def __init__(self, base: Scenario | None = None, state: PageState | None = None, **kwargs: Any):  # "kwargs": the name SolaraViz checks for
        from experiments.runner.run import load_draws
        from experiments.runner.runner import varying_for_block
        from experiments.scenario.identification import drop_covered

        kwargs.pop("scenario", None)  # Mesa >= 3.5 passes its own (empty) scenario object on Reset
        kwargs.pop("rng", None)
        self.base = base if base is not None else (state.base if state is not None else Scenario(name="default"))
        self.settings = {**default_settings(self.base), **(state.values if state is not None else {}), **kwargs}
        self.spec = scenario_from_settings(self.base, self.settings)
        replicates = check_replicates(self.settings["replicates"])
        seed = parse_seed(self.settings["seed"])
        self.held = changed_paths(self.base, self.settings)
        draws = load_draws(self.spec)
        if draws is not None and self.held:
            draws = drop_covered(draws, self.held)
        self.posterior = draws is not None
        super().__init__(self.spec, replicates=replicates, seed=seed, varying=varying_for_block(draws, seed, 0, replicates))


def quantiles(values: np.ndarray, dates: list, days: int, name: str) -> list[dict[str, Any]]:
    """Rows (date, series, q05, q25, q50, q75, q95) of a (days, R) array over the days stepped."""
    q = np.quantile(values[:days], [0.05, 0.25, 0.5, 0.75, 0.95], axis=1) if days else np.zeros((5, 0))
    return [{"date": dates[t].isoformat(), "series": name, "q05": float(q[0, t]), "q25": float(q[1, t]),
             "q50": float(q[2, t]), "q75": float(q[3, t]), "q95": float(q[4, t])} for t in range(days)]


def tables_from_model(model: EscalationModel):
    """The model's record so far as :class:`experiments.analysis.plots.RunTables` (what the run figures draw):
    the whole period, with days not yet stepped as NaN (curves stop there; the source counts show)."""
    from experiments.analysis.plots import RunTables

    dates = pd.DatetimeIndex(pd.to_datetime(pd.Series(model.dates)))
    arrays = {}
    for c, v in model.records.items():
        arr = np.asarray(v, dtype=float).copy()
        arr[model.day:] = np.nan
        arrays[c] = arr
    summary = model.summary_frame() if model.day else pd.DataFrame()
    scenario = getattr(model, "spec", None)
    manifest = {"scenario_name": scenario.name if scenario else "model", "seed": model.seed,
                "scenario": scenario.model_dump(mode="json") if scenario else {}}
    return RunTables(dates, arrays, summary, manifest)


# --------------------------------------------------------------------------- charts (Vega-Lite specs)


def red_sea_chart(model: EscalationModel) -> dict[str, Any]:
    """The Houthi theatre: cumulative ships attacked (dots: CENTCOM's running count since Nov 19, the fit
    measure) and cumulative U.S./UK strike targets in Yemen."""
    from experiments.scenario.observed import load_observed

    dates, T, rec = model.dates, model.day, model.records
    cum = {c: np.cumsum(np.asarray(rec[c][:T], dtype=float), axis=0) for c in ("ships_attacked", "us_strikes_yemen")}
    obs = load_observed(theatre="red_sea")
    obs = obs[(obs["use"] == "fit") & (obs["since"] == pd.Timestamp("2023-11-19"))]
    start, end = pd.Timestamp(dates[0]), pd.Timestamp(dates[-1])
    points = [{"date": pd.Timestamp(r.date_end).date().isoformat(), "value": float(r.value),
               "label": f"CENTCOM running count since Nov 19 ({r.reported_by}): {r.bound} {r.value:g}"}
              for r in obs.itertuples() if start <= r.date_end <= end]
    return _band_chart("Red Sea: ships attacked and U.S./UK strike targets in Yemen (dots: CENTCOM count)", "cumulative",
                       quantiles(cum["ships_attacked"], dates, T, "ships attacked")
                       + quantiles(cum["us_strikes_yemen"], dates, T, "U.S./UK strike targets in Yemen"), dates, points)


# vega-embed's options: vector output (SVG), no export menu
EMBED = {"embedOptions": {"renderer": "svg", "actions": False}}
COLOURS = {"total": "#4c72b0", "Syria": "#dd8452", "Iraq": "#55a868", "injured": "#c44e52", "killed": "#000000",
           "ships attacked": "#4c72b0", "U.S./UK strike targets in Yemen": "#c44e52"}
LEVEL_NAMES = ("0 calm", "1 harassment", "2 U.S. injured", "3 strikes in Syria", "4 strikes in Iraq", "5 U.S. killed",
               "6 IRGC killed", "7 U.S.-Iran war")


def _band_chart(title: str, y_title: str, rows: list[dict], dates: list, points: list[dict] | None = None,
                colours: dict[str, str] | None = None) -> dict[str, Any]:
    """Median lines with 50 % and 90 % bands per series over the whole period (days to come stay empty)."""
    series = sorted({r["series"] for r in rows}) or ["total"]
    colours = colours or COLOURS
    scale = {"domain": series, "range": [colours.get(s, "#4c72b0") for s in series]}
    x = {"field": "date", "type": "temporal", "title": None,
         "scale": {"domain": [dates[0].isoformat(), dates[-1].isoformat()]}, "axis": {"format": "%b %d", "labelFontSize": 12}}
    colour = {"field": "series", "type": "nominal", "scale": scale, "title": None,
              "legend": {"orient": "top-left", "labelFontSize": 12}}
    layers: list[dict[str, Any]] = [
        {"mark": {"type": "area", "opacity": 0.18}, "encoding": {"x": x, "y": {"field": "q05", "type": "quantitative"},
                                                                  "y2": {"field": "q95"}, "color": colour}},
        {"mark": {"type": "area", "opacity": 0.3}, "encoding": {"x": x, "y": {"field": "q25", "type": "quantitative"},
                                                                 "y2": {"field": "q75"}, "color": colour}},
        {"mark": {"type": "line", "strokeWidth": 2},
         "encoding": {"x": x, "y": {"field": "q50", "type": "quantitative", "title": y_title,
                                    "axis": {"labelFontSize": 12, "titleFontSize": 13}}, "color": colour}},
    ]
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": {"text": title, "fontSize": 15, "anchor": "start"},
        "width": "container", "height": 260, "usermeta": EMBED, "autosize": {"type": "fit-x", "contains": "padding"},
        "data": {"values": rows},
        "layer": layers,
    }
    if not rows:  # nothing stepped yet: a fixed axis (Vega warns about the empty extent otherwise)
        for layer in layers:
            layer["encoding"]["y"]["scale"] = {"domain": [0, max([1.0] + [p["value"] for p in points or []])]}
    if points:
        spec["layer"].append({"data": {"values": points}, "mark": {"type": "point", "filled": True, "color": "black", "size": 45},
                              "encoding": {"x": {**x}, "y": {"field": "value", "type": "quantitative"},
                                           "tooltip": [{"field": "label", "type": "nominal"}]}})
    return spec


def observed_points(observed: pd.DataFrame, quantity: str, start: pd.Timestamp, end: pd.Timestamp) -> list[dict]:
    """The counts reported in the sources for ``quantity`` that count from the run's start (drawn as dots)."""
    from experiments.analysis.plots import _observed_for

    obs = _observed_for(observed, quantity, start, end)
    return [{"date": pd.Timestamp(r.date_end).date().isoformat(), "value": float(r.value),
             "label": f"reported ({r.source}): {r.bound} {r.value:g}" if "bound" in obs else f"reported: {r.value:g}"}
            for r in obs.itertuples()]


def chart_specs(model: EscalationModel, observed: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The page's four charts for the model so far (days to come empty)."""
    dates, T, rec = model.dates, model.day, model.records
    start, end = pd.Timestamp(dates[0]), pd.Timestamp(dates[-1])
    cum = {c: np.cumsum(np.asarray(rec[c][:T], dtype=float), axis=0) for c in
           ("attacks_total", "us_strikes_syria", "us_strikes_iraq", "us_injured", "us_killed")}
    levels = np.asarray(rec["escalation_level"][:T])
    ladder = [{"date": dates[t].isoformat(), "level": LEVEL_NAMES[k], "share": float(np.mean(levels[t] == k))}
              for t in range(T) for k in range(len(LEVEL_NAMES)) if np.any(levels[t] == k)]
    x = {"field": "date", "type": "temporal", "title": None,
         "scale": {"domain": [dates[0].isoformat(), dates[-1].isoformat()]}, "axis": {"format": "%b %d", "labelFontSize": 12}}
    ladder_spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": {"text": "Escalation level (share of replicates)", "fontSize": 15, "anchor": "start"},
        "width": "container", "height": 260, "usermeta": EMBED, "autosize": {"type": "fit-x", "contains": "padding"},
        "data": {"values": ladder},
        "mark": {"type": "area"},
        "encoding": {"x": x, "y": {"field": "share", "type": "quantitative", "stack": "zero", "title": "share of replicates",
                                   "scale": {"domain": [0, 1]}, "axis": {"labelFontSize": 12, "titleFontSize": 13}},
                     "color": {"field": "level", "type": "ordinal", "scale": {"domain": list(LEVEL_NAMES), "scheme": "orangered"},
                               "title": None, "legend": {"labelFontSize": 11}},
                     "order": {"field": "level", "type": "ordinal"}},
    }
    charts = {} if getattr(model, "houthis", None) is None else {RED_SEA_CHART: red_sea_chart(model)}
    return {
        **charts,
        "cumulative_attacks": _band_chart("Cumulative attacks (dots: reported)", "attacks",
                                          quantiles(cum["attacks_total"], dates, T, "total"), dates,
                                          observed_points(observed, "attacks_total", start, end)),
        "escalation_ladder": ladder_spec,
        "us_strikes": _band_chart("Cumulative U.S. strike targets", "targets",
                                  quantiles(cum["us_strikes_syria"], dates, T, "Syria")
                                  + quantiles(cum["us_strikes_iraq"], dates, T, "Iraq"), dates),
        "us_casualties": _band_chart("Cumulative U.S. injured and killed (dots: reported injured)", "people",
                                     quantiles(cum["us_injured"], dates, T, "injured")
                                     + quantiles(cum["us_killed"], dates, T, "killed"), dates,
                                     observed_points(observed, "us_injured", start, end)),
    }


def status_text(model: AppModel) -> str:
    """One paragraph: where the run is and what it shows so far."""
    s = model.settings
    head = (f"**{model.spec.name}**: U.S. policy **{s['policy']}**, {model.R} replicate(s), seed {model.seed}; "
            f"day {model.day} of {model.n_days} ({model.date:%Y-%m-%d}).")
    if model.posterior:
        head += " Parameters vary by posterior draw" + (f", except those moved: {', '.join(model.held)}." if model.held else ".")
    if not model.day:
        return head + " Press Step or ▶ to run."
    a = model.summary_arrays()
    return head + (f" So far: median attacks {np.median(a['attacks_total']):.0f}, median U.S. strike targets "
                   f"{np.median(a['us_strikes_syria'] + a['us_strikes_iraq']):.0f}, P(U.S. death) "
                   f"{np.mean(a['us_killed'] > 0):.2f}, P(war) {np.mean(a['war']):.2f}."
                   + (f" Red Sea: median ships attacked {np.median(a['ships_attacked']):.0f}, median U.S./UK strike targets "
                      f"in Yemen {np.median(a['us_strikes_yemen']):.0f}." if "ships_attacked" in a else ""))


# --------------------------------------------------------------------------- the page


def vega_widget_class():
    """solara's VegaLite widget, loading vega from the files solara-assets bundles (no CDN, no 404s).

    solara's template asks for ``vega@5``, ``vega-lite@5`` and ``vega-embed@6``; the bundle holds them under
    their full versions (``vega@5.21.0``), so the template is given those names."""
    import re

    import solara.widgets
    import traitlets
    from solara.server import settings

    base = solara.widgets.VegaLite
    text = Path(base.template_file).read_text(encoding="utf-8")
    bundled = {p.name.split("@")[0]: p.name for p in Path(settings.assets.proxy_cache_dir).glob("vega*@*")}
    for lib, major in (("vega", "5"), ("vega-lite", "5"), ("vega-embed", "6")):
        if lib in bundled:
            text = re.sub(rf"/{re.escape(lib)}@{major}/", f"/{bundled[lib]}/", text)
    # redraw as soon as a new spec arrives (solara waits 100 ms for more; the page sends one per step)
    text = text.replace("this.do_plot()\n        }, 100)", "this.do_plot()\n        }, 0)")

    class VegaChart(base):
        template_file = None
        template = traitlets.Unicode(text).tag(sync=True)

    return VegaChart


def html_text(markdown: str) -> str:
    """The page's **bold** as HTML (solara's Markdown would load KaTeX, which the offline bundle lacks)."""
    import html
    import re

    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(markdown)).replace("`", "")


def build_page(base: Scenario, save_dir: Path):
    """The SolaraViz page: the controls (in the sidebar), the run's status and save card, four charts."""
    import solara
    from mesa.visualization import SolaraViz
    from mesa.visualization.utils import update_counter

    from experiments.analysis.plots import load_observed_or_empty

    observed = load_observed_or_empty()
    VegaChart = vega_widget_class()
    state = PageState(base)
    changed = solara.reactive(0)  # bumped when a control changes: the controls redraw with their messages

    def on(key: str):
        def set_value(value):
            state.set(key, value)
            changed.value += 1
        return set_value

    def Message(key: str):  # plain functions: part of Controls' render, so they redraw with it
        if key in state.errors:
            solara.Text(f"⚠ {state.errors[key]} (not applied)", style={"color": "#b00020", "font-size": "13px"},
                        classes=[f"error-{key.replace('_', '-')}"])

    def Slider(key: str, label: str, lo: float, hi: float, step: float, digits: int = 2):
        value = state.values[key]
        solara.SliderFloat(f"{label}: {value:.{digits}f}", value=value, min=lo, max=max(hi, value), step=step,
                           on_value=on(key), thumb_label=False)
        Message(key)

    def TextBox(key: str, label: str):
        solara.InputText(label, value=str(state.text.get(key, state.values[key])), on_value=on(key), continuous_update=False,
                         classes=[f"input-{key.replace('_', '-')}"])
        Message(key)

    @solara.component
    def Controls():
        _ = changed.value  # redraw when a control changed (values and messages live in ``state``)
        v = state.values
        with solara.Column():
            with solara.Card("Scenario settings (applied at Reset)"):
                solara.Select("U.S. policy", value=v["policy"], values=rule_names("us_policy"), on_value=on("policy"))
                Message("policy")
                for name, field in policy_param_fields(v["policy"]).items():
                    TextBox(f"policy_{name}", f"{v['policy']}: {name}")
                for name in rule_names("militia"):
                    solara.Checkbox(label=f"militias: {name}", value=v[f"behaviour_{name}"], on_value=on(f"behaviour_{name}"))
                    Message(f"behaviour_{name}")
                for i, m in enumerate(base.militias):
                    solara.HTML(tag="div", unsafe_innerHTML=html_text(f"**{m.short}** ({m.name})"))
                    Slider(f"base_rate_{i}", "attacks per day", 0.0, 3.0, 0.05)
                    Slider(f"iran_obedience_{i}", "obedience to Iran", 0.0, 1.0, 0.05)
                solara.Select("Iran rule", value=v["iran_rule"], values=rule_names("iran"), on_value=on("iran_rule"))
                Slider("iran_supply_rate", "Iran's weapons supply rate", 0.0, 4.0, 0.1)
                Slider("war_hazard", "war hazard", 0.0, 0.005, 0.0001, digits=4)
                solara.SliderInt(f"replicates: {v['replicates']}", value=int(v["replicates"]), min=1, max=MAX_REPLICATES,
                                 on_value=on("replicates"), thumb_label=False)
                Message("replicates")
                TextBox("seed", "seed")

    @solara.component
    def Status(model):
        update_counter.get()
        message, set_message = solara.use_state("")

        def save():
            try:
                path = save_scenario(model.spec, save_dir)
                set_message(f"saved {path} (run it with `escalation run {path}`)")
            except (UserError, OSError) as exc:
                set_message(f"error: {exc}")

        with solara.Sidebar():  # the component inside the portal, so it redraws in place
            Controls()
        with solara.Card("Run"):
            solara.HTML(tag="div", unsafe_innerHTML=html_text(status_text(model)), classes=["run-status"])
            solara.HTML(tag="div", unsafe_innerHTML=html_text("Settings apply at **Reset**; Save scenario writes the settings of the run shown."))
            solara.Button("Save scenario", on_click=save, color="primary", classes=["save-scenario"])
            if message:
                solara.Text(message, classes=["save-message"])

    cache: dict[tuple[int, int], dict[str, dict[str, Any]]] = {}

    def specs(model) -> dict[str, dict[str, Any]]:  # the four charts computed once per model and day
        key = (id(model), model.day)
        if key not in cache:
            cache.clear()
            cache[key] = chart_specs(model, observed)
        return cache[key]

    def chart_component(name: str):
        @solara.component
        def Chart(model):
            update_counter.get()
            spec = specs(model)[name]
            with solara.Div(classes=[f"chart-{name.replace('_', '-')}"], style={"width": "100%"}):
                VegaChart.element(spec=spec)

        return Chart

    red_sea = (RED_SEA_CHART,) if base.houthis is not None and base.houthis.enabled else ()
    components = [Status] + [chart_component(name) for name in CHARTS + red_sea]
    model = AppModel(base=base, state=state)
    return SolaraViz(model, components=components, model_params={"base": base, "state": state},
                     name=f"Escalation model: {base.name}", play_interval=50, render_interval=7)


def page_from_env():
    """The page for ``solara run`` (scenario and save folder from the environment)."""
    changes = parse_overrides(json.loads(os.environ.get(ENV_OVERRIDES) or "[]"))
    base = page_scenario(os.environ[ENV_SCENARIO], changes) if os.environ.get(ENV_SCENARIO) else Scenario(name="default")
    return build_page(base, Path(os.environ.get(ENV_SAVE_DIR, "scenarios/saved")))


if os.environ.get(ENV_SCENARIO) is not None:  # started by `escalation app`
    page = page_from_env()
