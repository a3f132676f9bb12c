"""Command `decompose` (registered by experiments.cli.main): why attacks stopped in Iraq and not in the Red Sea."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console

from experiments.cli.options import FORCE, MAX_HOURS, MAX_MEMORY, QUIET, REPLICATES, SEED, SET, overrides, reworded, with_executor

out = Console()


def register(app: typer.Typer, handles_errors: Callable[..., Any]) -> None:
    @app.command()
    @handles_errors
    @with_executor
    def decompose(
        file: Path = typer.Argument(..., help="scenario YAML with both theatres (houthis.enabled: true), e.g. scenarios/axis.yaml"),
        replicates: Optional[int] = reworded(REPLICATES, "replicates per variant (default 400)"),
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
        from experiments.runner.plan import Limits

        plan = dec.plan_decompose(file, out_dir, replicates=replicates, seed=seed, force=force, overrides=overrides(sets),
                                  limits=Limits(executor.workers, max_memory, max_hours))  # every check, once, before simulating
        result, files, elapsed = plan.execute(executor)
        if not quiet:
            out.print(dec.table_markdown(result.summary), highlight=False, soft_wrap=True)
            out.print(result.info["posterior"], highlight=False, soft_wrap=True)
            out.print(dec.reading(result.summary), highlight=False, soft_wrap=True)
            out.print(f"{len(dec.VARIANTS)} variants x {plan.replicates} replicates in {elapsed:.1f} s; wrote {plan.out}/ "
                      f"({len(files)} files + manifest.json)")
