"""Network assertion helpers on models built from manifests: verdicts, messages, fail-closed cases."""

from __future__ import annotations

import pytest

from pytest_k8ssec.asserts.network import (
    PUBLIC_INTERNET,
    assert_default_deny,
    assert_egress_restricted,
    assert_isolated,
    assert_network_policies_effective,
    assert_no_ingress_from,
    assert_not_reachable,
    assert_reachable,
    port_classes,
)
from pytest_k8ssec.errors import SecurityAssertionError
from pytest_k8ssec.model.netpol import Cidr, ContainerPort, NetworkModel, NetworkPolicyError, Pod
from pytest_k8ssec.sources.manifests import load_text

SHOP = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: web}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: nginx, ports: [{containerPort: 8080, name: http}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: postgres, namespace: db}
spec:
  selector: {matchLabels: {app: postgres}}
  template:
    metadata: {labels: {app: postgres}}
    spec:
      containers: [{name: pg, image: postgres, ports: [{containerPort: 5432, name: pg}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: db}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: db}
spec:
  podSelector: {matchLabels: {app: postgres}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: web}}, podSelector: {matchLabels: {app: web}}}]
    ports: [{port: pg}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-ingress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - ports: [{port: 8080}]
"""

WEB = "Deployment/shop/web"
PG = "Deployment/db/postgres"


def shop(extra: str = "") -> NetworkModel:
    return NetworkModel.from_objects(load_text(SHOP + extra, source="deploy/shop.yaml"))


def failure(call: object, *args: object, **kwargs: object) -> SecurityAssertionError:
    with pytest.raises(SecurityAssertionError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return info.value


def test_reachable_passes_and_fails_with_explanation_and_provenance() -> None:
    net = shop()
    assert_reachable(net, WEB, PG, 5432)
    assert_reachable(net, WEB, PG, "pg")
    error = failure(assert_reachable, net, "internet", PG, 5432)
    text = str(error)
    assert text.splitlines()[0] == "network: internet (0.0.0.0/0) -> Deployment/db/postgres on TCP/5432 is denied"
    assert (
        "ingress to Deployment/db/postgres: isolated by db/default-deny, db/allow-web; DENIED: no rule allows it"
        in text
    )
    assert "db/default-deny has no ingress rules (it only isolates)" in text
    assert "db/default-deny (deploy/shop.yaml:25)" in text and "db/allow-web (deploy/shop.yaml:32)" in text
    assert "Deployment/db/postgres (deploy/shop.yaml:15)" in text
    assert {f.obj.ref for f in error.findings} == {"NetworkPolicy/db/default-deny", "NetworkPolicy/db/allow-web"}


def test_not_reachable_names_the_allowing_rule() -> None:
    net = shop()
    assert_not_reachable(net, PG, WEB, 8080)
    assert_not_reachable(net, "internet", PG)  # every port
    error = failure(assert_not_reachable, net, {"namespace": "shop"}, PG, 5432)
    text = str(error)
    assert text.splitlines()[0] == "network: Deployment/shop/web -> Deployment/db/postgres on TCP/5432 is allowed"
    assert "allowed by db/allow-web ingress[0] (from pods app=web in namespaces team=web on TCP pg)" in text
    assert [f.obj.ref for f in error.findings] == ["NetworkPolicy/db/allow-web"]


def test_not_reachable_on_any_port_lists_exact_port_ranges() -> None:
    net = shop()
    text = str(failure(assert_not_reachable, net, WEB, PG))
    assert "on TCP 5432 is allowed" in text.splitlines()[0]
    # The web workload accepts every peer on 8080 only: every other port class is denied.
    text = str(failure(assert_not_reachable, net, "internet", WEB))
    assert text.splitlines()[0] == "network: internet (0.0.0.0/0) -> Deployment/shop/web on TCP 8080 is allowed"
    classes = [(c.protocol, c.first, c.last) for c in port_classes(net, net.endpoint(PG))]
    assert ("TCP", 1, 5431) in classes and ("TCP", 5432, 5432) in classes and ("TCP", 5433, 8079) in classes
    assert ("UDP", 1, 65535) in classes and ("SCTP", 1, 65535) in classes


def test_not_reachable_fails_closed_on_uncertain_ipblock() -> None:
    extra = """
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-pod-cidr, namespace: db}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]
"""
    net = shop(extra)
    text = str(failure(assert_not_reachable, net, WEB, PG, 80))
    assert "is not provably denied (uncertain)" in text.splitlines()[0]
    assert (
        "uncertain: db/from-pod-cidr ingress[0]: ipBlock 10.0.0.0/8 would apply if the IP of Deployment/shop/web were in range"
        in text
    )


def test_several_pairs_are_all_checked() -> None:
    pods = (Pod("a", "x", {"app": "x"}), Pod("a", "y", {"app": "y"}), Pod("b", "z", {"app": "z"}))
    deny_b = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "d", "namespace": "b"},
        "spec": {"podSelector": {}},
    }
    net = NetworkModel(pods, [deny_b])
    assert_not_reachable(net, "a", "b", 80)
    assert_reachable(net, "a", "a", 80)
    text = str(failure(assert_reachable, net, "a", ["Pod/a/x", "Pod/b/z"], 80))
    assert text.splitlines()[0] == "network: 2 of 4 connections on TCP/80 are denied"
    assert "  - Pod a/x -> Pod b/z on TCP/80: denied" in text and "  - Pod a/y -> Pod b/z on TCP/80: denied" in text


def test_default_deny() -> None:
    net = shop()
    assert_default_deny(net, "db")
    assert_default_deny(net, "db", direction="egress")
    assert_default_deny(net, "db", direction="both")
    error = failure(assert_default_deny, net, "shop", direction="both")
    text = str(error)
    assert text.splitlines()[0] == "network-default-deny: namespace shop has no default-deny Ingress and Egress policy"
    assert "shop/web-ingress (deploy/shop.yaml:41) isolates only pods with labels app=web" in text
    assert "not isolated for Egress now: Deployment/shop/web (deploy/shop.yaml:5)" in text
    assert [f.obj.ref for f in error.findings] == ["Deployment/shop/web"]


def test_default_deny_needs_a_rule_less_empty_selector_policy() -> None:
    allow_all_dns = """
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{ports: [{port: 53, protocol: UDP}]}]
"""
    net = shop(allow_all_dns)
    assert_isolated(net, "shop", direction="egress")  # isolated, yet not a default deny
    text = str(failure(assert_default_deny, net, "shop", direction="egress"))
    assert (
        "shop/dns (deploy/shop.yaml:50) selects every pod but allows to every peer on UDP 53: not a default deny"
        in text
    )
    # policyTypes defaulted from a policy without rules is Ingress only.
    ingress_only = """
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}}
"""
    net = shop(ingress_only)
    assert_default_deny(net, "shop", direction="ingress")
    failure(assert_default_deny, net, "shop", direction="egress")


def test_default_deny_fails_closed_on_empty_namespace_and_bad_direction() -> None:
    net = shop()
    text = str(failure(assert_default_deny, net, "shpo"))
    assert "namespace 'shpo' has no pods or workloads in the model; nothing was checked" in text and "db, shop" in text
    with pytest.raises(NetworkPolicyError, match="direction must be 'ingress', 'egress' or 'both', got 'ingres'"):
        assert_default_deny(net, "db", direction="ingres")


def test_isolated() -> None:
    net = shop()
    assert_isolated(net, PG, direction="both")
    assert_isolated(net, [WEB, PG], direction="Ingress")
    error = failure(assert_isolated, net, ["shop", "db"], direction="both")
    assert str(error).splitlines()[0] == "network-isolation: 1 of 4 (endpoint, direction) pairs are not isolated"
    assert (
        "Deployment/shop/web (deploy/shop.yaml:5) (labels {app=web}): not isolated for Egress; no policy in namespace shop has policyType Egress"
        in str(error)
    )
    assert error.findings[0].path == "spec.template.metadata.labels"
    with pytest.raises(SecurityAssertionError, match="no workloads given; nothing was checked"):
        assert_isolated(net, [], direction="ingress")
    with pytest.raises(NetworkPolicyError, match="direction must be"):
        assert_isolated(net, WEB, direction="inbound")
    with pytest.raises(NetworkPolicyError, match="is an address range, not a workload"):
        assert_isolated(net, "internet", direction="ingress")
    with pytest.raises(NetworkPolicyError, match="no endpoint"):
        assert_isolated(net, "Deployment/shop/missing", direction="ingress")


def test_workload_objects_and_selectors_are_endpoints() -> None:
    objs = load_text(SHOP)
    net = NetworkModel.from_objects(objs)
    workloads = [o for o in objs if o.kind == "Deployment"]
    assert_isolated(net, workloads, direction="ingress")
    assert_not_reachable(net, workloads[1], workloads[0], 8080)
    assert_reachable(
        net,
        {"labels": {"app": "web"}},
        {"namespace": "db", "matchExpressions": [{"key": "app", "operator": "Exists"}]},
        5432,
    )
    with pytest.raises(NetworkPolicyError, match="no endpoint matches the selector"):
        assert_reachable(net, {"namespace": "shop", "labels": {"app": "nope"}}, PG, 5432)
    with pytest.raises(NetworkPolicyError, match="unknown: nmespace"):
        assert_reachable(net, {"nmespace": "shop"}, PG, 5432)


def test_no_ingress_from() -> None:
    net = shop()
    assert_no_ingress_from(net, PG)
    assert_no_ingress_from(net, PG, cidr=["0.0.0.0/0", "::/0"])
    error = failure(assert_no_ingress_from, net, [WEB, PG])
    text = str(error)
    assert text.splitlines()[0] == "network-ingress-from: 0.0.0.0/0 can reach 1 (workload, port set) of 2 workload(s)"
    assert "  - 0.0.0.0/0 -> Deployment/shop/web (deploy/shop.yaml:5) on TCP 8080: allowed" in text
    assert "allowed by shop/web-ingress ingress[0] (from every peer on TCP 8080)" in text
    assert [f.obj.ref for f in error.findings] == ["NetworkPolicy/shop/web-ingress"]
    with pytest.raises(NetworkPolicyError, match="expected a CIDR or 'internet'"):
        assert_no_ingress_from(net, PG, cidr=WEB)


def test_no_ingress_from_any_address_of_the_range() -> None:
    extra = """
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: office, namespace: db}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 192.168.7.0/24}}], ports: [{port: 5432}, {port: 6000, endPort: 6010}]}]
"""
    net = shop(extra)
    text = str(failure(assert_no_ingress_from, net, PG))
    assert "on TCP 5432, TCP 6000-6010: allowed" in text
    assert_no_ingress_from(net, PG, cidr="10.0.0.0/8")


EGRESS = """
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: db}}}, {ipBlock: {cidr: 10.0.0.0/8}}]
"""


def test_egress_restricted_allows_private_and_in_cluster_peers() -> None:
    net = shop(EGRESS)
    assert_egress_restricted(net, [WEB, PG])
    text = str(failure(assert_egress_restricted, net, WEB, internet="0.0.0.0/0"))
    assert (
        "Deployment/shop/web (deploy/shop.yaml:5) -> internet 0.0.0.0/0 on TCP 1-65535, UDP 1-65535, SCTP 1-65535: allowed"
        in text
    )


def test_egress_restricted_fails_on_rules_without_peers_and_unisolated_workloads() -> None:
    dns_anywhere = EGRESS + "  - ports: [{port: 53, protocol: UDP}]\n"
    net = shop(dns_anywhere)
    error = failure(assert_egress_restricted, net, WEB)
    text = str(error)
    assert (
        text.splitlines()[0]
        == "network-egress-restricted: 1 of 1 workload(s) can reach the internet or are not egress-isolated"
    )
    assert (
        "-> internet 1.0.0.0/8 on UDP 53: allowed" in text
        and "allowed by shop/egress egress[1] (to every peer on UDP 53)" in text
    )
    assert [f.obj.ref for f in error.findings] == ["NetworkPolicy/shop/egress"]
    text = str(failure(assert_egress_restricted, shop(), WEB))
    assert "not isolated for Egress (no NetworkPolicy selecting it has policyType Egress)" in text


def test_public_internet_excludes_private_ranges_exactly() -> None:
    import ipaddress

    v4 = [ipaddress.ip_network(c) for c in PUBLIC_INTERNET if ":" not in c]
    total = sum(n.num_addresses for n in v4)
    excluded = sum(ipaddress.ip_network(c).num_addresses for c in ("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
                   "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"))  # fmt: skip
    assert total == 2**32 - excluded
    assert not any(n.overlaps(ipaddress.ip_network("10.0.0.0/8")) for n in v4)
    assert "2000::/3" in PUBLIC_INTERNET


def test_network_policies_effective() -> None:
    net = shop()
    assert_network_policies_effective(net)
    broken = """
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: typo, namespace: shop}
spec:
  podSelector: {matchLabels: {app: wbe}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: ops}}}, {podSelector: {matchLabels: {app: gone}}}, {ipBlock: {cidr: 10.0.0.0/8}}]
