"""NetworkPolicy semantics, one named case per rule of networking.k8s.io/v1."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from pytest_k8ssec.model.netpol import (
    INTERNET,
    Cidr,
    ContainerPort,
    Namespace,
    NetworkModel,
    NetworkPolicy,
    NetworkPolicyError,
    Pod,
    PortClass,
    port_classes,
)
from pytest_k8ssec.model.netpol.endpoints import pod_from_object
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.sources.manifests import load_text
from tests.builders import network_policy

WEB = (ContainerPort(8080, "TCP", "http"), ContainerPort(53, "UDP", "dns"), ContainerPort(9000, "SCTP", "sig"))


# The policies of this file live in namespace "a" unless a test says otherwise.
policy = partial(network_policy, namespace="a")


def pod(ns: str, name: str, ip: str | None = None, ports: tuple[ContainerPort, ...] = WEB, **labels: str) -> Pod:
    return Pod(ns, name, labels or {"app": name}, (ip,) if ip else (), ports)


CLIENT = pod("a", "client", "10.0.0.1")
SERVER = pod("a", "server", "10.0.0.2")
OTHER = pod("b", "other", "10.0.1.1")


def model(
    *policies: dict[str, Any], pods: tuple[Pod, ...] = (CLIENT, SERVER, OTHER), namespaces: Any = ()
) -> NetworkModel:
    return NetworkModel(pods, policies, namespaces)


def test_no_policy_allows_everything() -> None:
    verdict = model().reachable(CLIENT, SERVER, 8080)
    assert verdict and not verdict.egress.isolated_by and not verdict.ingress.isolated_by


def test_ingress_isolation_and_explanation() -> None:
    m = model(policy("deny", {"podSelector": {"matchLabels": {"app": "server"}}, "policyTypes": ["Ingress"]}))
    verdict = m.reachable(CLIENT, SERVER, 8080)
    assert not verdict
    assert "isolated by a/deny" in verdict.explain() and "has no ingress rules" in verdict.explain()
    assert m.reachable(SERVER, CLIENT, 8080), "isolation is per pod and per direction"


def test_policy_types_default_ingress_only_when_no_egress_rules() -> None:
    m = model(policy("p", {"podSelector": {}, "egress": []}))
    parsed = m.policies[0]
    assert parsed.policy_types == frozenset({"Ingress"}), "egress: [] does not add Egress (len(spec.Egress) == 0)"
    assert m.reachable(CLIENT, OTHER, 8080), "egress not isolated"
    assert not m.reachable(OTHER, CLIENT, 8080), "ingress isolated with no rules"


def test_policy_types_default_adds_egress_with_egress_rules() -> None:
    m = model(policy("p", {"podSelector": {}, "egress": [{"to": [{"podSelector": {}}]}]}))
    assert m.policies[0].policy_types == frozenset({"Ingress", "Egress"})
    assert not m.reachable(CLIENT, OTHER, 8080), "egress only to pods of namespace a"
    assert not m.reachable(CLIENT, SERVER, 8080), "ingress of a is isolated too (Ingress implied)"


def test_empty_and_absent_ingress_list_both_deny() -> None:
    absent = model(policy("p", {"podSelector": {}, "policyTypes": ["Ingress"]}))
    empty = model(policy("p", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": []}))
    allow_all = model(policy("p", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}))
    assert not absent.reachable(OTHER, SERVER, 8080)
    assert not empty.reachable(OTHER, SERVER, 8080)
    assert allow_all.reachable(OTHER, SERVER, 8080) and allow_all.reachable(INTERNET, SERVER, 1)


def test_policies_are_additive() -> None:
    deny = policy("deny", {"podSelector": {}, "policyTypes": ["Ingress"]})
    allow = policy(
        "allow",
        {
            "podSelector": {"matchLabels": {"app": "server"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}],
        },
    )
    verdict = model(deny, allow).reachable(CLIENT, SERVER, 8080)
    assert verdict and verdict.ingress.isolated_by == ("a/deny", "a/allow")
    assert [m.policy for m in verdict.ingress.allowed_by] == ["a/allow"]


def test_connection_needs_egress_and_ingress() -> None:
    egress_deny = policy("e", {"podSelector": {}, "policyTypes": ["Egress"]})
    verdict = model(egress_deny).reachable(CLIENT, SERVER, 8080)
    assert not verdict and verdict.ingress.allowed and not verdict.egress.allowed


def test_pod_selector_peer_is_namespace_local() -> None:
    m = model(policy("p", {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}))
    assert m.reachable(CLIENT, SERVER, 8080)
    assert not m.reachable(OTHER, SERVER, 8080)


def test_namespace_and_pod_selector_in_one_peer_is_and_separate_peers_or() -> None:
    prod = Namespace("b", {"env": "prod"})
    stray = pod("c", "other", "10.0.2.1")
    both = policy(
        "and",
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {"env": "prod"}},
                            "podSelector": {"matchLabels": {"app": "client"}},
                        }
                    ]
                }
            ],
        },
    )
    either = policy(
        "or",
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {"env": "prod"}}},
                        {"podSelector": {"matchLabels": {"app": "client"}}},
                    ]
                }
            ],
        },
    )
    m_and = model(both, pods=(CLIENT, SERVER, OTHER, stray), namespaces=[prod])
    m_or = model(either, pods=(CLIENT, SERVER, OTHER, stray), namespaces=[prod])
    assert not m_and.reachable(OTHER, SERVER, 8080), "namespace matches, pod label does not"
    assert m_or.reachable(OTHER, SERVER, 8080) and m_or.reachable(CLIENT, SERVER, 8080)
    assert not m_or.reachable(stray, SERVER, 8080)


@pytest.mark.parametrize(
    ("expression", "allowed"),
    [
        ({"key": "tier", "operator": "In", "values": ["web", "api"]}, {"web"}),
        ({"key": "tier", "operator": "NotIn", "values": ["web"]}, {"db", "none"}),
        ({"key": "tier", "operator": "Exists"}, {"web", "db"}),
        ({"key": "tier", "operator": "DoesNotExist"}, {"none"}),
    ],
)
def test_match_expressions_operators(expression: dict[str, Any], allowed: set[str]) -> None:
    pods = (pod("a", "web", tier="web"), pod("a", "db", tier="db"), pod("a", "none", app="none"), SERVER)
    m = model(
        policy(
            "p",
            {
                "podSelector": {"matchLabels": {"app": "server"}},
                "ingress": [{"from": [{"podSelector": {"matchExpressions": [expression]}}]}],
            },
        ),
        pods=pods,
    )
    got = {p.name for p in pods[:3] if m.reachable(p, SERVER, 8080)}
    assert got == allowed
    matrix = m.matrix(pods[:3], [SERVER], 8080)
    assert {p.name for p in pods[:3] if matrix.allowed(p, SERVER)} == allowed


def test_namespace_default_label() -> None:
    # Namespace b is only referenced by a pod: it still carries kubernetes.io/metadata.name=b.
    m = model(
        policy(
            "p",
            {
                "podSelector": {},
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "b"}}}]}],
            },
        )
    )
    assert m.namespace_labels("b") == {"kubernetes.io/metadata.name": "b"}
    assert m.reachable(OTHER, SERVER, 8080) and not m.reachable(CLIENT, SERVER, 8080)
    assert Namespace("b", {"kubernetes.io/metadata.name": "forged"}).labels["kubernetes.io/metadata.name"] == "b"


def test_ipblock_except_ipv4_matches_pod_ips_and_external() -> None:
    m = model(
        policy(
            "p",
            {
                "podSelector": {},
                "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.1.0/24"]}}]}],
            },
        )
    )
    assert m.reachable(CLIENT, SERVER, 8080), "pod IPs match ipBlocks"
    assert not m.reachable(OTHER, SERVER, 8080), "10.0.1.1 is in the except"
    assert m.reachable(Cidr("10.0.5.7"), SERVER, 8080)
    assert not m.reachable(Cidr("10.0.1.0/25"), SERVER, 8080), "wholly inside the except"
    assert m.reachable(Cidr("10.0.0.0/8"), SERVER, 8080), "some address of the range is allowed"
    assert not m.reachable(Cidr("192.168.0.0/16"), SERVER, 8080)


def test_ipblock_except_ipv6() -> None:
    v6 = pod("a", "v6", "fd00::1:5")
    blocked = pod("a", "v6b", "fd00::ff:5")
    m = model(
        policy(
            "p",
            {
                "podSelector": {"matchLabels": {"app": "server"}},
                "ingress": [{"from": [{"ipBlock": {"cidr": "fd00::/64", "except": ["fd00::ff:0/112"]}}]}],
            },
        ),
        pods=(v6, blocked, SERVER),
    )
    assert m.reachable(v6, SERVER, 8080)
    assert not m.reachable(blocked, SERVER, 8080)
    assert m.reachable(Cidr("::/0"), SERVER, 8080), "some address of ::/0 is in fd00::/64"
    assert not m.reachable(INTERNET, SERVER, 8080), "IPv4 never matches an IPv6 block"


def test_ipblock_unknown_pod_ip_is_uncertain() -> None:
    no_ip = pod("b", "noip")
    m = model(
        policy("p", {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}),
        pods=(no_ip, SERVER),
    )
    verdict = m.reachable(no_ip, SERVER, 8080)
    assert not verdict and verdict.uncertain and "uncertain" in verdict.explain()


def test_end_port_range() -> None:
    m = model(policy("p", {"podSelector": {}, "ingress": [{"ports": [{"port": 32000, "endPort": 32768}]}]}))
    assert m.reachable(OTHER, SERVER, 32000) and m.reachable(OTHER, SERVER, 32768)
    assert not m.reachable(OTHER, SERVER, 32769) and not m.reachable(OTHER, SERVER, 31999)
    assert not m.reachable(OTHER, SERVER, 32100, "UDP"), "protocol defaults to TCP"


def test_sctp_and_udp_protocols() -> None:
    m = model(
        policy(
            "p",
            {
                "podSelector": {},
                "ingress": [{"ports": [{"port": 9000, "protocol": "SCTP"}, {"port": 53, "protocol": "UDP"}]}],
            },
        )
    )
    assert m.reachable(OTHER, SERVER, 9000, "SCTP") and m.reachable(OTHER, SERVER, 53, "UDP")
    assert not m.reachable(OTHER, SERVER, 9000, "TCP") and not m.reachable(OTHER, SERVER, 53)


def test_named_port_on_ingress_resolves_on_destination() -> None:
    m = model(policy("p", {"podSelector": {}, "ingress": [{"ports": [{"port": "http"}]}]}))
    assert m.reachable(OTHER, SERVER, 8080) and m.reachable(OTHER, SERVER, "http")
    assert not m.reachable(OTHER, SERVER, 8081)


def test_named_port_on_egress_resolves_on_destination_pod() -> None:
    alt = Pod("b", "alt", {"app": "alt"}, ("10.0.1.9",), (ContainerPort(9090, "TCP", "http"),))
    m = model(
        policy(
            "p",
            {
                "podSelector": {"matchLabels": {"app": "client"}},
                "policyTypes": ["Egress"],
                "egress": [{"ports": [{"port": "http"}]}],
            },
        ),
        pods=(CLIENT, SERVER, alt),
    )
    assert m.reachable(CLIENT, SERVER, 8080) and not m.reachable(CLIENT, SERVER, 9090)
    assert m.reachable(CLIENT, alt, 9090) and not m.reachable(CLIENT, alt, 8080), "the destination's 'http' decides"
    assert not m.reachable(CLIENT, Cidr("8.8.8.8"), 8080), "an external destination has no named ports"
    matrix = m.matrix([CLIENT], [SERVER, alt], port="http")
    assert matrix.allowed(CLIENT, SERVER) and matrix.allowed(CLIENT, alt)


def test_named_port_protocol_must_match() -> None:
    m = model(policy("p", {"podSelector": {}, "ingress": [{"ports": [{"port": "dns", "protocol": "TCP"}]}]}))
    assert not m.reachable(OTHER, SERVER, 53, "UDP") and not m.reachable(OTHER, SERVER, 53, "TCP")


def test_rule_without_peers_allows_outside_the_cluster() -> None:
    m = model(policy("p", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 443}]}]}))
    assert m.reachable(CLIENT, INTERNET, 443) and not m.reachable(CLIENT, INTERNET, 80)
    assert m.reachable(CLIENT, "internet", 443)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0/8"}}]}]},
            "spec.ingress[0].from[0].ipBlock.cidr: invalid CIDR '10.0.0/8'",
        ),
        ({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}}]}]}, "strict subset"),
        (
            {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]},
            "may not specify both ipBlock",
        ),
        ({"ingress": [{"from": [{}]}]}, "must specify a peer"),
        ({"ingress": [{"ports": [{"port": 80, "protocol": "ICMP"}]}]}, "unsupported protocol 'ICMP'"),
        ({"ingress": [{"ports": [{"port": 80, "endPort": 79}]}]}, "greater than or equal"),
        ({"ingress": [{"ports": [{"port": "http", "endPort": 90}]}]}, "non-numeric"),
        ({"ingress": [{"ports": [{"port": 70000}]}]}, "not a valid port number"),
        (
            {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["b"]}]}},
            "unsupported operator",
        ),
        (
            {"podSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
            "must be specified when operator is In",
        ),
        ({"policyTypes": ["Ingres"]}, "unsupported value 'Ingres'"),
    ],
)
def test_invalid_policy_fails_closed_naming_the_policy(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(NetworkPolicyError) as info:
        NetworkPolicy.parse(policy("broken", {"podSelector": {}, **spec}))
    assert "NetworkPolicy a/broken" in str(info.value) and message in str(info.value)


def test_from_objects_manifests_use_workload_templates() -> None:
    objs = load_text(
        """
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: web}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: x, ports: [{containerPort: 8080, name: http}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db}
spec:
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: c, image: x, ports: [{containerPort: 5432, name: pg}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: default}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: web}}, podSelector: {matchLabels: {app: web}}}]
    ports: [{port: pg}]
