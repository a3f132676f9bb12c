"""The ``escalation`` command line. Bad input prints one clear line and exits with code 2."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console

from experiments.cli.options import FORCE, MAX_HOURS, MAX_MEMORY, OUT, QUIET, REPLICATES, SEED, SET, overrides, with_executor
from experiments.runner.executors import Terminated, answer_signals  # SIGTERM as an exception (Terminated re-exported)
from experiments.scenario.errors import UserError

def _flags_as_flags() -> None:
    """Help shows a flag as a flag (``--force``), not as ``--force <bool>``: typer >= 0.16 prints a type for
    every option, flags included. Options that take a value keep theirs (``<int>``, ``PATH=VALUE``)."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "_flags_as_flags", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> Any:
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    display_type_rich._flags_as_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_as_flags()

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Escalation model of the 2023-24 militia attacks on U.S. forces: run, sweep, calibrate, compare.",
)
console = Console(stderr=True)
out = Console()


def _print_version(value: bool) -> None:
    if value:
        from experiments.runner.run import versions

        v = versions()
        out.print(f"escalation-model {v['escalation-model']} (Python {v['python']}, Mesa {v['mesa']})", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="print the version (and Python's and Mesa's) and exit"),
) -> None:
    pass


INTERRUPTED = "stopped before finishing; tasks a sweep, compare or phase map finished are kept (--resume continues them)"