"""
    net = shop(broken)
    problems = [str(p) for p in net.lint()]
    assert problems == [
        "NetworkPolicy shop/typo (deploy/shop.yaml:50) spec.podSelector: selects no pod: no endpoint in namespace shop has labels app=wbe",
        "NetworkPolicy shop/typo (deploy/shop.yaml:50) spec.ingress[0].from[0]: no namespace has labels team=ops",
        "NetworkPolicy shop/typo (deploy/shop.yaml:50) spec.ingress[0].from[1]: matches no pod: no endpoint is pods app=gone in namespace shop",
    ]
    error = failure(assert_network_policies_effective, net)
    assert str(error).splitlines()[0] == "network-policy-effective: 3 problem(s) in 1 of 4 NetworkPolicies"
    assert [f.path for f in error.findings] == [
        "spec.podSelector",
        "spec.ingress[0].from[0]",
        "spec.ingress[0].from[1]",
    ]
    assert_network_policies_effective(net, allow=["shop/typo"])
    with pytest.raises(NetworkPolicyError, match="no NetworkPolicy 'shop/nope'"):
        assert_network_policies_effective(net, allow=["shop/nope"])
    with pytest.raises(SecurityAssertionError, match="no NetworkPolicy; nothing was checked"):
        assert_network_policies_effective(NetworkModel([Pod("a", "x")]))


def test_policy_in_a_namespace_without_endpoints_is_reported() -> None:
    net = NetworkModel([Pod("a", "x", {"app": "x"}, ports=(ContainerPort(80),))], [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": "empty"}, "spec": {"podSelector": {}}},
    ])  # fmt: skip
    assert [p.message for p in net.lint()] == ["selects no pod: no endpoint lives in namespace empty"]


def test_model_argument_is_checked() -> None:
    with pytest.raises(TypeError, match="expected k8s_network"):
        assert_reachable([], WEB, PG, 80)  # type: ignore[arg-type]
    with pytest.raises(NetworkPolicyError, match="leave protocol out"):
        assert_not_reachable(shop(), WEB, PG, None, protocol="UDP")
    assert Cidr("1.2.3.4").ref == "1.2.3.4/32"


# --- old spellings (one release, then removed) ----------------------------------------------------


def test_options_by_position_warn_and_still_work() -> None:
    net = shop(EGRESS)
    with pytest.warns(
        DeprecationWarning,
        match=r"passing protocol to assert_reachable\(\) by position .* use assert_reachable\(\.\.\., protocol=",
    ) as record:
        assert_reachable(net, WEB, PG, 5432, "TCP")
    assert record[0].filename == __file__, "the warning points at the caller's line"
    with pytest.warns(DeprecationWarning, match=r"passing protocol to assert_not_reachable\(\) by position"):
        with pytest.raises(SecurityAssertionError, match="on UDP/5432 is allowed"):
            # Egress from web to db is open on every port; web's ingress has no UDP rule, db's ingress names pg (TCP).
            assert_not_reachable(shop("""
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: udp, namespace: db}
spec:
  podSelector: {}
  ingress: [{ports: [{port: 5432, protocol: UDP}]}]
