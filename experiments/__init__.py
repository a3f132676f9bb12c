"""Scenarios, runs, sweeps, calibration, analysis, plots and the `escalation` CLI."""

from experiments.errors import UserError
from experiments.run import RunResult, run
from experiments.scenario import Scenario, load_scenario, with_overrides
from experiments.sweep import load_sweep

__all__ = ["RunResult", "Scenario", "UserError", "load_scenario", "load_sweep", "run", "with_overrides"]
