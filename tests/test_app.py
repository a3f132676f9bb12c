"""The interactive page (`escalation app`): settings -> scenario -> saved YAML -> `escalation run`,
and the page itself in a real browser (Debian's chromium driven by Playwright).

The browser test needs /usr/bin/chromium, which `make test` installs (Makefile target `browser`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from experiments.cli.app import (AppModel, PageState, chart_specs, default_settings, page_scenario, save_scenario,
                                 scenario_from_settings, status_text, tables_from_model)
from experiments.scenario.errors import UserError
from experiments.scenario.schema import load_scenario
from serving import free_port, stop, wait_for_page

from model.rules import REGISTRY

MILITIA_BEHAVIOURS = sorted(REGISTRY["militia"])  # every behaviour the page offers a box for

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.yaml"))
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def escalation(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "experiments.cli.main", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_settings_become_a_scenario_with_those_values():
    base = load_scenario(BASELINE)
    sc = scenario_from_settings(base, {"policy": "threshold", "policy_targets": 9, "behaviour_deterred": False,
                                       "base_rate_1": 0.25, "iran_obedience_0": 0.9, "replicates": 7, "seed": "11"})
    assert sc.united_states.policy.name == "threshold" and sc.united_states.policy.params["targets"] == 9
    assert all("deterred" not in m.behaviours and "tit_for_tat" in m.behaviours for m in sc.militias)
    assert sc.militias[1].base_rate == 0.25 and sc.militias[0].iran_obedience == 0.9
    assert [m.iran_obedience for m in sc.militias[1:]] == [m.iran_obedience for m in base.militias[1:]]
    assert (sc.replicates, sc.seed) == (7, 11)


@pytest.mark.parametrize("file", SCENARIO_FILES, ids=lambda f: f.name)
def test_untouched_settings_are_the_file(file):
    """Reset on an untouched page is the scenario in the file: every group its own values, the same name."""
    base = page_scenario(file)
    sc = scenario_from_settings(base, PageState(base).values)
    keep = {"replicates", "seed"}
    assert sc.model_dump(exclude=keep | {"sweep", "extends"}) == base.model_dump(exclude=keep | {"sweep", "extends"})
    assert sc.base_dir == base.base_dir


def _page_tables(model):
    import pyarrow as pa

    from experiments.runner.stream import model_tables

    parts: dict = {}
    for name, t in model_tables(model, {"scenario": model.spec.name}):
        parts.setdefault(name, []).append(t)
    return {name: pa.concat_tables(p).to_pandas() for name, p in parts.items()}


@pytest.mark.parametrize("file", SCENARIO_FILES, ids=lambda f: f.name)
def test_page_first_run_is_the_run_of_the_file(file):
    """An untouched page's run equals `escalation run FILE -n R --seed S` (the runner), table for table."""
    import pandas as pd

    from experiments.runner.run import run

    base = page_scenario(file)
    state = PageState(base)
    model = AppModel(base=base, state=state).run()
    page = _page_tables(model)
    ref = run(base, replicates=model.R, seed=model.seed)
    for name, frame in (("daily", ref.daily), ("summary", ref.summary), ("groups", ref.groups)):
        pd.testing.assert_frame_equal(page[name].reset_index(drop=True), frame.reset_index(drop=True), obj=f"{file.name} {name}")


