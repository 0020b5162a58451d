"""service-externally-exposed.

Kubernetes Service types (core/v1 ServiceSpec): ``NodePort`` opens each port of the Service on
every node's addresses (a ``nodePort`` the API server allocates from the node port range,
30000-32767 by default, unless one is given), and ``LoadBalancer`` asks the cloud for an external
load balancer *and* allocates node ports as ``NodePort`` does, unless
``allocateLoadBalancerNodePorts: false`` (the API server defaults the field to true for
LoadBalancer Services: ``SetDefaults_Service`` in pkg/apis/core/v1). ``ClusterIP`` (also an unset
type, which the API server defaults to ClusterIP) and ``ExternalName`` (a DNS CNAME that
kube-proxy never proxies) expose nothing outside the cluster, and neither does a headless Service
(``clusterIP: None``, which the API accepts only on ClusterIP Services). kube-linter
(``exposed-services``) forbids NodePort and LoadBalancer; kube-score (``service-type``) warns on
NodePort.

A violation is each exposure outside the allow list: the load balancer (``spec.type``) and the
node ports (``spec.type`` of a NodePort Service; ``spec.allocateLoadBalancerNodePorts``, unset or
true, of a LoadBalancer one; with it false, each ``nodePort`` the Service still requests, which the
API server allocates regardless). An internal load balancer (a cloud provider's annotation) is
still outside the cluster: allow it by name. ``externalIPs`` are judged by service-external-ip-not-allowed. The
registry record allows no exposure; ``configure(allowed=..., allowed_types=...)`` allows named
Services (``namespace/name``, or ``namespace/*``) or exposure types (``LoadBalancer``,
``NodePort``) outright. A type the API does not accept (or a non-string) is reported as
unjudgeable rather than passed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation, one_variant_per_argument
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping

ID = "service-externally-exposed"

_NOT_EXPOSED = frozenset({"ClusterIP", "ExternalName"})
EXPOSURES = ("LoadBalancer", "NodePort")


def _node_ports(spec: Mapping[str, Any]) -> str:
    given = [as_mapping(p).get("nodePort") for p in as_list(as_mapping(spec).get("ports"))]
    numbers = [str(n) for n in given if isinstance(n, int) and not isinstance(n, bool) and n]
    if numbers and len(numbers) == len(given):
        return f"node port{'s' if len(numbers) > 1 else ''} {', '.join(numbers)}"
    return "node ports the API server allocates (30000-32767 by default)"


def _allowed_service(obj: K8sObject, allowed: tuple[str, ...]) -> bool:
    return f"{obj.namespace}/{obj.name}" in allowed or f"{obj.namespace}/*" in allowed


def _evaluator(allowed: tuple[str, ...], allowed_types: frozenset[str]) -> Callable[[K8sObject], Iterator[Violation]]:
    def evaluate(obj: K8sObject) -> Iterator[Violation]:
        if obj.api_group != "" or _allowed_service(obj, allowed):
            return
        raw_spec = obj.raw.get("spec")
        if raw_spec is not None and not isinstance(raw_spec, dict):
            yield Violation("spec", "spec is not a mapping, so the Service's exposure cannot be judged")
            return
        spec = as_mapping(raw_spec)
        kind = spec.get("type")
        if kind in (None, "") or kind in _NOT_EXPOSED:
            return
        if kind not in EXPOSURES:
            yield Violation(
                "spec.type",
                f"type {kind!r} is not a Service type the API accepts (ClusterIP, NodePort, LoadBalancer, "
                "ExternalName), so its exposure cannot be judged",
            )
            return
        if kind == "LoadBalancer" and "LoadBalancer" not in allowed_types:
            yield Violation("spec.type", "type LoadBalancer exposes the Service through an external load balancer")
        if "NodePort" in allowed_types:
            return
        if kind == "NodePort":
            yield Violation("spec.type", f"type NodePort opens {_node_ports(spec)} on every node")
            return
        allocate = spec.get("allocateLoadBalancerNodePorts")
        if allocate is False:
            # "If the caller requests specific NodePorts, those requests will be respected,
            # regardless of this field" (ServiceSpec): a given nodePort is still opened.
            for index, port in enumerate(as_list(spec.get("ports"))):
                number = as_mapping(port).get("nodePort")
                if number not in (None, 0):
                    yield Violation(
                        f"spec.ports[{index}].nodePort",
                        f"nodePort {number!r} is opened on every node although allocateLoadBalancerNodePorts is false "
                        "(a requested node port is always allocated)",
                    )
            return
        if allocate not in (None, True):
            yield Violation(
                "spec.allocateLoadBalancerNodePorts",
                f"allocateLoadBalancerNodePorts is {allocate!r}, not a boolean, so the node ports cannot be judged",
            )
            return
        why = "" if allocate is True else " (unset: the API server defaults allocateLoadBalancerNodePorts to true)"
        yield Violation(
            "spec.allocateLoadBalancerNodePorts",
            f"type LoadBalancer also opens {_node_ports(spec)} on every node{why}",
        )

    return evaluate


CHECK = Check(
    id=ID,
    title="Service exposed outside the cluster",
    summary=(
        "Services must not be of type LoadBalancer or NodePort (a LoadBalancer also opens node ports unless "
        "allocateLoadBalancerNodePorts is false) unless the policy allows them."
    ),
    remediation=(
        "Make the Service type ClusterIP and expose it through an Ingress or Gateway, or allow it by name; "
        "set allocateLoadBalancerNodePorts: false on a LoadBalancer that needs no node ports."
    ),
    category=Category.NETWORK,
    severity=Severity.MEDIUM,
    evaluate=_evaluator((), frozenset()),
    targets=frozenset({"Service"}),
    controls=("MITRE-T1190",),
    references=(
        "https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
        "https://kubernetes.io/docs/concepts/services-networking/service/#load-balancer-nodeport-allocation",
    ),
    parameters=(("allowed", "none"), ("allowed_types", "none")),
)


def _services(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise TypeError(f"allowed must be a list of 'namespace/name' strings, not the string {values!r}")
    result = []
    for value in values:
        namespace, _, name = value.partition("/")
        if not namespace or not name or "/" in name:
            raise ValueError(f"allowed Service {value!r} is not 'namespace/name' (or 'namespace/*')")
        result.append(value)
    return tuple(sorted(set(result)))


def _types(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):
        raise TypeError(f"allowed_types must be a list of Service types, not the string {values!r}")
    result = frozenset(values)
    unknown = sorted(result - set(EXPOSURES))
    if unknown:
        raise ValueError(f"allowed_types {unknown} are not exposure types; give LoadBalancer and/or NodePort")
    return result


def configure(allowed: Iterable[str] = (), allowed_types: Iterable[str] = ()) -> Check:
    """``CHECK`` allowing the Services named ``namespace/name`` (``namespace/*``: every Service of the
    namespace) and the exposure types in ``allowed_types`` (``"LoadBalancer"``, ``"NodePort"``).

    Allowing ``LoadBalancer`` alone still reports a LoadBalancer's node ports unless it sets
    ``allocateLoadBalancerNodePorts: false``.
    """
    return _configured(_services(allowed), _types(allowed_types))


@one_variant_per_argument
def _configured(allowed: tuple[str, ...], allowed_types: frozenset[str]) -> Check:
    return dataclasses.replace(
        CHECK,
        evaluate=_evaluator(allowed, allowed_types),
        parameters=(
            ("allowed", ", ".join(allowed) or "none"),
            ("allowed_types", ", ".join(sorted(allowed_types)) or "none"),
        ),
    )
