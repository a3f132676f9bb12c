"""Property test that searches: hypothesis builds scenario documents (valid, then mutated with
adversarial values, missing or unknown keys, broken YAML) and runs them through `escalation run`.

Every outcome must be one of two things:
* exit 0 and tables that satisfy the invariants (non-negative counts, totals = sums over countries and
  over groups, as many replicates and days as asked), or
* exit 2 with a one-line error and nothing written.
A traceback, another exit code, or exit 0 with wrong tables fails the test.
Sweep blocks: `validate` accepts exactly the blocks `sweep` runs, and a run sweep has every replicate.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import BASELINE
from experiments.cli.main import app
from model.outputs import COUNT_COLUMNS
from model.rules import REGISTRY

runner = CliRunner()
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "250"))  # raise it for a longer search
START = dt.date(2023, 10, 7)
SHORTS = ["KH", "HaN", "AAH"]
POLICIES = sorted(REGISTRY["us_policy"])  # every U.S. policy in the registry, not a hand-kept list
TRIED = {"documents": 0, "ran": 0, "refused": 0}

finite = st.floats(min_value=0, max_value=1, allow_nan=False)


@st.composite
def militia(draw, short: str) -> dict:
    return {
        "name": f"group {short}",
        "short": short,
        "base_rate": draw(st.floats(0, 100)),
        "iran_obedience": draw(finite),
        "iraq_susceptibility": draw(finite),
        "stock": {"drone": draw(st.floats(0, 1e4)), "rocket": draw(st.floats(0, 1e4)), "missile": draw(st.floats(0, 1e3))},
    }


@st.composite
def valid_document(draw) -> dict:
    days = draw(st.integers(2, 20))
    n = draw(st.integers(2, 3))
    doc = {
        "name": "fuzz",
        "extends": str(BASELINE),
        "seed": draw(st.integers(0, 2**63 - 1)),
        "replicates": draw(st.integers(1, 4)),
        "block_size": draw(st.sampled_from([1, 3, 1000])),
        "end": (START + dt.timedelta(days=days - 1)).isoformat(),
        "militias": [draw(militia(s)) for s in SHORTS[:n]],
        "united_states": {"policy": {"name": draw(st.sampled_from(POLICIES))}},
        "iran": {"restraint_per_us_killed": draw(st.floats(0, 100)), "supply_rate": draw(st.floats(0, 1000))},
        "attack_effects": {"p_harm": {"drone": draw(finite), "rocket": draw(finite), "missile": draw(finite)}},
        "exogenous": {"gaza_intensity": [{"date": START.isoformat(), "value": draw(st.floats(0, 100))}]},
    }
    return doc


PATHS = [
    "seed", "replicates", "block_size", "name", "start", "end", "militias.0.base_rate", "militias.1.iran_obedience",
    "militias.0.stock.drone", "militias.0.target_weights.iraq", "militias.0.short", "militias.0.behaviours",
    "militias.1.behaviours.tit_for_tat.max_boost", "attack_effects.p_harm.missile", "attack_effects.injured_per_harm",
    "attack_effects.killed_per_fatal", "united_states.policy.name", "united_states.policy.params.max_targets",
    "united_states.posture.troops.jordan", "united_states.strike_effects.militia_killed_per_target",
    "iran.restraint_per_us_killed", "iran.supply_rate", "iran.war_hazard", "iraq.withdrawal_threshold",
    "ladder.memory_days", "exogenous.gaza_intensity", "exogenous.gaza_intensity.0.value", "exogenous.gaza_intensity.0.date",
    "exogenous.events", "extends", "militias", "uncertainty.posterior",
]
ODD_VALUES = st.one_of(
    st.sampled_from([math.inf, -math.inf, math.nan, 1e300, -1.0, 0, 1, 7, 2**63, -(2**63), 10**20, "1e400", "abc", "",
                     None, True, [], {}, [1, 2], {"x": 1}, "2023-02-30", "2300-01-01", "0001-01-01", "/dev/zero",
                     "a" * 300, 1e6, 1e-300, 100, 101, 10_000_000, 10_000_001]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.text(max_size=20),
)
RAW_LINES = ["end: 2023-02-30", "start: 2023-13-01", "{{{{", "militias: [&a {x: *a}]", "\t- bad indent", "seed: !!python/object:os.system 1"]


def _set(doc: dict, path: str, value) -> None:
    node = doc
    parts = path.split(".")
    for part in parts[:-1]:
        key = int(part) if part.isdigit() else part
        if isinstance(node, list):
            if not isinstance(key, int) or key >= len(node):
                return
            node = node[key]
        else:
            node = node.setdefault(key, {}) if isinstance(node.get(key), (dict, list)) or key not in node else node[key]
        if not isinstance(node, (dict, list)):
            return
    last = parts[-1]
    if isinstance(node, list):
        if last.isdigit() and int(last) < len(node):
            node[int(last)] = value
    else:
        node[last] = value


@st.composite
def document(draw) -> tuple[str, dict | None]:
    """(YAML text, the document if it is meant to be valid else None)."""
    doc = draw(valid_document())
    kind = draw(st.sampled_from(["valid", "value", "value", "value", "delete", "unknown", "raw"]))
    if kind == "valid":
        return yaml.safe_dump(doc, sort_keys=False), doc
    if kind == "value":
        for _ in range(draw(st.integers(1, 3))):
            _set(doc, draw(st.sampled_from(PATHS)), draw(ODD_VALUES))
    elif kind == "delete":
        doc.pop(draw(st.sampled_from(sorted(doc))), None)
    elif kind == "unknown":
        _set(doc, draw(st.sampled_from(PATHS)).rsplit(".", 1)[0] + ".no_such_field", 1.0)
    text = yaml.safe_dump(doc, sort_keys=False)
    if kind == "raw":
        text += draw(st.sampled_from(RAW_LINES)) + "\n"
    return text, None


def check_tables(out, doc_text: str) -> None:
    """The invariants a run's tables must satisfy, whatever the (accepted) parameters."""
    doc = yaml.safe_load(doc_text)
    daily, summary = pd.read_parquet(out / "daily.parquet"), pd.read_parquet(out / "summary.parquet")
    groups = pd.read_parquet(out / "groups.parquet")
    from experiments.scenario.schema import load_scenario

    scenario = load_scenario(out.parent / "doc.yaml")
    R, T = doc.get("replicates", scenario.replicates), len(scenario.days)
    assert len(summary) == R and sorted(summary.replicate) == list(range(R))
    assert len(daily) == R * T and daily.groupby("replicate").size().eq(T).all()
    assert len(groups) == R * T * len(scenario.militias)
    for col in (c for c in COUNT_COLUMNS if c in daily):  # (an optional actor that is off writes no columns)
        assert (daily[col] >= 0).all(), col
        assert np.isfinite(daily[col].to_numpy(float)).all(), col
    assert (daily.attacks_total == daily.attacks_iraq + daily.attacks_syria + daily.attacks_jordan).all()
    key = ["replicate", "day"]
    by_group = groups.groupby(key).attacks.sum().sort_index().to_numpy()
    assert np.array_equal(by_group, daily.set_index(key).attacks_total.sort_index().to_numpy())
    assert (groups.attacks >= 0).all() and (groups.killed >= 0).all()
    for col in ("iran_restraint", "iraq_pressure", "iraq_withdrawal_pressure"):
        assert np.isfinite(daily[col].to_numpy(float)).all(), col
    totals = daily.groupby("replicate").attacks_total.sum().sort_index().to_numpy()
    assert np.array_equal(totals, summary.sort_values("replicate").attacks_total.to_numpy())


