"""The shared failure text of helpers that word their own lines (asserts/_failure.format_lines),
and the RBAC and network helpers that use it."""

from __future__ import annotations

import pytest

from pytest_k8ssec.asserts._failure import MAX_LINES_SHOWN, MAX_VIOLATIONS_SHOWN, format_lines
from pytest_k8ssec.asserts.network import assert_reachable
from pytest_k8ssec.asserts.rbac import RbacView, assert_cannot
from pytest_k8ssec.errors import SecurityAssertionError
from pytest_k8ssec.model.netpol import NetworkModel, Pod
from pytest_k8ssec.model.rbac import RbacModel
from pytest_k8ssec.sources.manifests import load_text


def test_short_failures_are_the_title_then_the_lines_unchanged() -> None:
    lines = ["  - a", "      detail of a", "  - b", "  fix: do it."]
    assert format_lines("summary: 2 problems", lines) == "summary: 2 problems\n" + "\n".join(lines)


def test_items_past_the_bound_are_counted_not_shown_and_trailing_lines_stay() -> None:
    lines = []
    for i in range(MAX_VIOLATIONS_SHOWN + 5):
        lines.append(f"  - item {i}\n      via binding {i}\n      why: because")
    lines.append("  fix: remove the bindings.")
    text = format_lines("rbac-risky-rules: 25 risky permission(s)", lines)
    out = text.splitlines()
    assert out[0] == "rbac-risky-rules: 25 risky permission(s)"
    assert sum(line.startswith("  - item ") for line in out) == MAX_VIOLATIONS_SHOWN
    assert f"  - item {MAX_VIOLATIONS_SHOWN - 1}" in out and f"  - item {MAX_VIOLATIONS_SHOWN}" not in out
    assert "via binding 21" not in text, "the details of a hidden item are hidden with it"
    assert out[-2:] == [
        "  - ... and 5 more (every finding is attached to the exception as .findings)",
        "  fix: remove the bindings.",
    ]


def test_nested_dashes_are_details_not_items() -> None:
    # A denied side lists its reasons as "- ..." under the connection's own item.
    lines = ["  - a -> b: denied", *[f"      - reason {i}" for i in range(MAX_LINES_SHOWN + 10)], "  fix: allow it."]
    out = format_lines("t", lines).splitlines()
    assert len(out) == MAX_LINES_SHOWN + 3
    assert out[-2:] == [
        "  ... and 11 more lines (every finding is attached to the exception as .findings)",
        "  fix: allow it.",
    ]
    assert not any("- ... and" in line for line in out)


def test_long_details_are_cut_at_the_line_bound() -> None:
    out = format_lines("t", [f"    line {i}" for i in range(MAX_LINES_SHOWN + 40)]).splitlines()
    assert out[1:3] == ["    line 0", "    line 1"]
    assert out[-1] == "  ... and 40 more lines (every finding is attached to the exception as .findings)"
    assert len(out) == MAX_LINES_SHOWN + 2


def _many_bindings(count: int) -> str:
    docs = []
    for i in range(count):
        docs.append(f"""\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: reads-{i:02d}, namespace: shop}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view-secrets}}
subjects: [{{kind: ServiceAccount, name: bot, namespace: ci}}]
""")
    docs.append("""\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: view-secrets}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get]}]
""")
    return "---\n".join(docs)


def test_rbac_failures_are_bounded_by_the_shared_format() -> None:
    view = RbacView(RbacModel.from_objects(load_text(_many_bindings(25), source="rbac.yaml")))
    with pytest.raises(SecurityAssertionError) as info:
        assert_cannot(view, "system:serviceaccount:ci:bot", "get", "secrets", namespace="shop")
    out = str(info.value).splitlines()
    assert out[0] == "rbac: ServiceAccount ci/bot can get secrets in namespace shop: 25 grants"
    assert sum(line.startswith("  - RoleBinding/shop/reads-") for line in out) == MAX_VIOLATIONS_SHOWN
    assert out[-1] == "  - ... and 5 more (every finding is attached to the exception as .findings)"
    assert len(info.value.findings) == 25, "every finding stays attached"


def test_network_failures_are_bounded_by_the_shared_format() -> None:
    pods = [Pod("a", f"src-{i:02d}") for i in range(25)] + [Pod("b", "dst")]
    # Each denied connection is an item with its explanation: the line bound comes first here.
    deny = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny", "namespace": "b"},
        "spec": {"podSelector": {}},
    }
    net = NetworkModel(pods, [deny])
    with pytest.raises(SecurityAssertionError) as info:
        assert_reachable(net, "a", "b", 80)
    out = str(info.value).splitlines()
    assert out[0] == "network: 25 of 25 connections on TCP/80 are denied"
    assert out[1] == "  - Pod a/src-00 -> Pod b/dst on TCP/80: denied"
    assert out[-1].startswith("  ... and ") and out[-1].endswith(
        " more lines (every finding is attached to the exception as .findings)"
    )
    assert len(out) == MAX_LINES_SHOWN + 2


def test_helpers_coerce_lists_and_tuples_of_objects_the_same_way_as_any_iterable() -> None:
    from pytest_k8ssec.asserts._failure import _objects
    from pytest_k8ssec.model.objects import K8sObject, Provenance

    class Labelled(K8sObject):
        __slots__ = ()

    raw = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
    plain, sub = K8sObject(raw, Provenance("a.yaml")), Labelled(raw, Provenance("b.yaml"))
    given = [plain, sub, plain]
    # Objects only (a fixture's list): a new list of the same objects, whatever the container.
    for objs in (given, tuple(given), iter(given)):
        coerced = _objects(objs)
        assert coerced is not given and [id(obj) for obj in coerced] == [id(obj) for obj in given]
    assert _objects([]) == [] and _objects(()) == []
    # A dict among them is made an object, as from any other iterable.
    mixed = _objects([plain, raw])
    assert mixed[0] is plain and mixed[1].raw is raw and str(mixed[1].provenance) == "<dict>"
    with pytest.raises(TypeError, match="expected K8sObject or a manifest dict, got int"):
        _objects([plain, 1])  # type: ignore[list-item]
