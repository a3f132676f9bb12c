"""``escalation app [SCENARIO]``: an interactive Mesa SolaraViz page for one to a few hundred replicates.

Like a Mesa example's ``app.py`` (or NetLogo's interface tab): choose the U.S. policy, the militia
behaviours and Iran's rule, move the main parameters, then Reset / Step / play and watch the
curves. With several replicates the curves are medians with 50 % and 90 % bands over replicates;
the counts reported in the sources are drawn over the cumulative attacks. "Save scenario" writes
the settings of the run on screen as a self-contained scenario YAML that ``escalation run``
accepts.

The page is an optional extra (``pip install -e .[app]``). It lives in experiments/ because it reads
and writes files (the model knows none). The figures are the run figures of
:mod:`experiments.analysis.plots`, drawn from the model's daily record arrays as the run goes.

Launched by the CLI as ``solara run experiments/cli/app.py`` with the scenario and the save folder in
environment variables (``ESCALATION_APP_SCENARIO``, ``ESCALATION_APP_SAVE_DIR``).
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from experiments.scenario.errors import UserError
from experiments.scenario.schema import Scenario, load_scenario, parse_overrides, validate_data
from model import EscalationModel
from model.rules import REGISTRY

ENV_SCENARIO = "ESCALATION_APP_SCENARIO"
ENV_SAVE_DIR = "ESCALATION_APP_SAVE_DIR"
ENV_OVERRIDES = "ESCALATION_APP_SET"  # the command's --set strings, as a JSON list
MAX_REPLICATES = 300  # the page redraws every step: a few hundred replicates keep it interactive
FIGURES = ("cumulative_attacks", "escalation_ladder", "us_strikes", "us_casualties")
PAGE_DPI = 55


def rule_names(kind: str) -> list[str]:
    return list(REGISTRY[kind])


# --------------------------------------------------------------------------- settings -> scenario


def default_settings(base: Scenario) -> dict[str, Any]:
    """The controls' starting values: the scenario as written (scales at 1, its own rules)."""
    behaviours = {name for m in base.militias for name in m.behaviours}
    return {
        "policy": base.united_states.policy.name,
        **{f"behaviour_{name}": name in behaviours for name in rule_names("militia")},
        "iran_rule": base.iran.rule,
        "attack_rate_scale": 1.0,
        "iran_obedience": round(float(np.mean([m.iran_obedience for m in base.militias])), 2),
        "iran_supply_rate": float(base.iran.supply_rate),
        "war_hazard": float(base.iran.war_hazard),
        "replicates": int(min(base.replicates, 50)),
        "seed": str(base.seed),
    }


def scenario_from_settings(base: Scenario, settings: dict[str, Any]) -> Scenario:
    """The base scenario with the page's settings applied, validated like any scenario file.

    A policy other than the base scenario's starts from its sourced defaults (the base's policy
    parameters belong to the base's policy). Unticking a behaviour removes it from every militia;
    ``iran_obedience`` sets every militia's value, ``attack_rate_scale`` multiplies every base rate.
    """
    s = {**default_settings(base), **settings}
    data = base.model_dump(mode="python", exclude={"sweep", "extends"})
    policy = data["united_states"]["policy"]
    if s["policy"] != policy["name"]:
        data["united_states"]["policy"] = {"name": s["policy"], "params": {}}
    chosen = [name for name in rule_names("militia") if s.get(f"behaviour_{name}")]
    if not chosen:
        raise UserError("tick at least one militia behaviour", path="militia behaviours")
    for m in data["militias"]:
        m["behaviours"] = {name: m["behaviours"].get(name, {}) for name in chosen}
        m["base_rate"] = float(m["base_rate"]) * float(s["attack_rate_scale"])
        m["iran_obedience"] = float(s["iran_obedience"])
    data["iran"]["rule"] = s["iran_rule"]
    data["iran"]["supply_rate"] = float(s["iran_supply_rate"])
    data["iran"]["war_hazard"] = float(s["war_hazard"])
    data["replicates"] = int(s["replicates"])
    data["seed"] = parse_seed(s["seed"])
    data["name"] = f"{base.name}_{s['policy']}"
    data["description"] = f"Saved from `escalation app` (based on {base.name}). {base.description}".strip()
    return validate_data(data, file="(app settings)")


