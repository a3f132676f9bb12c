"""Mechanism checks: move or remove an input and measure what moves with it (issue: inputs vs behaviour).

Used by the tests (which assert the thresholds) and by docs/calibration.md (which reports the
figures). Each check runs the scenario (with its posterior draws when it has them) on small batches
and reads only the tidy daily table of :func:`experiments.runner.run.run`, never model objects.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from experiments.scenario.schema import Scenario, with_overrides
from experiments.scenario.inputs import reported_strikes

FEB_STRIKES = (dt.date(2024, 2, 2), dt.date(2024, 2, 7))


def daily(scenario: Scenario, replicates: int, seed: int, hold: tuple[str, ...] = ()) -> pd.DataFrame:
    """The run's daily table (posterior draws included when the scenario has them, but for ``hold``)."""
    from experiments.runner.run import run

    return run(scenario, replicates=replicates, seed=seed, hold=hold).daily


def rate(table: pd.DataFrame, first: str, last: str) -> float:
    """Mean attacks per day over [first, last], averaged over replicates."""
    sel = table[(table["date"] >= pd.Timestamp(first)) & (table["date"] <= pd.Timestamp(last))]
    days = sel["date"].nunique()
    return float(sel.groupby("replicate")["attacks_total"].sum().mean() / max(days, 1))


def without_strikes(scenario: Scenario, dates: tuple[dt.date, ...] = FEB_STRIKES) -> Scenario:
    """The historical replay without the strikes on ``dates``."""
    current = scenario.united_states.policy.params.get("strikes")
    strikes = current if current is not None else [s.model_dump(mode="json") for s in reported_strikes()]
    kept = [s for s in strikes if dt.date.fromisoformat(str(s["date"])) not in dates]
    return with_overrides(scenario, {"united_states.policy.params": {"strikes": kept}})


def casualty_event_on(scenario: Scenario, day: str | None) -> Scenario:
    """The scenario with its replayed casualty events moved to ``day`` (removed when None)."""
    events = []
    for ev in scenario.exogenous.events:
        e = ev.model_dump(mode="json")
        if e["kind"] == "us_casualties":
            if day is None:
                continue
            e.update(start=day, end=day)
        events.append(e)
    return with_overrides(scenario, {"exogenous.events": events})


def falloff_without_feb_strikes(scenario: Scenario, replicates: int = 300, seed: int = 11) -> dict[str, float]:
    """January's rate and the Feb 8 - Mar 31 rate with the Feb 2 and Feb 7 strikes removed (issue test 1)."""
    t = daily(without_strikes(scenario), replicates, seed)
    jan, after = rate(t, "2024-01-01", "2024-01-31"), rate(t, "2024-02-08", "2024-03-31")
    return {"january": jan, "feb8_mar31": after, "share": after / jan if jan > 0 else float("nan")}


def falloff_follows_event(scenario: Scenario, moved_to: str = "2023-12-28", replicates: int = 300,
                          seed: int = 11) -> dict[str, dict[str, float]]:
    """Attack rates in four windows with the casualty event where it was, moved to ``moved_to``, and removed (test 2)."""
    windows = {"dec1_27": ("2023-12-01", "2023-12-27"), "jan5_27": ("2024-01-05", "2024-01-27"),
               "january": ("2024-01-01", "2024-01-31"), "feb8_mar31": ("2024-02-08", "2024-03-31")}
    out = {}
    for name, sc in (("as replayed", scenario), (f"moved to {moved_to}", casualty_event_on(scenario, moved_to)),
                     ("removed", casualty_event_on(scenario, None))):
        t = daily(sc, replicates, seed)
        out[name] = {w: rate(t, a, b) for w, (a, b) in windows.items()}
    return out