"""
    )
    m = NetworkModel.from_objects(objs)
    assert sorted(p.ref for p in m.pods) == ["Deployment/default/db", "Deployment/shop/web"]
    assert m.reachable("Deployment/shop/web", "Deployment/default/db", 5432)
    assert not m.reachable("Deployment/default/db", "Deployment/default/db", 5432)
    assert not m.reachable("internet", "Deployment/default/db", 5432)
    assert m.resolve("shop") == (m.endpoint("Deployment/shop/web"),)


def test_from_live_pod_reads_ips_and_ports() -> None:
    raw = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "n", "labels": {"app": "p"}},
        "spec": {
            "initContainers": [
                {"name": "side", "restartPolicy": "Always", "ports": [{"containerPort": 9, "name": "side"}]},
                {"name": "init", "ports": [{"containerPort": 7}]},
            ],
            "containers": [{"name": "c", "ports": [{"containerPort": 53, "protocol": "UDP", "name": "dns"}]}],
        },
        "status": {"podIP": "10.1.1.1", "podIPs": [{"ip": "10.1.1.1"}, {"ip": "fd00::1"}]},
    }
    endpoint = pod_from_object(K8sObject(raw, Provenance("cluster")))
    assert endpoint.ips == ("10.1.1.1", "fd00::1") and endpoint.labels == {"app": "p"}
    assert set(endpoint.ports) == {ContainerPort(53, "UDP", "dns"), ContainerPort(9, "TCP", "side")}
    assert NetworkModel.from_objects([K8sObject(raw, Provenance("cluster"))]).pods == (endpoint,)


def test_matrix_agrees_with_reachable() -> None:
    pods = (CLIENT, SERVER, OTHER, pod("b", "noip"), pod("a", "client2", "10.0.0.9", app="client"))
    policies = (
        policy("deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        policy(
            "c",
            {
                "podSelector": {"matchLabels": {"app": "client"}},
                "egress": [
                    {
                        "to": [
                            {"podSelector": {"matchLabels": {"app": "server"}}},
                            {"ipBlock": {"cidr": "10.0.1.0/24"}},
                        ],
                        "ports": [{"port": "http"}],
                    }
                ],
            },
        ),
        policy(
            "s",
            {
                "podSelector": {"matchLabels": {"app": "server"}},
                "ingress": [
                    {
                        "from": [
                            {
                                "podSelector": {
                                    "matchExpressions": [{"key": "app", "operator": "In", "values": ["client"]}]
                                }
                            }
                        ]
                    }
                ],
            },
        ),
    )
    m = NetworkModel(pods, policies)
    endpoints = [*pods, INTERNET, Cidr("10.0.1.0/24")]
    for port in (8080, 53):
        matrix = m.matrix(endpoints, endpoints, port)
        for src, dst, allowed in matrix:
            assert allowed == bool(m.reachable(src, dst, port)), (src, dst, port)
    assert m.matrix(port=8080).allowed(CLIENT, SERVER) and "X" in m.matrix(port=8080).table()


def test_unknown_endpoint_and_empty_selection_fail() -> None:
    m = model()
    with pytest.raises(NetworkPolicyError, match="no endpoint"):
        m.reachable("Deployment/a/missing", SERVER, 80)
    with pytest.raises(NetworkPolicyError, match="no endpoint in namespace"):
        m.resolve("nowhere")
    with pytest.raises(NetworkPolicyError, match="no container port named"):
        m.reachable(CLIENT, SERVER, "grpc")


# --- port classes ----------------------------------------------------------------------------


def _spans(classes: tuple[PortClass, ...], protocol: str) -> list[tuple[int, int]]:
    return [(c.first, c.last) for c in classes if c.protocol == protocol]


def test_port_classes_for_a_destination_cut_only_where_its_rules_can_change_the_verdict() -> None:
    rules = policy("p", {"podSelector": {}, "ingress": [{"ports": [{"port": 100, "endPort": 200}, {"port": "http"}]}]})
    model = NetworkModel([CLIENT, SERVER], [rules])
    classes = port_classes(model, SERVER)
    # The named port resolves on the destination (http = 8080); container ports no rule names do not cut.
    assert _spans(classes, "TCP") == [(1, 99), (100, 200), (201, 8079), (8080, 8080), (8081, 65535)]
    assert _spans(classes, "UDP") == _spans(classes, "SCTP") == [(1, 65535)]
    # Outside the cluster a name means nothing: only the numbers cut.
    assert _spans(port_classes(model, INTERNET), "TCP") == [(1, 99), (100, 200), (201, 65535)]


def test_port_classes_of_the_whole_model_give_every_container_port_its_own_class() -> None:
    rules = policy("p", {"podSelector": {}, "ingress": [{"ports": [{"port": 8000, "endPort": 8100}]}]})
    model = NetworkModel([CLIENT, SERVER], [rules])
    tcp = [c for c in port_classes(model) if c.protocol == "TCP"]
    assert [(c.first, c.last, c.names, c.listed, c.covered) for c in tcp] == [
        (1, 7999, (), False, False),
        (8000, 8079, ("rule range 8000-8100",), True, True),
        (8080, 8080, ("http",), True, True),
        # Inside the range after the container port: covered, but nothing starts there.
        (8081, 8100, (), False, True),
        (8101, 65535, (), False, False),
    ]
    udp = [(c.first, c.last, c.names, c.listed) for c in port_classes(model) if c.protocol == "UDP"]
    assert udp == [(1, 52, (), False), (53, 53, ("dns",), True), (54, 65535, (), False)]


def test_isolating_is_computed_once_per_pod_and_direction(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_k8ssec.model.netpol import selectors

    m = model(policy("isolate-server", {"podSelector": {"matchLabels": {"app": "server"}}, "policyTypes": ["Ingress"]}))
    asked: list[object] = []
    real = selectors.Selector.matches

    def counted(self: selectors.Selector, labels: Any) -> bool:
        asked.append(labels)
        return real(self, labels)

    monkeypatch.setattr(selectors.Selector, "matches", counted)
    first = m.isolating(SERVER, "Ingress")
    assert [p.name for p in first] == ["isolate-server"]
    once = len(asked)
    assert m.isolating(SERVER, "Ingress") is first
    assert m.reachable(CLIENT, SERVER, 8080).ingress.allowed is False
    assert m.isolating(CLIENT, "Ingress") == ()
    # The server was never matched again (reachable's ingress side included); the client once.
    assert asked[once:] == [CLIENT.labels]