def parse_seed(value: Any) -> int:
    try:
        seed = int(str(value).strip())
    except ValueError:
        raise UserError(f"expected a whole number, got {value!r}", path="seed") from None
    if seed < 0:
        raise UserError(f"expected 0 or more, got {seed}", path="seed")
    return seed


def scenario_yaml(scenario: Scenario) -> str:
    """A self-contained scenario file (every field written out, no ``extends:``)."""
    data = scenario.model_dump(mode="json", exclude={"sweep", "extends"}, exclude_none=True)
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
    atomic_write_bytes(path, scenario_yaml(scenario).encode("utf-8"))
    return path


# --------------------------------------------------------------------------- the model on the page


class AppModel(EscalationModel):
    """The batched model built from the page's controls (keyword arguments, as SolaraViz expects).

    ``base`` is the scenario the page started from; it is passed as a fixed model parameter, so
    Reset rebuilds the model from it with the controls' current values.
    """

    def __init__(self, base: Scenario | None = None, **kwargs: Any):  # "kwargs": the name SolaraViz checks for
        from experiments.runner.run import load_draws, varying_for_block

        self.base = base if base is not None else Scenario(name="default")
        self.settings = {**default_settings(self.base), **kwargs}
        self.scenario = scenario_from_settings(self.base, self.settings)
        replicates = min(int(self.settings["replicates"]), MAX_REPLICATES)
        seed = parse_seed(self.settings["seed"])
        draws = load_draws(self.scenario)
        super().__init__(self.scenario, replicates=replicates, seed=seed,
                         varying=varying_for_block(draws, seed, 0, replicates))


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
    scenario = getattr(model, "scenario", None)
    manifest = {"scenario_name": scenario.name if scenario else "model", "seed": model.seed,
                "scenario": scenario.model_dump(mode="json") if scenario else {}}
    return RunTables(dates, arrays, summary, manifest)


def figure_png(model: EscalationModel, name: str, observed: pd.DataFrame, dpi: int = PAGE_DPI) -> bytes:
    """One run figure of the model so far, with the x axis over the whole period, as PNG bytes."""
    import matplotlib.pyplot as plt

    from experiments.analysis.plots import DRAW, house_style

    with house_style(), warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # NaN days not yet stepped
        fig = DRAW[name](tables_from_model(model), observed)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        plt.close(fig)
    return buf.getvalue()


def status_text(model: AppModel) -> str:
    """One paragraph: where the run is and what it shows so far."""
    s = model.settings
    head = (f"**{model.scenario.name}**: U.S. policy **{s['policy']}**, {model.R} replicate(s), seed {model.seed}; "
            f"day {model.day} of {model.n_days} ({model.date:%Y-%m-%d}).")
    if not model.day:
        return head + " Press Step or ▶ to run."
    a = model.summary_arrays()
    return head + (f" So far: median attacks {np.median(a['attacks_total']):.0f}, median U.S. strike targets "
                   f"{np.median(a['us_strikes_syria'] + a['us_strikes_iraq']):.0f}, P(U.S. death) "
                   f"{np.mean(a['us_killed'] > 0):.2f}, P(war) {np.mean(a['war']):.2f}.")


# --------------------------------------------------------------------------- the page


