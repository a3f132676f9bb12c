"""``escalation calibrate`` and ``escalation forecast``, planned: every check made once, before any
simulating (the options, the calibration file, the budget, the output folder), then executed under
the folder's lock (:mod:`experiments.runner.plan`). The CLI builds the plan, executes it and prints."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from experiments.analysis.calibration.config import Calibration, load_calibration
from experiments.runner.budget import MAX_REPLICATES, check_budget
from experiments.runner.executors import Executor
from experiments.runner.plan import Limits, Output, claim, plan_output
from experiments.scenario.errors import MAX_SEED, UserError, check_option
from experiments.scenario.schema import Overrides

MIN_BUDGET = 16  # prior simulations: fewer leave no posterior to speak of


def _check_budget_option(budget: int | None) -> None:
    if budget is not None and not MIN_BUDGET <= budget <= MAX_REPLICATES:
        raise UserError(f"expected {MIN_BUDGET} to {MAX_REPLICATES:,} simulations, got {budget:,}", path="--replicates")


@dataclass
class CalibrationPlan:
    """A calibration checked and ready: the loaded calibration, its output folder, what else to write."""

    cal: Calibration
    output: Output
    figures: bool = True
    publish_to: Path | None = None  # --publish: the calibration file's folder

    @property
    def simulations(self) -> int:
        """What the progress bar counts: prior and predictive simulations, twice with the out-of-time refit."""
        c = self.cal.config
        return (c.budget + c.predictive_draws) * (2 if c.out_of_time is not None else 1)

    def execute(self, executor: Executor | int | None = None, progress: Callable[[int], None] | None = None) -> tuple[Any, list[Path]]:
        """Claim the folder, calibrate, write (and publish): (the result, the files written)."""
        from experiments.analysis.calibration.pipeline import calibrate
        from experiments.analysis.calibration.write import publish, write_calibration_files

        with claim(self.output):
            res = calibrate(self.cal, executor=executor, progress=progress)
            written = write_calibration_files(res, self.output.folder, figures=self.figures)
            if self.publish_to is not None:
                written += publish(res, self.publish_to)
        return res, written


def plan_calibration(file: str | Path, out: str | Path, *, budget: int | None = None, seed: int | None = None, force: bool = False,
                     overrides: Overrides | None = None, method: str | None = None, tolerance: float | None = None,
                     out_of_time: bool = True, figures: bool = True, publish: bool = False,
                     limits: Limits = Limits()) -> CalibrationPlan:
    """Check the options, read and check the calibration file (options win over its fields), refuse work
    past the limits and an output folder holding something else; nothing is written."""
    _check_budget_option(budget)
    check_option(seed, "--seed", 0, MAX_SEED)
    extra: dict[str, Any] = {"budget": budget, "seed": seed, "method": method}
    if tolerance is not None:
        extra["observation"] = {"relative": tolerance}
    if not out_of_time:
        extra["out_of_time"] = False
    cal = load_calibration(file, overrides=overrides, **extra)
    total = cal.config.budget + cal.config.predictive_draws
    check_budget(cal.scenario, min(total, MAX_REPLICATES), summary_only=True, workers=limits.workers,
                 max_memory=limits.max_memory, max_hours=limits.max_hours)
    if publish:
        from experiments.analysis.calibration.write import check_publish_into

        check_publish_into(cal, Path(file).parent)
    output = plan_output(out, cal.scenario.identity_hash(), force, kind="calibration")
    return CalibrationPlan(cal, output, figures, Path(file).parent if publish else None)


@dataclass
class ForecastPlan:
    """Rolling-origin forecasts checked and ready: the calibration, the origins, samples per origin, the folder."""

    cal: Calibration
    origins: list[dt.date]
    samples: int
    output: Output
    long_run: bool = True
    figures: bool = True

    @property
    def simulations(self) -> int:
        from experiments.analysis.rolling import OVERSAMPLE

        c = self.cal.config
        runs = self.samples * OVERSAMPLE  # predictive runs per origin, before the start-state selection keeps `samples`
        return c.budget + runs * len(self.origins) + (0 if not self.long_run else c.budget + runs)

    def execute(self, executor: Executor | int | None = None, progress: Callable[[int], None] | None = None) -> tuple[Any, list[Path]]:
        """Claim the folder (with --force, drop the finished parts of earlier runs), forecast, write."""
        from experiments.analysis.rolling import rolling_forecast, write_forecast

        with claim(self.output):
            parts = self.output.folder / "parts"
            if self.output.force and parts.exists():
                shutil.rmtree(parts)
            res = rolling_forecast(self.cal, self.origins, samples=self.samples, executor=executor, progress=progress, store=parts,
                                   long_run=self.long_run)
            written = write_forecast(res, self.cal, self.output.folder, figures=self.figures)
        return res, written


def plan_forecast(file: str | Path, out: str | Path, *, origins: str | None = None, budget: int | None = None,
                  samples: int | None = None, seed: int | None = None, force: bool = False, overrides: Overrides | None = None,
                  long_run: bool = True, figures: bool = True, limits: Limits = Limits()) -> ForecastPlan:
    """Check the options (origins as given on the command line), the calibration file, the budget and the folder."""
    from experiments.analysis.rolling import MIN_SAMPLES, check_origins, parse_origins

    _check_budget_option(budget)
    if samples is not None and not MIN_SAMPLES <= samples <= MAX_REPLICATES:
        raise UserError(f"expected {MIN_SAMPLES:,} to {MAX_REPLICATES:,} samples per origin, got {samples:,}", path="--samples")
    check_option(seed, "--seed", 0, MAX_SEED)
    wanted = parse_origins(origins)
    cal = load_calibration(file, overrides=overrides, budget=budget, seed=seed)
    wanted = check_origins(cal, wanted)
    n_samples = samples or cal.config.predictive_draws
    if n_samples < MIN_SAMPLES:
        raise UserError(f"the file's predictive_draws ({n_samples:,}) is under {MIN_SAMPLES:,}: give --samples", path="--samples")
    check_budget(cal.scenario, min(cal.config.budget, MAX_REPLICATES), summary_only=True, workers=limits.workers,
                 max_memory=limits.max_memory, max_hours=limits.max_hours)
    output = plan_output(out, cal.scenario.identity_hash(), force, kind="forecast", markers=("parts",))
    return ForecastPlan(cal, list(wanted), n_samples, output, long_run, figures)
