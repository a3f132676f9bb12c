# `make run` and `make test` work on a fresh machine: they create .venv and install the project first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SCENARIO ?= scenarios/calibrated.yaml
RESULTS  := results/$(basename $(notdir $(SCENARIO)))
# Python 3.12 with the current Mesa 3.x: `make test` also runs the model, page and batch_run tests there
PYTHON312 ?= PYENV_VERSION=3.12.1 python3.12
VENV312   := .venv312
STAMP312  := $(VENV312)/.installed
TESTS312  := tests/test_mesa_batch.py tests/test_agents.py tests/test_policies.py tests/test_app.py

CHROMIUM := /usr/bin/chromium

.PHONY: run test test311 test312 install install-dev bench clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# `make run` installs only what running and the page need (.[app]); `make test` adds the test tools (.[dev,app]).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# setuptools announces every editable install with a BuildBackendWarning box (information, not a problem)
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e '.[app]'
	touch $(STAMP)

$(VENV)/.installed-dev: $(STAMP)
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e '.[dev,app]'
	touch $@

install: $(STAMP)
install-dev: $(VENV)/.installed-dev

$(VENV312)/bin/python:
	$(PYTHON312) -m venv $(VENV312)

$(STAMP312): pyproject.toml | $(VENV312)/bin/python
	$(VENV312)/bin/python -m pip install --quiet --upgrade pip
	PYTHONWARNINGS="ignore:Editable installation" $(VENV312)/bin/python -m pip install --quiet -e '.[app,test312]'
	touch $(STAMP312)

run: $(STAMP)
	$(BIN)/escalation run $(SCENARIO) --out $(RESULTS)
	$(BIN)/escalation plot $(RESULTS)
	@echo "tables:  $(RESULTS)/{daily,summary,groups}.parquet + manifest.json"
	@echo "figures: $(RESULTS)/figures/"
	@echo "interactive page: $(BIN)/escalation app $(SCENARIO)"

# The browser test drives Debian's chromium with Playwright (Playwright's own browser download is not used).
# CI runs as root; elsewhere apt needs sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium

browser: $(CHROMIUM)

# the whole suite on Python 3.11 (Mesa 3.3), then the model, page and batch_run tests on 3.12 (current Mesa 3.x)
test: test311 test312

# The signals pass collects only the files that mark a test `signals` (collecting the whole suite to pick 8
# tests took ~12 s of the serial pass); if none is found pytest collects every file, as before.
SIGNAL_TESTS := $(shell grep -l 'mark\.signals' tests/test_*.py 2>/dev/null)

test311: $(VENV)/.installed-dev browser
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup -m "not signals"
	$(BIN)/python -m pytest -q -p no:cacheprovider -m signals $(SIGNAL_TESTS)

# (the browser test of every scenario file runs once, on 3.11; on 3.12 one browser test drives the page)
test312: $(STAMP312) browser
	$(VENV312)/bin/python -m pytest -q -p no:cacheprovider $(TESTS312) -m "not slow"
	$(VENV312)/bin/python -m pytest -q -p no:cacheprovider tests/test_app.py::test_page_in_a_browser_policy_change_changes_the_figures

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_run.py

clean:
	rm -rf $(VENV) $(VENV312) .pytest_cache .hypothesis