def model_params(base: Scenario) -> dict[str, Any]:
    """SolaraViz controls (Mesa's model_params format), starting at the base scenario's values."""
    d = default_settings(base)
    params: dict[str, Any] = {
        "base": base,
        "policy": {"type": "Select", "value": d["policy"], "values": rule_names("us_policy"), "label": "U.S. policy"},
    }
    for name in rule_names("militia"):
        params[f"behaviour_{name}"] = {"type": "Checkbox", "value": d[f"behaviour_{name}"], "label": f"militias: {name}"}
    params.update({
        "iran_rule": {"type": "Select", "value": d["iran_rule"], "values": rule_names("iran"), "label": "Iran rule"},
        "attack_rate_scale": {"type": "SliderFloat", "value": 1.0, "min": 0.25, "max": 2.0, "step": 0.05,
                              "label": "militia attack rates (x scenario)"},
        "iran_obedience": {"type": "SliderFloat", "value": d["iran_obedience"], "min": 0.0, "max": 1.0, "step": 0.05,
                           "label": "militias' obedience to Iran"},
        "iran_supply_rate": {"type": "SliderFloat", "value": d["iran_supply_rate"], "min": 0.0,
                             "max": max(4.0, d["iran_supply_rate"]), "step": 0.1, "label": "Iran's weapons supply rate"},
        "war_hazard": {"type": "SliderFloat", "value": d["war_hazard"], "min": 0.0,
                       "max": max(0.005, d["war_hazard"]), "step": 0.0001,
                       "label": "war hazard (per unit of Iran's war pressure)"},
        "replicates": {"type": "SliderInt", "value": d["replicates"], "min": 1, "max": MAX_REPLICATES, "step": 1,
                       "label": "replicates"},
        "seed": {"type": "InputText", "value": d["seed"], "label": "seed"},
    })
    return params


def build_page(base: Scenario, save_dir: Path):
    """The SolaraViz page: controls in the sidebar, figures and the save card in the main grid."""
    import solara
    from mesa.visualization import SolaraViz
    from mesa.visualization.utils import update_counter

    from experiments.analysis.plots import load_observed_or_empty

    observed = load_observed_or_empty()
    cache: dict[tuple[int, int, str], bytes] = {}

    def figure_component(name: str):
        @solara.component
        def Figure(model):
            update_counter.get()
            key = (id(model), model.day, name)
            if key not in cache:
                if len(cache) > 64:
                    cache.clear()
                cache[key] = figure_png(model, name, observed)
            with solara.Card(style={"width": "100%"}):
                solara.Image(cache[key], width="100%", classes=[f"figure-{name.replace('_', '-')}"])

        return Figure

    @solara.component
    def Status(model):
        update_counter.get()
        message, set_message = solara.use_state("")

        def save():
            try:
                path = save_scenario(model.scenario, save_dir)
                set_message(f"saved {path} (run it with `escalation run {path}`)")
            except UserError as exc:
                set_message(f"error: {exc}")

        with solara.Card("Run"):
            solara.Markdown(status_text(model))
            solara.Markdown("Controls apply at **Reset**; *Save scenario* writes the settings of the run shown.")
            solara.Button("Save scenario", on_click=save, color="primary", classes=["save-scenario"])
            if message:
                solara.Text(message, classes=["save-message"])

    components = [Status] + [figure_component(name) for name in FIGURES]
    params = model_params(base)
    start = {k: (v["value"] if isinstance(v, dict) else v) for k, v in params.items()}
    return SolaraViz(AppModel(**start), components=components, model_params=params,
                     name=f"Escalation model: {base.name}", play_interval=50, render_interval=7)


def page_from_env():
    """The page for ``solara run`` (scenario and save folder from the environment)."""
    changes = parse_overrides(json.loads(os.environ.get(ENV_OVERRIDES) or "[]"))
    base = load_scenario(os.environ[ENV_SCENARIO], changes) if os.environ.get(ENV_SCENARIO) else Scenario(name="default")
    return build_page(base, Path(os.environ.get(ENV_SAVE_DIR, "scenarios/saved")))


if os.environ.get(ENV_SCENARIO) is not None:  # started by `escalation app`
    page = page_from_env()
