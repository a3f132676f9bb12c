"""Which calibrated parameters the data identify, recorded inside the posterior's Parquet file.

The calibration writes its posterior draws with :func:`experiments.runner.store.write_posterior`; the schema metadata key
``escalation.identification`` holds a JSON mapping ``dotted parameter path -> {"width_ratio": r,
"identified": bool}``, r being the parameter's 90 % posterior width over its prior's. A parameter
is *not identified* when r >= :data:`WIDTH_RATIO_THRESHOLD` (0.8): the data narrowed its plausible
range by less than a fifth, so its posterior is mostly prior and its value is an assumption.

Runs that carry such a posterior say so (:func:`notice_for`): one console line, the manifest's
``unidentified`` list and ``identification_note``, and the HTML report. A scenario that instead
fixes those parameters to point values while a calibration exists (the committed reference
posterior, :data:`REFERENCE_POSTERIOR`) gets a note that its results are conditional on them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import pandas as pd

from experiments.scenario.errors import UserError

META_KEY = b"escalation.identification"
WIDTH_RATIO_THRESHOLD = 0.8
PROJECT_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_POSTERIOR = PROJECT_ROOT / "scenarios" / "data" / "calibrated_posterior.parquet"


def identification_record(width_ratios: Mapping[str, Any], threshold: float = WIDTH_RATIO_THRESHOLD) -> dict[str, dict[str, Any]]:
    """``{path: {"width_ratio", "identified"}}`` from ratios (floats) or from records already in that form."""
    out: dict[str, dict[str, Any]] = {}
    for path, v in width_ratios.items():
        ratio = float(v["width_ratio"] if isinstance(v, Mapping) else v)
        if not math.isfinite(ratio) or ratio < 0:
            raise ValueError(f"width ratio of {path!r} must be a finite number >= 0, got {ratio}")
        ident = bool(v["identified"]) if isinstance(v, Mapping) and "identified" in v else ratio < threshold
        out[str(path)] = {"width_ratio": ratio, "identified": ident}
    return out


def read_identification(path: str | Path) -> dict[str, dict[str, Any]] | None:
    """The identification record of a posterior file, or None when it has none."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise UserError(f"cannot read parameter draws: {exc}", file=path, path=("uncertainty", "posterior")) from None
    raw = meta.get(META_KEY)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return identification_record(data["parameters"])
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"identification metadata is not valid: {exc}", file=path, path=("uncertainty", "posterior")) from None


def unidentified(record: Mapping[str, Mapping[str, Any]] | None) -> list[str]:
    return [p for p, v in (record or {}).items() if not v["identified"]]


def covers(pattern: str, path: str) -> bool:
    """Whether two dotted paths name the same parameter ('*' matches any list index)."""
    a, b = pattern.split("."), path.split(".")
    return len(a) == len(b) and all(x == y or "*" in (x, y) for x, y in zip(a, b))


def drop_covered(draws: pd.DataFrame | None, paths: Iterable[str]) -> pd.DataFrame | None:
    """Posterior draws without the columns a sweep or sensitivity analysis sets itself."""
    if draws is None:
        return None
    from experiments.scenario.held import covers as sets  # a path sets every parameter under it

    paths = list(paths)
    keep = [c for c in draws.columns if not any(sets(p, c) for p in paths)]
    out = draws[keep]
    out.attrs = dict(draws.attrs)
    return out if len(keep) > ("weight" in keep) else None


def _value(data: Any, parts: list[str]) -> list[Any]:
    if not parts:
        return [data]
    head, rest = parts[0], parts[1:]
    if isinstance(data, list):
        items = data if head == "*" else [data[int(head)]] if head.isdigit() and int(head) < len(data) else []
        return [v for item in items for v in _value(item, rest)]
    if isinstance(data, dict) and head in data:
        return _value(data[head], rest)
    return []


def short_name(path: str) -> str:
    """A parameter's name as the console note shows it: ``militias.*.behaviours.deterred.per_target`` ->
    ``deterred.per_target``, ``iran.war_hazard`` -> ``iran.war_hazard``, ``militias.*.self_excitation`` ->
    ``self_excitation`` (the manifest keeps the full paths)."""
    parts = [x for x in path.split(".") if x not in ("militias", "*", "behaviours") and not x.isdigit()]
    return ".".join(parts[-2:]) if parts else path


def _grouped(parameters: Iterable[str], value: Callable[[str], str]) -> str:
    """Short names with their values, neighbours that share a prefix written once, so that a dozen
    parameters still fit one console line: ``iran.{restraint_half_life=45, war_hazard=0.0005}``."""
    groups: list[tuple[str, list[str]]] = []
    for p in parameters:
        prefix, _, leaf = short_name(p).rpartition(".")
        item = f"{leaf}{value(p)}"
        if groups and groups[-1][0] == prefix and prefix:
            groups[-1][1].append(item)
        else:
            groups.append((prefix, [item]))
    return ", ".join(f"{prefix}.{items[0]}" if prefix and len(items) == 1 else f"{prefix}.{{{', '.join(items)}}}" if prefix
                     else items[0] for prefix, items in groups)


def _fmt(v: float) -> str:
    return f"{v:.2g}" if abs(v) < 1000 else f"{v:,.0f}"


def _span(vals: Iterable[float]) -> str:
    vals = sorted(set(float(v) for v in vals))
    return "?" if not vals else _fmt(vals[0]) if len(vals) == 1 or _fmt(vals[0]) == _fmt(vals[-1]) else f"{_fmt(vals[0])}-{_fmt(vals[-1])}"


