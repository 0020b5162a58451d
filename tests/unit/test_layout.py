"""The package's layout rules that a reader relies on: no import cycle between its modules, and
the layer table of docs/architecture.md, which IS the rule set.

Each row of that table names rooms (modules or packages of ``pytest_k8ssec``) and the rooms they
may import at run time (lazy imports count; ``if TYPE_CHECKING:`` imports are annotations only).
The test reads the table from the page, so the page cannot drift from the code: a new room or a
new arrow is written down there first.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pytest_k8ssec"
PAGE = ROOT / "docs" / "architecture.md"
_ROW = re.compile(r"^\|\s*(?P<rooms>`[^|]+`)\s*\|[^|]*\|\s*(?P<allowed>[^|]*)\|\s*$")


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


def layer_rules() -> dict[str, set[str]]:
    """room -> the rooms it may import (``*``: anything), read from the page's layer table."""
    text = PAGE.read_text(encoding="utf-8")
    table = text[text.index("<!-- layers -->") : text.index("<!-- /layers -->")]
    rules: dict[str, set[str]] = {}
    for line in table.splitlines():
        match = _ROW.match(line)
        if match:
            allowed = set(re.findall(r"`([^`]+)`", match["allowed"]))
            if "anything" in match["allowed"]:
                allowed.add("*")
            for room in re.findall(r"`([^`]+)`", match["rooms"]):
                rules[f"pytest_k8ssec.{room}"] = {f"pytest_k8ssec.{a}" if a != "*" else a for a in allowed}
    assert rules, "docs/architecture.md has no layer table between <!-- layers --> markers"
    return rules


def _room(module: str, rooms: Iterable[str]) -> str | None:
    """The most specific room holding ``module`` (``reporting.recording`` before ``reporting``)."""
    holding = [room for room in rooms if module == room or module.startswith(room + ".")]
    return max(holding, key=len) if holding else None


def test_every_module_belongs_to_a_room_of_the_page() -> None:
    rooms = layer_rules()
    homeless = sorted(m for m in import_graph() if m != "pytest_k8ssec" and _room(m, rooms) is None)
    assert not homeless, f"modules no row of docs/architecture.md's layer table covers: {homeless}"


def test_the_package_root_holds_only_the_spine_the_page_names() -> None:
    at_root = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    named = sorted(r.removeprefix("pytest_k8ssec.") for r in layer_rules() if r.count(".") == 1)
    assert at_root == sorted(n for n in named if (PACKAGE / f"{n}.py").exists())
    assert len(at_root) <= 8, at_root


def test_no_room_imports_what_its_row_does_not_allow() -> None:
    rules = layer_rules()
    broken = []
    for module, targets in sorted(import_graph().items()):
        mine = _room(module, rules)
        if mine is None or "*" in rules[mine]:
            continue
        for target in sorted(targets):
            theirs = _room(target, rules)
            if theirs in (None, mine) or _room(target, rules[mine]) is not None:
                continue
            broken.append(f"{module} imports {target} ({theirs}); its row allows {sorted(rules[mine])}")
    assert not broken, "\n".join(broken)


def test_a_forbidden_arrow_is_caught() -> None:
    # The rule test above must be able to fail: the model may import errors, not the engine.
    rules = layer_rules()
    model = _room("pytest_k8ssec.model.objects", rules)
    assert model == "pytest_k8ssec.model"
    assert _room("pytest_k8ssec.engine", rules[model]) is None
    assert _room("pytest_k8ssec.errors", rules[model]) is not None


def test_pure_core_imports_neither_pytest_nor_kubernetes() -> None:
    # Type-only imports count here too: the pure core is readable without either installed.
    core = [*(PACKAGE / "model").rglob("*.py"), *(PACKAGE / "checks").rglob("*.py"), PACKAGE / "engine.py"]
    assert len(core) > 60, "the pure-core walk found too few modules: did the layout change?"
    wrong = []
    for path in core:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                wrong += [
                    f"{path.name} imports {n}" for n in names if n.split(".")[0] in ("pytest", "_pytest", "kubernetes")
                ]
    assert not wrong, wrong


def test_only_the_cluster_source_imports_the_kubernetes_client() -> None:
    importers = sorted(
        _module_name(p)
        for p in PACKAGE.rglob("*.py")
        if re.search(r"^\s*(import kubernetes|from kubernetes[ .])", p.read_text(encoding="utf-8"), re.M)
    )
    assert importers == ["pytest_k8ssec.sources.cluster"]