_counter = itertools.count()


@pytest.mark.slow  # about a minute: every generated document is run end to end
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=document())
def test_every_document_runs_correctly_or_is_refused_in_one_line(tmp_path_factory, case):
    text, _ = case
    folder = tmp_path_factory.mktemp(f"doc{next(_counter)}")
    path = folder / "doc.yaml"
    path.write_text(text)
    out = folder / "out"
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "-q"])
    TRIED["documents"] += 1
    output = result.output.strip()
    assert "Traceback" not in output, output
    if result.exit_code == 0:
        TRIED["ran"] += 1
        check_tables(out, text)
    else:
        TRIED["refused"] += 1
        assert result.exit_code == 2, (result.exit_code, output, repr(result.exception), text)
        assert output.startswith("error:") and "\n" not in output, output
        assert not out.exists(), "a refused document wrote results"


# --------------------------------------------------------------------------- sweep blocks: validate agrees with sweep

SWEEP_PATHS = ["militias.*.iran_obedience", "militias.0.base_rate", "iran.supply_rate", "exogenous.gaza_intensity.0.value"] * 3 + [
    "united_states.policy.name", "militias.7.base_rate", "seed", "no_such.field", "ladder.memory_days"]
SWEEP_VALUES = st.one_of(st.floats(0, 1), st.floats(0, 1),
                         st.sampled_from([7, -1, math.inf, "restraint", "proportional", "nope", None, 2.5, 400]),
                         st.floats(-10, 200, allow_nan=False))


