"""Shared helpers: models built from explicit parameters, hand-written histories, scenario files.

Tests set every parameter they rely on, so re-tuning a default in an actor module (model/actors/)
cannot silently change what a behaviour table checks.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from experiments.scenario.schema import deep_merge
from model.config import ModelConfig
from model.model import EscalationModel
from model.params import COUNTRIES

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
START = dt.date(2023, 10, 7)

# One militia whose behaviour parameters are all explicit; tests override what they need.
MILITIA: dict[str, Any] = {
    "name": "Test group",
    "short": "TG",
    "base_rate": 1.0,
    "target_weights": {"iraq": 1.0, "syria": 1.0, "jordan": 1.0},
    "weapon_mix": {"drone": 1.0, "rocket": 1.0, "missile": 0.0},
    "stock": {"drone": 100.0, "rocket": 100.0, "missile": 0.0},
    "stock_reference": 10.0,
    "iran_obedience": 0.5,
    "iraq_susceptibility": 0.5,
    "self_excitation": 0.0,  # plain Poisson unless a test asks for self-excitation
    "excitation_half_life": 3.0,
    "behaviours": {"iraq_pressured": {}},
}


def militia(short: str = "TG", **fields: Any) -> dict[str, Any]:
    """A militia mapping; ``behaviours`` replaces the default set (it is not merged)."""
    out = deep_merge(MILITIA, {"name": f"Group {short}", "short": short, **fields})
    if "behaviours" in fields:
        out["behaviours"] = fields["behaviours"]
    return out


def config(
    *,
    policy: str = "restraint",
    policy_params: dict[str, Any] | None = None,
    days: int = 30,
    militias: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> ModelConfig:
    """A ModelConfig with explicit values for everything the tests read.

    ``overrides`` are deep-merged top-level blocks, e.g. ``iran={"restraint_half_life": 10.0}``.
    """
    data: dict[str, Any] = {
        "start": START,
        "end": START + dt.timedelta(days=days - 1),
        "militias": militias if militias is not None else [militia("A"), militia("B")],
        "united_states": {"policy": {"name": policy, "params": policy_params or {}}},
        "iran": {
            "rule": "show_force_avoid_war",
            "restraint_per_us_killed": 0.5,
            "restraint_per_irgc_killed": 0.1,
            "restraint_per_target": 0.01,
            "restraint_half_life": 10.0,
            "supply_rate": 1.0,
            "war_hazard": 0.0,
        },
        "iraq": {
            "rule": "sudani_balancing",
            "base_pressure": 0.1,
            "pressure_per_us_killed": 0.2,
            "pressure_half_life": 10.0,
            "withdrawal_per_iraq_target": 0.05,
            "withdrawal_per_leader_strike": 0.3,
            "withdrawal_per_iraqi_killed": 0.0,
            "withdrawal_half_life": 20.0,
            "withdrawal_threshold": 1.0,
        },
        "exogenous": {"gaza_intensity": [{"date": START, "value": 1.0}], "events": []},
    }
    return ModelConfig.model_validate(deep_merge(data, overrides))


def make_model(cfg: ModelConfig | None = None, replicates: int = 4, seed: int = 1, **kw: Any) -> EscalationModel:
    return EscalationModel(cfg if cfg is not None else config(), replicates=replicates, seed=seed, **kw)


def set_attacks(model: EscalationModel, day: int, iraq: int = 0, syria: int = 0, jordan: int = 0) -> None:
    """Write a day of attacks (same in every replicate) into the model's records."""
    counts = {"iraq": iraq, "syria": syria, "jordan": jordan}
    for c in COUNTRIES:
        model.records[f"attacks_{c}"][day] = counts[c]
    model.records["attacks_total"][day] = iraq + syria + jordan


def order_tuple(order, r: int = 0) -> tuple[int, int, int, bool]:
    """(syria, iraq, leader, iran) of one replicate's strike order."""
    return int(order.syria[r]), int(order.iraq[r]), int(order.leader[r]), bool(order.iran[r])


