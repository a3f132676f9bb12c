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
        import shutil

        from experiments.analysis.calibrate import load_calibration
        from experiments.analysis.rolling import MIN_SAMPLES, MODEL, OVERSAMPLE, REFERENCE, check_origins, parse_origins, rolling_forecast, write_forecast
        from experiments.cli.main import out
        from experiments.runner.budget import MAX_REPLICATES, check_budget
        from experiments.runner.run import check_out_dir
        from experiments.runner.store import hold_output_lock
        from experiments.scenario.errors import MAX_SEED, UserError, check_option

        out_dir = DEFAULT_OUT if out_dir is None else out_dir
        if budget is not None and not 16 <= budget <= MAX_REPLICATES:
            raise UserError(f"expected 16 to {MAX_REPLICATES:,} simulations, got {budget:,}", path="--replicates")
        if samples is not None and not MIN_SAMPLES <= samples <= MAX_REPLICATES:
            raise UserError(f"expected {MIN_SAMPLES:,} to {MAX_REPLICATES:,} samples per origin, got {samples:,}", path="--samples")
        check_option(seed, "--seed", 0, MAX_SEED)
        wanted = parse_origins(origins)
        cal = load_calibration(file, overrides=overrides(sets), budget=budget, seed=seed)
        wanted = check_origins(cal, wanted)
        n_samples = samples or cal.config.predictive_draws
        if n_samples < MIN_SAMPLES:
            raise UserError(f"the file's predictive_draws ({n_samples:,}) is under {MIN_SAMPLES:,}: give --samples", path="--samples")
        check_budget(cal.scenario, min(cal.config.budget, MAX_REPLICATES), summary_only=True, workers=executor.workers,
                     max_memory=max_memory, max_hours=max_hours)
        check_out_dir(out_dir, cal.scenario.identity_hash(), force, kind="forecast", markers=("parts",))
        hold_output_lock(out_dir)
        parts = out_dir / "parts"
        if force and parts.exists():
            shutil.rmtree(parts)
        runs = n_samples * OVERSAMPLE  # predictive runs per origin, before the start-state selection keeps n_samples
        total = (cal.config.budget + runs * len(wanted)) + (0 if no_long_run else cal.config.budget + runs)
        from experiments.runner.progress import ProgressBar

        with ProgressBar(not quiet and sys.stderr.isatty(), total, "forecast", "sims") as advance:
            res = rolling_forecast(cal, wanted, samples=n_samples, executor=executor, progress=advance, store=parts,
                                   long_run=not no_long_run)
        written = write_forecast(res, cal, out_dir, figures=not no_figures)
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
