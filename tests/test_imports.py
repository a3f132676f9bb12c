"""The import graph of model/ and experiments/ (read with ``ast``: module-level, function-level and
TYPE_CHECKING imports alike) has no cycle, and imports only go the way the layers allow:
scenario -> model, runner -> model/scenario, analysis -> runner/scenario (never model), cli -> any."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("model", "experiments")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


MODULES = _modules()


def _targets(module: str, path: Path) -> set[str]:
    """Project modules imported anywhere in ``path`` (``from pkg import mod`` counts as importing pkg.mod)."""
    out: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:  # `import a.b.c` with c not a module: take the module part
                name = name.rpartition(".")[0]
            if name and name != module:
                out.add(name)
    return out


GRAPH = {m: _targets(m, p) for m, p in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read():
    assert "model.model" in GRAPH and "experiments.runner.runner" in GRAPH
    assert "model.actors" in GRAPH["model.model"] and "model.actors.militias" in GRAPH["model.actors"]
    assert "model.outputs" in GRAPH["experiments.scenario.observed"]  # `from model import outputs`


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", ["model", "experiments"])
def test_no_import_cycle(package):
    sub = {m: {t for t in ts if t.split(".")[0] == package} for m, ts in GRAPH.items() if m.split(".")[0] == package}
    assert _cycles(sub) == []


def test_no_import_cycle_across_packages():
    assert _cycles(GRAPH) == []


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[0] if parts[0] == "model" else ".".join(parts[:2])


FORBIDDEN = {  # layer -> layers it must not import
    "model": ("experiments",),
    "experiments.scenario": ("experiments.runner", "experiments.analysis", "experiments.cli"),
    "experiments.runner": ("experiments.analysis", "experiments.cli"),
    "experiments.analysis": ("experiments.cli", "model"),
}


def _violations(module: str) -> list[str]:
    bad = FORBIDDEN.get(_layer(module), ())
    return sorted(t for t in GRAPH[module] if any(t == b or t.startswith(b + ".") for b in bad))


@pytest.mark.parametrize(
    "module",
    [m for m in sorted(MODULES) if _layer(m) in FORBIDDEN],
)
def test_layer_rule(module):
    assert _violations(module) == []

