"""``escalation calibrate``: ABC posterior of the behavioural parameters (see the package experiments/analysis/calibration/)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from experiments.cli.options import FORCE, MAX_HOURS, MAX_MEMORY, OUT, QUIET, REPLICATES, SEED, SET, overrides, reworded, with_executor


DEFAULT_OUT = Path("results/calibration")


def register(app: typer.Typer, handles_errors: Callable[..., Any]) -> None:
    @app.command()
    @handles_errors
    @with_executor
    def calibrate(
        file: Path = typer.Argument(..., help="calibration YAML (e.g. scenarios/calibration.yaml)"),
        budget: Optional[int] = reworded(REPLICATES, "prior simulations, one replicate each with its own parameter draw; default: the file's budget"),
        seed: Optional[int] = SEED,
        out_dir: Optional[Path] = reworded(OUT, f"output folder (default {DEFAULT_OUT})"),
        force: bool = FORCE,
        sets: Optional[list[str]] = reworded(SET, "set a field of the calibration file before it is checked (dotted path, "
                                                  "value read as YAML, e.g. smc.population=500); repeatable"),
        no_figures: bool = typer.Option(False, "--no-figures", help="skip the figures"),
        method: Optional[str] = typer.Option(None, "--method", help="smc or rejection (overrides the file)"),
        tolerance: Optional[float] = typer.Option(None, "--tolerance", help="observation.relative: tolerance of worded figures (sensitivity runs)"),
        no_out_of_time: bool = typer.Option(False, "--no-out-of-time", help="skip the out-of-time refit"),
        publish: bool = typer.Option(False, "--publish", help="also write the posterior next to FILE (committed reference) and calibrated.yaml, or point the file's publish_into scenarios at it"),
        max_memory: Optional[str] = MAX_MEMORY,
        max_hours: Optional[float] = MAX_HOURS,
        quiet: bool = QUIET,
        executor: Any = None,
    ) -> None:
        """Fit the parameters in FILE to the observed counts; write posterior.parquet, intervals, fit.json, figures."""
        from experiments.analysis.calibration.plan import plan_calibration
        from experiments.cli.main import out
        from experiments.runner.plan import Limits
        from experiments.runner.progress import ProgressBar

        out_dir = DEFAULT_OUT if out_dir is None else out_dir
        plan = plan_calibration(file, out_dir, budget=budget, seed=seed, force=force, overrides=overrides(sets), method=method,
                                tolerance=tolerance, out_of_time=not no_out_of_time, figures=not no_figures, publish=publish,
                                limits=Limits(executor.workers, max_memory, max_hours))  # every check, once, before simulating
        cal = plan.cal
        with ProgressBar(not quiet and sys.stderr.isatty(), plan.simulations, "calibrate", "sims") as advance:
            res, written = plan.execute(executor, progress=advance)
        if not quiet:
            f = res.fit
            out.print(
                f"{cal.config.name}: {cal.config.method}, {f['simulations']} sims, {f['generations']} generation(s), "
                f"{f['accepted']} accepted, epsilon {f['epsilon']:.2f}, 90% coverage {f['coverage_90']:.2f}",
                highlight=False,
            )
            weak = [k for k, v in f["width_ratios"].items() if v >= 0.8]
            if weak:
                out.print(f"note: {len(weak)} of {len(f['width_ratios'])} parameters are not identified by the data "
                          f"(posterior/prior 90 % width ratio >= 0.8): {', '.join(weak)}; runs carry their posterior draws",
                          highlight=False)
            fc = f.get("forecast", {})
            if "feb8_mar31_rate_share_of_january" in fc:
                r = fc["feb8_mar31_rate_share_of_january"]
                out.print(f"forecast: Feb 8 - Mar 31 attack rate = {r['median']:.2f} of January's (90 % {r['q05']:.2f}-{r['q95']:.2f})",
                          highlight=False)
            rs = f.get("red_sea_forecast", {})
            if "after_2024-02-29" in rs:
                r = rs["after_2024-02-29"]
                out.print(f"Red Sea forecast: {r['median']:.0f} ships attacked Mar 1 - {rs['end']} (90 % {r['q05']:.0f}-{r['q95']:.0f}), "
                          "no U.S./UK strikes replayed after the data end", highlight=False)
            if "width_ratios_without_red_sea" in f:
                from experiments.analysis.calibration.pipeline import theatre_of

                shared = [p for p in cal.config.parameters if theatre_of(p.path, bool(p.also)) == "shared"]
                out.print("shared parameters, width ratio without -> with the Red Sea: " + "; ".join(
                    f"{p.label} {f['width_ratios_without_red_sea'][p.label]:.2f} -> {f['width_ratios'][p.label]:.2f}" for p in shared),
                    highlight=False)
            if "out_of_time" in f:
                for row in f["out_of_time"]["summary"]:
                    out.print(f"out-of-time ({f['out_of_time']['fit_until']}): {row['model']}: log score {row['log_score']:.2f}, "
                              f"CRPS {row['crps']:.1f}", highlight=False)
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
