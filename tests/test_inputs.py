"""Every input is bound to what it changes (issue 19, item 1).

* An explicit value (``--set``, a compare lever's override, a sweep lever) on a parameter the calibrated
  posterior carries holds it fixed in every replicate: the run changes, the manifest and console say so.
* Paths a lever, an override or ``--set`` cannot change are refused by name, in one line, exit 2.
* Files a scenario names resolve inside the project or the scenario's folder, or are refused unread.
* A posterior applies only to the groups it was fitted for.
* Dated inputs outside the run: refused when set explicitly, else a warning and a manifest entry.
* Over every numeric field path of a posterior-carrying scenario: the value set is the value each
  replicate runs with (or the path is refused by name).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from experiments.cli.main import app
from experiments.runner.run import load_draws
from experiments.runner.runner import job_varying, plan_jobs
from experiments.scenario.errors import UserError
from experiments.scenario.held import POINT_FIXED, covers, hold_varying
from experiments.scenario.identification import unidentified
from experiments.scenario.schema import load_scenario, with_overrides
from model.config import ParamOverlay, float_paths

from tests.conftest import BASELINE, ROOT, write_yaml

PROPORTIONAL = ROOT / "scenarios" / "proportional.yaml"
COUNTERFACTUAL = ROOT / "scenarios" / "counterfactual.yaml"
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(res, *words: str) -> str:
    assert res.exit_code == 2, res.output
    text = res.output.strip()
    assert "\n" not in text and "Traceback" not in text, text
    for w in words:
        assert w in text, (w, text)
    return text


def strike_response_path() -> str:
    """The posterior's unidentified per-target strike response (named generically: the rule may be renamed)."""
    draws = load_draws(load_scenario(COUNTERFACTUAL))
    cols = [c for c in unidentified(draws.attrs["identification"]) if c in draws.columns]
    return next((c for c in cols if c.endswith("per_target")), next(c for c in cols if c.startswith("militias.*")))


# --------------------------------------------------------------------------- held fixed over the posterior


def _run(tmp: Path, value: float, path: str) -> tuple[pd.DataFrame, dict[str, Any], str]:
    out = tmp / f"run_{value}"
    res = invoke("run", PROPORTIONAL, "-n", 16, "-w", 1, "--out", out, "--set", f"{path}={value}", "--set", "end=2024-01-15")
    assert res.exit_code == 0, res.output
    return pd.read_parquet(out / "summary.parquet"), json.loads((out / "manifest.json").read_text()), res.output


def test_set_on_a_posterior_parameter_changes_every_replicate(tmp_path):
    path = strike_response_path()
    s0, m0, text0 = _run(tmp_path, 0.0, path)
    s2, m2, _ = _run(tmp_path, 0.2, path)
    assert not s0.attacks_total.equals(s2.attacks_total)  # on main both give the same tables
    assert s0.attacks_total.mean() > s2.attacks_total.mean()  # a stronger deterrent response: fewer attacks
    assert m0["held_fixed"] == [path] and m2["held_fixed"] == [path]
    assert "held fixed over the posterior draws" in text0 and path in text0
    assert path not in m0.get("unidentified", [])  # no longer carried as draws


def test_hold_keeps_the_other_draws_and_splits_a_star_column():
    varying = {"militias.*.x": np.array([1.0, 2.0]), "iran.y": np.array([3.0, 4.0]), "militias.0.z": np.array([5.0, 6.0])}
    held = hold_varying(varying, ["militias.1.x", "iran"], 3)
    assert set(held) == {"militias.0.x", "militias.2.x", "militias.0.z"}
    assert (held["militias.0.x"] == [1.0, 2.0]).all()
    assert hold_varying(varying, [], 3) == varying
    assert covers("militias", "militias.0.base_rate") and covers("militias.*.x", "militias.3.x") and not covers("iran.x", "iran")


def _effective(sc, draws: pd.DataFrame, path: str) -> list[float]:
    """What each replicate of a scenario's first block runs with for ``path`` (draws, held values, overlay)."""
    job = plan_jobs(sc.model_copy(update={"block_size": 4}).holding(sc.held), 4, sc.seed, draws)[0]
    overlay = ParamOverlay(job.scenario, 4, job_varying(job))
    if path in overlay.values:
        return [float(v) for v in np.broadcast_to(overlay.values[path], (4,))]
    node: Any = sc.model_dump(mode="python")
    for part in path.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return [float(node)] * 4


