"""Why attacks stopped in Iraq and not in the Red Sea, in the model: the answer to 000's question (issue 21 item 5).

000 (Feb 6, 2024) asks whether Iran's allies can be deterred: the Iraqi groups stopped after Qaani's
intervention, while the Houthis, struck almost daily, "have not been" deterred. In the model the two theatres
differ in three things that could explain it, and each is taken out or swapped on common random numbers (same
seed, same blocks, the same posterior draw in replicate r of every variant):

* ``Iran unrestrained``: Iran's restraint removed (``iran.rule: unrestrained``) -- it reaches both theatres;
* ``obedience swapped``: each Iraqi group gets the Houthis' obedience to Iran, the Houthis the Iraqi groups'
  mean obedience (per posterior draw when the posterior carries them);
* ``strike sizes swapped``: each theatre keeps its own strike dates (and, in Iraq, each strike's country split,
  leader and IRGC share) but takes the other theatre's strike sizes rank for rank: its largest strike gets the
  other's largest, and so on (with unequal numbers of strikes, by quantile of the ranks);
* ``both swapped``: obedience and strike sizes swapped together.

Each variant is measured as in issue 18's mechanism-share table (:func:`experiments.analysis.checks.mechanism_shares`):
the Feb 8 - Mar 31, 2024 attack rate as a share of January's, per theatre -- Iraq/Syria/Jordan attacks
(``attacks_total``) and Houthi attacks on merchant ships (``ships_attacked``, the CENTCOM running-count unit the
Red Sea fit uses) -- per replicate, with medians and 90 % intervals over replicates (and so over the posterior
draws they carry), the pooled share (ratio of the mean rates, as in issue 18's table) and the paired change from
the variant ``as modelled``. Everything printed or plotted is computed from ``decomposition.parquet``
(:func:`summarise`), so the table can be rebuilt from the stored file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.analysis.doc_blocks import replace_block
from experiments.scenario.errors import UserError
from experiments.scenario.schema import Scenario, with_overrides

JANUARY = ("2024-01-01", "2024-01-31")
AFTER = ("2024-02-08", "2024-03-31")
THEATRES = {"Iraq/Syria": "attacks_total", "Red Sea": "ships_attacked"}
REFERENCE = "as modelled"
VARIANTS = (REFERENCE, "Iran unrestrained", "obedience swapped", "strike sizes swapped", "both swapped")
DESCRIBE = {
    REFERENCE: "the scenario as it is",
    "Iran unrestrained": "Iran's restraint removed (iran.rule: unrestrained) in both theatres",
    "obedience swapped": "Iraqi groups take the Houthis' obedience to Iran, the Houthis the groups' mean obedience",
    "strike sizes swapped": "each theatre keeps its strike dates and takes the other's strike sizes, rank for rank",
    "both swapped": "obedience and strike sizes swapped together",
}
LEVEL = 0.90  # the intervals: 5th to 95th percentile
STOPPED = 0.3  # a theatre "stopped" in a run whose Feb 8 - Mar 31 rate is at most this share of January's
SUMMARY_COLUMNS = ("variant", "theatre", "column", "replicates", "undefined", "january", "feb8_mar31", "pooled_share",
                   "share_median", "share_low", "share_high", "stopped", "change_median", "change_low", "change_high")


# --------------------------------------------------------------------------- the variants


def _need(scenario: Scenario) -> None:
    """Both theatres, both windows, replayed strikes in both: refused by name otherwise (before any simulating)."""
    h = getattr(scenario, "houthis", None)
    if h is None or not h.enabled:
        raise UserError("the decomposition compares the two theatres: the scenario must enable the Houthis "
                        "(houthis.enabled: true; scenarios/axis.yaml does)", path=("houthis", "enabled"))
    if scenario.start > dt.date.fromisoformat(JANUARY[0]) or scenario.end < dt.date.fromisoformat(AFTER[1]):
        raise UserError(f"the decomposition measures {JANUARY[0]} - {AFTER[1]}: the scenario runs {scenario.start} - "
                        f"{scenario.end}", path=("end",))
    if scenario.united_states.policy.name != "historical" or (h.policy is not None and h.policy.name != "historical"):
        raise UserError("the decomposition swaps the replayed strikes between the theatres: the U.S. policy must be "
                        "'historical' in both", path=("united_states", "policy"))
    if not isinstance(h.strikes, list) or not h.strikes:
        raise UserError("no U.S./UK strikes in Yemen to swap (houthis.strikes: observed)", path=("houthis", "strikes"))


def iraq_strikes(scenario: Scenario) -> list[dict[str, Any]]:
    """The replayed Iraq/Syria strikes inside the run (the policy's list, else the reported ones)."""
    from experiments.scenario.inputs import reported_strikes

    current = scenario.united_states.policy.params.get("strikes")
    strikes = current if current is not None else [s.model_dump(mode="json") for s in reported_strikes()]
    return [dict(s) for s in strikes if scenario.start <= dt.date.fromisoformat(str(s["date"])) <= scenario.end]


def yemen_strikes(scenario: Scenario) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") for s in scenario.houthis.strikes
            if scenario.start <= s.date <= scenario.end]


