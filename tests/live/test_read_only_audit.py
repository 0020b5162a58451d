"""Read-only, proven by the API server's own audit log (issue 11 item 7).

A control plane with the audit log on (``LocalControlPlane.start(audit_log=...)``); the suite runs
as ``bob``, whom a ClusterRoleBinding makes cluster-admin, so nothing but the plugin's own
behaviour keeps it from writing. The suite uses every fixture that talks to a cluster (inventory,
workloads, rbac, network, cluster.can_i, k8s_namespace, an admission dry-run), and the apply mode
(``--k8s-local-control-plane --k8s-manifests``) writes what it applies. Then every write verb in
the log by the run's user must be one of: a namespace the run created (its run-id label is in the
logged request) or a write inside one, a server-side dry-run, an access review (a query the API
serves with ``create`` and never stores), or, in apply mode only, a server-side apply of the
manifests (field manager ``pytest-k8ssec``). The counts are printed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from pytest_k8ssec.errors import ClusterError
from pytest_k8ssec.sources.cluster import ClusterSource
from pytest_k8ssec.sources.cluster_options import ClusterOptions
from pytest_k8ssec.sources.local_control_plane import Binaries, LocalControlPlane

WRITES = frozenset({"create", "update", "patch", "delete", "deletecollection"})
REVIEWS = frozenset(
    {
        "selfsubjectaccessreviews",
        "selfsubjectrulesreviews",
        "selfsubjectreviews",
        "subjectaccessreviews",
        "localsubjectaccessreviews",
        "tokenreviews",
    }
)
RUN_ID = "k8ssec.io/run-id"

SETUP = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "registry.example.com/web:1.0", "ports": [{"containerPort": 8080}]}
                    ]
                },
            },
        },
    },
    {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny", "namespace": "shop"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "reader", "namespace": "shop"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "bob-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}],
    },
]

SUITE = """
from pytest_k8ssec.asserts.admission import assert_admission_allows


def test_inventory(k8s_inventory):
    assert any(o.kind == "Deployment" for o in k8s_inventory.objects)


def test_workload(k8s_workload):
    assert k8s_workload.name


def test_rbac(k8s_rbac):
    assert k8s_rbac.can("bob", "delete", "secrets", namespace="shop")


def test_network(k8s_network):
    assert k8s_network.policies  # no kubelet here: no pods, but the policies are read


def test_can_i(k8s_cluster):
    assert k8s_cluster.can_i("create", "pods", namespace="shop")


def test_namespace_and_dry_run(k8s_namespace):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"},
           "spec": {"containers": [{"name": "c", "image": "registry.example.com/web:1.0"}]}}
    assert_admission_allows(k8s_namespace, pod)
    # The test's own write, in the namespace the run created for it.
    k8s_namespace.cluster.source.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "scratch"}, "data": {"k": "v"}}, k8s_namespace.name
    )