def _config_values(scenario: Any, path: str) -> list[float]:
    """The values a scenario gives a dotted path, defaults of rules and parameters included."""
    from model.rules import make_rule

    def walk(obj: Any, parts: list[str], kind: str | None = None) -> list[Any]:
        if not parts:
            return [obj]
        head, rest = parts[0], parts[1:]
        if isinstance(obj, (list, tuple)):
            items = obj if head == "*" else [obj[int(head)]] if head.isdigit() and int(head) < len(obj) else []
            return [v for item in items for v in walk(item, rest)]
        if isinstance(obj, dict):
            if head not in obj:
                return []
            if kind == "behaviours":  # a militia behaviour: its parameters with the rule's defaults
                try:
                    return walk(make_rule("militia", head, obj[head]).params, rest)
                except Exception:
                    return []
            return walk(obj[head], rest)
        if hasattr(obj, head):
            return walk(getattr(obj, head), rest, head)
        return []

    return [float(v) for v in walk(scenario, path.split(".")) if isinstance(v, (int, float)) and not isinstance(v, bool)]


def point_values(scenario: Any, paths: Iterable[str]) -> dict[str, str]:
    """How a scenario sets each path, defaults included ('0.1', or '0.1-0.3' across militias)."""
    return {p: _span(_config_values(scenario, p)) for p in paths}


def draw_ranges(draws: pd.DataFrame, paths: Iterable[str]) -> dict[str, str]:
    """The 90 % range of each path's posterior draws (weighted where the draws carry weights)."""
    import numpy as np

    out = {}
    w = draws["weight"].to_numpy(float) if "weight" in draws else None
    for p in paths:
        cols = [c for c in draws.columns if c != "weight" and covers(p, c)]
        if not cols:
            continue
        x = draws[cols[0]].to_numpy(float)
        if w is not None and np.isfinite(w).all() and w.sum() > 0:
            order = np.argsort(x)
            cum = np.cumsum(w[order]) / w.sum()
            lo, hi = x[order][np.searchsorted(cum, 0.05)], x[order][min(np.searchsorted(cum, 0.95), len(x) - 1)]
        else:
            lo, hi = np.quantile(x, [0.05, 0.95])
        out[p] = _span([lo, hi])
    return out


@dataclass
class Notice:
    """What a run says about the unidentified parameters it depends on."""

    parameters: list[str]
    carried_as: str  # "posterior draws" | "point values"
    source: str
    values: dict[str, str] = field(default_factory=dict)  # 90 % range of the draws, or the scenario's values

    @property
    def line(self) -> str:
        """One line, printed once per command: how many, how carried, each with its values."""
        head = f"note: {len(self.parameters)} parameter(s) are not identified by the data; "
        if self.carried_as == "posterior draws":
            shown = _grouped(self.parameters, lambda p: f" {self.values[p]}" if p in self.values else "")
            return f"{head}results carry their posterior draws (90 % range): {shown}"
        shown = _grouped(self.parameters, lambda p: f"={self.values.get(p, '?')}")
        return f"{head}results are conditional on this scenario's values {shown}"

    def manifest(self) -> dict[str, Any]:
        return {"unidentified": self.parameters, "unidentified_carried_as": self.carried_as, "identification_note": self.line,
                "unidentified_values": {p: self.values.get(p) for p in self.parameters},
                "identification_source": f"{self.source} (posterior/prior 90 % width ratio >= {WIDTH_RATIO_THRESHOLD:g})"}


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def notice_for(scenario: Any, draws: pd.DataFrame | None, varied: Iterable[str] = ()) -> Notice | None:
    """The note for a run with these parameter draws (from :func:`experiments.runner.run.load_draws`),
    ``varied`` being paths the analysis sets itself (sweep levers, sensitivity ranges).

    With draws carrying a record: that record. Otherwise the committed reference calibration, if
    any, for the parameters neither the draws nor the analysis vary, with the scenario's point values."""
    varied = list(varied)
    if draws is not None and "identification" in draws.attrs:
        params = [p for p in unidentified(draws.attrs["identification"]) if not any(covers(v, p) for v in varied)]
        if params and any(any(covers(p, c) for c in draws.columns) for p in params):
            return Notice(params, "posterior draws", f"posterior {_shown(Path(draws.attrs['source']))}" if "source" in draws.attrs else "posterior",
                          draw_ranges(draws, params))
        return None
    if draws is not None:  # draws without a record (uniform ranges, an old posterior): they vary what they name
        varied += [c for c in draws.columns if c != "weight"]
    if not REFERENCE_POSTERIOR.exists():
        return None
    params = [p for p in unidentified(read_identification(REFERENCE_POSTERIOR)) if not any(covers(v, p) for v in varied)]
    if not params:
        return None
    return Notice(params, "point values", f"calibration {_shown(REFERENCE_POSTERIOR)}", point_values(scenario, params))


def notice_manifest(notice: Notice | None) -> dict[str, Any]:
    return notice.manifest() if notice is not None else {}


__all__ = [
    "META_KEY", "Notice", "REFERENCE_POSTERIOR", "WIDTH_RATIO_THRESHOLD", "covers", "drop_covered", "identification_record",
    "notice_for", "notice_manifest", "read_identification", "short_name", "unidentified",
]
