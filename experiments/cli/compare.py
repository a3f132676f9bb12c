"""Commands `compare`, `sensitivity`, `phase-map` and `report` (registered by experiments.cli.main)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console

from experiments.cli.options import (FORCE, MAX_HOURS, MAX_MEMORY, OUT, QUIET, REPLICATES, RESUME, SEED, SET, overrides, reworded,
                                     with_executor)
from experiments.scenario.schema import Overrides

out = Console()


def _check_overrides(seed: Optional[int], replicates: Optional[int] = None) -> None:
    """Command-line overrides out of range: one line naming the option, before anything is loaded."""
    from experiments.runner.budget import MAX_REPLICATES
    from experiments.scenario.errors import MAX_SEED, check_option

    check_option(seed, "--seed", 0, MAX_SEED)
    check_option(replicates, "--replicates", 1, MAX_REPLICATES)


def _prepare_out(file: Path, key: str, spec_type: type, out_dir: Optional[Path], force: bool, kind: str,
                 changes: Overrides, method: Optional[str] = None) -> tuple[Any, Any, Path, str]:
    """Validate the scenario and its block, and refuse an output folder holding something else.

    Blocks with a ``method`` (sensitivity) write into a folder per method by default."""
    from experiments.runner.sweep import STORE
    from experiments.scenario.schema import load_block, spec_hash
    from experiments.runner.run import check_out_dir, default_out
    from experiments.runner.store import hold_output_lock

    scenario, spec, _ = load_block(file, key, spec_type, changes)
    target = out_dir if out_dir is not None else default_out(scenario)
    if hasattr(spec, "method"):
        spec = spec.model_copy(update={"method": method or spec.method})
        target = target if out_dir is not None else target / spec.method
    h = spec_hash(scenario, spec)
    check_out_dir(target, h, force, kind=kind, markers=(STORE,))  # tasks of an interrupted compare or phase map
    hold_output_lock(target)  # one writer at a time, until the command ends
    return scenario, spec, target, h


def _sensitivity_points(spec: Any, samples: Optional[int]) -> int:
    """Sample points of a sensitivity design (SALib: Sobol N (D + 2) without second order, Morris N (D + 1))."""
    n, d = samples or spec.samples, len(spec.uncertainties)
    return max(1, n * (d + 2) if spec.method == "sobol" else n * (d + 1))


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
        from experiments.runner.budget import check_budget
        from experiments.scenario.blocks import CompareSpec
        from experiments.analysis.compare import DAILY_HELD_BYTES, compare as run_compare, corner_count, print_table, write_compare
        from experiments.runner.sweep import STORE
        from experiments.runner.run import manifest

        _check_overrides(seed, replicates)
        changes = overrides(sets)
        scenario, spec, target, h = _prepare_out(file, "compare", CompareSpec, out_dir, force, "compare", changes)
        n = spec.replicates if replicates is None else replicates
        # the robustness corners run too: each unidentified parameter at two values, every lever (an upper bound on memory)
        corner_runs = 2 * corner_count(scenario, spec, file) * min(spec.robustness_replicates, n) if spec.robustness_replicates >= 2 else 0
        check_budget(scenario, n + corner_runs, points=len(spec.levers),
                     daily_bytes=DAILY_HELD_BYTES, workers=executor.workers, max_memory=max_memory, max_hours=max_hours)
        t0 = time.perf_counter()
        scenario, spec, result, info = run_compare(file, replicates=replicates, seed=seed, executor=executor, overrides=changes,
                                                   store=target / STORE, resume=resume, force=force, allow_unpaired=allow_unpaired)
        elapsed = time.perf_counter() - t0
        n = int(result.summary.groupby("policy").size().iloc[0])
        seed_used = scenario.seed if seed is None else seed
        data = manifest(scenario, seed_used, n, kind="compare", scenario_hash=h, runtime_seconds=round(elapsed, 2),
                        **executor.describe(), **info)
        files = write_compare(result, target, data)
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
        from experiments.runner.budget import check_budget
        from experiments.scenario.blocks import SensitivitySpec
        from experiments.analysis.sensitivity import print_indices, run_sensitivity


        _check_overrides(seed, replicates)
        # -n is the block's replicates_per_point: set like --set, so it is checked and hashed as the file's value would be
        changes = {**overrides(sets), **({"sensitivity.replicates_per_point": replicates} if replicates is not None else {})}
        # each method has its own folder (results/<name>/sobol, .../morris): a Morris run never replaces Sobol results
        scenario, spec, target, h = _prepare_out(file, "sensitivity", SensitivitySpec, out_dir, force, "sensitivity", changes,
                                                 method=method)
        check_budget(scenario, spec.replicates_per_point, points=_sensitivity_points(spec, samples), summary_only=True,
                     workers=executor.workers, max_memory=max_memory, max_hours=max_hours)  # refused before simulating
        res = run_sensitivity(file, target, method=method, samples=samples, seed=seed, scenario_hash=h, overrides=changes,
                              executor=executor)
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
        from experiments.runner.budget import check_budget
        from experiments.scenario.blocks import PhaseMapSpec
        from experiments.analysis.discovery import run_phase_map


        _check_overrides(seed, replicates)
        changes = overrides(sets)
        scenario, spec, target, h = _prepare_out(file, "phase_map", PhaseMapSpec, out_dir, force, "phase_map", changes)
        check_budget(scenario, spec.replicates if replicates is None else replicates, points=len(spec.x.values) * len(spec.y.values),
                     summary_only=True, workers=executor.workers, max_memory=max_memory, max_hours=max_hours)
        res = run_phase_map(file, target, replicates=replicates, seed=seed, scenario_hash=h, overrides=changes, executor=executor,
                            resume=resume, force=force)
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
