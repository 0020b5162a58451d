"""The package's layout rules that a reader relies on: no import cycle between its modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pytest_k8ssec"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import that runs: at module level and inside functions (lazy imports are edges too),
    but not under ``if TYPE_CHECKING:``, which never runs."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
        return
    children = node.orelse if isinstance(node, ast.If) and _is_type_checking(node.test) else ast.iter_child_nodes(node)
    for child in children:
        yield from _imports(child)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports. ``from a import b`` is an edge to ``a.b`` when
    that is a module, else to ``a``. The parent packages Python imports on the way are not edges:
    every submodule would otherwise form a cycle with an ``__init__`` that re-exports it."""
    files = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base for alias in node.names]
            edges.update(target for target in targets if target in files and target != name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (``a -> b -> ... -> a``) per strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_one_cycle(graph, component) for component in components]


def _one_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    start = min(component)
    # Breadth-first from start back to start inside the component: the shortest cycle through it.
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & component):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start} in {sorted(component)}")


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def test_the_graph_counts_lazy_imports_and_skips_type_checking_ones() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nelse:\n    import c\ndef f():\n    import b\n"
    found = [
        node.names[0].name if isinstance(node, ast.Import) else node.module for node in _imports(ast.parse(source))
    ]
    assert found == ["typing", "c", "b"]
    # Today's graph: the report imports the model, and the model (lazily or not) never the report.
    graph = import_graph()
    assert "pytest_k8ssec.model.netpol" in graph["pytest_k8ssec.reporting.network_page"]
    assert "pytest_k8ssec.reporting.network_page" in graph["pytest_k8ssec.fixtures.network"]  # a lazy import


def test_the_cycle_finder_names_one_cycle_per_tangle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"f"}, "f": {"e"}}
    assert cycles(graph) == [["a", "b", "c", "a"], ["e", "f", "e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_model_imports_no_upper_layer() -> None:
    # The model is the bottom layer: a model module that imported the checks, the engine, the
    # helpers, the reports, the fixtures or a source would let data flow backwards.
    upper = ("pytest_k8ssec.checks", "pytest_k8ssec.engine", "pytest_k8ssec.asserts", "pytest_k8ssec.reporting")
    upper += ("pytest_k8ssec.fixtures", "pytest_k8ssec.sources", "pytest_k8ssec.plugin")
    graph = import_graph()
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module.startswith("pytest_k8ssec.model")
        for target in targets
        if target.startswith(upper)
    )
    assert not wrong, wrong


def test_model_subpackages_import_neither_pytest_nor_kubernetes() -> None:
    # test_registry's pure-core test reads model/*.py; the model's subpackages (netpol/) are pure too.
    wrong = []
    for path in (PACKAGE / "model").rglob("*.py"):
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            wrong += [
                f"{_module_name(path)} imports {n}"
                for n in names
                if n.split(".")[0] in ("pytest", "_pytest", "kubernetes")
            ]
    assert not wrong, wrong
