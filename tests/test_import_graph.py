"""The packages' imports point one way: no cycle, and no import up the layers.

Layers, bottom to top: ``mechanism`` → ``mbi_envs`` → ``baselines`` → ``experiments`` (a package
may import the ones below it, never one above). The graph is read from the source with
:mod:`ast` (nothing is imported): every ``import`` and ``from … import`` of every module of the
four packages, subpackages included, relative and absolute, at module level, inside functions and
under ``if TYPE_CHECKING``. ``from package import name`` counts as an edge to the submodule
``package.name`` when that is a module, else to ``package``; the implicit import of a parent
package's ``__init__`` is not an edge (every submodule would otherwise close a cycle with it).
Imports by string (``importlib.import_module``, the registry's scenario lookup) are not edges.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("mechanism", "mbi_envs", "baselines", "experiments")


def modules(root: Path = ROOT) -> dict[str, tuple[Path, bool]]:
    """``{dotted name: (file, is a package __init__)}`` for every module of the layers."""
    out = {}
    for package in LAYERS:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def _targets(name: str, is_package: bool, node: ast.AST, known: dict) -> list[str]:
    if isinstance(node, ast.Import):
        raw = [alias.name for alias in node.names]
    else:
        if node.level:
            base = name.split(".") if is_package else name.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        raw = [f"{target}.{a.name}" if f"{target}.{a.name}" in known else target for a in node.names]
    found = []
    for target in raw:
        while target and target not in known:  # an attribute of a module, or a third-party module
            target = target.rpartition(".")[0]
        if target:
            found.append(target)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """``{module: the modules of the layers it imports}``."""
    known = modules(root)
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, (path, is_package) in known.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[name].update(t for t in _targets(name, is_package, node, known) if t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every ``a -> b`` whose target's layer is above the importer's."""
    rank = {p: i for i, p in enumerate(LAYERS)}
    return sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                  if rank[b.split(".")[0]] > rank[a.split(".")[0]])


# ---------------------------------------------------------------- the checker itself
def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for package in LAYERS:
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").touch()
    return tmp_path


def test_the_checker_sees_relative_function_level_and_type_checking_imports(tmp_path):
    root = _tree(tmp_path, {
        "mbi_envs/a.py": "from . import b\n",
        "mbi_envs/b.py": "def f():\n    from .sub.c import thing\n",
        "mbi_envs/sub/__init__.py": "",
        "mbi_envs/sub/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..a import X\n",
        "mechanism/core/x.py": "import numpy\nfrom mbi_envs.a import y\n",
        "baselines/p.py": "import experiments.q\nfrom mechanism.core import x\n",
        "experiments/q.py": "from baselines.p import z\n",
    })
    graph = import_graph(root)
    assert graph["mbi_envs.a"] == {"mbi_envs.b"} and graph["mbi_envs.b"] == {"mbi_envs.sub.c"}
    assert graph["mbi_envs.sub.c"] == {"mbi_envs.a"} and graph["baselines.p"] == {"experiments.q", "mechanism.core.x"}
    assert cycles(graph) == [["baselines.p", "experiments.q"], ["mbi_envs.a", "mbi_envs.b", "mbi_envs.sub.c"]]
    assert upward_imports(graph) == ["baselines.p -> experiments.q", "mechanism.core.x -> mbi_envs.a"]


def test_the_checker_finds_no_cycle_in_a_layered_tree(tmp_path):
    root = _tree(tmp_path, {"mbi_envs/a.py": "from .b import f\nimport mechanism\n", "mbi_envs/b.py": "import os\n"})
    graph = import_graph(root)
    assert cycles(graph) == [] and upward_imports(graph) == [] and graph["mbi_envs.a"] == {"mbi_envs.b", "mechanism"}


# ---------------------------------------------------------------- the repository
GRAPH = import_graph()


def test_every_layer_is_scanned():
    assert {name.split(".")[0] for name in GRAPH} == set(LAYERS)
    assert {"mbi_envs.env", "mbi_envs.registry", "mbi_envs.scenarios.symmetric_parallel_v0"} <= set(GRAPH)


@pytest.mark.parametrize("package", ["mechanism", "mbi_envs", "baselines"])
def test_no_import_cycle(package):
    found = [c for c in cycles(GRAPH) if c[0].split(".")[0] == package]
    assert found == [], f"import cycles in {package}: {found}"


def test_no_import_cycle_in_experiments():
    found = [c for c in cycles(GRAPH) if c[0].split(".")[0] == "experiments"]
    assert found == [], f"import cycles in experiments: {found}"


def test_no_import_points_up_the_layers():
    assert upward_imports(GRAPH) == []


def test_the_env_modules_import_one_way():
    """The circle this test was written for: env → scenario → registry → env, env ↔ rendering."""
    assert "mbi_envs.registry" not in GRAPH["mbi_envs.env"] and "mbi_envs.env" not in GRAPH["mbi_envs.rendering"]
    assert not GRAPH["mbi_envs.scenario"] & {"mbi_envs.env", "mbi_envs.registry", "mbi_envs.rendering"}
