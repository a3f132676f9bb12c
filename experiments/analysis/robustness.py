"""Rankings with their conditions: does a policy's advantage over the reference survive the parameters
the data do not identify?

For a comparison run on posterior draws whose identification record marks parameters as not identified
(width ratio >= 0.8, :mod:`experiments.scenario.identification`), each such parameter p is held at its
5th and at its 95th weighted posterior percentile (``low``, ``high``) in every lever's replicates, the
other parameters keeping their draws, on the comparison's seed and blocks (common random numbers: the
corner runs' replicate k shares its random streams and its other parameters' draw with replicate k of
the main run). For each policy and outcome:

* ``diff_low`` / ``diff_high``: mean paired difference policy - reference with p at low / high;
* ``flips``: the two differ in sign, each at least one standard error of the paired difference from zero
  (the ranking turns on p; ``se_low``/``se_high`` are those errors);
* the verdict: ``robust`` when no parameter flips it, else ``depends on <p>: <who> does better below
  <value>``, <value> being where the difference crosses zero on the straight line between the corners
  (the parameter with the largest swing decides when several flip);
* minimax regret over the corners (each unidentified parameter at its low and at its high, one at a
  time): a policy's regret at a corner is how much worse its mean is than the best policy's there; the
  ranking orders policies by their largest regret.

``parameter`` is the posterior column's dotted path, which ``--set`` accepts and holds fixed
(``escalation compare FILE --set <parameter>=<low>`` runs the low corner).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from experiments.scenario.held import covers
from experiments.scenario.identification import unidentified
from experiments.scenario.schema import Scenario, with_overrides

QUANTILES = (0.05, 0.95)
ROBUSTNESS_COLUMNS = ("policy", "outcome", "parameter", "low", "high", "diff_low", "diff_high", "flips")


def weighted_quantile(values: np.ndarray, q: float, weights: np.ndarray | None = None) -> float:
    """The q-quantile of weighted draws (inverse of the weighted empirical distribution, midpoint rule)."""
    v = np.asarray(values, dtype=float)
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=float)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, cum, v))


def corner_parameters(draws: pd.DataFrame | None, levers: dict[str, Scenario]) -> list[str]:
    """The posterior columns the data do not identify that no lever holds fixed itself."""
    if draws is None or "identification" not in draws.attrs:
        return []
    ident = unidentified(draws.attrs["identification"])
    held = {h for sc in levers.values() for h in sc.held}
    return [c for c in draws.columns if c != "weight" and any(covers(p, c) and covers(c, p) for p in ident)
            and not any(covers(h, c) for h in held)]


def corners(draws: pd.DataFrame, params: list[str]) -> dict[str, tuple[float, float]]:
    w = draws["weight"].to_numpy(float) if "weight" in draws else None
    return {p: tuple(float(f"{weighted_quantile(draws[p].to_numpy(float), q, w):.6g}") for q in QUANTILES) for p in params}  # type: ignore[misc]


def corner_levers(levers: dict[str, Scenario], param: str, value: float) -> dict[str, Scenario]:
    """Every lever with ``param`` set to ``value`` and held fixed over the draws."""
    out = {}
    for label, sc in levers.items():
        v = with_overrides(sc, {param: value})
        out[label] = v.holding([param])
    return out


def mean_diffs(summary: pd.DataFrame, reference: str, outcomes: list[str]) -> pd.DataFrame:
    """Per (policy, outcome): mean of the policy's outcome and of its paired difference to the reference."""
    ref = summary[summary.policy == reference].set_index("replicate").sort_index()
    rows = []
    for policy, s in summary.groupby("policy", sort=False):
        s = s.set_index("replicate").sort_index()
        for col in outcomes:
            x = s[col].to_numpy(float)
            d = x - ref[col].reindex(s.index).to_numpy(float)
            se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
            rows.append(dict(policy=policy, outcome=col, mean=float(x.mean()), diff=float(d.mean()), se=se))
    out = pd.DataFrame(rows)
    out.attrs["replicates"] = len(ref)
    return out