"""), WEB, PG, 5432, "UDP")  # fmt: skip
    with pytest.warns(DeprecationWarning, match=r"passing direction to assert_default_deny\(\) by position"):
        with pytest.raises(SecurityAssertionError, match="no default-deny Egress policy"):
            assert_default_deny(net, "shop", "egress")  # shop's egress policy has rules
    with pytest.warns(DeprecationWarning, match=r"passing direction to assert_isolated\(\) by position"):
        assert_isolated(net, WEB, "egress")
    with pytest.warns(DeprecationWarning, match=r"passing cidr to assert_no_ingress_from\(\) by position"):
        assert_no_ingress_from(net, PG, "10.0.0.0/8")
    with pytest.warns(DeprecationWarning, match=r"passing internet to assert_egress_restricted\(\) by position"):
        with pytest.raises(SecurityAssertionError, match="can reach the internet"):
            assert_egress_restricted(net, WEB, "10.0.0.0/8")
    with pytest.warns(DeprecationWarning, match=r"passing allow to assert_network_policies_effective\(\) by position"):
        assert_network_policies_effective(net, ["shop/egress"])


def test_options_are_keyword_only_and_direction_is_a_literal() -> None:
    import inspect
    import typing

    from pytest_k8ssec.asserts.network import DirectionName

    assert typing.get_args(DirectionName) == ("ingress", "egress", "both")
    expected = {
        assert_reachable: ["protocol"],
        assert_not_reachable: ["protocol"],
        assert_default_deny: ["direction"],
        assert_isolated: ["direction"],
        assert_no_ingress_from: ["cidr"],
        assert_egress_restricted: ["internet"],
        assert_network_policies_effective: ["allow"],
    }
    for func, options in expected.items():
        params = inspect.signature(func).parameters
        assert [n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY] == options, func
    assert inspect.signature(assert_isolated).parameters["direction"].default is inspect.Parameter.empty


def test_the_types_a_network_test_receives_are_public() -> None:
    import pytest_k8ssec

    net = shop()
    verdict = net.reachable(WEB, PG, 5432)
    assert type(verdict) is pytest_k8ssec.Verdict and verdict.allowed
    assert type(verdict.ingress) is pytest_k8ssec.SideVerdict
    assert all(type(m) is pytest_k8ssec.RuleMatch for m in verdict.ingress.allowed_by) and verdict.ingress.allowed_by
    assert type(verdict.src) is pytest_k8ssec.Pod and type(net.resolve("internet")[0]) is pytest_k8ssec.Cidr
    assert type(net.matrix(port=5432)) is pytest_k8ssec.ReachabilityMatrix
    assert all(type(p) is pytest_k8ssec.NetworkPolicy for p in net.policies)
    broken = shop("""
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: typo, namespace: shop}
spec: {podSelector: {matchLabels: {app: wbe}}}
""")  # fmt: skip
    assert [type(p) for p in broken.lint()] == [pytest_k8ssec.PolicyProblem]
    assert pytest_k8ssec.NetworkModel is NetworkModel