def _size(s: dict[str, Any]) -> int:
    return int(s["targets"]) if "targets" in s else int(s.get("iraq", 0)) + int(s.get("syria", 0))


def swapped_sizes(own: list[dict[str, Any]], other: list[dict[str, Any]]) -> list[int]:
    """The sizes ``own``'s strikes take from ``other``'s, rank for rank: own's k-th largest (ties: earlier first)
    gets other's k-th largest; with n != m strikes, rank i of n gets rank round(i (m - 1) / (n - 1)) of m."""
    n, m = len(own), len(other)
    theirs = sorted((_size(s) for s in other), reverse=True)
    order = sorted(range(n), key=lambda i: (-_size(own[i]), str(own[i]["date"])))
    out = [0] * n
    for rank, i in enumerate(order):
        j = 0 if n == 1 else int(np.floor(rank * (m - 1) / (n - 1) + 0.5))
        out[i] = theirs[j]
    return out


def swap_strike_sizes(scenario: Scenario) -> Scenario:
    """Each theatre keeps its strike dates and takes the other's strike sizes (:func:`swapped_sizes`)."""
    iraq, yemen = iraq_strikes(scenario), yemen_strikes(scenario)
    note = " [size swapped with the other theatre: experiments/analysis/decomposition.py]"
    new_iraq = []
    for s, size in zip(iraq, swapped_sizes(iraq, yemen)):
        old = int(s.get("iraq", 0)) + int(s.get("syria", 0))
        syria = int(round(size * int(s.get("syria", 0)) / old)) if old else 0
        new_iraq.append({**s, "syria": syria, "iraq": size - syria, "source": str(s.get("source", "")) + note})
    new_yemen = [{**s, "targets": size, "source": str(s.get("source", "")) + note}
                 for s, size in zip(yemen, swapped_sizes(yemen, iraq))]
    params = {**scenario.united_states.policy.params, "strikes": new_iraq}
    return with_overrides(scenario, {"united_states.policy.params": params, "houthis.strikes": new_yemen})


