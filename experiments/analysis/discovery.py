"""Scenario discovery (which uncertainty ranges make war or withdrawal likely) and phase maps.

Discovery runs on sample points (from `escalation sensitivity`) two ways, each giving boxes of
parameter ranges with
- coverage: the share of all cases of interest (e.g. war) that fall in the box;
- density: the share of the box's points that are cases of interest.
1. PRIM (the field's tool; EMA Workbench's ``prim``): peels the box step by step; the peeling
   trajectory is the coverage-density trade-off, and the chosen box is the one with the highest
   coverage among those at least ``density_threshold`` dense.
2. A scikit-learn decision tree, whose leaves are boxes (a second opinion, coarser).
Box limits are a tidy table: one row per (outcome, method, box, parameter) with low and high.

A phase map runs a two-parameter grid (any dotted path: a U.S. policy lever, a militia trait...)
with common random numbers (every cell: the same seed and block) and draws P(war) and median
attacks as heatmaps, with the contour where P(war) crosses ``war_threshold`` marked.
"""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.analysis.plots import save_into
from experiments.scenario.schema import Overrides, load_block, spec_hash, variant
from experiments.scenario.errors import UserError
from experiments.scenario.blocks import PhaseMapSpec
from experiments.runner.executors import Executor, as_executor
from experiments.runner.sweep import STORE, STORE_VERSION, Design, design_tables, run_design
from experiments.scenario.identification import notice_manifest


def tree_boxes(X: pd.DataFrame, y: np.ndarray, outcome: str = "y", max_depth: int = 3, min_leaf: int | None = None) -> pd.DataFrame:
    """Leaves of a decision tree as boxes: rule, bounds per parameter, n, coverage, density (densest first)."""
    from sklearn.tree import DecisionTreeClassifier

    y = np.asarray(y, dtype=bool)
    n = len(y)
    cols = ["outcome", "box", "rule", "n", "positives", "coverage", "density"]
    if n == 0 or y.all() or not y.any():
        return pd.DataFrame([{"outcome": outcome, "box": 0, "rule": "(all points)", "n": n, "positives": int(y.sum()),
                              "coverage": 1.0 if y.any() else 0.0, "density": float(y.mean()) if n else 0.0}], columns=cols)
    min_leaf = min_leaf or max(5, n // 50)
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=min_leaf, random_state=0).fit(X.to_numpy(float), y)
    t = tree.tree_
    names = list(X.columns)
    leaf_of = tree.apply(X.to_numpy(float))
    rows = []

    def walk(node: int, bounds: dict[str, list[float]]) -> None:
        if t.children_left[node] == -1:
            inside = leaf_of == node
            pos = int(y[inside].sum())
            rule = " and ".join(f"{lo:.4g} <= {p} < {hi:.4g}" if lo > -np.inf and hi < np.inf
                                else (f"{p} < {hi:.4g}" if hi < np.inf else f"{p} >= {lo:.4g}")
                                for p, (lo, hi) in bounds.items()) or "(all points)"
            rows.append({"outcome": outcome, "rule": rule, "n": int(inside.sum()), "positives": pos,
                         "coverage": pos / y.sum(), "density": pos / max(1, inside.sum()),
                         "limits": {p: (float(lo), float(hi)) for p, (lo, hi) in bounds.items()}})
            return
        p, thr = names[t.feature[node]], float(t.threshold[node])
        lo, hi = bounds.get(p, [-np.inf, np.inf])
        walk(t.children_left[node], {**bounds, p: [lo, min(hi, thr)]})
        walk(t.children_right[node], {**bounds, p: [max(lo, thr), hi]})

    walk(0, {})
    df = pd.DataFrame(rows).sort_values("density", ascending=False, ignore_index=True)
    df.insert(1, "box", np.arange(len(df)))
    return df[cols + ["limits"]]


