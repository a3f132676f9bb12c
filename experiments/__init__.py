"""Scenarios, runs, sweeps, calibration, analysis, plots and the `escalation` CLI."""

from experiments.scenario.errors import UserError
from experiments.runner.run import RunResult, run
from experiments.scenario.schema import Scenario, load_scenario, with_overrides
from experiments.runner.sweep import load_sweep
from experiments.runner.ema import ema_model

__all__ = ["RunResult", "Scenario", "UserError", "ema_model", "load_scenario", "load_sweep", "run", "with_overrides"]
