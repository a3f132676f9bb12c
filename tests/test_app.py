"""The interactive page (`escalation app`): settings -> scenario -> saved YAML -> `escalation run`,
and the page itself in a real browser (Debian's chromium driven by Playwright).

The browser test needs /usr/bin/chromium, which `make test` installs (Makefile target `browser`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from experiments.cli.app import AppModel, default_settings, save_scenario, scenario_from_settings, status_text, tables_from_model
from experiments.scenario.errors import UserError
from experiments.scenario.schema import load_scenario
from serving import free_port, stop, wait_for_page

from model.rules import REGISTRY

MILITIA_BEHAVIOURS = sorted(REGISTRY["militia"])  # every behaviour the page offers a box for

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def escalation(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "experiments.cli.main", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_settings_become_a_scenario_with_those_values():
    base = load_scenario(BASELINE)
    sc = scenario_from_settings(base, {"policy": "restraint", "behaviour_deterred": False, "attack_rate_scale": 0.5,
                                       "iran_obedience": 0.9, "replicates": 7, "seed": "11"})
    assert sc.united_states.policy.name == "restraint"
    assert all("deterred" not in m.behaviours and "tit_for_tat" in m.behaviours for m in sc.militias)
    assert [m.base_rate for m in sc.militias] == pytest.approx([0.5 * m.base_rate for m in base.militias])
    assert {m.iran_obedience for m in sc.militias} == {0.9}
    assert (sc.replicates, sc.seed) == (7, 11)


def test_unchanged_settings_keep_the_base_scenario_outcomes():
    base = load_scenario(BASELINE)
    sc = scenario_from_settings(base, {"iran_obedience": default_settings(base)["iran_obedience"]})
    # obedience is set to the mean, so compare everything else the model reads
    assert sc.united_states == base.united_states and sc.iran == base.iran and sc.exogenous == base.exogenous


@pytest.mark.parametrize("settings, field", [({"seed": "x1"}, "seed"), ({"seed": "-3"}, "seed"),
                                              ({f"behaviour_{b}": False for b in MILITIA_BEHAVIOURS}, "behaviour")])
def test_bad_settings_are_user_errors(settings, field):
    with pytest.raises(UserError, match=field):
        scenario_from_settings(load_scenario(BASELINE), settings)


def test_saved_scenario_runs_with_escalation_run(tmp_path):
    """The save button's file is a scenario `escalation run` accepts, and it reproduces the page's run."""
    base = load_scenario(BASELINE)
    model = AppModel(base=base, policy="threshold", replicates=4, seed="5")
    model.run()
    path = save_scenario(model.scenario, tmp_path)
    again = save_scenario(model.scenario, tmp_path)
    assert path != again and path.read_text() == again.read_text()  # never over an existing file
    res = escalation("run", str(path), "--out", str(tmp_path / "out"), "-q", cwd=ROOT)
    assert res.returncode == 0, res.stderr
    import pandas as pd

    summary = pd.read_parquet(tmp_path / "out" / "summary.parquet")
    assert summary.attacks_total.tolist() == model.summary_arrays()["attacks_total"].tolist()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["scenario"]["united_states"]["policy"]["name"] == "threshold"


def test_page_tables_cover_the_whole_period_with_days_to_come_empty():
    model = AppModel(base=load_scenario(BASELINE), replicates=3)
    for _ in range(10):
        model.step()
    t = tables_from_model(model)
    assert t.arrays["attacks_total"].shape == (model.n_days, 3)
    assert np.isfinite(t.arrays["attacks_total"][:10]).all() and np.isnan(t.arrays["attacks_total"][10:]).all()
    assert "day 10 of" in status_text(model)


def test_app_command_refuses_a_bad_scenario_before_starting(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nreplicates: -1\n")
    res = escalation("app", str(bad), cwd=tmp_path)
    assert res.returncode == 2 and "replicates" in res.stderr and "Traceback" not in res.stderr


# --------------------------------------------------------------------------- the page in a browser


@pytest.fixture
def app_server(tmp_path):
    port = free_port()
    log = open(tmp_path / "app.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "experiments.cli.main", "app", str(BASELINE), "--port", str(port),
                             "--save-dir", str(tmp_path / "saved")], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_page(f"http://127.0.0.1:{port}/", proc)
        yield f"http://127.0.0.1:{port}/", tmp_path
    finally:
        stop(proc)
        log.close()


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(300)
def test_page_in_a_browser_policy_change_changes_the_figures(app_server):
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: run `make browser` (make test does) or apt-get install chromium")
    from playwright.sync_api import sync_playwright

    url, tmp = app_server
    with sync_playwright() as pw:
        # a fresh profile folder per test (Playwright's way of passing --user-data-dir)
        browser = pw.chromium.launch_persistent_context(tmp / "chromium-profile", executable_path=str(CHROMIUM),
                                                        args=CHROMIUM_FLAGS, headless=True, viewport={"width": 1500, "height": 1100})
        try:
            page = browser.new_page()
            page.goto(url, timeout=90_000)
            page.get_by_role("button", name="Save scenario").wait_for(timeout=90_000)

            def strikes_figure() -> str:
                return page.locator(".figure-us-strikes").get_attribute("src") or ""

            def step_three_weeks() -> None:  # render interval 7: one click = one week; past the Oct 27 strikes
                for week in range(1, 4):
                    page.get_by_role("button", name="Step").click()
                    page.get_by_text(f"day {7 * week} of").wait_for(timeout=60_000)

            before = strikes_figure()
            step_three_weeks()
            historical = strikes_figure()
            assert historical and historical != before

            page.locator(".v-select", has_text="U.S. policy").locator(".v-select__slot").click()
            page.get_by_role("option", name="restraint").click()
            page.get_by_role("button", name="Reset").click()
            page.get_by_text("U.S. policy restraint").wait_for(timeout=60_000)
            step_three_weeks()
            restraint = strikes_figure()
            assert restraint and restraint != historical, "the strikes figure did not change with the policy"
            page.screenshot(path=str(tmp / "app.png"), full_page=True)

            page.get_by_role("button", name="Save scenario").click()
            page.get_by_text("saved ").wait_for(timeout=30_000)
        finally:
            browser.close()
    saved = sorted((tmp / "saved").glob("*.yaml"))
    assert len(saved) == 1 and yaml.safe_load(saved[0].read_text())["united_states"]["policy"]["name"] == "restraint"
    res = escalation("run", str(saved[0]), "-n", "3", "--out", str(tmp / "run"), "-q", cwd=tmp)
    assert res.returncode == 0, res.stderr
    assert (tmp / "app.png").stat().st_size > 10_000


def test_page_figures_draw_for_a_single_replicate_before_and_after_stepping():
    from experiments.cli.app import figure_png
    from experiments.analysis.plots import load_observed_or_empty

    model = AppModel(base=load_scenario(BASELINE), replicates=1)
    observed = load_observed_or_empty()
    empty = figure_png(model, "cumulative_attacks", observed)  # day 0: nothing run yet, source counts only
    for _ in range(12):
        model.step()
    drawn = figure_png(model, "cumulative_attacks", observed)
    assert empty.startswith(b"\x89PNG") and drawn.startswith(b"\x89PNG") and drawn != empty