def invoke(*args: Any) -> Any:
    """The ``escalation`` command in process (typer's CliRunner), arguments as text."""
    from typer.testing import CliRunner

    from experiments.cli.main import app

    return CliRunner().invoke(app, [str(a) for a in args])


def assert_one_line_error(result: Any, *words: str) -> str:
    """Exit 2, no traceback, one line starting with 'error:', naming ``words``: how bad input is refused."""
    text = result.output.strip()
    assert result.exit_code == 2, text
    assert "Traceback" not in text and text.startswith("error:") and "\n" not in text, text
    for w in words:
        assert w in text, (w, text)
    return text


@pytest.fixture
def run_folder(short: Path, tmp_path: Path) -> Path:
    """A finished 3-replicate run of the module's ``short`` scenario (seed 5), for tests that damage or replace it."""
    out = tmp_path / "run"
    res = invoke("run", short, "--out", out, "-n", "3", "--seed", "5", "-q")
    assert res.exit_code == 0, res.output
    return out


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def short_scenario(tmp_path: Path, name: str = "short", days: int = 21, replicates: int = 20, **fields: Any) -> Path:
    """A scenario file extending the shipped baseline, cut to ``days`` days."""
    data = {
        "name": name,
        "extends": str(BASELINE),
        "end": (START + dt.timedelta(days=days - 1)).isoformat(),
        "replicates": replicates,
        **fields,
    }
    return write_yaml(tmp_path / f"{name}.yaml", data)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


# --------------------------------------------------------------------------- injected faults (test side only)


def injected(executor, wrap):
    """``executor`` passing every task through ``wrap(fn)``: faults are injected by the tests, never by
    hooks in production code. Results, ordering and worker-death handling stay the executor's own."""

    class Injected(type(executor)):
        def imap(self, fn, items, on_error=None):
            return super().imap(wrap(fn), items, on_error)

    executor.__class__ = Injected
    return executor


class FailOn:
    """A task of one of ``points`` fails inside the worker: its point's scenario gets an unknown field."""

    def __init__(self, points):
        self.points = set(points)

    def __call__(self, fn):
        return _FailTask(fn, self.points)


class _FailTask:
    def __init__(self, fn, points):
        self.fn, self.points = fn, points

    def __call__(self, payload):
        import dataclasses

        if payload.task.point in self.points:  # a key of its own: no cached (valid) scenario stands in
            payload = dataclasses.replace(payload, key="injected-failure", overrides={"injected_failure": 1.0})
        return self.fn(payload)


class DieOn:
    """The worker process running a task of one of ``points`` kills itself (SIGKILL): pool executors only."""

    def __init__(self, points):
        self.points = set(points)

    def __call__(self, fn):
        import os

        return _DieTask(fn, self.points, os.getpid())


class _DieTask:
    def __init__(self, fn, points, test_process):
        self.fn, self.points, self.test_process = fn, points, test_process

    def __call__(self, payload):
        import os
        import signal

        if payload.task.point in self.points:
            assert os.getpid() != self.test_process, "DieOn would kill the test process: use a pool executor"
            os.kill(os.getpid(), signal.SIGKILL)
        return self.fn(payload)


# --------------------------------------------------------------------------- parallel runs (pytest-xdist)


def pytest_collection_modifyitems(config, items):
    """Under ``pytest -n 2 --dist loadgroup`` (make test), the tests of a module that share one of its
    module-scoped fixtures (one run's tables read by many tests, a Dask scheduler) run on the same worker,
    so the fixture is built once, not once per worker. Other tests are spread over the workers one by one.
    Without xdist the group marks are inert."""
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs.values() if info is not None else ()
        if any(fd.scope in ("module", "package", "session") and fd.baseid for seq in defs for fd in seq):
            item.add_marker(pytest.mark.xdist_group(name=item.nodeid.split("::")[0]))