def handles_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn :class:`UserError` into a one-line message and exit code 2 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from experiments.runner.store import command_scope

        try:
            # locks released at the end; Ctrl-C and SIGTERM unwind (temporaries removed, workers ended), and a
            # signal whose exception something swallowed is raised again at the next task (answer_signals)
            with command_scope(), answer_signals():
                return func(*args, **kwargs)
        except UserError as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=exc.exit_code) from None
        except Terminated:
            console.print("[bold red]error:[/] stopped by SIGTERM; temporary files removed, earlier results left as they were",
                          highlight=False, soft_wrap=True)
            raise typer.Exit(code=128 + 15) from None
        except KeyboardInterrupt:  # Ctrl-C, whatever the executor: one line, the shell's code for SIGINT
            from experiments.runner.executors import silence_dask_logs

            silence_dask_logs()  # a Dask cluster still closing says nothing more
            console.print(f"[bold red]interrupted[/] (Ctrl-C): {INTERRUPTED}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=130) from None
        except OSError as exc:
            message = _disk_error(exc)
            if message is None:
                raise
            console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None

    return wrapper


_DISK_ERRORS = {"ENOSPC": "no space left on the device", "EDQUOT": "disk quota exceeded", "EFBIG": "file too large",
                "EROFS": "read-only file system", "ENAMETOOLONG": "a file name is too long", "ELOOP": "a symlink loop"}


def _disk_error(exc: OSError) -> str | None:
    """One line for a file-system failure while writing (full disk, quota, read-only), else None (a bug: traceback)."""
    import errno

    name = errno.errorcode.get(exc.errno or -1)
    if name not in _DISK_ERRORS:
        text = str(exc)
        name = "ENOSPC" if "No space left" in text else "EDQUOT" if "quota" in text.lower() else None
        if name is None:
            return None
    file = str(exc.filename or "")
    where = f" writing {file if len(file) <= 120 else file[:60] + '...' + file[-50:]}" if file else ""
    return f"{_DISK_ERRORS[name]}{where}; nothing was half-written: earlier results are left as they were"


@app.command()
@handles_errors
def validate(
    files: list[Path] = typer.Argument(..., help="scenario YAML files"),
    sets: Optional[list[str]] = SET,
) -> None:
    """Check scenario files; print OK or the first problem (file, field path, value, expectation)."""
    from experiments.runner.budget import check_budget
    from experiments.runner.executors import DEFAULT_WORKERS
    from experiments.scenario.schema import load_scenario, resolve_raw

    changes = overrides(sets)
    for f in files:
        raw = resolve_raw(f)
        kind = next((k for k in SPEC_BLOCKS if k in raw), "calibration" if {"base", "parameters"} <= set(raw) else None)
        if kind == "calibration":
            from experiments.analysis.calibration.config import load_calibration

            cal = load_calibration(f, overrides=changes)
            out.print(f"OK {f} (calibration of {len(cal.config.parameters)} parameters on {cal.scenario.name})", soft_wrap=True, highlight=False)
            continue
        sc = _load_with_block(f, kind, changes) if kind else load_scenario(f, changes)
        if sc.sweep is not None:  # the checks `escalation sweep` makes before running: design, values, size
            from experiments.runner.sweep import plan_sweep

            plan = plan_sweep(f, overrides=changes)
            check_budget(plan.scenario, plan.replicates, points=len(plan.points), summary_only=plan.summary_only, in_memory=False,
                         workers=DEFAULT_WORKERS)  # as `sweep` with its default --workers
            kind = kind or "sweep"
        else:
            check_budget(sc, sc.replicates, in_memory=False, workers=DEFAULT_WORKERS)  # as `run` would stream it
        what = f", with a {kind} block" if kind else ""
        out.print(f"OK {f} ({sc.name}, policy {sc.united_states.policy.name}, {len(sc.militias)} militias, {len(sc.days)} days{what})", soft_wrap=True, highlight=False)


# Scenario files may carry one analysis block; every block's schema is in experiments/scenario/blocks.py (module, class).
SPEC_BLOCKS = {
    "compare": ("experiments.scenario.blocks", "CompareSpec"),
    "sensitivity": ("experiments.scenario.blocks", "SensitivitySpec"),
    "phase_map": ("experiments.scenario.blocks", "PhaseMapSpec"),
}


def _load_with_block(f: Path, kind: str, changes: dict[str, Any]):
    import importlib

    from experiments.scenario.schema import load_block

    module, cls = SPEC_BLOCKS[kind]
    return load_block(f, kind, getattr(importlib.import_module(module), cls), changes)[0]


@app.command()
@handles_errors
@with_executor
def run(
    file: Path = typer.Argument(..., help="scenario YAML"),
    replicates: Optional[int] = REPLICATES,
    seed: Optional[int] = SEED,
    out_dir: Optional[Path] = OUT,
    force: bool = FORCE,
    sets: Optional[list[str]] = SET,
    max_memory: Optional[str] = MAX_MEMORY,
    max_hours: Optional[float] = MAX_HOURS,
    quiet: bool = QUIET,
    executor: Any = None,
) -> None:
    """Run a scenario and write daily.parquet, summary.parquet, groups.parquet and manifest.json."""
    import numpy as np

    from experiments.runner.plan import Limits
    from experiments.runner.run import plan_run

    plan = plan_run(file, replicates, seed, out=out_dir, force=force, overrides=overrides(sets),
                    limits=Limits(executor.workers, max_memory, max_hours))  # every check, once, before simulating
    result = plan.execute(executor, progress=not quiet and sys.stderr.isatty(),
                          note=lambda line: console.print(f"[yellow]note:[/] {line}", highlight=False, soft_wrap=True))
    scenario, written = plan.scenario, result.out
    if not quiet:
        out.print(
            f"{scenario.name}: {result.replicates} replicates, median attacks {np.median(result.attacks_total):.0f}, "
            f"P(U.S. death) {(result.us_killed > 0).mean():.2f}, P(war) {result.war.mean():.3f}"
        )
        from experiments.runner.run import held_line, outside_line

        if result.held:
            out.print(held_line(result.held), highlight=False, soft_wrap=True)
        outside = plan.outside
        if outside:
            out.print(outside_line(outside, scenario), highlight=False, soft_wrap=True)
        if result.notice is not None:
            out.print(result.notice.line, highlight=False, soft_wrap=True)
        out.print(f"wrote {written}/daily.parquet, summary.parquet, groups.parquet, manifest.json")


@app.command()
@handles_errors
def plot(
    run_dir: Path = typer.Argument(..., help="a folder written by `escalation run` or `escalation sweep`"),
    quiet: bool = QUIET,
) -> None:
    """Draw figures from a run's or a sweep's tables into RUN_DIR/figures (PNG and SVG): escalation curves
    of a run; envelopes, lines and pairwise scatter by lever of a sweep."""
    from experiments.analysis.plots import plot_run
    from experiments.analysis.sweep_plots import is_sweep, plot_sweep

    files = plot_sweep(run_dir) if is_sweep(run_dir) else plot_run(run_dir)
    if not quiet:
        out.print(f"wrote {len(files)} figures to {run_dir / 'figures'}")


@app.command()
@handles_errors
def params() -> None:
    """Print every parameter with its default and source (the tables in docs/ODD.md)."""
    from experiments.cli.docs import parameter_tables

    out.print(parameter_tables(), markup=False, highlight=False, soft_wrap=True)


@app.command()
def rules() -> None:
    """List the named rules (U.S. policies, militia, Iran and Iraq behaviours) with their sources."""
    from model.rules import REGISTRY

    for kind, entries in REGISTRY.items():
        out.print(f"[bold]{kind}[/]")
        for name, cls in sorted(entries.items()):
            out.print(f"  {name:22s} {cls.source}", highlight=False, soft_wrap=True)


@app.command("app")
@handles_errors
def app_page(
    scenario: Optional[Path] = typer.Argument(None, help="scenario YAML the page starts from (default scenarios/calibrated.yaml): any file in scenarios/, "
                                       "also one with an analysis block (its scenario) or a calibration file (its base)"),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="port on 127.0.0.1 (0: any free port)"),
    save_dir: Path = typer.Option(Path("scenarios/saved"), "--save-dir", help="folder for scenarios saved from the page"),
    open_browser: bool = typer.Option(False, "--open/--no-open", help="open the page in the default browser"),
    sets: Optional[list[str]] = SET,
) -> None:
    """Interactive page (Mesa SolaraViz) on http://127.0.0.1:PORT: choose policy and behaviours, move
    parameters, step or play, watch the curves; save the settings as a scenario YAML. Needs the `app`
    extra (installed by make run / make test); Ctrl-C stops it."""
    import importlib.util
    import json

    file = scenario if scenario is not None else Path("scenarios/calibrated.yaml")
    changes = overrides(sets)
    if importlib.util.find_spec("solara") is None or importlib.util.find_spec("mesa.visualization") is None:
        raise UserError("the page needs the app extra: pip install -e '.[app]' (make run installs it)", path="escalation app")
    import experiments.cli.app as page_module
    from experiments.runner.run import load_draws

    load_draws(page_module.page_scenario(file, changes))  # bad input (or missing draws): one line, exit 2, before any server starts
    if port == 0:  # the server is told a real port, so the line below names it
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]

    env = {**os.environ, page_module.ENV_SCENARIO: str(file.resolve()), page_module.ENV_SAVE_DIR: str(save_dir.resolve()),
           page_module.ENV_OVERRIDES: json.dumps(sets or []), "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
           # no startup noise: solara's hook check flags Mesa's own ComponentsView, and solara warns on every page
           # load that a 127.0.0.1 session cookie cannot be samesite=none (it falls back to lax: fine for a local page)
           "SOLARA_CHECK_HOOKS": "off",
           "PYTHONWARNINGS": ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"),
                                                    "ignore:Cookies with samesite=none require https:UserWarning"]))}
    cmd = [sys.executable, "-m", "solara", "run", page_module.__file__, "--host", "127.0.0.1", "--port", str(port),
           "--production", "--no-check-version", "--open" if open_browser else "--no-open"]
    console.print(f"starting the page for {file} on http://127.0.0.1:{port} (Ctrl-C stops it)", highlight=False, soft_wrap=True)
    sys.stderr.flush()
    os.execve(sys.executable, cmd, env)  # the server takes over this process: stopping it stops the page


def _register_plugins() -> None:
    """Commands that live in their own modules (sweep, calibrate, compare...)."""
    import importlib

    for mod in ("experiments.cli.sweep", "experiments.cli.calibrate", "experiments.cli.compare", "experiments.cli.forecast"):
        try:
            module = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name == mod:
                continue
            raise
        module.register(app, handles_errors)


_register_plugins()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C before a command's own handling starts (option parsing): one line, as inside
        console.print(f"[bold red]interrupted[/] (Ctrl-C): {INTERRUPTED}", highlight=False, soft_wrap=True)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
