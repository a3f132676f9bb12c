"""``escalation forecast``: rolling-origin forecasts of the Pentagon tallies with skill scores
(see experiments/analysis/rolling.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from experiments.cli.options import FORCE, MAX_HOURS, MAX_MEMORY, OUT, QUIET, REPLICATES, SEED, SET, overrides, reworded, with_executor

DEFAULT_OUT = Path("results/forecast")


def register(app: typer.Typer, handles_errors: Callable[..., Any]) -> None:
    @app.command()
    @handles_errors
    @with_executor
    def forecast(
        file: Path = typer.Argument(..., help="calibration YAML (e.g. scenarios/calibration.yaml)"),
        origins: Optional[str] = typer.Option(None, "--origins", metavar="DATE,...",
                                              help="forecast origins, YYYY-MM-DD separated by commas (default: 2023-11-23, "
                                                   "2023-12-07, 2023-12-21, 2024-01-09, 2024-01-18)"),
        budget: Optional[int] = reworded(REPLICATES, "prior simulations of each refit, one replicate each; default: the file's budget"),
        samples: Optional[int] = typer.Option(None, "--samples", help="predictive samples per origin (at least 1,000; default: "
                                                                     "the file's predictive_draws)"),
        seed: Optional[int] = SEED,
        out_dir: Optional[Path] = reworded(OUT, f"output folder (default {DEFAULT_OUT})"),
        force: bool = FORCE,
        sets: Optional[list[str]] = reworded(SET, "set a field of the calibration file before it is checked (dotted path, "
                                                  "value read as YAML); repeatable"),
        no_long_run: bool = typer.Option(False, "--no-long-run", help="skip the full-data fit and its forecast from the last tally"),
        no_figures: bool = typer.Option(False, "--no-figures", help="skip the figures"),
        max_memory: Optional[str] = MAX_MEMORY,
        max_hours: Optional[float] = MAX_HOURS,
        quiet: bool = QUIET,
        executor: Any = None,
    ) -> None:
        """Refit on what was reported by each origin, forecast every later tally from the reported count,
        score against four naive forecasters; write predictive.parquet, scores.parquet, figures."""
        from experiments.analysis.calibration.plan import plan_forecast
        from experiments.analysis.rolling import MODEL, REFERENCE
        from experiments.cli.main import out
        from experiments.runner.plan import Limits
        from experiments.runner.progress import ProgressBar

        out_dir = DEFAULT_OUT if out_dir is None else out_dir
        plan = plan_forecast(file, out_dir, origins=origins, budget=budget, samples=samples, seed=seed, force=force,
                             overrides=overrides(sets), long_run=not no_long_run, figures=not no_figures,
                             limits=Limits(executor.workers, max_memory, max_hours))  # every check, once, before simulating
        with ProgressBar(not quiet and sys.stderr.isatty(), plan.simulations, "forecast", "sims") as advance:
            res, written = plan.execute(executor, progress=advance)
        if not quiet:
            s = res.summary
            for o in res.origins:
                m = s[(s["origin"] == o) & (s["forecaster"] == MODEL)].iloc[0]
                r = s[(s["origin"] == o) & (s["forecaster"] == REFERENCE)].iloc[0]
                out.print(f"origin {o}: mean CRPS model {m['crps']:.2f} vs {REFERENCE} {r['crps']:.2f} "
                          f"(ratio {m['crps_ratio']:.2f}; totals only {m['crps_total_ratio']:.2f}) over {int(m['tallies'])} tallies",
                          highlight=False)
            g = res.info["goal"]["all"]
            out.print(f"goal (model CRPS <= {REFERENCE} at every origin, every PIT in [0.1, 0.9]): "
                      f"{'met' if g['met'] else 'not met'}; overall ratio {g['crps_ratio_overall']:.2f}, "
                      f"PIT inside {g['pit_inside']} of {g['pit_scored']}", highlight=False)
            lr = res.info.get("long_run")
            if lr:
                last = max(lr["dates"])
                x = lr["dates"][last]["after"]
                out.print(f"after {lr['from']} to {last}: {x['median']:.0f} attacks (90 % {x['q05']:.0f}-{x['q95']:.0f})",
                          highlight=False)
            out.print(f"wrote {len(written)} files to {out_dir}", highlight=False)