def numeric_leaves(node: Any, prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            out += numeric_leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += numeric_leaves(v, f"{prefix}.{i}")
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        out.append((prefix, node))
    return out


def _changed(value: Any) -> list[Any]:
    if value is None:  # a rule parameter left to its default: not in the file
        return [0.05, 0.5, 1.0]
    new = [value * 0.5, value + 1, value * 2, 0.0] if value else [1.0, 0.5, 0.0]
    return [int(round(v)) if isinstance(value, int) else v for v in new if not isinstance(value, int) or round(v) != value]


def test_every_numeric_path_is_what_each_replicate_runs_with_or_refused():
    """Over every numeric field of a posterior-carrying scenario: set as --set, the value reaches every
    replicate, posterior draws or not; the paths a point cannot change are refused by name as a lever's override."""
    base = load_scenario(COUNTERFACTUAL)
    draws = load_draws(base)
    carried = [c for c in draws.columns if c != "weight"]
    leaves = [(p, v) for p, v in numeric_leaves(base.model_dump(mode="python")) if p.split(".")[0] not in ("seed", "replicates", "block_size")]
    leaves += [(p, None) for p in sorted(float_paths(base) - {p for p, _ in leaves})]  # rule parameters at their defaults
    assert len(leaves) > 100
    checked, reached = 0, set()
    for path, value in leaves:
        for new in _changed(value):
            try:
                sc = with_overrides(base, {path: new})
            except UserError:
                continue  # out of the field's bounds: try another value
            sc = sc.holding([path])
            got = _effective(sc, draws, path) if path in float_paths(sc) else None
            if got is not None:
                assert got == pytest.approx([new] * 4), path
                reached |= {c for c in carried if covers(c, path)}
            checked += 1
            break
    assert checked > 100 and reached == set(carried)  # every parameter the posterior carries was set and reached
    for top in POINT_FIXED:
        res = _compare_with_override(top)
        assert res is not None and top in str(res)


def _compare_with_override(top: str) -> Exception | None:
    from experiments.scenario.blocks import CompareSpec

    try:
        CompareSpec(reference="historical", levers=["historical", {"policy": "restraint", "overrides": {top: 1}}])
    except Exception as exc:  # pydantic's ValidationError
        return exc
    return None


# --------------------------------------------------------------------------- refused by name


def test_uncertainty_posterior_as_a_sweep_lever_or_override_is_refused(tmp_path):
    sweep = write_yaml(tmp_path / "sw.yaml", {"name": "sw", "extends": str(COUNTERFACTUAL), "end": "2023-10-20",
                                              "sweep": {"levers": {"uncertainty.posterior": ["/etc/passwd", "x.parquet"]}}})
    one_line_error(invoke("sweep", sweep, "--out", tmp_path / "o1"), "uncertainty.posterior", "cannot be swept")
    points = write_yaml(tmp_path / "pt.yaml", {"name": "pt", "extends": str(COUNTERFACTUAL), "end": "2023-10-20",
                                               "sweep": {"design": "list", "points": [{"uncertainty.posterior": "a.parquet"}]}})
    one_line_error(invoke("sweep", points, "--out", tmp_path / "o2"), "uncertainty.posterior", "cannot be swept")
    cmp = write_yaml(tmp_path / "cmp.yaml", {"name": "cmp", "extends": str(COUNTERFACTUAL), "end": "2023-10-20", "compare": {
        "reference": "historical", "replicates": 4, "levers": ["historical", {"policy": "restraint", "overrides": {"uncertainty.posterior": None}}]}})
    one_line_error(invoke("compare", cmp, "--out", tmp_path / "o3"), "uncertainty.posterior", "override")
    pm = write_yaml(tmp_path / "pm.yaml", {"name": "pm", "extends": str(COUNTERFACTUAL), "end": "2023-10-20", "phase_map": {
        "x": {"path": "seed", "values": [1, 2]}, "y": {"path": "iran.war_hazard", "values": [0.001, 0.002]}}})
    one_line_error(invoke("phase-map", pm, "--out", tmp_path / "o4"), "seed", "phase-map axis")


def test_set_extends_is_refused(tmp_path):
    one_line_error(invoke("run", PROPORTIONAL, "--set", "extends=baseline.yaml", "--out", tmp_path / "o"), "--set extends", "cannot be set")


def test_files_outside_the_project_and_the_scenario_folder_are_refused_unread(tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("name: SECRET-CONTENT\n")
    own = tmp_path / "own"
    own.mkdir()
    child = write_yaml(own / "child.yaml", {"name": "child", "extends": "../secret.yaml"})
    text = one_line_error(invoke("validate", child), "extends", "outside the project")
    assert "SECRET-CONTENT" not in text
    (tmp_path / "post.parquet").write_bytes(b"PAR1 not really")
    post = write_yaml(own / "post.yaml", {"name": "post", "extends": str(BASELINE), "uncertainty": {"posterior": "../post.parquet"}})
    one_line_error(invoke("validate", post), "uncertainty.posterior", "outside the project")
    one_line_error(invoke("run", PROPORTIONAL, "--set", f"uncertainty.posterior={tmp_path / 'post.parquet'}", "--out", tmp_path / "o"),
                   "uncertainty.posterior", "outside the project")
    lever = write_yaml(own / "lev.yaml", {"name": "lev", "extends": str(BASELINE), "end": "2023-10-20", "compare": {
        "reference": "historical", "replicates": 4, "levers": ["historical", {"scenario": "../secret.yaml"}]}})
    text = one_line_error(invoke("compare", lever, "--out", tmp_path / "o5"), "scenario", "outside the project")
    assert "SECRET-CONTENT" not in text
    # inside the scenario's own folder is fine
    write_yaml(own / "parent.yaml", {"name": "parent", "extends": str(BASELINE), "end": "2023-10-20"})
    ok = write_yaml(own / "ok.yaml", {"name": "ok", "extends": "parent.yaml"})
    assert invoke("validate", ok).exit_code == 0


@pytest.mark.parametrize("groups, words", [
    (2, ["5 groups", "lists 2"]),
    (5, ["group 0", "'A'"]),
])
def test_a_posterior_applies_only_to_the_groups_it_was_fitted_for(tmp_path, groups, words):
    militias = [{"name": f"G{i}", "short": "A" if i == 0 else f"G{i}", "base_rate": 2.5} for i in range(groups)]
    path = write_yaml(tmp_path / "g.yaml", {"name": "g", "extends": str(ROOT / "scenarios" / "calibrated.yaml"),
                                            "united_states": {"policy": {"name": "restraint"}}, "militias": militias})
    one_line_error(invoke("run", path, "-n", 3, "--out", tmp_path / "o"), "militias", "posterior", *words)
    dropped = write_yaml(tmp_path / "d.yaml", {"name": "d", "extends": str(ROOT / "scenarios" / "calibrated.yaml"), "end": "2023-10-20",
                                               "uncertainty": {"posterior": None}, "united_states": {"policy": {"name": "restraint"}},
                                               "militias": militias})
    res = invoke("run", dropped, "-n", 3, "-w", 1, "--out", tmp_path / "od")
    assert res.exit_code == 0, res.output


def test_dated_inputs_outside_the_run(tmp_path):
    res = invoke("run", BASELINE, "-n", 2, "-w", 1, "--set", "end=2023-11-01", "--out", tmp_path / "o")
    assert res.exit_code == 0 and "fall outside the run" in res.output and "Tower 22" in res.output
    assert any("Tower 22" in x for x in json.loads((tmp_path / "o" / "manifest.json").read_text())["inputs_outside_run"])
    idx = next(i for i, e in enumerate(load_scenario(BASELINE).exogenous.events) if e.kind.value == "us_casualties")
    one_line_error(invoke("run", BASELINE, "-n", 2, "--set", "end=2023-11-01", "--set", f"exogenous.events.{idx}.start=2023-12-01",
                          "--out", tmp_path / "o2"), "outside the run", f"exogenous.events.{idx}")


def test_set_takes_the_path_error_messages_print(tmp_path):
    """Errors print list items as ``militias.0.x``; --set takes exactly that form (one syntax: a bracketed
    path is refused with the dotted form to write instead)."""
    from experiments.scenario.schema import parse_overrides

    bad = invoke("validate", write_yaml(tmp_path / "b.yaml", {"name": "b", "extends": str(BASELINE), "militias": [
        {"name": "A", "short": "A", "base_rate": -1}]}))
    assert "militias.0.base_rate" in bad.output
    res = invoke("validate", BASELINE, "--set", "militias[0].base_rate=0.3")
    assert res.exit_code == 2 and "'militias.0.base_rate'" in res.output
    a = load_scenario(BASELINE, parse_overrides(["militias.1.base_rate=0.3"]))
    assert a.militias[1].base_rate == 0.3 and a.held == ("militias.1.base_rate",)


def test_set_on_a_posterior_parameter_reaches_a_sweep(tmp_path):
    from experiments import load_sweep

    path = strike_response_path()
    sweep = write_yaml(tmp_path / "sw.yaml", {"name": "sw", "extends": str(COUNTERFACTUAL), "end": "2023-11-10", "block_size": 5,
                                              "sweep": {"replicates": 5, "levers": {"united_states.policy.name": ["proportional"]}}})
    means = []
    for v in (0.0, 0.2):
        res = invoke("sweep", sweep, "--set", f"{path}={v}", "--out", tmp_path / f"o{v}", "-w", 1, "-q")
        assert res.exit_code == 0, res.output
        assert json.loads((tmp_path / f"o{v}" / "manifest.json").read_text())["held_fixed"] == [path]
        means.append(load_sweep(tmp_path / f"o{v}").attacks_total.mean())
    assert means[0] > means[1]