"""

APPLIED = """\
apiVersion: v1
kind: Namespace
metadata: {name: applied}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: applied}
data: {mode: fast}
"""


def _events(path: Path) -> Iterator[dict]:
    for line in path.read_text().splitlines():
        event = json.loads(line)
        if event.get("stage") == "ResponseComplete":
            yield event


def classify_writes(path: Path, user: str, *, apply_mode: bool = False) -> Counter[str]:
    """Every write verb by ``user`` in the log, by why it is allowed; ``outside`` for the rest."""
    run_namespaces = set()
    counts: Counter[str] = Counter()
    events = list(_events(path))
    for event in events:
        ref = event.get("objectRef") or {}
        labels = ((event.get("requestObject") or {}).get("metadata") or {}).get("labels") or {}
        if (
            event["user"]["username"] == user
            and event["verb"] == "create"
            and ref.get("resource") == "namespaces"
            and RUN_ID in labels
            and event["responseStatus"]["code"] < 300
        ):
            run_namespaces.add((event.get("requestObject") or {}).get("metadata", {}).get("name"))
    for event in events:
        if event["user"]["username"] != user or event["verb"] not in WRITES:
            continue
        ref = event.get("objectRef") or {}
        query = parse_qs(urlsplit(event["requestURI"]).query)
        if "All" in query.get("dryRun", []):
            counts["server-side dry-run"] += 1
        elif ref.get("resource") in REVIEWS:
            counts["access review (not stored)"] += 1
        elif ref.get("namespace") in run_namespaces or (
            ref.get("resource") == "namespaces" and ref.get("name") in run_namespaces
        ):
            counts["in a namespace the run created"] += 1
        elif apply_mode and event["verb"] == "patch" and query.get("fieldManager") == ["pytest-k8ssec"]:
            counts["apply mode (server-side apply of the manifests)"] += 1
        else:
            counts[f"outside: {event['verb']} {event['requestURI']}"] += 1
    return counts


@pytest.fixture(scope="module")
def audited(binaries: Binaries, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalControlPlane]:
    log = tmp_path_factory.mktemp("audit") / "audit.log"
    with LocalControlPlane.start(binaries, audit_log=log) as plane:
        admin = ClusterSource.from_kubeconfig("admin", ClusterOptions(kubeconfig=str(plane.kubeconfig)))
        for obj in SETUP:
            admin.apply(obj)
        yield plane


def test_a_live_run_writes_only_where_it_may(audited: LocalControlPlane, pytester: pytest.Pytester) -> None:
    assert audited.audit_log is not None
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess(
        f"--k8ssec-kubeconfig={audited.kubeconfig}", "--k8s-context", "bob", "-p", "no:cacheprovider", "-v"
    )
    result.assert_outcomes(passed=6)
    counts = classify_writes(audited.audit_log, "bob")
    print(f"writes by bob in the audit log: {dict(counts)}")
    outside = [what for what in counts if what.startswith("outside")]
    assert outside == []
    # Not vacuous: the log saw the run create its namespace, write in it, dry-run and review access.
    assert counts["in a namespace the run created"] >= 3, counts  # create ns, the ConfigMap, delete ns
    assert counts["server-side dry-run"] >= 1 and counts["access review (not stored)"] >= 1, counts
    reads = sum(
        1 for e in _events(audited.audit_log) if e["user"]["username"] == "bob" and e["verb"] in ("get", "list")
    )
    print(f"reads by bob: {reads}")
    assert reads >= 5


def test_the_classifier_catches_a_write_outside(audited: LocalControlPlane) -> None:
    # The control: alice (no rights; another user, so the run above is not disturbed) tries a write
    # in a namespace no run created; the same reading flags the attempt.
    assert audited.audit_log is not None
    alice = ClusterSource.from_kubeconfig("alice", ClusterOptions(kubeconfig=str(audited.kubeconfig)))
    with pytest.raises(ClusterError, match="HTTP 403"):
        alice.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "stray", "namespace": "shop"},
                "data": {"k": "v"},
            }
        )
    outside = [what for what in classify_writes(audited.audit_log, "alice") if what.startswith("outside")]
    assert outside == ["outside: patch /api/v1/namespaces/shop/configmaps/stray?fieldManager=pytest-k8ssec&force=true"]


def test_apply_mode_writes_only_the_manifests(
    binaries: Binaries, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("K8SSEC_CONTROL_PLANE_BIN", str(Path(binaries.apiserver[0])))
    (pytester.mkdir("deploy") / "app.yaml").write_text(APPLIED)
    pytester.makepyfile(test_suite="def test_inventory(k8s_inventory):\n    assert len(k8s_inventory.objects) == 2\n")
    log = pytester.path / "audit" / "apply.log"
    result = pytester.runpytest_subprocess(
        "--k8s-local-control-plane", "--k8s-manifests=deploy", f"--k8s-local-audit-log={log}", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
    counts = classify_writes(log, LocalControlPlane.ADMIN, apply_mode=True)
    print(f"writes by the apply-mode user in the audit log: {dict(counts)}")
    assert [what for what in counts if what.startswith("outside")] == []
    assert counts["apply mode (server-side apply of the manifests)"] == 2, counts
