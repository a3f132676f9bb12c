"""Commands `compare`, `sensitivity`, `phase-map` and `report` (registered by experiments.cli.main)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console

from experiments.cli.options import (FORCE, MAX_HOURS, MAX_MEMORY, OUT, QUIET, REPLICATES, RESUME, SEED, SET, overrides, reworded,
                                     with_executor)

out = Console()


def register(app: typer.Typer, handles_errors: Callable[..., Any]) -> None:
    @app.command()
    @handles_errors
    @with_executor
    def compare(
        file: Path = typer.Argument(..., help="scenario YAML with a compare: block"),
        replicates: Optional[int] = reworded(REPLICATES, "replicates per policy; default: compare.replicates"),
        seed: Optional[int] = SEED,
        out_dir: Optional[Path] = OUT,
        resume: bool = RESUME,
        force: bool = FORCE,
        sets: Optional[list[str]] = SET,
        allow_unpaired: bool = typer.Option(
            False, "--allow-unpaired",
            help="run levers whose U.S. deaths arise differently (replayed vs drawn) or whose dates differ from the "
                 "reference's, labelling their differences unpaired (refused without it)"),
        max_memory: Optional[str] = MAX_MEMORY,
        max_hours: Optional[float] = MAX_HOURS,
        quiet: bool = QUIET,
        executor: Any = None,
    ) -> None:
        """Compare U.S. policies on common random numbers: verdicts on what each ranking rests on, table with
        bootstrap intervals, paired differences to the reference and P(better), robustness to the unidentified
        parameters, figures, manifest."""
        from experiments.analysis.compare import print_table
        from experiments.analysis.plans import plan_compare
        from experiments.runner.plan import Limits

        plan = plan_compare(file, out_dir, replicates=replicates, seed=seed, resume=resume, force=force, overrides=overrides(sets),
                            allow_unpaired=allow_unpaired,
                            limits=Limits(executor.workers, max_memory, max_hours))  # every check, once, before simulating
        done = plan.execute(executor)
        spec, result, info, n, elapsed, files, target = plan.spec, done.result, done.info, done.replicates, done.seconds, done.files, plan.out
        if not quiet:
            from experiments.analysis.robustness import verdict_lines
            from experiments.runner.run import held_line

            for line in verdict_lines(result.verdicts):
                out.print(line, highlight=False, soft_wrap=True)
            print_table(result.table, out)
            if info.get("unpaired"):
                out.print(f"unpaired (--allow-unpaired): {', '.join(info['unpaired'])}: their differences to {spec.reference} "
                          "compare independent runs, not draws", highlight=False, soft_wrap=True)
            for label, held in (info.get("held_fixed") or {}).items():
                out.print(f"{label}: {held_line(held)}", highlight=False, soft_wrap=True)
            out.print(f"parameters: {info['uncertainties']}", highlight=False, soft_wrap=True)
            if "identification_note" in info:
                out.print(info["identification_note"], highlight=False, soft_wrap=True)
            out.print(f"{len(info['levers'])} policies x {n} replicates in {elapsed:.1f} s; wrote {target}/ ({len(files)} files + manifest.json)")

    @app.command()
    @handles_errors
    @with_executor
    def sensitivity(
        file: Path = typer.Argument(..., help="scenario YAML with a sensitivity: block"),
        method: Optional[str] = typer.Option(None, "--method", help="sobol | morris (default sensitivity.method)"),
        samples: Optional[int] = typer.Option(None, "--samples", help="base sample size (default sensitivity.samples)"),
        replicates: Optional[int] = reworded(REPLICATES, "replicates per sample point; default: sensitivity.replicates_per_point"),
        seed: Optional[int] = SEED,
        out_dir: Optional[Path] = reworded(OUT, "output folder (default results/<scenario name>/<method>)"),
        force: bool = FORCE,
        sets: Optional[list[str]] = SET,
        max_memory: Optional[str] = MAX_MEMORY,
        max_hours: Optional[float] = MAX_HOURS,
        quiet: bool = QUIET,
        executor: Any = None,
    ) -> None:
        """Sobol (first and total order, with intervals) or Morris indices of chosen outcomes, a bar chart,
        and scenario discovery (decision tree: which uncertainty ranges make war or withdrawal likely)."""
        from experiments.analysis.plans import plan_sensitivity
        from experiments.analysis.sensitivity import print_indices
        from experiments.runner.plan import Limits

        plan = plan_sensitivity(file, out_dir, method=method, samples=samples, replicates=replicates, seed=seed, force=force,
                                overrides=overrides(sets),
                                limits=Limits(executor.workers, max_memory, max_hours))  # every check, once, before simulating
        res, target = plan.execute(executor), plan.out
        if not quiet:
            print_indices(res, out)
            out.print(f"wrote {target}/ ({len(res['files'])} files + manifest.json)")

    @app.command("phase-map")
    @handles_errors
    @with_executor
    def phase_map(
        file: Path = typer.Argument(..., help="scenario YAML with a phase_map: block"),
        replicates: Optional[int] = reworded(REPLICATES, "replicates per grid cell; default: phase_map.replicates"),
        seed: Optional[int] = SEED,
        out_dir: Optional[Path] = OUT,
        resume: bool = RESUME,
        force: bool = FORCE,
        sets: Optional[list[str]] = SET,
        max_memory: Optional[str] = MAX_MEMORY,
        max_hours: Optional[float] = MAX_HOURS,
        quiet: bool = QUIET,
        executor: Any = None,
    ) -> None:
        """Two-parameter grid drawn as heatmaps of P(war) and attacks, with the escalation boundary marked."""
        from experiments.analysis.plans import plan_phase_map
        from experiments.runner.plan import Limits

        plan = plan_phase_map(file, out_dir, replicates=replicates, seed=seed, resume=resume, force=force, overrides=overrides(sets),
                              limits=Limits(executor.workers, max_memory, max_hours))  # every check, once, before simulating
        res, target = plan.execute(executor), plan.out
        if not quiet:
            out.print(res["message"], highlight=False, soft_wrap=True)
            out.print(f"wrote {target}/ ({len(res['files'])} files + manifest.json)")

    @app.command()
    @handles_errors
    def report(
        run_dir: Path = typer.Argument(..., help="a folder written by run, sweep, compare, sensitivity or phase-map"),
        output: Optional[Path] = reworded(OUT, "HTML file (default RUN_DIR/report.html)"),
        force: bool = FORCE,
        quiet: bool = QUIET,
    ) -> None:
        """Write one self-contained HTML file (tables, figures, scenario, manifest) to share."""
        from experiments.analysis.report import build_report

        path = build_report(run_dir, output, force=force)
        if not quiet:
            out.print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
