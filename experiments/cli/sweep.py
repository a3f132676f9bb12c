"""``escalation sweep FILE``: run a scenario's sweep serially, in a process pool or on Dask."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from experiments.cli.options import (FORCE, MAX_HOURS, MAX_MEMORY, OUT, QUIET, REPLICATES, RESUME, SEED, SET, overrides,
                                     reworded, with_executor)


def register(app: typer.Typer, handles_errors: Callable[..., Any]) -> None:
    @app.command()
    @handles_errors
    @with_executor
    def sweep(
        file: Path = typer.Argument(..., help="scenario YAML with a `sweep:` block"),
        replicates: Optional[int] = reworded(REPLICATES, "replicates per point; default: sweep.replicates"),
        seed: Optional[int] = reworded(SEED, "root seed of the design and of every run; default: sweep.seed, else the scenario's"),
        out_dir: Optional[Path] = OUT,
        resume: bool = RESUME,
        force: bool = FORCE,
        sets: Optional[list[str]] = SET,
        summary_only: Optional[bool] = typer.Option(
            None, "--summary-only/--daily", help="keep only per-replicate summaries (default: yes above 100,000 runs)"
        ),
        max_tasks: Optional[int] = typer.Option(None, "--max-tasks", help="stop after this many tasks (finish later with --resume)"),
        max_memory: Optional[str] = MAX_MEMORY,
        max_hours: Optional[float] = MAX_HOURS,
        quiet: bool = QUIET,
        executor: Any = None,
    ) -> None:
        """Run a sweep: points.parquet, one Parquet file per task, errors.parquet, manifest.json.

        Exit code: number of failed tasks (at most 125), 0 if none; 2 for bad input.
        """
        from experiments.cli.main import out
        from experiments.runner.plan import Limits
        from experiments.runner.sweep import plan_sweep_run

        plan = plan_sweep_run(file, out_dir, resume=resume, force=force, seed=seed, replicates=replicates, summary_only=summary_only,
                              max_tasks=max_tasks, overrides=overrides(sets),
                              limits=Limits(executor.workers, max_memory, max_hours))  # every check, once, before simulating
        res = plan.execute(executor, progress=not quiet and sys.stderr.isatty())
        if not quiet:
            rate = res.runs / res.seconds if res.seconds > 0 else 0.0
            out.print(
                f"{res.done} task(s) run, {res.skipped} already done, {res.failed} failed, of {res.tasks}; "
                f"{res.runs} runs in {res.seconds:.1f} s ({rate:.0f} runs/s) -> {res.out}",
                highlight=False, soft_wrap=True,
            )
            if res.repaired:
                out.print(f"{res.repaired} damaged or partial task(s) found on resume were deleted and rerun", highlight=False)
            if res.note:
                out.print(res.note, highlight=False, soft_wrap=True)
            if res.failed:
                out.print(f"failed tasks are listed in {res.out / 'errors.parquet'}; rerun with --resume", highlight=False)
            missing = res.tasks - res.done - res.skipped - res.failed
            if missing > 0:
                out.print(f"{missing} task(s) not run yet; finish with --resume", highlight=False)
        if res.exit_code:
            raise typer.Exit(code=res.exit_code)
