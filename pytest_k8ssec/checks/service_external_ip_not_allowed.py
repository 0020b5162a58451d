"""service-external-ip-not-allowed.

CVE-2020-8554 (Kubernetes security advisory, "Man in the middle using LoadBalancer or
ExternalIPs"): anyone who may create or update a Service can set ``spec.externalIPs`` to any
address, and kube-proxy then intercepts the cluster's traffic to that address (another tenant's
service, a public DNS resolver). Kubernetes ships no fix, only mitigations that judge the field
itself: the ``DenyServiceExternalIPs`` admission plugin rejects any new external IP on every
Service (whatever its type), and an admission webhook may allow only listed addresses.

A violation is each ``spec.externalIPs`` entry outside the allow list, on a Service of any type:
the admission mitigation judges every Service, and although kube-proxy skips headless and
ExternalName Services today, a later change of type or clusterIP activates the addresses. The
registry record allows none; ``configure(allowed=[...])`` allows addresses and CIDR blocks. An
entry that is not an IP address (the API server rejects it) is reported as unjudgeable.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable, Iterable, Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation, one_variant_per_argument
from pytest_k8ssec.model.objects import K8sObject, as_mapping

ID = "service-external-ip-not-allowed"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _evaluator(allowed: tuple[Network, ...]) -> Callable[[K8sObject], Iterator[Violation]]:
    policy = ", ".join(str(n) for n in allowed) if allowed else "none"

    def evaluate(obj: K8sObject) -> Iterator[Violation]:
        if obj.api_group != "":
            return
        raw_spec = obj.raw.get("spec")
        if raw_spec is not None and not isinstance(raw_spec, dict):
            yield Violation("spec", "spec is not a mapping, so its externalIPs cannot be judged")
            return
        ips = as_mapping(raw_spec).get("externalIPs")
        if ips is None:
            return
        if not isinstance(ips, list):
            yield Violation("spec.externalIPs", "externalIPs is not a list, so it cannot be judged")
            return
        for index, value in enumerate(ips):
            path = f"spec.externalIPs[{index}]"
            try:
                address = ipaddress.ip_address(value) if isinstance(value, str) else None
            except ValueError:
                address = None
            if address is None:
                yield Violation(path, f"external IP {value!r} is not an IP address, so it cannot be judged")
            elif not any(address in network for network in allowed):
                yield Violation(
                    path,
                    f"external IP {address} is not allowed (allowed: {policy}): kube-proxy sends the cluster's "
                    "traffic to that address to this Service (CVE-2020-8554)",
                )

    return evaluate


CHECK = Check(
    id=ID,
    title="Service external IP outside the allow list",
    summary="Services must not set externalIPs outside the allowed addresses (none by default): CVE-2020-8554.",
    remediation=(
        "Remove spec.externalIPs (expose the Service through a LoadBalancer or an Ingress), or allow the address; "
        "enable the DenyServiceExternalIPs admission plugin."
    ),
    category=Category.NETWORK,
    severity=Severity.HIGH,
    evaluate=_evaluator(()),
    targets=frozenset({"Service"}),
    references=(
        "https://github.com/kubernetes/kubernetes/issues/97076",
        "https://kubernetes.io/docs/concepts/services-networking/service/#external-ips",
    ),
    parameters=(("allowed", "none"),),
)


def _networks(values: Iterable[str]) -> tuple[Network, ...]:
    if isinstance(values, str):
        raise TypeError(f"allowed must be a list of addresses or CIDR blocks, not the string {values!r}")
    # strict: a block with host bits set is a typo more often than a choice.
    return tuple(sorted({ipaddress.ip_network(value, strict=True) for value in values}, key=str))


def configure(allowed: Iterable[str] = ()) -> Check:
    """``CHECK`` allowing external IPs inside ``allowed`` (addresses or CIDR blocks, IPv4 or IPv6)."""
    return _configured(_networks(allowed))


@one_variant_per_argument
def _configured(allowed: tuple[Network, ...]) -> Check:
    shown = ", ".join(str(n) for n in allowed) or "none"
    return dataclasses.replace(CHECK, evaluate=_evaluator(allowed), parameters=(("allowed", shown),))