@st.composite
def sweep_document(draw) -> dict:
    design = draw(st.sampled_from(["grid", "lhs", "list", "sobol"]))
    block: dict = {"design": design, "replicates": draw(st.integers(1, 3))}
    paths = draw(st.lists(st.sampled_from(SWEEP_PATHS), min_size=1, max_size=2, unique=True))
    if design == "list":
        block["points"] = [{p: draw(SWEEP_VALUES) for p in paths} for _ in range(draw(st.integers(1, 3)))]
    else:
        group = draw(st.sampled_from(["levers", "uncertainties"]))
        spec = {}
        for p in paths:
            if draw(st.booleans()):
                spec[p] = draw(st.lists(SWEEP_VALUES, min_size=1, max_size=3))
            else:
                lo, hi = sorted([draw(SWEEP_VALUES.filter(lambda v: isinstance(v, (int, float)))) for _ in range(2)])
                spec[p] = {"low": lo, "high": hi, **({"levels": draw(st.integers(1, 3))} if draw(st.booleans()) else {})}
        block[group] = spec
        if design != "grid":
            block["samples"] = draw(st.integers(1, 3))
    return {"name": "fuzzsweep", "extends": str(BASELINE), "end": (START + dt.timedelta(days=draw(st.integers(2, 6)))).isoformat(),
            "block_size": 2, "united_states": {"policy": {"name": "restraint"}}, "sweep": block}


@settings(max_examples=max(EXAMPLES // 5, 20), deadline=None, derandomize=True,  # each runs validate and a sweep
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(doc=sweep_document())
def test_validate_accepts_exactly_the_sweeps_that_run(tmp_path_factory, doc):
    folder = tmp_path_factory.mktemp(f"sweep{next(_counter)}")
    path = folder / "doc.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    checked = runner.invoke(app, ["validate", str(path)])
    ran = runner.invoke(app, ["sweep", str(path), "--out", str(folder / "out"), "-w", "1", "-q"])
    TRIED["sweeps"] = TRIED.get("sweeps", 0) + 1
    for res in (checked, ran):
        assert res.exit_code in (0, 2) and "Traceback" not in res.output, res.output
        if res.exit_code == 2:
            assert res.output.strip().startswith("error:") and "\n" not in res.output.strip(), res.output
    assert checked.exit_code == ran.exit_code, (checked.output, ran.output, doc)
    if ran.exit_code == 0:
        from experiments.runner.sweep import load_sweep

        TRIED["sweeps_ran"] = TRIED.get("sweeps_ran", 0) + 1
        table = load_sweep(folder / "out")
        points = pd.read_parquet(folder / "out" / "points.parquet")
        assert len(table) == len(points) * doc["sweep"]["replicates"]
        assert (table.attacks_total >= 0).all()
    else:
        assert not (folder / "out").exists()


def test_report_documents_tried():
    """Runs after the property test (same module, file order): how many documents were tried."""
    print(f"\nfuzzed scenario documents: {TRIED}")
    if TRIED["documents"]:
        assert TRIED["ran"] > 0 and TRIED["refused"] > 0  # the strategy reaches both outcomes
    if TRIED.get("sweeps"):
        assert 0 < TRIED.get("sweeps_ran", 0) < TRIED["sweeps"]
