"""Scenario discovery (which uncertainty ranges make war or withdrawal likely) and phase maps.

Discovery uses a scikit-learn decision tree on sample points (from `escalation sensitivity`):
each leaf is a box of parameter ranges, reported with
- coverage: the share of all cases of interest (e.g. war) that fall in the box;
- density: the share of the box's points that are cases of interest.
(PRIM would peel boxes more finely; EMA Workbench would be a new dependency.)

A phase map runs a two-parameter grid (any dotted path: a U.S. policy lever, a militia trait...)
with common random numbers (every cell: the same seed and block) and draws P(war) and median
attacks as heatmaps, with the contour where P(war) crosses ``war_threshold`` marked.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from experiments.compare import load_block, save_figure, variant
from experiments.errors import UserError
from experiments.run import run_block
from model.params import Strict


def tree_boxes(X: pd.DataFrame, y: np.ndarray, outcome: str = "y", max_depth: int = 3, min_leaf: int | None = None) -> pd.DataFrame:
    """Leaves of a decision tree as boxes: rule, bounds per parameter, n, coverage, density (densest first)."""
    from sklearn.tree import DecisionTreeClassifier

    y = np.asarray(y, dtype=bool)
    n = len(y)
    cols = ["outcome", "rule", "n", "positives", "coverage", "density", "bounds"]
    if n == 0 or y.all() or not y.any():
        return pd.DataFrame([{"outcome": outcome, "rule": "(all points)", "n": n, "positives": int(y.sum()),
                              "coverage": 1.0 if y.any() else 0.0, "density": float(y.mean()) if n else 0.0, "bounds": "{}"}], columns=cols)
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
                         "bounds": repr({p: (float(lo), float(hi)) for p, (lo, hi) in bounds.items()})})
            return
        p, thr = names[t.feature[node]], float(t.threshold[node])
        lo, hi = bounds.get(p, [-np.inf, np.inf])
        walk(t.children_left[node], {**bounds, p: [lo, min(hi, thr)]})
        walk(t.children_right[node], {**bounds, p: [max(lo, thr), hi]})

    walk(0, {})
    return pd.DataFrame(rows, columns=cols).sort_values("density", ascending=False, ignore_index=True)


# --------------------------------------------------------------------------- phase maps


class Axis(Strict):
    path: str = Field(description="dotted scenario path, e.g. united_states.policy.params.targets_per_attack")
    values: list[float] = Field(min_length=2)
    label: str | None = None


class PhaseMapSpec(Strict):
    x: Axis
    y: Axis
    replicates: int = Field(200, ge=2, description="replicates per grid cell")
    war_threshold: float = Field(0.1, gt=0, lt=1, description="P(war) level drawn as the escalation boundary")


def phase_grid(raw: dict[str, Any], spec: PhaseMapSpec, seed: int, replicates: int, file: Any = None) -> pd.DataFrame:
    """One row per cell: x, y, p_war (+ interval half-width), attacks median/mean, median max level, P(withdrawal).

    Every cell runs block 0 of ``seed`` (common random numbers across cells). Computed here with
    run_block directly (one batched model per cell)."""
    rows = []
    for i, xv in enumerate(spec.x.values):
        for j, yv in enumerate(spec.y.values):
            try:
                sc = variant(raw, {spec.x.path: xv, spec.y.path: yv}, file=file)
            except UserError as exc:
                raise UserError(f"grid cell {spec.x.path}={xv}, {spec.y.path}={yv}: {exc.message}", file=file,
                                path=("phase_map",) + (exc.path if isinstance(exc.path, tuple) else ())) from None
            s = run_block(sc, seed, 0, 0, replicates).summary_arrays()
            war = s["war"].astype(float)
            rows.append({"ix": i, "iy": j, "x": xv, "y": yv, "p_war": war.mean(),
                         "p_war_se": war.std(ddof=1) / np.sqrt(len(war)),
                         "attacks_median": float(np.median(s["attacks_total"])), "attacks_mean": float(s["attacks_total"].mean()),
                         "max_level_median": float(np.median(s["max_escalation_level"])),
                         "p_withdrawal": float(s["withdrawal_demanded"].mean()), "replicates": replicates})
    return pd.DataFrame(rows)


def plot_phase(grid: pd.DataFrame, spec: PhaseMapSpec, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, ys = list(spec.x.values), list(spec.y.values)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for ax, col, title, cmap in ((axes[0], "p_war", "P(direct U.S.-Iran war)", "Reds"),
                                 (axes[1], "attacks_median", "Median total attacks", "viridis")):
        z = grid.pivot(index="iy", columns="ix", values=col).to_numpy()
        im = ax.imshow(z, origin="lower", aspect="auto", cmap=cmap)
        fig.colorbar(im, ax=ax)
        pw = grid.pivot(index="iy", columns="ix", values="p_war").to_numpy()
        if pw.min() < spec.war_threshold < pw.max():
            cs = ax.contour(pw, levels=[spec.war_threshold], colors="k", linewidths=1.5, linestyles="--")
            ax.clabel(cs, fmt=f"P(war)={spec.war_threshold:g}", fontsize=7)
        ax.set_xticks(range(len(xs)), [f"{v:g}" for v in xs])
        ax.set_yticks(range(len(ys)), [f"{v:g}" for v in ys])
        ax.set_xlabel(spec.x.label or spec.x.path, fontsize=8)
        ax.set_ylabel(spec.y.label or spec.y.path, fontsize=8)
        ax.set_title(title)
        for (iy, ix), v in np.ndenumerate(z):
            ax.text(ix, iy, f"{v:.2f}" if col == "p_war" else f"{v:.0f}", ha="center", va="center", fontsize=7,
                    color="w" if (col == "p_war" and v > 0.5 * np.nanmax(z)) else "k")
    fig.suptitle(f"Phase map (dashed: P(war) = {spec.war_threshold:g}, where escalation takes over)")
    fig.tight_layout()
    return save_figure(fig, out, "phase_map")


def run_phase_map(file: str | Path, out: Path, replicates: int | None = None, seed: int | None = None,
                  scenario_hash: str | None = None) -> dict[str, Any]:
    from experiments.run import atomic_write_bytes, atomic_write_json, atomic_write_parquet, manifest

    scenario, spec, raw = load_block(file, "phase_map", PhaseMapSpec)
    replicates = spec.replicates if replicates is None else replicates
    if replicates < 2:
        raise UserError(f"need at least 2 replicates per cell, got {replicates}", path=("phase_map", "replicates"))
    seed = scenario.seed if seed is None else seed
    t0 = time.perf_counter()
    grid = phase_grid(raw, spec, seed, replicates, file)
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
                               engine="run_block per cell (experiments.sweep not used)"), out / "manifest.json")
    return {"grid": grid, "files": files, "message": msg}
