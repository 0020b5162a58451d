"""k8s_network on a live target: Pods, Namespaces and NetworkPolicies listed from the real API server.

The local control plane has no nodes, so pods stay Pending without an IP: the model then knows
their labels and ports but not their addresses, and a verdict an ipBlock could change is
"uncertain" (assertions that something is denied fail on it) instead of a guess.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from pytest_k8ssec.sources.cluster import ClusterSource

OWNER = {"app.kubernetes.io/managed-by": "pytest-k8ssec-tests"}


def _pod(name: str, labels: dict[str, str], port: int, port_name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
        "spec": {"automountServiceAccountToken": False,
                 "containers": [{"name": "c", "image": "registry.example.com/app:1", "ports": [{"containerPort": port, "name": port_name}]}]},
    }  # fmt: skip


def _policy(name: str, spec: dict[str, object]) -> dict[str, object]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name}, "spec": spec}


@pytest.fixture
def network_namespace(admin: ClusterSource) -> Iterator[str]:
    """Pods web and db, a Deployment api with a pod it controls, and policies:
    default deny both ways, web -> db on 5432, api -> anywhere on 6000, and db ingress from
    10.0.0.0/8 on 6000."""
    ns = f"k8ssec-net-{secrets.token_hex(3)}"
    admin.create_namespace(ns, OWNER)
    try:
        admin.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}, ns)
        admin.apply(_pod("web", {"app": "web"}, 8080, "http"), ns)
        admin.apply(_pod("db", {"app": "db"}, 5432, "pg"), ns)
        deployment = admin.apply({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}},
                     "template": {"metadata": {"labels": {"app": "api"}}, "spec": _pod("x", {}, 9000, "grpc")["spec"]}},
        }, ns)  # fmt: skip
        # The local control plane runs no deployment controller: its pod is made here, owned as a
        # controller would own it (the garbage collector keeps it while the Deployment exists).
        owned = _pod("api-1", {"app": "api"}, 9000, "grpc")
        owned["metadata"]["ownerReferences"] = [{  # type: ignore[index]
            "apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "uid": deployment["metadata"]["uid"], "controller": True,
        }]  # fmt: skip
        admin.apply(owned, ns)
        admin.apply(_policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}), ns)
        admin.apply(_policy("web-to-db", {
            "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}], "ports": [{"port": 5432}]}],
        }), ns)  # fmt: skip
        admin.apply(_policy("api-out", {
            "podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 6000}]}],
        }), ns)  # fmt: skip
        admin.apply(_policy("db-from-web", {
            "podSelector": {"matchLabels": {"app": "db"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": "pg"}]},
                        {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 6000}]}],
        }), ns)  # fmt: skip
        yield ns
    finally:
        admin.delete_namespace(ns, OWNER)


TESTS = """
from pytest_k8ssec.asserts.network import (
    assert_default_deny, assert_isolated, assert_not_reachable, assert_reachable, assert_network_policies_effective,
)

NS = {ns!r}

def test_model_is_built_from_live_pods(k8s_network):
    refs = sorted(p.ref for p in k8s_network.pods)
    print("LIVE PODS", refs, [p.ips for p in k8s_network.pods])
    assert refs == [f"Pod/{{NS}}/api-1", f"Pod/{{NS}}/db", f"Pod/{{NS}}/web"]
    assert all(not p.ips for p in k8s_network.pods), "no nodes: pods are Pending without an IP"
    assert {{p.ref for p in k8s_network.policies}} == {{f"{{NS}}/{{n}}" for n in ("default-deny", "web-to-db", "api-out", "db-from-web")}}

def test_default_deny(k8s_network):
    assert_default_deny(k8s_network, NS, direction="both")

def test_web_reaches_db_only_on_postgres(k8s_network):
    assert_reachable(k8s_network, f"Pod/{{NS}}/web", f"Pod/{{NS}}/db", 5432)
    assert_reachable(k8s_network, f"Pod/{{NS}}/web", f"Pod/{{NS}}/db", "pg")
    assert_not_reachable(k8s_network, f"Pod/{{NS}}/db", f"Pod/{{NS}}/web")
    assert_not_reachable(k8s_network, "internet", f"Pod/{{NS}}/web")

def test_deployment_stands_for_its_pods(k8s_network):
    pods = k8s_network.resolve(f"Deployment/{{NS}}/api")
    assert len(pods) == 1 and pods[0].owners[-1] == f"Deployment/{{NS}}/api"
    assert_isolated(k8s_network, f"Deployment/{{NS}}/api", direction="both")
    assert_not_reachable(k8s_network, f"Deployment/{{NS}}/api", f"Pod/{{NS}}/db", 5432)

def test_policies_effective(k8s_network):
    assert_network_policies_effective(k8s_network)

def test_certain_denials_stay_certain_without_pod_ips(k8s_network):
    # web -> db on 6000: web's egress allows only 5432, so it is denied whatever web's IP is,
    # although db's ingress from 10.0.0.0/8 on 6000 hangs on that IP.
    verdict = k8s_network.reachable(f"Pod/{{NS}}/web", f"Pod/{{NS}}/db", 6000)
    assert not verdict.allowed and not verdict.uncertain and verdict.ingress.uncertain
    assert_not_reachable(k8s_network, f"Pod/{{NS}}/web", f"Pod/{{NS}}/db", 6000)

def test_uncertain_fails_closed(k8s_network):
    # api may send to anything on 6000; db admits 10.0.0.0/8 on 6000; api's IP is unknown.
    assert_not_reachable(k8s_network, f"Deployment/{{NS}}/api", f"Pod/{{NS}}/db", 6000)

def test_ipblock_admits_addresses(k8s_network):
    assert_not_reachable(k8s_network, "10.1.2.3", f"Pod/{{NS}}/db", 6000)
"""


def test_network_model_on_live_objects(pytester: pytest.Pytester, network_namespace: str, live_args: list[str]) -> None:
    pytester.makepyfile(test_live_network=TESTS.format(ns=network_namespace))
    report = pytester.path / "net.html"
    result = pytester.runpytest(
        *live_args,
        "--k8s-context",
        "admin",
        "--k8s-namespace",
        network_namespace,
        "--k8s-network-report",
        str(report),
        "-s",
        "-rA",
    )
    result.assert_outcomes(passed=6, failed=2)
    out = result.stdout.str()
    assert (
        f"network: Pod {network_namespace}/api-1 -> Pod {network_namespace}/db on TCP/6000 is not provably denied (uncertain)"
        in out
    )
    assert (
        f"uncertain: {network_namespace}/db-from-web ingress[1]: ipBlock 10.0.0.0/8 would apply if the IP of Pod {network_namespace}/api-1 were in range"
        in out
    )
    assert f"network: 10.1.2.3/32 -> Pod {network_namespace}/db on TCP/6000 is allowed" in out
    assert f"allowed by {network_namespace}/db-from-web ingress[1] (from ipBlock 10.0.0.0/8 on TCP 6000)" in out
    assert f"{network_namespace}/db-from-web (cluster admin)" in out, "policies carry the live provenance"
    page = report.read_text(encoding="utf-8")
    assert f"Pod/{network_namespace}/web" in page and "TCP 5432 (pg)" in page
