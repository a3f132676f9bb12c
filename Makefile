# `make run` and `make test` work on a fresh machine: they create .venv and install the project first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SCENARIO ?= scenarios/baseline.yaml

CHROMIUM := /usr/bin/chromium

.PHONY: run test install bench clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# setuptools announces every editable install with a BuildBackendWarning box (information, not a problem)
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e '.[dev,app]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/escalation run $(SCENARIO)
	$(BIN)/escalation plot results/baseline
	@echo "tables:  results/baseline/{daily,summary,groups}.parquet + manifest.json"
	@echo "figures: results/baseline/figures/"
	@echo "interactive page: $(BIN)/escalation app $(SCENARIO)"

# The browser test drives Debian's chromium with Playwright (Playwright's own browser download is not used).
# CI runs as root; elsewhere apt needs sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium

browser: $(CHROMIUM)

test: $(STAMP) browser
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_run.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
