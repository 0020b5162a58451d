"""The network exposure checks of issue 16: what their data folders cannot show.

Pass/fail manifests for each check are in ``tests/data/checks/<id>/``; here are the egress
record's equivalence with the variant it names, why it is a record of its own, the variants'
argument checking and the upstream rules each check restates.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_k8ssec.checks import builtin_registry, network_not_isolated
from pytest_k8ssec.checks import ingress_nginx_snippet_annotation as snippets
from pytest_k8ssec.checks import service_external_ip_not_allowed as external_ips
from pytest_k8ssec.checks import service_externally_exposed as exposed
from pytest_k8ssec.checks.ingress_tls_missing import covers
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.policy.gate import subject_of
from pytest_k8ssec.sources.manifests import load_file

DATA = Path(__file__).parents[1] / "data" / "checks"


def _obj(raw: dict[str, object]) -> K8sObject:
    return K8sObject(raw, Provenance("t.yaml", 1))


WEB = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a"}]}}},
}


# --- network-egress-not-isolated --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    sorted((DATA / "network-not-isolated").glob("*.yaml"))
    + sorted((DATA / "network-egress-not-isolated").glob("*.yaml")),
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_egress_record_is_the_egress_variant(path: Path) -> None:
    # Same model, same evaluation: the record and configure("egress") report the same objects,
    # paths and messages on every network-not-isolated and network-egress-not-isolated file.
    objects = load_file(path)
    record = builtin_registry().get("network-egress-not-isolated")
    variant = network_not_isolated.configure("egress")

    def found(check: object) -> list[tuple[str, str, str]]:
        return [(f.obj.ref, f.path, f.message) for f in evaluate([check], objects)]  # type: ignore[list-item]

    assert found(record) == found(variant)


def test_one_id_for_both_directions_would_merge_their_findings_in_baselines() -> None:
    # Why a record of its own: both directions report at the pod labels, and a baseline
    # fingerprint has no message. Under the variant, the ingress and egress findings of one
    # workload are the same finding to a baseline (and to a waiver naming the check id).
    ingress = evaluate([builtin_registry().get("network-not-isolated")], [_obj(WEB)])
    variant = evaluate([network_not_isolated.configure("egress")], [_obj(WEB)])
    record = evaluate([builtin_registry().get("network-egress-not-isolated")], [_obj(WEB)])
    assert len(ingress) == len(variant) == len(record) == 1

    def fingerprint(findings: list[object]) -> str:
        return subject_of(findings[0], "manifests").fingerprint  # type: ignore[arg-type]

    assert fingerprint(ingress) == fingerprint(variant)
    assert fingerprint(ingress) != fingerprint(record)


def test_egress_record_fails_closed_when_the_model_cannot_be_built() -> None:
    bad = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "bad", "namespace": "shop"},
        "spec": {"podSelector": {}, "policyTypes": ["Sideways"]},
    }
    findings = evaluate([builtin_registry().get("network-egress-not-isolated")], [_obj(WEB), _obj(bad)])
    assert [(f.obj.name, f.path) for f in findings] == [("web", "")]
    assert "cannot be judged" in findings[0].message


# --- service-externally-exposed ---------------------------------------------------------------------


def _service(spec: dict[str, object], name: str = "web", namespace: str = "shop") -> K8sObject:
    return _obj(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace}, "spec": spec}
    )


def test_node_port_messages_name_the_ports_or_their_allocation() -> None:
    given = exposed.CHECK.evaluate(_service({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}))
    allocated = exposed.CHECK.evaluate(_service({"type": "LoadBalancer", "ports": [{"port": 80}]}))
    assert [v.message for v in given] == ["type NodePort opens node port 30080 on every node"]
    assert [v.message for v in allocated][1] == (
        "type LoadBalancer also opens node ports the API server allocates (30000-32767 by default) on every "
        "node (unset: the API server defaults allocateLoadBalancerNodePorts to true)"
    )


def test_exposure_allow_lists_are_checked_when_configured() -> None:
    with pytest.raises(ValueError, match="namespace/name"):
        exposed.configure(allowed=["web"])
    with pytest.raises(TypeError, match="not the string"):
        exposed.configure(allowed="shop/web")
    with pytest.raises(ValueError, match="not exposure types"):
        exposed.configure(allowed_types=["ClusterIP"])
    # Equal arguments give the very same variant (the engine's memo is keyed by it).
    assert exposed.configure(allowed=["shop/web", "shop/web"]) is exposed.configure(allowed=["shop/web"])
    variant = exposed.configure(allowed_types=["NodePort", "LoadBalancer"])
    assert variant.id == exposed.CHECK.id
    assert list(variant.evaluate(_service({"type": "LoadBalancer"}))) == []


# --- service-external-ip-not-allowed ---------------------------------------------------------------


def test_external_ip_allow_list_takes_addresses_and_blocks() -> None:
    with pytest.raises(ValueError):
        external_ips.configure(allowed=["10.0.0.1/8"])  # host bits set: a typo, not a block
    with pytest.raises(ValueError):
        external_ips.configure(allowed=["not-an-ip"])
    with pytest.raises(TypeError, match="not the string"):
        external_ips.configure(allowed="10.0.0.0/8")
    check = external_ips.configure(allowed=["10.0.0.0/8"])
    assert check.parameters == (("allowed", "10.0.0.0/8"),)
    assert list(check.evaluate(_service({"externalIPs": ["10.1.2.3"]}))) == []
    assert [v.path for v in check.evaluate(_service({"externalIPs": ["11.0.0.1"]}))] == ["spec.externalIPs[0]"]


# --- ingress-tls-missing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tls_host", "host", "covered"),
    [
        ("shop.example.com", "shop.example.com", True),
        ("SHOP.example.com", "shop.EXAMPLE.com", True),  # ingress-nginx lowercases ASCII both sides
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "example.com", False),  # a wildcard never covers the apex
        ("*.example.com", "a.b.example.com", False),  # nor more than one label
        ("*.example.com", "*.example.com", True),
        ("*.example.com", "*.a.example.com", False),
        ("a.example.com", "*.example.com", False),  # one name does not cover a wildcard rule
        ("*.example.com", ".example.com", False),
    ],
)
def test_tls_host_coverage(tls_host: str, host: str, covered: bool) -> None:
    assert covers(tls_host, host) is covered


# --- ingress-nginx-snippet-annotation ---------------------------------------------------------------


def test_snippet_list_is_upstreams_critical_annotations() -> None:
    # ingress-nginx rates exactly these Critical (internal/ingress/annotations, ValidateNull).
    assert sorted(snippets.SNIPPETS) == sorted(
        ["configuration-snippet", "server-snippet", "stream-snippet", "auth-snippet", "modsecurity-snippet"]
    )


@pytest.mark.parametrize("prefix", ["", "Nginx.Example.com", "a/b", "-x.example.com"])
def test_snippet_prefix_must_be_a_dns_subdomain(prefix: str) -> None:
    with pytest.raises(ValueError, match="DNS subdomain"):
        snippets.configure(prefix=prefix)


@pytest.mark.parametrize(
    ("value", "used"),
    [("", False), ("  \t ", False), ("\n", True), ("deny all;", True), ("  deny all;  \n", True)],
)
def test_snippet_values_the_controller_ignores(value: str, used: bool) -> None:
    # normalizeString trims each line and a value that is then "" is an invalid annotation;
    # "\n" stays "\n" (two empty lines joined), which the controller accepts.
    ingress = _obj(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web", "annotations": {"nginx.ingress.kubernetes.io/server-snippet": value}},
            "spec": {"rules": [{"host": "a.example.com"}]},
        }
    )
    assert bool(list(snippets.CHECK.evaluate(ingress))) is used
