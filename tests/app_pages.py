"""Every scenario file's page in one solara server, one route per file (``/<file stem>``): the browser
test of every file opens them one by one in one server instead of starting ``escalation app FILE`` (a
Python process importing solara, Mesa and the model, ~5 s of CPU) once per file.

Each route is the page ``escalation app FILE`` serves: ``experiments.cli.app.build_page`` of
``page_scenario(FILE)`` (as the module-level ``page`` of experiments/cli/app.py is built), after the check
the command makes before it starts a server (``load_draws``). Each page is built when its route is first
opened, so a file whose page fails to build fails on its own route, in the order the test opens them.
Started by tests/test_app.py (``_start_pages``) with the files in ``ESCALATION_TEST_PAGES`` (a JSON list),
the save folder in ``ESCALATION_APP_SAVE_DIR`` and the server settings the command uses (no hook check,
no cookie warning, no telemetry). ``escalation app`` itself is started by the other page tests and by the
README test.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import solara

from experiments.cli.app import ENV_SAVE_DIR, build_page, page_scenario
from experiments.runner.run import load_draws

ENV_PAGES = "ESCALATION_TEST_PAGES"


def _route(file: Path, save_dir: Path) -> solara.Route:
    built: list = []

    @solara.component
    def Page():
        if not built:  # the first visit builds the page (as the first request to `escalation app FILE` does)
            base = page_scenario(file)
            load_draws(base)
            built.append(build_page(base, save_dir))
        return built[0]

    return solara.Route(path=file.stem, component=Page)


routes = [_route(Path(f), Path(os.environ.get(ENV_SAVE_DIR, "scenarios/saved"))) for f in json.loads(os.environ[ENV_PAGES])]