def early_death_probability(scenario: Scenario, policies: list[str], replicates: int = 2000, seed: int = 3,
                            until: str = "2023-11-15") -> dict[str, float]:
    """P(a U.S. death by ``until``) with endogenous deaths (counterfactual runs), per U.S. policy."""
    out = {}
    for name in policies:
        sc = with_overrides(scenario, {"attack_effects.us_deaths": "endogenous", "end": until,
                                       "united_states.policy": {"name": name, "params": {}}})
        t = daily(sc, replicates, seed)
        out[name] = float((t.groupby("replicate")["us_killed"].sum() > 0).mean())
    return out


def war_sensitivity(scenario: Scenario, hazards: list[float], replicates: int = 2000, seed: int = 5) -> list[dict[str, Any]]:
    """P(war by the end) and the spread of war start dates, with ``iran.war_hazard`` fixed at each value."""
    rows = []
    for h in hazards:
        sc = with_overrides(scenario, {"iran.war_hazard": h})
        t = daily(sc, replicates, seed, hold=("iran.war_hazard",))
        war = t[t["war"]].groupby("replicate")["date"].min()
        rows.append({"war_hazard": h, "p_war": float(len(war) / replicates),
                     "distinct_start_days": int(war.nunique()),
                     "largest_share_one_day": float(war.value_counts(normalize=True).max()) if len(war) else 0.0})
    return rows


# --------------------------------------------------------------------------- each mechanism's share of the fall-off

MECHANISMS = {"no Tower 22": "the Tower 22 deaths", "no Feb 2/7 strikes": "the Feb 2/7 strikes", "Iran unrestrained": "Iran's restraint"}


def mechanism_variants(scenario: Scenario) -> dict[str, Scenario]:
    """The scenario with everything in, with each mechanism of the February fall-off taken out, and with none of
    them: the Tower 22 casualty event removed, the Feb 2 and Feb 7 strikes removed, Iran's restraint rule
    replaced by ``unrestrained`` (issue 18 item 3)."""
    no_t22 = casualty_event_on(scenario, None)
    no_feb = without_strikes(scenario)
    unrestrained = with_overrides(scenario, {"iran.rule": "unrestrained"})
    none = with_overrides(without_strikes(no_t22), {"iran.rule": "unrestrained"})
    return {"everything in": scenario, "no Tower 22": no_t22, "no Feb 2/7 strikes": no_feb,
            "Iran unrestrained": unrestrained, "none of them": none}


def mechanism_shares(scenario: Scenario, replicates: int = 300, seed: int = 11) -> pd.DataFrame:
    """Feb 8 - Mar 31 attack rate as a share of January's, per variant (same seed: common random numbers)."""
    rows = []
    for name, sc in mechanism_variants(scenario).items():
        t = daily(sc, replicates, seed)
        jan, after = rate(t, "2024-01-01", "2024-01-31"), rate(t, "2024-02-08", "2024-03-31")
        rows.append({"variant": name, "january": jan, "feb8_mar31": after, "share": after / jan if jan > 0 else float("nan")})
    return pd.DataFrame(rows)


def attribution(shares: pd.DataFrame, collapse: float = 0.3) -> str:
    """What the model attributes the collapse to, read from the shares: the mechanisms whose removal alone
    lifts the share above ``collapse`` (each is needed), else those whose removal raises it most."""
    s = shares.set_index("variant")["share"]
    base = float(s["everything in"])
    if base > collapse:
        return f"no collapse: with everything in the rate stays at {base:.2f} of January's"
    needed = [m for m in MECHANISMS if s[m] > collapse]
    if needed:
        return ("the model attributes the collapse to " + " and ".join(MECHANISMS[m] for m in needed) + ": without "
                + "; without ".join(f"{MECHANISMS[m]} the rate is {s[m]:.2f} of January's" for m in needed)
                + f" (everything in: {base:.2f})")
    top = max(MECHANISMS, key=lambda m: s[m])
    return (f"no single mechanism is needed (each removal alone leaves the rate at or below {collapse} of January's); "
            f"{MECHANISMS[top]} matters most ({s[top]:.2f} without it)")
