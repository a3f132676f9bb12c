"""The ``sweep:`` block of a scenario (validated now; executed by ``experiments.sweep``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from model.params import Strict


class SweepSpec(Strict):
    """Placeholder schema: designs, parameters by dotted path, samples, replicates per point."""

    design: str = Field("grid", description="grid | lhs | sobol | list")
    parameters: dict[str, Any] = Field(default_factory=dict)
    samples: int | None = Field(None, ge=1)
    replicates: int = Field(100, ge=1)
    seed: int | None = None
