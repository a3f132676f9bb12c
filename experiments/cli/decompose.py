"""Command `decompose` (registered by experiments.cli.main): why attacks stopped in Iraq and not in the Red Sea."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console

from experiments.cli.options import FORCE, MAX_HOURS, MAX_MEMORY, QUIET, REPLICATES, SEED, SET, overrides, reworded, with_executor

out = Console()
DEFAULT_REPLICATES = 400


def register(app: typer.Typer, handles_errors: Callable[..., Any]) -> None:
    @app.command()
    @handles_errors
    @with_executor
    def decompose(
        file: Path = typer.Argument(..., help="scenario YAML with both theatres (houthis.enabled: true), e.g. scenarios/axis.yaml"),
        replicates: Optional[int] = reworded(REPLICATES, f"replicates per variant (default {DEFAULT_REPLICATES})"),
        seed: Optional[int] = SEED,
        out_dir: Optional[Path] = typer.Option(None, "--out", help="output folder (default results/<scenario name>/decomposition)"),
        force: bool = FORCE,
        sets: Optional[list[str]] = SET,
        max_memory: Optional[str] = MAX_MEMORY,
        max_hours: Optional[float] = MAX_HOURS,
        quiet: bool = QUIET,
        executor: Any = None,
    ) -> None:
        """Why attacks stopped in Iraq and not in the Red Sea, in the model (000's question): the scenario and its
        variants on common random numbers -- Iran unrestrained, obedience to Iran swapped between the theatres,
        strike sizes swapped, both swapped -- each as the Feb 8 - Mar 31, 2024 attack rate as a share of January's
        per theatre, with medians and 90 % intervals over replicates and the posterior draws they carry. Writes
        decomposition.parquet, shares.parquet, decomposition.md, figures/decomposition.png and manifest.json."""
        from experiments.analysis import decomposition as dec
        from experiments.runner.budget import check_budget
        from experiments.runner.run import check_out_dir, default_out, manifest
        from experiments.runner.store import hold_output_lock
        from experiments.scenario.errors import MAX_SEED, check_option
        from experiments.runner.budget import MAX_REPLICATES
        from experiments.scenario.held import check_dated_inputs
        from experiments.scenario.schema import load_scenario

        check_option(seed, "--seed", 0, MAX_SEED)
        check_option(replicates, "--replicates", 1, MAX_REPLICATES)
        changes = overrides(sets)
        scenario = load_scenario(file, changes)
        check_dated_inputs(scenario)
        n = DEFAULT_REPLICATES if replicates is None else replicates
        seed_used = scenario.seed if seed is None else seed
        dec.variants(scenario, None)  # the scenario can be decomposed (both theatres, windows, replayed strikes)
        check_budget(scenario, n, points=len(dec.VARIANTS), workers=executor.workers, max_memory=max_memory, max_hours=max_hours)
        target = out_dir if out_dir is not None else default_out(scenario) / "decomposition"
        h = scenario.identity_hash()
        check_out_dir(target, h, force, kind="decomposition")
        hold_output_lock(target)
        t0 = time.perf_counter()
        result = dec.decompose(scenario, n, seed_used, executor=executor, base_dir=Path(file).parent)
        elapsed = time.perf_counter() - t0
        data = manifest(scenario, seed_used, n, kind="decomposition", scenario_hash=h, runtime_seconds=round(elapsed, 2),
                        **executor.describe())
        command = f"escalation decompose {file} --out {target}" + (f" --replicates {n}" if replicates is not None else "")
        files = dec.write(result, target, data, command=command)
        if not quiet:
            out.print(dec.table_markdown(result.summary), highlight=False, soft_wrap=True)
            out.print(result.info["posterior"], highlight=False, soft_wrap=True)
            out.print(dec.reading(result.summary), highlight=False, soft_wrap=True)
            out.print(f"{len(dec.VARIANTS)} variants x {n} replicates in {elapsed:.1f} s; wrote {target}/ ({len(files)} files + manifest.json)")
