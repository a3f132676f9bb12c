"""Scenarios, runs, sweeps, calibration, analysis, plots and the `escalation` CLI."""

from experiments.scenario.errors import UserError
from experiments.runner.run import RunResult, run
from experiments.scenario.schema import Scenario, load_scenario, with_overrides
from experiments.runner.sweep import load_sweep

__all__ = ["RunResult", "Scenario", "UserError", "load_scenario", "load_sweep", "run", "with_overrides"]