def limits_table(boxes: pd.DataFrame, method: str, X: pd.DataFrame) -> pd.DataFrame:
    """Tidy box limits: one row per (outcome, box, parameter); open sides take the sample's range."""
    rows = []
    for _, b in boxes.iterrows():
        for p, (lo, hi) in (b.get("limits") or {}).items():
            rows.append({"outcome": b.outcome, "method": method, "box": int(b.box), "parameter": p,
                         "low": max(lo, float(X[p].min())), "high": min(hi, float(X[p].max())),
                         "sample_low": float(X[p].min()), "sample_high": float(X[p].max())})
    return pd.DataFrame(rows, columns=["outcome", "method", "box", "parameter", "low", "high", "sample_low", "sample_high"])


def prim_boxes(X: pd.DataFrame, y: np.ndarray, outcome: str = "y", density_threshold: float = 0.8,
               peel_alpha: float = 0.05, mass_min: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame]:
    """PRIM (EMA Workbench) on sample points: (peeling trajectory, tidy limits of the chosen box).

    The trajectory has one row per peeling step: coverage, density, mass, restricted dimensions,
    and ``chosen`` for the box reported (highest coverage with density >= ``density_threshold``; the
    densest box if none is that dense)."""
    import warnings

    y = np.asarray(y, dtype=bool)
    traj_cols = ["outcome", "step", "coverage", "density", "mass", "res_dim", "chosen"]
    if len(y) == 0 or not y.any() or y.all():
        return pd.DataFrame(columns=traj_cols), limits_table(pd.DataFrame(), "prim", X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ipyparallel missing; pandas future warnings inside the workbench
        from ema_workbench.analysis import prim

        import logging

        logging.getLogger("EMA").setLevel(logging.ERROR)
        finder = prim.Prim(X.reset_index(drop=True), y, threshold=density_threshold, peel_alpha=peel_alpha, mass_min=mass_min)
        box = finder.find_box()
    traj = box.peeling_trajectory.reset_index(drop=True)
    dense = traj[traj.density >= density_threshold]
    chosen = int(dense.coverage.idxmax()) if len(dense) else int(traj.density.idxmax())
    out = pd.DataFrame({"outcome": outcome, "step": traj.index.to_numpy(), "coverage": traj.coverage.to_numpy(),
                        "density": traj.density.to_numpy(), "mass": traj.mass.to_numpy(), "res_dim": traj.res_dim.to_numpy(),
                        "chosen": traj.index.to_numpy() == chosen})
    lims = box.box_lims[chosen]
    restricted = {p: (float(lims[p].iloc[0]), float(lims[p].iloc[1])) for p in X.columns
                  if lims[p].iloc[0] > X[p].min() or lims[p].iloc[1] < X[p].max()}
    row = pd.DataFrame([{"outcome": outcome, "box": chosen, "limits": restricted}])
    return out, limits_table(row, "prim", X).assign(coverage=out.coverage[chosen], density=out.density[chosen])


def plot_prim(trajectories: pd.DataFrame, out: Path) -> list[str]:
    """Coverage-density trade-off of each outcome's peeling (EMA's show_tradeoff), chosen box ringed."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.colors import BoundaryNorm, ListedColormap

    from experiments.analysis.plots import figure_title, house_style

    outcomes = list(dict.fromkeys(trajectories.outcome))
    with house_style():
        fig, axes = plt.subplots(1, len(outcomes), figsize=(5.2 * len(outcomes) + 0.8, 4.6), squeeze=False)
        for ax, oc in zip(axes[0], outcomes):
            t = trajectories[trajectories.outcome == oc]
            dims = t.res_dim.astype(int)
            lo, hi = int(dims.min()), int(dims.max())
            cmap = ListedColormap(sns.color_palette("viridis", hi - lo + 1))
            norm = BoundaryNorm(np.arange(lo - 0.5, hi + 1.5), cmap.N)  # one colour per whole number
            sc = ax.scatter(t.coverage, t.density, c=dims, cmap=cmap, norm=norm, s=22, zorder=3)
            ax.plot(t.coverage, t.density, color="0.6", lw=0.8, zorder=2)
            c = t[t.chosen]
            ax.scatter(c.coverage, c.density, s=140, facecolors="none", edgecolors="red", lw=1.5, zorder=4, label="chosen box")
            ax.set_xlim(0, 1.02)
            ax.set_ylim(0, 1.02)
            ax.set_xlabel("coverage (share of all cases in the box)")
            ax.set_ylabel("density (share of the box that are cases)")
            ax.set_title(oc)
            ax.legend(loc="lower left")
            cb = fig.colorbar(sc, ax=ax, ticks=np.arange(lo, hi + 1))
            cb.set_label("restricted parameters (count)")
            cb.minorticks_off()
        figure_title(fig, "PRIM peeling trajectories: coverage vs density",
                     "each dot is one peeling step, from the whole sample (right) to small dense boxes (left)")
        return save_into(fig, out, "prim_tradeoff")


# --------------------------------------------------------------------------- phase maps


def phase_design(scenario: Any, raw: dict[str, Any], spec: PhaseMapSpec, seed: int, replicates: int, identity: dict[str, Any],
                 file: Any = None) -> Design:
    """The grid's cells as design points (x outer, y inner), every cell one block of ``replicates``:
    block 0 of ``seed`` (common random numbers across cells). The scenario's posterior draws of the
    parameters the axes do not set come with every cell, as in sweeps (not silently dropped)."""
    from experiments.runner.run import load_draws
    from experiments.scenario.identification import drop_covered, notice_for

    swept = [spec.x.path, spec.y.path]
    draws = drop_covered(load_draws(scenario, Path(file).parent if file else None), swept)
    points, scenarios = [], []
    for i, xv in enumerate(spec.x.values):
        for j, yv in enumerate(spec.y.values):
            try:
                scenarios.append(variant(raw, {spec.x.path: xv, spec.y.path: yv}, file=file))
            except UserError as exc:
                raise UserError(f"grid cell {spec.x.path}={xv}, {spec.y.path}={yv}: {exc.message}", file=file,
                                path=("phase_map",) + (exc.path if isinstance(exc.path, tuple) else ())) from None
            points.append({"ix": i, "iy": j, spec.x.path: xv, spec.y.path: yv})
    ident = {"v": STORE_VERSION, "kind": "phase_map", **identity, "seed": seed, "replicates": replicates, "summary_only": True}
    return Design("phase_map", scenario, points, seed, replicates, ident, ("summary",), block_size=replicates,
                  scenarios=scenarios, draws=draws, notice=notice_for(scenario, draws, [*swept, *scenario.held]),
                  meta={"x": spec.x.path, "y": spec.y.path})


def phase_grid(design: Design, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per cell: the two parameters (columns named by their paths), p_war and its standard error,
    attacks median/mean, median max level, P(withdrawal); from the design's per-replicate summary."""
    rows = []
    for point, cell in enumerate(design.points):
        s = summary[summary.point == point]
        war = s["war"].to_numpy().astype(float)
        attacks = s["attacks_total"].to_numpy()
        rows.append({**cell, "p_war": war.mean(), "p_war_se": war.std(ddof=1) / np.sqrt(len(war)),
                     "attacks_median": float(np.median(attacks)), "attacks_mean": float(attacks.mean()),
                     "max_level_median": float(np.median(s["max_escalation_level"].to_numpy())),
                     "p_withdrawal": float(s["withdrawal_demanded"].to_numpy().mean()), "replicates": design.replicates})
    return pd.DataFrame(rows)


def wilson_interval(p: np.ndarray, n: int, z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a share p from n runs (honest at 0 and 1, unlike p ± 1.96 se)."""
    p = np.asarray(p, dtype=float)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def _edges(values: list[float]) -> np.ndarray:
    """Cell edges half-way between grid values, so unequally spaced values get unequal cells."""
    v = np.asarray(values, dtype=float)
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def plot_phase(grid: pd.DataFrame, spec: PhaseMapSpec, out: Path) -> list[str]:
    from experiments.analysis.plots import house_style

    with house_style():
        return save_into(_phase_figure(grid, spec), out, "phase_map")


def _positions(axis: Any) -> tuple[list[Any], list[float], np.ndarray]:
    """(values in drawing order, their positions, cell edges): numbers at their values (spacing is real),
    names at 0, 1, 2... in the given order."""
    if axis.categorical:
        pos = [float(i) for i in range(len(axis.values))]
        return list(axis.values), pos, np.arange(len(pos) + 1) - 0.5
    values = sorted(axis.values)
    return values, [float(v) for v in values], _edges(values)


def _tick(v: Any) -> str:
    return v if isinstance(v, str) else f"{v:g}"


def _phase_figure(grid: pd.DataFrame, spec: PhaseMapSpec):
    """P(war) and median attacks over the grid, each P(war) cell with its 95 % interval; hatched where
    that interval straddles the threshold. The boundary P(war) = threshold is drawn as a dashed contour
    when both axes are numbers and the grid crosses it, as outlined cells when an axis is categorical;
    the title names the boundary only when the figure draws one."""
    import matplotlib.pyplot as plt
    import seaborn  # noqa: F401  (registers the rocket and mako colour maps)

    from experiments.analysis.plots import figure_title

    xs, xp, xe = _positions(spec.x)
    ys, yp, ye = _positions(spec.y)
    categorical = spec.x.categorical or spec.y.categorical
    reps = int(grid.replicates.iloc[0])
    fig, axes = plt.subplots(1, 2, figsize=(14, 5.6))
    pw = grid.pivot(index=spec.y.path, columns=spec.x.path, values="p_war").reindex(index=ys, columns=xs).to_numpy()
    lo, hi = wilson_interval(pw, reps)
    t = spec.war_threshold
    crosses = bool(np.nanmin(pw) < t <= np.nanmax(pw))
    contour = crosses and not categorical and np.nanmin(pw) < t < np.nanmax(pw)
    outlined = crosses and categorical
    for ax, col, label, cmap in ((axes[0], "p_war", "P(direct U.S.-Iran war), share of replicates", "rocket_r"),
                                 (axes[1], "attacks_median", "median total attacks per run", "mako_r")):
        z = grid.pivot(index=spec.y.path, columns=spec.x.path, values=col).reindex(index=ys, columns=xs).to_numpy()
        mesh = ax.pcolormesh(xe, ye, z, cmap=cmap, shading="flat", vmin=0, vmax=max(float(np.nanmax(z)), 1e-9) if col == "p_war" else None,
                             edgecolors="white", linewidth=0.6)
        cb = fig.colorbar(mesh, ax=ax)
        cb.set_label(label)
        if contour:
            cs = ax.contour(xp, yp, pw, levels=[t], colors="black", linewidths=1.5, linestyles="--")
            ax.clabel(cs, fmt=f"P(war)={t:g}", fontsize=7)
        vmax = float(np.nanmax(z)) or 1.0
        for iy in range(len(ys)):
            for ix in range(len(xs)):
                v = z[iy, ix]
                text = f"{v:.2f}\n[{lo[iy, ix]:.2f}-{hi[iy, ix]:.2f}]" if col == "p_war" else f"{v:.0f}"
                dark = v > 0.55 * vmax
                ax.text(xp[ix], yp[iy], text, ha="center", va="center", fontsize=6 if col == "p_war" else 7, color="white" if dark else "black")
                cell = (xe[ix], ye[iy]), xe[ix + 1] - xe[ix], ye[iy + 1] - ye[iy]
                if col == "p_war" and lo[iy, ix] < t < hi[iy, ix]:
                    ax.add_patch(plt.Rectangle(*cell, fill=False, hatch="///", edgecolor="0.4", lw=0))
                if outlined and pw[iy, ix] >= t:
                    ax.add_patch(plt.Rectangle(*cell, fill=False, edgecolor="black", lw=2.2, ls="--"))
        ax.set_xticks(xp, [_tick(v) for v in xs], rotation=30 if spec.x.categorical else 0, ha="right" if spec.x.categorical else "center")
        ax.set_yticks(yp, [_tick(v) for v in ys])
        ax.set_xlabel(textwrap.fill(spec.x.label or spec.x.path, 60))
        ax.set_ylabel(textwrap.fill(spec.y.label or spec.y.path, 40))
        ax.grid(False)
    axes[0].set_title("P(war) [95 % Wilson interval: sampling error]")
    axes[1].set_title("Median total attacks")
    spacing = "names in the given order" if categorical else "cells drawn at the parameter values (spacing is real)"
    if contour:
        title, boundary = f"Phase map: where P(war) crosses {t:g}", f"dashed: the boundary P(war) = {t:g}"
    elif outlined:
        title, boundary = f"Phase map: the cells where P(war) reaches {t:g}", f"dashed outline: cells with P(war) >= {t:g}"
    else:
        where = ("every cell is below" if np.nanmax(pw) < t else "every cell is at or above" if np.nanmin(pw) >= t
                 else "the grid only touches")
        title = "Phase map: P(war) and attacks over the grid"
        boundary = f"no boundary drawn: {where} P(war) = {t:g}"
    figure_title(fig, title, f"{reps} replicates per cell on common random numbers; {spacing}; {boundary}; "
                 f"hatched: the cell's 95 % interval contains P(war) = {t:g}")
    return fig


def run_phase_map(file: str | Path, out: Path, replicates: int | None = None, seed: int | None = None,
                  scenario_hash: str | None = None, overrides: Overrides | None = None, executor: Executor | int | None = None, resume: bool = False,
                  force: bool = False) -> dict[str, Any]:
    """Run the grid through its resumable task store (``out/store``), then write the table and figures."""
    from experiments.runner.run import atomic_write_bytes, atomic_write_json, atomic_write_parquet, bind_tables, manifest

    scenario, spec, raw = load_block(file, "phase_map", PhaseMapSpec, overrides)
    replicates = spec.replicates if replicates is None else replicates
    if replicates < 2:
        raise UserError(f"need at least 2 replicates per cell, got {replicates}", path=("phase_map", "replicates"))
    seed = scenario.seed if seed is None else seed
    t0 = time.perf_counter()
    design = phase_design(scenario, raw, spec, seed, replicates, {"scenario": spec_hash(scenario, spec)}, file)
    outcome = run_design(design, out / STORE, executor, resume=resume, force=force)
    grid = phase_grid(design, design_tables(outcome))
    elapsed = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_parquet(grid, out / "phase_map.parquet")
    atomic_write_bytes(out / "phase_map.csv", grid.to_csv(index=False).encode())
    files = ["phase_map.parquet", "phase_map.csv", *plot_phase(grid, spec, out)]
    over = grid[grid.p_war >= spec.war_threshold]
    msg = (f"{len(grid)} cells x {replicates} replicates in {elapsed:.1f} s; P(war) {grid.p_war.min():.3f}..{grid.p_war.max():.3f}; "
           f"{len(over)} cells at or above P(war) = {spec.war_threshold:g}")
    atomic_write_json(manifest(scenario, seed, replicates, kind="phase_map", scenario_hash=scenario_hash or scenario.identity_hash(),
                               phase_map=spec.model_dump(mode="json"), runtime_seconds=round(elapsed, 2), files=files,
                               tables=bind_tables(out, ["phase_map.parquet"]), **notice_manifest(design.notice),
                               engine="experiments.runner.sweep.run_design (one block per cell)",
                               **as_executor(executor).describe()), out / "manifest.json")
    return {"grid": grid, "files": files, "message": msg}
