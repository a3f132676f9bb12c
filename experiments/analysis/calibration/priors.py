"""How a draw becomes model parameters: the Sobol prior sample on the unit cube, the map to each prior's
scale and back, and the ``varying=`` columns the model reads (multipliers become per-militia paths)."""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.analysis.calibration.config import Calibration
from experiments.analysis.calibration.sampler import sobol
from experiments.scenario.schema import Scenario


def prior_sample(cal: Calibration, n: int, seed: int) -> np.ndarray:
    """Scrambled Sobol points in the unit cube, (n, d); deterministic in ``seed``."""
    return sobol(len(cal.config.parameters), n, seed)


def to_values(cal: Calibration, u: np.ndarray) -> np.ndarray:
    """Unit-cube points -> parameter values (n, d) on each prior's scale."""
    out = np.empty_like(u, dtype=float)
    for j, p in enumerate(cal.config.parameters):
        if p.scale == "log":
            out[:, j] = np.exp(np.log(p.low) + u[:, j] * (np.log(p.high) - np.log(p.low)))
        else:
            out[:, j] = p.low + u[:, j] * (p.high - p.low)
    return out


def to_unit(cal: Calibration, x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x, dtype=float)
    for j, p in enumerate(cal.config.parameters):
        if p.scale == "log":
            out[:, j] = (np.log(x[:, j]) - np.log(p.low)) / (np.log(p.high) - np.log(p.low))
        else:
            out[:, j] = (x[:, j] - p.low) / (p.high - p.low)
    return out


def varying_from(cal: Calibration, values: np.ndarray) -> dict[str, np.ndarray]:
    """Parameter values (n, d) -> ``varying=`` for the model: multipliers become per-militia paths, a pooled
    parameter (``also``) sets each of its paths to the same draw."""
    out: dict[str, np.ndarray] = {}
    for j, p in enumerate(cal.config.parameters):
        if p.mode == "multiplier":
            field_name = p.path.split(".", 2)[2]
            base = _militia_defaults(cal.scenario, field_name)
            for i, b in enumerate(base):
                out[f"militias.{i}.{field_name}"] = values[:, j] * b
        else:
            for path in (p.path, *p.also):  # a pooled parameter: one draw for every path it names
                out[path] = values[:, j]
    return out


def _militia_defaults(scenario: Scenario, dotted: str) -> list[float]:
    vals = []
    for m in scenario.militias:
        obj: Any = m
        for part in dotted.split("."):
            obj = obj.get(part, {}) if isinstance(obj, dict) else getattr(obj, part)
        vals.append(float(obj))
    return vals
