"""Explicit values over posterior draws: what the user sets is what every replicate runs with.

A scenario that carries posterior draws (``uncertainty.posterior``) gives each replicate one row of
draws for the parameters the posterior names. A value the user sets explicitly -- ``--set PATH=VALUE``,
a sweep lever, a compare lever's ``overrides`` -- on such a parameter *holds it fixed*: the draws'
column for it is dropped for that scenario's replicates (the other columns keep their rows, so common
random numbers stay paired). The scenario records the paths it holds (:attr:`Scenario.held`); runs
report the ones that displaced posterior draws (manifest ``held_fixed`` and one console line).

Paths that name the analysis itself and so cannot change one point of it (``uncertainty.*``: the
draws are loaded once for every point; ``seed``, ``replicates``, ``block_size``: shared by every
point for common random numbers; ``extends``: read before any value is set) are refused by name
where a lever or an override would set them (:func:`check_point_paths`).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np

from experiments.scenario.errors import UserError

# top-level fields a design point (a sweep lever or uncertainty, a compare lever's override, a phase-map
# axis) cannot change: the design sets them once for every point, or they only label the point
POINT_FIXED = {
    "uncertainty": "the parameter draws are loaded once and shared by every point (set it in the file or with --set)",
    "seed": "every point runs the same seed (common random numbers)",
    "replicates": "every point runs the same replicates (set the block's replicates)",
    "block_size": "every point runs the same random-stream blocks (common random numbers)",
    "extends": "the parent is read before any value is set (name it in the file)",
    "name": "it only labels the point (give the lever a name)",
    "description": "it only labels the point and changes no number",
    "sweep": "it defines the sweep itself",
    "compare": "it defines the comparison itself",
}
# top-level fields --set cannot change: read before --set applies
SET_REFUSED = {"extends": "the parent scenario is read before --set applies: name it in the file's extends:"}


def _parts(path: str) -> list[str]:
    return path.split(".")


def covers(held: str, column: str) -> bool:
    """Whether setting ``held`` sets the parameter ``column`` (a prefix: ``iran`` covers ``iran.war_hazard``;
    ``*`` on either side matches any list index)."""
    a, b = _parts(held), _parts(column)
    return len(a) <= len(b) and all(x == y or "*" in (x, y) for x, y in zip(a, b))


def held_fixed(held: Iterable[str], columns: Iterable[str]) -> list[str]:
    """The held paths that displace at least one column of the draws (in the order held)."""
    cols = [c for c in columns if c != "weight"]
    return [h for h in held if any(covers(h, c) for c in cols)]


def hold_varying(varying: Mapping[str, Any] | None, held: Iterable[str], n_militias: int) -> dict[str, Any] | None:
    """Per-replicate values without those the held paths set.

    A ``militias.*.x`` column of which only some militias are held is split: the other militias keep
    their drawn values (``militias.1.x``, ...), the held ones run with the scenario's value."""
    held = list(held)
    if not varying or not held:
        return dict(varying) if varying else varying  # type: ignore[return-value]
    out: dict[str, Any] = {}
    for key, arr in varying.items():
        if "*" not in key:
            if not any(covers(h, key) for h in held):
                out[key] = arr
            continue
        concrete = [key.replace("*", str(i)) for i in range(n_militias)]
        kept = [k for k in concrete if not any(covers(h, k) for h in held)]
        if len(kept) == len(concrete):
            out[key] = arr
        else:
            out.update({k: np.asarray(arr) for k in kept})
    return out


def check_point_paths(paths: Iterable[str], what: str, file: Any = None, where: tuple[Any, ...] | str | None = None) -> None:
    """Refuse, by name, a path a design point cannot change (``what``: 'a sweep lever', ...)."""
    for p in paths:
        top = p.split(".")[0]
        if top in POINT_FIXED:
            loc = where if isinstance(where, str) or where is None else where + (p,)
            raise UserError(f"{p!r} cannot be {what}: {POINT_FIXED[top]}", file=file, path=loc)


def check_set_paths(paths: Iterable[str], option: str = "--set") -> None:
    """Refuse, by name, a --set path that cannot change what runs."""
    for p in paths:
        top = p.split(".")[0]
        if top in SET_REFUSED:
            raise UserError(f"cannot be set: {SET_REFUSED[top]}", path=f"{option} {p}")


def held_line(paths: list[str]) -> str:
    """The console's one line."""
    return (f"held fixed over the posterior draws: {', '.join(paths)} (set explicitly: every replicate runs the set value; "
            "the other parameters keep their draws)")


__all__ = ["POINT_FIXED", "check_point_paths", "check_set_paths", "covers", "held_fixed", "held_line", "hold_varying"]


# --------------------------------------------------------------------------- dated inputs outside the run


def dated_outside(scenario: Any) -> list[tuple[str, str]]:
    """Dated inputs (events, replayed strikes) that fall wholly outside the run's dates and so change
    nothing: (dotted path, 'name on date') pairs. Dated series (gaza_intensity) are excluded: they are
    interpolated and constant beyond their ends, so a point outside the run still sets its level."""
    import datetime as dt

    start, end = scenario.start, scenario.end
    out: list[tuple[str, str]] = []
    ex = scenario.exogenous
    if ex.gaza_after_truce != 1.0 and ex.truce_end > end:
        out.append(("exogenous.gaza_after_truce", f"the Gaza level after the truce (from {ex.truce_end})"))
    for i, ev in enumerate(scenario.exogenous.events):
        if ev.end < start or ev.start > end:
            out.append((f"exogenous.events.{i}", f"{ev.name} ({ev.start}..{ev.end})"))
    strikes = scenario.united_states.policy.params.get("strikes")
    if isinstance(strikes, list):
        for i, s in enumerate(strikes):
            day = s.get("date") if isinstance(s, dict) else getattr(s, "date", None)
            if isinstance(day, str):
                try:
                    day = dt.date.fromisoformat(day)
                except ValueError:
                    continue
            if isinstance(day, dt.date) and not start <= day <= end:
                out.append((f"united_states.policy.params.strikes.{i}", f"strike on {day}"))
    return out


def check_dated_inputs(scenario: Any, file: Any = None) -> list[str]:
    """Refuse a dated input outside the run that was set explicitly (--set, a lever's override); return the
    others as words for a warning line (they come from a file and may serve a longer run)."""
    found = dated_outside(scenario)
    for path, what in found:
        explicit = [h for h in getattr(scenario, "held", ()) if covers(h, path) or covers(path, h)]
        if explicit:
            raise UserError(f"{what} falls outside the run ({scenario.start}..{scenario.end}) and would change nothing; "
                            "move it inside the run's dates or the run's dates around it", file=file, path=f"--set {explicit[0]}")
    return [what for _, what in found]


def outside_line(found: list[str], scenario: Any) -> str:
    return (f"note: {len(found)} dated input(s) fall outside the run ({scenario.start}..{scenario.end}) and change nothing: "
            + ", ".join(found))