def test_page_first_run_equals_escalation_run_on_the_command_line(tmp_path):
    import pandas as pd

    file = ROOT / "scenarios" / "restraint.yaml"  # posterior draws relative to the file (the page once failed here)
    base = page_scenario(file)
    model = AppModel(base=base, state=PageState(base), replicates=20, seed="4").run()
    res = escalation("run", str(file), "-n", "20", "--seed", "4", "--out", str(tmp_path / "out"), "-q", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    page = _page_tables(model)
    for name in ("daily", "summary", "groups"):
        pd.testing.assert_frame_equal(page[name], pd.read_parquet(tmp_path / "out" / f"{name}.parquet"), check_dtype=False, obj=name)


def test_a_moved_control_holds_its_parameter_over_the_posterior_draws():
    base = page_scenario(ROOT / "scenarios" / "calibrated.yaml")
    state = PageState(base)
    assert state.set("base_rate_0", 0.05)
    model = AppModel(base=base, state=state)
    assert model.held == ["militias.0.base_rate"] and model.posterior
    assert np.all(model.groups.base_rates[:, 0] == 0.05) and np.ptp(model.groups.base_rates[:, 1]) > 0  # group 1 still varies
    assert "except those moved: militias.0.base_rate" in status_text(model)


@pytest.mark.parametrize("key, value, says", [
    ("seed", "x1", "whole number"), ("seed", "-3", "0 to"), ("seed", "1e99", "whole number"),
    ("replicates", 0, "1 to"), ("policy_targets", "abc", "whole number"), ("policy_targets", "-2", "targets"),
    ("policy_iraq_share", "1.5", "iraq_share"), ("base_rate_0", 500.0, "base_rate"),
])
def test_bad_control_values_become_a_message_for_that_control(key, value, says):
    """Issue 19 item 7: a bad value is a message beside its control, never applied, never a traceback."""
    base = load_scenario(ROOT / "scenarios" / "threshold.yaml")
    state = PageState(base)
    before = dict(state.values)
    assert not state.set(key, value)
    assert says in state.errors[key] and state.values == before
    AppModel(base=base, state=state)  # the model still builds from the values kept
    assert state.set(key, before[key]) and key not in state.errors


def test_unticking_every_behaviour_is_refused_beside_the_last_box():
    state = PageState(load_scenario(BASELINE))
    names = [k for k in state.values if k.startswith("behaviour_") and state.values[k]]
    for k in names[:-1]:
        assert state.set(k, False)
    assert not state.set(names[-1], False) and "behaviour" in state.errors[names[-1]]


def test_a_new_policy_starts_from_its_defaults_and_its_parameters_apply():
    base = load_scenario(BASELINE)
    state = PageState(base)
    assert state.set("policy", "red_line") and state.values["policy_targets"] == 150
    assert state.set("policy_targets", "40")
    sc = AppModel(base=base, state=state).spec
    assert sc.united_states.policy.params["targets"] == 40 and sc.name == "baseline_red_line"
    assert sc.united_states.policy.params["delay_days"] == 2  # the others at red_line's own defaults


def test_saved_scenario_runs_with_escalation_run(tmp_path):
    """The save button's file is a scenario `escalation run` accepts, and it reproduces the page's run."""
    base = load_scenario(BASELINE)
    model = AppModel(base=base, policy="threshold", replicates=4, seed="5")
    model.run()
    path = save_scenario(model.spec, tmp_path)
    again = save_scenario(model.spec, tmp_path)
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


def test_saved_scenario_with_a_posterior_finds_the_same_draws(tmp_path):
    base = page_scenario(ROOT / "scenarios" / "restraint.yaml")
    model = AppModel(base=base, state=PageState(base), replicates=5, seed="2").run()
    path = save_scenario(model.spec, tmp_path / "saved")
    res = escalation("run", str(path), "--out", str(tmp_path / "out"), "-q", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    import pandas as pd

    summary = pd.read_parquet(tmp_path / "out" / "summary.parquet")
    assert summary.attacks_total.tolist() == model.summary_arrays()["attacks_total"].tolist()


def test_charts_are_vega_lite_specs_with_the_days_stepped():
    base = page_scenario(ROOT / "scenarios" / "calibrated.yaml")
    model = AppModel(base=base, state=PageState(base), replicates=10)
    from experiments.analysis.plots import load_observed_or_empty

    observed = load_observed_or_empty()
    empty = chart_specs(model, observed)
    for _ in range(14):
        model.step()
    specs = chart_specs(model, observed)
    assert set(specs) == {"cumulative_attacks", "escalation_ladder", "us_strikes", "us_casualties"}
    attacks = specs["cumulative_attacks"]
    assert "vega-lite" in attacks["$schema"] and len(attacks["data"]["values"]) == 14 and not empty["cumulative_attacks"]["data"]["values"]
    assert attacks["layer"][-1]["data"]["values"], "the reported counts are drawn"
    json.dumps(specs)  # plain JSON for the browser


def test_app_command_refuses_a_bad_scenario_before_starting(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nreplicates: -1\n")
    res = escalation("app", str(bad), cwd=tmp_path)
    assert res.returncode == 2 and "replicates" in res.stderr and "Traceback" not in res.stderr


# --------------------------------------------------------------------------- the page in a browser


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """`escalation app` on the baseline with `--port 0`, started once for the tests that drive it: the port
    its first line announces, where the page answers (test_port_zero_announces_the_real_port reads it), and
    the page the browser test drives (a fresh save folder and browser profile under this fixture's folder)."""
    import time

    tmp = tmp_path_factory.mktemp("app")
    log = open(tmp / "app.log", "w")  # a file, not a pipe: a server that logs never blocks on a full pipe
    proc = subprocess.Popen([sys.executable, "-m", "experiments.cli.main", "app", str(BASELINE), "--port", "0",
                             "--save-dir", str(tmp / "saved")], cwd=tmp, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        t0 = time.time()
        while "\n" not in (text := (tmp / "app.log").read_text()) and proc.poll() is None and time.time() - t0 < 120:
            time.sleep(0.2)
        line = text.split("\n")[0]
        assert "http://127.0.0.1:" in line, f"no address announced: {text!r}"
        port = int(line.split("http://127.0.0.1:")[1].split()[0])
        assert port > 0, line
        wait_for_page(f"http://127.0.0.1:{port}/", proc, timeout=240)  # a busy 2-core machine starts solara slowly
        yield f"http://127.0.0.1:{port}/", tmp, port
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

    url, tmp, _ = app_server
    with sync_playwright() as pw:
        # a fresh profile folder per test (Playwright's way of passing --user-data-dir)
        browser = pw.chromium.launch_persistent_context(tmp / "chromium-profile", executable_path=str(CHROMIUM),
                                                        args=CHROMIUM_FLAGS, headless=True, viewport={"width": 1500, "height": 1100})
        try:
            page = browser.new_page()
            page.goto(url, timeout=90_000)
            page.get_by_role("button", name="Save scenario").wait_for(timeout=90_000)

            def strikes_figure() -> str:
                return page.locator(".chart-us-strikes svg.marks").inner_html()

            def step_three_weeks() -> None:  # render interval 7: one click = one week; past the Oct 27 strikes
                for week in range(1, 4):
                    page.get_by_role("button", name="Step").click()
                    page.get_by_text(f"day {7 * week} of").wait_for(timeout=60_000)

            before = strikes_figure()
            step_three_weeks()
            page.wait_for_function("old => { const s = document.querySelector('.chart-us-strikes svg.marks'); "
                                   "return s && s.innerHTML !== old; }", arg=before, timeout=30_000)
            page.wait_for_timeout(1000)  # the last week's redraw
            historical = strikes_figure()
            assert historical and historical != before

            page.locator(".v-select", has_text="U.S. policy").locator(".v-select__slot").click()
            page.get_by_role("option", name="restraint").click()
            page.get_by_role("button", name="Reset").click()
            page.get_by_text("U.S. policy restraint").wait_for(timeout=60_000)
            step_three_weeks()
            # the chart redraws in the browser after the step's numbers arrive: wait for it (fails if it never changes)
            page.wait_for_function("old => { const s = document.querySelector('.chart-us-strikes svg.marks'); "
                                   "return s && s.innerHTML !== old; }", arg=historical, timeout=30_000)
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


def test_the_page_shows_the_red_sea_when_the_scenario_enables_the_houthis():
    from experiments.analysis.plots import load_observed_or_empty

    observed = load_observed_or_empty()
    plain = AppModel(base=load_scenario(BASELINE), replicates=5)
    assert "red_sea" not in chart_specs(plain, observed)
    model = AppModel(base=page_scenario(ROOT / "scenarios" / "red_sea.yaml"), replicates=5)
    for _ in range(100):  # to Jan 14: past Nov 19, the Jan 11-12 wave and the Jan 13 strike
        model.step()
    chart = chart_specs(model, observed)["red_sea"]
    rows = chart["data"]["values"]
    assert {r["series"] for r in rows} == {"ships attacked", "U.S./UK strike targets in Yemen"} and len(rows) == 2 * 100
    last = {r["series"]: r["q50"] for r in rows if r["date"] == model.dates[99].isoformat()}
    assert last["ships attacked"] > 0 and last["U.S./UK strike targets in Yemen"] == 61  # Jan 11 (60) + Jan 13 (1)
    assert chart["layer"][-1]["data"]["values"], "CENTCOM's running count is drawn"
    json.dumps(chart)


def test_page_charts_draw_for_a_single_replicate_before_and_after_stepping():
    from experiments.analysis.plots import load_observed_or_empty

    model = AppModel(base=load_scenario(BASELINE), replicates=1)
    observed = load_observed_or_empty()
    empty = chart_specs(model, observed)  # day 0: nothing run yet, source counts only
    for _ in range(12):
        model.step()
    drawn = chart_specs(model, observed)
    assert not empty["us_strikes"]["data"]["values"] and len(drawn["us_strikes"]["data"]["values"]) == 2 * 12


# --------------------------------------------------------------------------- every scenario file in a browser

STEP_SECONDS: dict[str, list[float]] = {}  # page step times by file (printed at the end of the test)


def _start_pages(files: list[Path], tmp: Path):
    """One solara server with every file's page on its own route (tests/app_pages.py), started with the
    settings `escalation app` gives the server (experiments/cli/main.py: no hook check, no cookie warning,
    no telemetry)."""
    import os

    port = free_port()
    log = open(tmp / "pages.log", "w")
    env = {k: v for k, v in os.environ.items() if k != "ESCALATION_APP_SCENARIO"}  # (that would build one more page)
    env = {**env, "ESCALATION_TEST_PAGES": json.dumps([str(f) for f in files]),
           "ESCALATION_APP_SAVE_DIR": str(tmp / "saved"), "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
           "SOLARA_CHECK_HOOKS": "off", "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "PYTHONWARNINGS": ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"),
                                                    "ignore:Cookies with samesite=none require https:UserWarning"]))}
    proc = subprocess.Popen([sys.executable, "-m", "solara", "run", str(Path(__file__).parent / "app_pages.py"),
                             "--host", "127.0.0.1", "--port", str(port), "--production", "--no-check-version", "--no-open"],
                            cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, log, f"http://127.0.0.1:{port}"


def _step_and_time(page, week: int) -> float:
    """Click Step (one week: render interval 7) and return the seconds until the attacks chart is redrawn."""
    import time

    page.evaluate("window.__old = document.querySelector('.chart-cumulative-attacks svg.marks').innerHTML")
    t = time.perf_counter()
    page.get_by_role("button", name="Step").click()
    page.get_by_text(f"day {7 * week} of").wait_for(timeout=60_000)
    page.wait_for_function("() => { const s = document.querySelector('.chart-cumulative-attacks svg.marks'); "
                           "return s && s.innerHTML !== window.__old && s.querySelectorAll('path').length > 0; }", timeout=30_000)
    return time.perf_counter() - t


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(900)
def test_every_scenario_file_opens_and_steps_in_a_browser(tmp_path):
    """Each file in scenarios/ opens (no traceback, no 404, no warning in what the server logged for it), steps
    three weeks with 50 replicates and draws its charts; a bad seed on the first page is a message beside the
    box. The pages are the routes of one server (tests/app_pages.py: each built as `escalation app FILE`
    builds it), not one `escalation app` process per file: ~5 s of CPU saved per file."""
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: run `make browser` (make test does) or apt-get install chromium")
    from playwright.sync_api import sync_playwright

    def startup_problems(text: str) -> bool:  # a 404 as a status, not the digits of a port (http://127.0.0.1:40497)
        return "Traceback" in text or "Warning" in text or bool(re.search(r"(?<![\d:.])404(?!\d)", text))

    proc, log, server = _start_pages(SCENARIO_FILES, tmp_path)  # one server, one route per file: /<file stem>
    logged = tmp_path / "pages.log"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        try:
            wait_for_page(f"{server}/{SCENARIO_FILES[0].stem}", proc, timeout=240)  # (no page at "/": 404)
            seen = 0  # the server's log up to the file before: each file's page is checked on what it added
            for n, file in enumerate(SCENARIO_FILES):
                url = f"{server}/{file.stem}"
                page = browser.new_page(viewport={"width": 1600, "height": 1200})
                bad: list[str] = []
                page.on("response", lambda r: bad.append(f"{r.status} {r.url}") if r.status >= 400 else None)
                page.on("console", lambda m: bad.append(m.text) if m.type == "error" else None)
                page.goto(url, timeout=90_000)
                page.get_by_role("button", name="Save scenario").wait_for(timeout=90_000)
                assert f"Escalation model: {page_scenario(file).name}" in page.inner_text("body"), f"{file.name}: not its page"
                page.locator(".chart-cumulative-attacks svg.marks").wait_for(timeout=60_000)
                times = [_step_and_time(page, week) for week in (1, 2, 3)]
                STEP_SECONDS[file.name] = times
                assert page.locator(".chart-us-casualties svg.marks path").count() > 0
                if n == 0:  # a bad value: a message beside the box, the page stays
                    box = page.locator(".input-seed input")
                    box.fill("not a seed")
                    box.press("Enter")
                    page.locator(".error-seed").wait_for(timeout=30_000)
                    assert "whole number" in page.locator(".error-seed").inner_text()
                    page.get_by_role("button", name="Reset").click()
                    page.get_by_text("day 0 of").wait_for(timeout=30_000)
                    page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
                assert "Traceback" not in page.inner_text("body"), file.name
                assert not bad, f"{file.name}: {bad}"
                page.close()
                text = logged.read_text()
                assert not startup_problems(text[seen:]), f"{file.name}: {text[seen:]}"
                seen = len(text)
        finally:
            stop(proc)
            log.close()
            browser.close()
    text = logged.read_text()
    assert not startup_problems(text), text
    steps = sorted(t for ts in STEP_SECONDS.values() for t in ts)
    print(f"page step (one week, 50 replicates): median {steps[len(steps) // 2]:.3f} s, max {steps[-1]:.3f} s "
          f"over {len(steps)} steps")


@pytest.mark.slow
@pytest.mark.browser
def test_port_zero_announces_the_real_port(app_server):
    """`--port 0`: the first line names the real port (the shared server was started so), and the page answers there."""
    import urllib.request

    url, _, port = app_server
    assert port > 0 and url == f"http://127.0.0.1:{port}/"
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.status == 200
