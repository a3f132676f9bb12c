"""``escalation calibrate``: ABC posterior of the behavioural parameters (see experiments/calibrate.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer


def register(app: typer.Typer, handles_errors: Callable[..., Any]) -> None:
    @app.command()
    @handles_errors
    def calibrate(
        file: Path = typer.Argument(..., help="calibration YAML (e.g. scenarios/calibration.yaml)"),
        budget: Optional[int] = typer.Option(None, "--budget", "-b", help="number of prior simulations (overrides the file)"),
        workers: int = typer.Option(min(2, os.cpu_count() or 1), "--workers", "-w", help="processes (results do not depend on it)"),
        seed: Optional[int] = typer.Option(None, "--seed", help="override the file's seed"),
        out_dir: Path = typer.Option(Path("results/calibration"), "--out", help="output folder"),
        force: bool = typer.Option(False, "--force", help="overwrite results of a different calibration"),
        no_figures: bool = typer.Option(False, "--no-figures", help="skip the figures"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar or summary"),
    ) -> None:
        """Fit the parameters in FILE to the observed counts; write posterior.parquet, intervals, fit.json, figures."""
        from experiments.calibrate import calibrate as run_calibration, load_calibration, write_calibration
        from experiments.cli import out
        from experiments.budget import MAX_REPLICATES, check_budget
        from experiments.errors import MAX_SEED, UserError, check_option
        from experiments.run import check_out_dir
        from experiments.store import hold_output_lock

        if workers < 1:
            raise UserError(f"--workers must be at least 1, got {workers}", path="--workers")
        if budget is not None and not 16 <= budget <= MAX_REPLICATES:
            raise UserError(f"expected 16 to {MAX_REPLICATES:,} simulations, got {budget:,}", path="--budget")
        check_option(seed, "--seed", 0, MAX_SEED)
        cal = load_calibration(file, budget=budget, seed=seed)
        total_sims = cal.config.budget + cal.config.predictive_draws
        check_budget(cal.scenario, min(total_sims, MAX_REPLICATES), summary_only=True, workers=workers)  # refuse before simulating
        check_out_dir(out_dir, cal.scenario.identity_hash(), force, kind="calibration")  # fail before simulating
        hold_output_lock(out_dir)  # one writer at a time, until the command ends
        total = cal.config.budget + cal.config.predictive_draws
        show = not quiet and sys.stderr.isatty()
        if show:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            with Progress(TextColumn("[bold]calibrate"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True) as bar:
                task = bar.add_task("sims", total=total)
                res = run_calibration(cal, workers=workers, progress=lambda n: bar.advance(task, n))
        else:
            res = run_calibration(cal, workers=workers)
        written = write_calibration(res, out_dir, force=force, figures=not no_figures)
        if not quiet:
            f = res.fit
            out.print(
                f"{cal.config.name}: {cal.config.budget} sims, accepted {f['accepted']} ({f['acceptance_rate']:.2%}), "
                f"epsilon {f['epsilon']:.2f}, 90% coverage {f['coverage_90']:.2f}",
                highlight=False,
            )
            if "suspension_check" in f:
                s = f["suspension_check"]
                out.print(f"{s['group']} suspends within {s['window'][0]}..{s['window'][1]} in {s['share_suspending_in_window']:.1%} of posterior runs", highlight=False)
                if s.get("share_lag_0_to_observed_end") is not None:
                    out.print(
                        f"after the first U.S. death: {s['group']} suspends within {s['observed_lag_days'][1]} days in "
                        f"{s['share_lag_0_to_observed_end']:.1%} of runs with both (median lag {s['median_lag_days']:.0f} days; "
                        f"observed {s['observed_lag_days'][0]}-{s['observed_lag_days'][1]})",
                        highlight=False,
                    )
            out.print(f"wrote {len(written)} files to {out_dir}", highlight=False)
