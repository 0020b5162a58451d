"""Targets as a user expects them (pytester): several targets, namespaces, duplicates, rootdir, xdist."""

from __future__ import annotations

import pytest

POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}{ns}}}
spec:
  containers: [{{name: app, image: registry.example.com/app:1.0}}]
"""

# A context whose server refuses every connection at once: a second target that never answers.
NOWHERE_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: someone, user: {token: not-a-real-token}}]
contexts: [{name: nowhere, context: {cluster: nowhere, user: someone}}]
current-context: nowhere
"""


def _pod(name: str, namespace: str | None = None) -> str:
    return POD.format(name=name, ns=f", namespace: {namespace}" if namespace else "")


@pytest.fixture
def two_targets(pytester: pytest.Pytester) -> list[str]:
    """Arguments for two targets: the manifests (one Pod) and a context nobody answers."""
    (pytester.path / "deploy.yaml").write_text(_pod("web", "shop"))
    (pytester.path / "kubeconfig").write_text(NOWHERE_KUBECONFIG)
    return ["--k8s-manifests=deploy.yaml", "--k8s-context=nowhere", "--k8ssec-kubeconfig=kubeconfig", "--k8s-request-timeout=2"]


def test_every_target_fixture_works_with_two_targets(pytester: pytest.Pytester, two_targets: list[str]) -> None:
    pytester.makepyfile(
        """
        def test_target(k8s_target): assert k8s_target.name in ("manifests", "nowhere")
        def test_inventory(k8s_inventory, k8s_target):
            assert k8s_inventory is k8s_target.inventory
            if k8s_target.name == "manifests":
                assert [o.name for o in k8s_inventory] == ["web"]
        def test_inventory_alone(k8s_inventory): assert k8s_inventory is not None
        def test_workloads(k8s_workloads): assert [w.name for w in k8s_workloads] == ["web"]
        def test_workload(k8s_workload): assert k8s_workload.name == "web"
        def test_pods(k8s_pods): assert [p.name for p in k8s_pods] == ["web"]
        def test_rbac(k8s_rbac): assert k8s_rbac is not None
        def test_network(k8s_network): assert k8s_network is not None
        def test_cluster(k8s_cluster): assert k8s_cluster.context == "nowhere"
        def test_namespace(k8s_namespace): pass
        def test_pod_host(k8s_pod_host): pass
        """
    )
    result = pytester.runpytest(*two_targets, "-p", "no:cacheprovider", "-v", "-rA")
    out = result.stdout.str()
    assert "uses no argument" not in out and "ERROR collecting" not in out, out
    # Every test runs once per target: the manifests' cases pass (or skip where a cluster is
    # needed), the unreachable context's cases fail with the cause.
    for name in ("target", "inventory", "inventory_alone", "workloads", "workload", "pods", "rbac", "network"):
        assert f"test_{name}[manifests" in out, name
        assert f"test_{name}[nowhere" in out, name
    result.stdout.fnmatch_lines_random(
        [
            "PASSED test_*.py::test_inventory[[]manifests[]]",
            "PASSED test_*.py::test_inventory_alone[[]manifests[]]",
            "PASSED test_*.py::test_inventory_alone[[]nowhere[]]",
            "PASSED test_*.py::test_workloads[[]manifests[]]",
            "PASSED test_*.py::test_workload[[]manifests:Pod/shop/web[]]",
            "PASSED test_*.py::test_rbac[[]manifests[]]",
            "PASSED test_*.py::test_network[[]manifests[]]",
            "PASSED test_*.py::test_cluster[[]nowhere[]]",
            "*::test_cluster[[]manifests[]] SKIPPED*",
            "*::test_namespace[[]manifests[]] SKIPPED*",
            "*::test_pod_host[[]manifests[]] SKIPPED*",
            "ERROR test_*.py::test_workloads[[]nowhere[]]*",
            "ERROR test_*.py::test_namespace[[]nowhere[]]*",
        ]
    )
    assert "INTERNALERROR" not in out
    assert out.count("target 'manifests' is not a cluster") == 3
    assert "context 'nowhere': cannot reach https://127.0.0.1:1" in out