def flipped(d_low: float, d_high: float, se_low: float, se_high: float) -> bool:
    """The difference has opposite signs at the two corners, each at least one standard error from zero
    (a sign change within the paired-difference noise is not flagged)."""
    return bool(d_low * d_high < 0 and abs(d_low) >= se_low and abs(d_high) >= se_high)


def n_rows(frame: pd.DataFrame) -> int:
    return int(frame.attrs.get("replicates", 0))


def crossing(low: float, high: float, d_low: float, d_high: float) -> float:
    """Where the difference crosses zero on the line between the corners."""
    if d_low == d_high:
        return (low + high) / 2
    return low + (high - low) * d_low / (d_low - d_high)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def verdict(policy: str, reference: str, outcome: str, rows: pd.DataFrame, better: dict[str, int]) -> tuple[str, str | None, float]:
    """The plain verdict of one comparison from its robustness rows: (text, deciding parameter, value)."""
    flips = rows[rows.flips]
    if flips.empty:
        return "robust", None, float("nan")
    swing = (flips.diff_high - flips.diff_low).abs()
    r = flips.loc[swing.idxmax()]
    x0 = crossing(r.low, r.high, r.diff_low, r.diff_high)
    sign = better.get(outcome)
    if sign is None:
        who = policy if r.diff_low > 0 else reference
        return f"depends on {r.parameter}: {who} is higher below {_fmt(x0)}", r.parameter, x0
    policy_better_low = sign * r.diff_low > 0
    who = policy if policy_better_low else reference
    return f"depends on {r.parameter}: {who} does better below {_fmt(x0)}", r.parameter, x0


def regret_ranking(means: dict[tuple[str, str], pd.DataFrame], outcomes: list[str], better: dict[str, int]) -> pd.DataFrame:
    """Minimax regret over the corners, per outcome with a better direction: policy, outcome, max_regret, regret_rank."""
    rows = []
    for oc in outcomes:
        sign = better.get(oc)
        if sign is None:
            continue
        regrets: dict[str, float] = {}
        for frame in means.values():
            m = frame[frame.outcome == oc].set_index("policy")["mean"]
            best = m.max() if sign > 0 else m.min()
            for policy, v in m.items():
                regrets[policy] = max(regrets.get(policy, 0.0), float(sign * (best - v)))
        ranked = sorted(regrets, key=lambda p: regrets[p])
        rows += [dict(policy=p, outcome=oc, max_regret=regrets[p], regret_rank=ranked.index(p) + 1) for p in regrets]
    return pd.DataFrame(rows, columns=["policy", "outcome", "max_regret", "regret_rank"])