def _obedience(scenario: Scenario, draws: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """(groups' obedience (D, n), the Houthis' (D,)) per posterior draw (D = 1 without draws)."""
    n = len(scenario.militias)
    rows = 1 if draws is None else len(draws)
    groups = np.tile([m.iran_obedience for m in scenario.militias], (rows, 1)).astype(float)
    houthis = np.full(rows, float(scenario.houthis.iran_obedience))
    if draws is not None:
        for i in range(n):
            for col in ("militias.*.iran_obedience", f"militias.{i}.iran_obedience"):  # the explicit column wins
                if col in draws:
                    groups[:, i] = draws[col].to_numpy(float)
        if "houthis.iran_obedience" in draws:
            houthis = draws["houthis.iran_obedience"].to_numpy(float)
    return groups, houthis


def swap_obedience(scenario: Scenario, draws: pd.DataFrame | None) -> tuple[Scenario, pd.DataFrame | None]:
    """Each Iraqi group takes the Houthis' obedience to Iran; the Houthis take the groups' mean obedience. Per
    posterior draw when the draws carry either (their columns are replaced, so the draws cannot undo the swap)."""
    groups, houthis = _obedience(scenario, draws)
    n = len(scenario.militias)
    sets = {f"militias.{i}.iran_obedience": float(houthis[0]) for i in range(n)}
    sets["houthis.iran_obedience"] = float(groups[0].mean())
    swapped = with_overrides(scenario, sets)
    carried = draws is not None and any(c.endswith("iran_obedience") for c in draws.columns)
    if not carried:
        return swapped, draws
    out = draws[[c for c in draws.columns if not c.endswith("iran_obedience")]].copy()
    for i in range(n):
        out[f"militias.{i}.iran_obedience"] = houthis
    out["houthis.iran_obedience"] = groups.mean(axis=1)
    out.attrs = dict(draws.attrs)
    return swapped, out


def variants(scenario: Scenario, draws: pd.DataFrame | None) -> dict[str, tuple[Scenario, pd.DataFrame | None]]:
    """The scenario and its four counterfactual variants, each with the posterior draws it runs with."""
    _need(scenario)
    obedient, obedient_draws = swap_obedience(scenario, draws)
    return {
        REFERENCE: (scenario, draws),
        "Iran unrestrained": (with_overrides(scenario, {"iran.rule": "unrestrained"}), draws),
        "obedience swapped": (obedient, obedient_draws),
        "strike sizes swapped": (swap_strike_sizes(scenario), draws),
        "both swapped": (swap_strike_sizes(obedient), obedient_draws),
    }


# --------------------------------------------------------------------------- running them


def _in(dates: pd.Series, window: tuple[str, str]) -> np.ndarray:
    return ((dates >= pd.Timestamp(window[0])) & (dates <= pd.Timestamp(window[1]))).to_numpy()


def theatre_rates(daily: pd.DataFrame) -> pd.DataFrame:
    """Per replicate and theatre: January's and Feb 8 - Mar 31's mean attacks a day, and their ratio (NaN when
    January had none)."""
    dates = pd.to_datetime(daily["date"])
    jan, after = _in(dates, JANUARY), _in(dates, AFTER)
    n_jan, n_after = dates[jan].nunique(), dates[after].nunique()
    rows = []
    for theatre, col in THEATRES.items():
        a = daily.loc[jan].groupby("replicate")[col].sum() / n_jan
        b = daily.loc[after].groupby("replicate")[col].sum().reindex(a.index, fill_value=0) / n_after
        share = (b / a.where(a > 0)).astype(float)
        rows.append(pd.DataFrame({"replicate": a.index.astype(np.int64), "theatre": theatre, "column": col,
                                  "january": a.to_numpy(float), "feb8_mar31": b.to_numpy(float), "share": share.to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def _reduce(job: Any, tables: dict[str, Any]) -> pd.DataFrame:
    """In the worker: a job's daily table -> its per-replicate theatre rates (little travels back)."""
    return theatre_rates(tables["daily"].to_pandas())


@dataclass
class Decomposition:
    per_replicate: pd.DataFrame  # variant, theatre, column, replicate, january, feb8_mar31, share
    summary: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


def decompose(scenario: Scenario, replicates: int, seed: int, executor: Any = None, base_dir: Path | None = None) -> Decomposition:
    """Run the scenario and its variants on common random numbers and measure each theatre's fall-off."""
    from experiments.runner.run import load_draws
    from experiments.runner.runner import plan_jobs, run_jobs

    draws = load_draws(scenario, base_dir)
    plans = variants(scenario, draws)  # every variant is built (and validated) before any simulating
    jobs = {name: plan_jobs(sc, replicates, seed, d, keys={"scenario": scenario.name}, tables=("daily",))
            for name, (sc, d) in plans.items()}
    frames = []
    for name in VARIANTS:
        parts = run_jobs(jobs[name], executor, reduce=_reduce)
        frames.append(pd.concat(parts, ignore_index=True).assign(variant=name))
    per = pd.concat(frames, ignore_index=True)[["variant", "theatre", "column", "replicate", "january", "feb8_mar31", "share"]]
    per["variant"] = pd.Categorical(per["variant"], categories=list(VARIANTS))
    per = per.sort_values(["variant", "theatre", "replicate"], kind="stable").reset_index(drop=True)
    per["variant"] = per["variant"].astype(str)
    info = {"posterior": _posterior_note(scenario, draws), "strikes": strike_sizes(plans),
            "obedience": obedience_values(plans)}
    return Decomposition(per, summarise(per), info)


def _posterior_note(scenario: Scenario, draws: pd.DataFrame | None) -> str:
    if draws is None:
        return ("no posterior: every parameter at the scenario's own values (sourced defaults, priors' point values "
                "and assumptions); the intervals are over replicates only, not over parameter uncertainty")
    src = draws.attrs.get("source") or (scenario.uncertainty.posterior if scenario.uncertainty else "")
    houthi = sorted(c for c in draws.columns if c.startswith("houthis."))
    return (f"posterior draws from {src} ({len(draws)} draws; replicate r carries the same draw in every variant); "
            + (f"Houthi parameters drawn: {', '.join(houthi)}" if houthi else
               "the posterior carries no Houthi parameter: the Red Sea side is at its sourced defaults and assumptions"))


def strike_sizes(plans: dict[str, tuple[Scenario, Any]]) -> dict[str, dict[str, Any]]:
    """Number of strikes and targets per theatre, as each variant replays them (for the report)."""
    out = {}
    for name, (sc, _) in plans.items():
        iq, ye = iraq_strikes(sc), yemen_strikes(sc)
        out[name] = {"Iraq/Syria strikes": len(iq), "Iraq/Syria targets": sum(_size(s) for s in iq),
                     "Yemen strikes": len(ye), "Yemen targets": sum(_size(s) for s in ye)}
    return out


def obedience_values(plans: dict[str, tuple[Scenario, Any]]) -> dict[str, dict[str, float]]:
    """The scenario-level obedience each variant sets (the posterior may vary it per draw)."""
    return {name: {"Iraqi groups (mean)": round(float(np.mean([m.iran_obedience for m in sc.militias])), 4),
                   "Houthis": round(float(sc.houthis.iran_obedience), 4)} for name, (sc, _) in plans.items()}


# --------------------------------------------------------------------------- the table, from the per-replicate rows


def summarise(per: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """Per variant and theatre: the mean rates, the pooled share (ratio of the mean rates, as issue 18's table),
    the median and ``level`` interval of the per-replicate shares, the share of runs in which attacks stopped (share at
    most ``STOPPED``), and the paired change from ``as modelled`` (replicate r against replicate r: common random
    numbers)."""
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    ref = per[per["variant"] == REFERENCE].set_index(["theatre", "replicate"])["share"]
    rows = []
    for (variant, theatre), g in per.groupby(["variant", "theatre"], sort=False):
        s = g["share"].to_numpy(float)
        ok = np.isfinite(s)
        change = g.set_index(["theatre", "replicate"])["share"] - ref.reindex(g.set_index(["theatre", "replicate"]).index)
        c = change.to_numpy(float)
        c = c[np.isfinite(c)]
        jan, after = float(g["january"].mean()), float(g["feb8_mar31"].mean())
        q = np.quantile(s[ok], [0.5, lo, hi]) if ok.any() else [np.nan] * 3
        qc = np.quantile(c, [0.5, lo, hi]) if len(c) else [np.nan] * 3
        rows.append({"variant": variant, "theatre": theatre, "column": g["column"].iloc[0], "replicates": int(len(g)),
                     "undefined": int((~ok).sum()), "january": jan, "feb8_mar31": after,
                     "pooled_share": after / jan if jan > 0 else np.nan,
                     "share_median": q[0], "share_low": q[1], "share_high": q[2],
                     "stopped": float((s[ok] <= STOPPED).mean()) if ok.any() else np.nan,
                     "change_median": qc[0], "change_low": qc[1], "change_high": qc[2]})
    out = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    order = {v: i for i, v in enumerate(VARIANTS)}
    return out.sort_values(["variant", "theatre"], key=lambda s: s.map(order) if s.name == "variant" else s,
                           kind="stable").reset_index(drop=True)


def _share(summary: pd.DataFrame, variant: str, theatre: str) -> pd.Series:
    return summary[(summary["variant"] == variant) & (summary["theatre"] == theatre)].iloc[0]


def _q(row: pd.Series, key: str = "share", fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(row[f'{key}_median'])} ({fmt.format(row[f'{key}_low'])}–{fmt.format(row[f'{key}_high'])})"


def reading(summary: pd.DataFrame, stopped: float = STOPPED) -> str:
    """The plain-language answer, read from the numbers: which differences between the theatres the model's contrast
    rests on. The gap is the Red Sea's pooled share minus Iraq/Syria's; a variant that brings it near zero (or
    reverses it) carries the contrast, one that leaves it within a quarter of its size (or widens it) does not."""
    iq, rs = (_share(summary, REFERENCE, t) for t in THEATRES)
    gap = rs["pooled_share"] - iq["pooled_share"]
    lines = [f"As modelled, Feb 8 – Mar 31 ran at {iq['pooled_share']:.2f} of January's rate in Iraq/Syria "
             f"(median per replicate {_q(iq)}; attacks stopped in {iq['stopped']:.0%} of runs) and at {rs['pooled_share']:.2f} "
             f"in the Red Sea ({_q(rs)}; stopped in {rs['stopped']:.0%}): a gap of {gap:+.2f}."]
    if not (iq["pooled_share"] <= stopped < rs["pooled_share"]):
        lines.append(f"The model does not reproduce the contrast (attacks stopping, share ≤ {stopped}, in Iraq/Syria only), "
                     "so there is nothing to decompose.")
        return " ".join(lines)
    gaps, rows = {}, {}
    for v in VARIANTS[1:]:
        a, b = (_share(summary, v, t) for t in THEATRES)
        rows[v], gaps[v] = (a, b), b["pooled_share"] - a["pooled_share"]
        lines.append(f"{v[:1].upper() + v[1:]}: Iraq/Syria {a['pooled_share']:.2f} (paired change {_q(a, 'change', '{:+.2f}')}; "
                     f"stopped in {a['stopped']:.0%}), Red Sea {b['pooled_share']:.2f} ({_q(b, 'change', '{:+.2f}')}; stopped in "
                     f"{b['stopped']:.0%}); gap {gaps[v]:+.2f}.")
    why = []
    a, b = rows["Iran unrestrained"]
    if a["pooled_share"] > stopped and abs(a["change_median"]) > 2 * abs(b["change_median"]):
        why.append(f"Iran's restraint is what stops the Iraqi groups (without it Iraq/Syria runs at {a['pooled_share']:.2f} of "
                   f"January's) while in most runs it barely touches the Houthis (Red Sea change, median and 90 % interval: "
                   f"{_q(b, 'change', '{:+.2f}')})")
    a, b = rows["obedience swapped"]
    if gaps["obedience swapped"] <= 0.25 * gap:
        turn = "reverses" if b["pooled_share"] <= stopped < a["pooled_share"] else "closes"
        why.append(f"the restraint reaches the Houthis so weakly because they obey Iran far less than the Iraqi groups do: "
                   f"swapping obedience {turn} the contrast (Iraq/Syria {a['pooled_share']:.2f}, Red Sea {b['pooled_share']:.2f})")
    a, b = rows["strike sizes swapped"]
    sized = gaps["strike sizes swapped"]
    # the strike sizes carry part of the contrast only if swapping them narrows the gap; a wider gap says the
    # strikes worked against the contrast (their size still matters to each theatre: the paired changes say how much)
    if sized >= 0.75 * gap:
        wider = " (wider: each theatre's own strikes narrowed it)" if sized > 1.25 * gap else ""
        why.append(f"and not because the theatres were struck differently: with each other's strike sizes the gap is "
                   f"{sized:+.2f}{wider} (paired change: Iraq/Syria {a['change_median']:+.2f}, Red Sea {b['change_median']:+.2f})")
    else:
        why.append(f"and the strikes' sizes carry part of it: with each other's strike sizes the gap narrows to {sized:+.2f}")
    if len(why) > 1:
        lines.append("So, in the model, attacks stopped in Iraq and not in the Red Sea because " + "; ".join(why) + ".")
    else:
        best = min(gaps, key=lambda v: abs(gaps[v]))
        lines.append(f"No single difference carries the contrast; {best} comes closest (gap {gaps[best]:+.2f}).")
    return " ".join(lines)


def table_markdown(summary: pd.DataFrame) -> str:
    """The decomposition table (markdown), from :func:`summarise`'s output."""
    head = ("| variant | theatre | January (a day) | Feb 8 – Mar 31 (a day) | share of January's | median share (90 %) "
            f"| runs where attacks stopped (share ≤ {STOPPED}) | change from as modelled (90 %) |")
    rows = [head, "|" + "---|" * 8]
    for _, r in summary.iterrows():
        change = "—" if r["variant"] == REFERENCE else _q(r, "change", "{:+.2f}")
        rows.append(f"| {r['variant']} | {r['theatre']} | {r['january']:.2f} | {r['feb8_mar31']:.2f} | "
                    f"**{r['pooled_share']:.2f}** | {_q(r)} | {r['stopped']:.0%} | {change} |")
    return "\n".join(rows)


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:] + ".") if text else ""


def section_markdown(folder: Path, image: str | None = None, heading: str = "###", command: str | None = None,
                     title: str = "") -> str:
    """The report section (markdown) from a decomposition folder's tables and manifest."""
    import json

    folder = Path(folder)
    per = pd.read_parquet(folder / "decomposition.parquet")
    summary = summarise(per)
    man = json.loads((folder / "manifest.json").read_text(encoding="utf-8")) if (folder / "manifest.json").is_file() else {}
    d = man.get("decomposition", {})
    strikes = pd.DataFrame(d.get("strikes", {})).T
    parts = [f"{heading} Why attacks stopped in Iraq and not in the Red Sea (in the model){title}", "",
             f"Scenario `{man.get('scenario_name', '?')}`, {man.get('replicates', '?')} replicates per variant, seed "
             f"{man.get('seed', '?')}, common random numbers. {_sentence(str(d.get('posterior', '')))}"
             + (f" Regenerate: `{command}`." if command else ""), "",
             "Each row: the Feb 8 – Mar 31, 2024 attack rate as a share of January's (Iraq/Syria/Jordan attacks; Houthi "
             "attacks on merchant ships, CENTCOM's unit), pooled over replicates (bold, as the mechanism-share table of "
             "issue 18), with the median and 90 % interval of the per-replicate shares and of their paired change from "
             "the scenario as modelled. Variants: " + "; ".join(f"*{k}*: {v}" for k, v in DESCRIBE.items()) + ".", "",
             table_markdown(summary), ""]
    if image:
        parts += [f"![The decomposition]({image})", ""]
    if len(strikes):
        parts += ["Strikes replayed in each variant (strike sizes swapped rank for rank; dates kept):", "",
                  "| variant | " + " | ".join(strikes.columns) + " |", "|---|" + "---|" * len(strikes.columns)]
        parts += [f"| {v} | " + " | ".join(str(int(x)) for x in r) + " |" for v, r in strikes.iterrows()]
        parts.append("")
    parts.append("**Reading.** " + reading(summary))
    return "\n".join(parts)


# --------------------------------------------------------------------------- writing


def plot(summary: pd.DataFrame, path: Path) -> None:
    """One panel: each variant's share of January's rate per theatre, median and 90 % interval, pooled share marked."""
    import matplotlib.pyplot as plt

    from experiments.analysis.plots import house_style

    colors = {"Iraq/Syria": "#1f77b4", "Red Sea": "#d62728"}
    with house_style():
        fig, ax = plt.subplots(figsize=(7.5, 3.8))
        y = np.arange(len(VARIANTS))[::-1]
        for k, (theatre, color) in enumerate(colors.items()):
            rows = summary[summary["theatre"] == theatre].set_index("variant").reindex(list(VARIANTS))
            yy = y + (0.15 if k == 0 else -0.15)
            ax.hlines(yy, rows["share_low"], rows["share_high"], color=color, lw=2)
            ax.plot(rows["share_median"], yy, "o", color=color, label=f"{theatre}: median, 90 % interval")
            ax.plot(rows["pooled_share"], yy, "|", color="black", ms=10)
        ax.axvline(1.0, color="grey", lw=0.8, ls=":")
        ax.set_yticks(y, list(VARIANTS))
        ax.set_xlabel("Feb 8 – Mar 31, 2024 attack rate as a share of January's (|: pooled)")
        ax.set_title("Why attacks stopped in Iraq and not in the Red Sea, in the model", fontsize=10)
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        fig.tight_layout()
        fig.savefig(path, dpi=130)
        plt.close(fig)


def write(result: Decomposition, out: Path, manifest_data: dict[str, Any], command: str | None = None) -> list[str]:
    """``decomposition.parquet`` (per replicate), ``shares.parquet``/``shares.csv`` (the table), ``decomposition.md``
    (the report section), ``figures/decomposition.png`` and the manifest with the tables' receipts."""
    from experiments.runner.run import atomic_write_bytes, atomic_write_json, atomic_write_parquet, bind_tables

    out.mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(exist_ok=True)
    atomic_write_parquet(result.per_replicate, out / "decomposition.parquet")
    atomic_write_parquet(result.summary, out / "shares.parquet")
    atomic_write_bytes(out / "shares.csv", result.summary.to_csv(index=False).encode())
    plot(result.summary, out / "figures" / "decomposition.png")
    tables = bind_tables(out, ["decomposition.parquet", "shares.parquet"])
    files = ["decomposition.parquet", "shares.parquet", "shares.csv", "figures/decomposition.png", "decomposition.md"]
    atomic_write_json({**manifest_data, "decomposition": result.info, "files": files, "tables": tables}, out / "manifest.json")
    atomic_write_bytes(out / "decomposition.md",
                       (section_markdown(out, "figures/decomposition.png", "##", command) + "\n").encode())
    return files


def found_in(folder: Path) -> Path | None:
    """The decomposition a results folder holds: its own, or the ``decomposition/`` subfolder that
    ``escalation decompose`` writes by default next to a run's tables (``results/<scenario>/decomposition``)."""
    for d in (Path(folder), Path(folder) / "decomposition"):
        if (d / "decomposition.parquet").is_file():
            return d
    return None


def html_section(folder: Path, with_reading: bool = True) -> str | None:
    """The decomposition as HTML for ``escalation report`` (None when the folder holds none); the figure is
    embedded when it lives in a subfolder (a decomposition folder's own figures are shown with the others)."""
    own = Path(folder)
    folder = found_in(own)
    if folder is None:
        return None
    import base64
    import html

    summary = summarise(pd.read_parquet(folder / "decomposition.parquet"))
    shown = pd.DataFrame({
        "Variant": summary["variant"], "Theatre": summary["theatre"], "January (a day)": summary["january"].map("{:.2f}".format),
        "Feb 8 – Mar 31 (a day)": summary["feb8_mar31"].map("{:.2f}".format),
        "Share of January's (pooled)": summary["pooled_share"].map("{:.2f}".format),
        "Median share (90 %)": [_q(r) for _, r in summary.iterrows()],
        f"Runs where attacks stopped (share ≤ {STOPPED})": summary["stopped"].map("{:.0%}".format),
        "Change from as modelled (90 %)": ["—" if r["variant"] == REFERENCE else _q(r, "change", "{:+.2f}")
                                           for _, r in summary.iterrows()]})
    text = f"<p>{html.escape(reading(summary))}</p>" if with_reading else ""
    return ("<h2>Why attacks stopped in Iraq and not in the Red Sea (in the model)</h2>" + text
            + "<p class='note'>Feb 8 – Mar 31, 2024 attack rate as a share of January's per theatre; median and 90 % "
            "interval over replicates (and the posterior draws they carry); change: paired, replicate by replicate, "
            "from the scenario as modelled (experiments/analysis/decomposition.py).</p>" + shown.to_html(index=False, border=0)
            + (f'<figure><img alt="decomposition" src="data:image/png;base64,{base64.b64encode(png.read_bytes()).decode()}">'
               "</figure>" if folder != own and (png := folder / "figures" / "decomposition.png").is_file() else ""))


# --------------------------------------------------------------------------- plan, then execute (the command)

DEFAULT_REPLICATES = 400


@dataclass
class DecompositionPlan:
    """``escalation decompose`` checked and ready (experiments.runner.plan): the scenario and its variants built
    and validated, the work's size and the output folder checked once; :meth:`execute` claims the folder (its
    lock, once) and runs and writes."""

    file: Path
    scenario: Scenario
    output: Any  # experiments.runner.plan.Output
    replicates: int
    seed: int
    command: str

    @property
    def out(self) -> Path:
        return self.output.folder

    def execute(self, executor: Any = None) -> tuple[Decomposition, list[str], float]:
        import time

        from experiments.runner.executors import as_executor
        from experiments.runner.plan import claim
        from experiments.runner.run import manifest

        executor = as_executor(executor)
        with claim(self.output):
            t0 = time.perf_counter()
            result = decompose(self.scenario, self.replicates, self.seed, executor=executor, base_dir=self.file.parent)
            elapsed = time.perf_counter() - t0
            data = manifest(self.scenario, self.seed, self.replicates, kind="decomposition", scenario_hash=self.output.identity,
                            runtime_seconds=round(elapsed, 2), **executor.describe())
            files = write(result, self.out, data, command=self.command)
        return result, files, elapsed


def plan_decompose(file: str | Path, out: str | Path | None = None, *, replicates: int | None = None, seed: int | None = None,
                   force: bool = False, overrides: Any = None, limits: Any = None) -> DecompositionPlan:
    """Every check, once, before simulating: options, the scenario (both theatres, the windows, replayed strikes in
    both), the posterior it names, the work's size and the output folder (default results/<scenario>/decomposition)."""
    from experiments.runner.budget import MAX_REPLICATES, check_budget
    from experiments.runner.plan import Limits, plan_output
    from experiments.runner.run import default_out, load_draws
    from experiments.scenario.errors import MAX_SEED, check_option
    from experiments.scenario.held import check_dated_inputs
    from experiments.scenario.schema import load_scenario

    limits = limits or Limits()
    check_option(seed, "--seed", 0, MAX_SEED)
    check_option(replicates, "--replicates", 1, MAX_REPLICATES)
    file = Path(file)
    scenario = load_scenario(file, overrides or {})
    check_dated_inputs(scenario)
    variants(scenario, load_draws(scenario, file.parent))  # decomposable; every variant valid; the posterior readable
    n = DEFAULT_REPLICATES if replicates is None else replicates
    check_budget(scenario, n, points=len(VARIANTS), workers=limits.workers, max_memory=limits.max_memory,
                 max_hours=limits.max_hours)
    target = Path(out) if out is not None else default_out(scenario) / "decomposition"
    output = plan_output(target, scenario.identity_hash(), force, kind="decomposition")
    sets = "".join(f" --set {k}={v}" for k, v in (overrides or {}).items())
    command = f"escalation decompose {file}{sets} --out {target}" + (f" --replicates {n}" if replicates is not None else "")
    return DecompositionPlan(file, scenario, output, n, scenario.seed if seed is None else seed, command)


# --------------------------------------------------------------------------- the docs section

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "red_sea.md"
SECTIONS = {  # marker -> (the commands that regenerate it, figure in docs/img, title suffix)
    "decomposition": (
        "escalation decompose scenarios/axis.yaml --out results/axis/decomposition --replicates 1000 --force && "
        "python -m experiments.analysis.decomposition results/axis/decomposition",
        "decomposition.png", ""),
    "decomposition-point-values": (
        "escalation decompose scenarios/axis.yaml --set uncertainty.posterior=null "
        "--out results/axis/decomposition_point_values --replicates 1000 --force && "
        "python -m experiments.analysis.decomposition results/axis/decomposition_point_values decomposition-point-values",
        "decomposition_point_values.png", ": every parameter at the scenario's point values (no posterior)"),
}


def publish(folder: Path, key: str = "decomposition", doc: Path = DOC) -> Path:
    """Write the section of ``folder`` between ``doc``'s ``key`` markers (added at the end if missing) and copy its
    figure into docs/img."""
    import shutil

    if key not in SECTIONS:
        raise UserError(f"expected one of {', '.join(SECTIONS)}, got {key!r}", path="KEY")
    command, name, title = SECTIONS[key]
    folder = Path(folder)
    if not (folder / "decomposition.parquet").is_file():
        raise UserError("holds no decomposition.parquet (run `escalation decompose` first)", file=folder)
    image = doc.parent / "img" / name
    image.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / "figures" / "decomposition.png", image)
    text = section_markdown(folder, f"img/{name}", "###", command, title=title)
    begin, end = f"<!-- {key}: begin -->", f"<!-- {key}: end -->"
    if not doc.is_file():
        doc.write_text("# The Red Sea\n\n", encoding="utf-8")
    replace_block(doc, begin, end, f"\n\n{text}\n\n", append=True)
    return doc


__all__ = ["VARIANTS", "THEATRES", "Decomposition", "DecompositionPlan", "decompose", "found_in", "html_section", "plan_decompose", "reading", "section_markdown", "summarise",
           "swap_obedience", "swap_strike_sizes", "swapped_sizes", "theatre_rates", "variants", "publish", "write"]

if __name__ == "__main__":  # python -m experiments.analysis.decomposition FOLDER: the docs section from a run's folder
    import sys

    args = sys.argv[1:] or ["results/axis/decomposition"]
    print(f"wrote {publish(Path(args[0]), *args[1:2])}")
