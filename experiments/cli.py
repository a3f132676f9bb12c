"""The ``escalation`` command line. Bad input prints one clear line and exits with code 2."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console

from experiments.errors import UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Escalation model of the 2023-24 militia attacks on U.S. forces: run, sweep, calibrate, compare.",
)
console = Console(stderr=True)
out = Console()


def handles_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn :class:`UserError` into a one-line message and exit code 2 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=exc.exit_code) from None

    return wrapper


@app.command()
@handles_errors
def validate(files: list[Path] = typer.Argument(..., help="scenario YAML files")) -> None:
    """Check scenario files; print OK or the first problem (file, field path, value, expectation)."""
    from experiments.scenario import load_scenario, resolve_raw

    for f in files:
        raw = resolve_raw(f)
        kind = next((k for k in SPEC_BLOCKS if k in raw), "calibration" if {"base", "parameters"} <= set(raw) else None)
        if kind == "calibration":
            from experiments.calibrate import load_calibration

            cal = load_calibration(f)
            out.print(f"OK {f} (calibration of {len(cal.config.parameters)} parameters on {cal.scenario.name})", soft_wrap=True, highlight=False)
            continue
        sc = _load_with_block(f, kind) if kind else load_scenario(f)
        what = f", with a {kind} block" if kind else ""
        out.print(f"OK {f} ({sc.name}, policy {sc.united_states.policy.name}, {len(sc.militias)} militias, {len(sc.days)} days{what})", soft_wrap=True, highlight=False)


# Scenario files may carry one analysis block; its schema lives with the analysis (module, class).
SPEC_BLOCKS = {
    "compare": ("experiments.compare", "CompareSpec"),
    "sensitivity": ("experiments.sensitivity", "SensitivitySpec"),
    "phase_map": ("experiments.discovery", "PhaseMapSpec"),
}


def _load_with_block(f: Path, kind: str):
    import importlib

    from experiments.compare import load_block

    module, cls = SPEC_BLOCKS[kind]
    return load_block(f, kind, getattr(importlib.import_module(module), cls))[0]


@app.command()
@handles_errors
def run(
    file: Path = typer.Argument(..., help="scenario YAML"),
    replicates: Optional[int] = typer.Option(None, "--replicates", "-n", help="override the scenario's replicates"),
    seed: Optional[int] = typer.Option(None, "--seed", help="override the scenario's seed"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="output folder (default results/<scenario name>)"),
    force: bool = typer.Option(False, "--force", help="overwrite results of a different scenario"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar or summary"),
) -> None:
    """Run a scenario and write daily.parquet, summary.parquet, groups.parquet and manifest.json."""
    import numpy as np

    from experiments.run import check_out_dir, default_out, stream_run
    from experiments.scenario import load_scenario

    scenario = load_scenario(file)
    target = out_dir if out_dir is not None else default_out(scenario)
    check_out_dir(target, scenario.identity_hash(), force)
    result = stream_run(file, target, replicates=replicates, seed=seed, force=force, progress=not quiet and sys.stderr.isatty())
    written = result.out
    if not quiet:
        out.print(
            f"{scenario.name}: {result.replicates} replicates, median attacks {np.median(result.attacks_total):.0f}, "
            f"P(U.S. death) {(result.us_killed > 0).mean():.2f}, P(war) {result.war.mean():.3f}"
        )
        if result.notice is not None:
            out.print(result.notice.line, highlight=False, soft_wrap=True)
        out.print(f"wrote {written}/daily.parquet, summary.parquet, groups.parquet, manifest.json")


@app.command()
@handles_errors
def plot(
    run_dir: Path = typer.Argument(..., help="a folder written by `escalation run`"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Draw escalation curves from a run's tables into RUN_DIR/figures (PNG and SVG)."""
    from experiments.plots import plot_run

    files = plot_run(run_dir)
    if not quiet:
        out.print(f"wrote {len(files)} figures to {run_dir / 'figures'}")


@app.command()
@handles_errors
def params() -> None:
    """Print every parameter with its default and source (the tables in docs/ODD.md)."""
    from experiments.docs import parameter_tables

    out.print(parameter_tables(), markup=False, highlight=False, soft_wrap=True)


@app.command()
def rules() -> None:
    """List the named rules (U.S. policies, militia, Iran and Iraq behaviours) with their sources."""
    from model.rules import REGISTRY, ensure_registered

    ensure_registered()
    for kind, entries in REGISTRY.items():
        out.print(f"[bold]{kind}[/]")
        for name, cls in sorted(entries.items()):
            out.print(f"  {name:22s} {cls.source}", highlight=False, soft_wrap=True)


def _register_plugins() -> None:
    """Commands that live in their own modules (sweep, calibrate, compare...)."""
    import importlib

    for mod in ("experiments.cli_sweep", "experiments.cli_calibrate", "experiments.cli_compare"):
        try:
            module = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name == mod:
                continue
            raise
        module.register(app, handles_errors)


_register_plugins()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