def robustness(levers: dict[str, Scenario], reference: str, draws: pd.DataFrame | None, outcomes: list[str],
               better: dict[str, int], run: Callable[[dict[str, Scenario], str], pd.DataFrame],
               table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """robustness.parquet and verdicts.parquet of a comparison.

    ``run(levers, tag)`` runs the levers (common random numbers) and returns their per-replicate summary
    (columns policy, replicate, outcomes); ``table`` is compare's table.parquet (p_better, diff)."""
    params = corner_parameters(draws, levers)
    rob_rows: list[dict[str, Any]] = []
    means: dict[tuple[str, str], pd.DataFrame] = {}
    bounds = corners(draws, params) if params else {}
    for p in params:
        lo, hi = bounds[p]
        at = {}
        for side, value in (("low", lo), ("high", hi)):
            summary = run(corner_levers(levers, p, value), f"{p}={value}")
            at[side] = means[(p, side)] = mean_diffs(summary, reference, outcomes)
        low, high = at["low"].set_index(["policy", "outcome"]), at["high"].set_index(["policy", "outcome"])
        for policy in levers:
            if policy == reference:
                continue
            for oc in outcomes:
                dl, dh = float(low.loc[(policy, oc), "diff"]), float(high.loc[(policy, oc), "diff"])
                sl, sh = float(low.loc[(policy, oc), "se"]), float(high.loc[(policy, oc), "se"])
                rob_rows.append(dict(policy=policy, outcome=oc, parameter=p, low=lo, high=hi, diff_low=dl, diff_high=dh,
                                     flips=flipped(dl, dh, sl, sh), se_low=sl, se_high=sh, replicates=len(levers) and n_rows(at["low"])))
    rob = pd.DataFrame(rob_rows, columns=[*ROBUSTNESS_COLUMNS, "se_low", "se_high", "replicates"])
    regret = regret_ranking(means, outcomes, better) if means else pd.DataFrame(columns=["policy", "outcome", "max_regret", "regret_rank"])
    t = table.set_index(["policy", "outcome"])
    ver = []
    for policy in levers:
        if policy == reference:
            continue
        for oc in outcomes:
            text, param, value = verdict(policy, reference, oc, rob[(rob.policy == policy) & (rob.outcome == oc)], better)
            if not params:
                text = "robust (no unidentified parameter is carried as draws)" if draws is not None else "not assessed (fixed parameters)"
            row = t.loc[(policy, oc)] if (policy, oc) in t.index else None
            ver.append(dict(policy=policy, reference=reference, outcome=oc,
                            label=row["label"] if row is not None else oc,
                            diff=float(row["diff"]) if row is not None else float("nan"),
                            p_better=float(row["p_better"]) if row is not None and "p_better" in row else float("nan"),
                            verdict=text, parameter=param, value=value))
    verdicts = pd.DataFrame(ver)
    if len(regret):
        verdicts = verdicts.merge(regret, on=["policy", "outcome"], how="left")
        ref_rows = regret[regret.policy == reference].rename(columns={"max_regret": "reference_max_regret",
                                                                      "regret_rank": "reference_regret_rank"}).drop(columns="policy")
        verdicts = verdicts.merge(ref_rows, on="outcome", how="left")
    return rob, verdicts


HEADLINE = ("attacks_total", "us_killed", "war", "ships_attacked")  # ships_attacked: only when the Houthis are on


def verdict_lines(verdicts: pd.DataFrame, outcomes: tuple[str, ...] = HEADLINE) -> list[str]:
    """One line per policy: the verdicts on the headline outcomes, in words (the Red Sea's ships attacked too when
    the comparison has them: the same policies answer in both theatres). An outcome identical under every policy in
    every paired draw (zero difference, P(better) one half, e.g. the Iraq/Syria attacks of the Red Sea theatre run
    alone) is left out of the lines: "robust" would say nothing about it."""
    lines = []
    if verdicts is None or verdicts.empty:
        return lines
    same = ({oc for oc, v in verdicts.groupby("outcome") if (v["diff"] == 0).all() and v["p_better"].isin([0.5]).all()}
            if {"diff", "p_better"} <= set(verdicts.columns) else set())  # (verdicts written before the columns: all kept)
    for policy, v in verdicts.groupby("policy", sort=False):
        parts = []
        for oc in outcomes:
            r = v[v.outcome == oc]
            if r.empty or oc in same:
                continue
            r = r.iloc[0]
            pb = f", P(better) {r.p_better:.2f}" if pd.notna(r.p_better) else ""
            parts.append(f"{r.label}: {r.verdict}{pb}")
        lines.append(f"{policy} vs {v.reference.iloc[0]}: " + ("; ".join(parts) or "the same as the reference on every headline outcome"))
    return lines


def write_robustness(rob: pd.DataFrame, verdicts: pd.DataFrame, out: Path) -> list[str]:
    from experiments.runner.run import atomic_write_parquet

    atomic_write_parquet(rob, out / "robustness.parquet")
    atomic_write_parquet(verdicts, out / "verdicts.parquet")
    return ["robustness.parquet", "verdicts.parquet"]


__all__ = ["HEADLINE", "ROBUSTNESS_COLUMNS", "corner_parameters", "corners", "regret_ranking", "robustness", "verdict", "verdict_lines",
           "weighted_quantile", "write_robustness"]
