"""network-egress-unrestricted.

Kubernetes NetworkPolicy, egress isolation: a pod not isolated for egress may open connections
to any address; an isolated pod may reach what its egress rules allow (an ``ipBlock`` covering
public addresses, or a rule without ``to``). NSA/CISA Kubernetes Hardening Guide, "Network
policies": restrict egress to what the workload needs.

A selection check: each workload is judged given every NetworkPolicy in the selection, on every
port class of every protocol, against the public internet (every public IPv4 range and IPv6
global unicast). ``assert_egress_restricted`` asks it of chosen workloads, with its own ranges.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._network import is_endpoint, labels_path, unjudged, workload_model
from pytest_k8ssec.model.netpol import (
    EGRESS,
    PUBLIC_INTERNET,
    Cidr,
    NetworkModel,
    NetworkPolicyError,
    Pod,
    PortClass,
    port_classes,
)
from pytest_k8ssec.model.objects import K8sObject

ID = "network-egress-unrestricted"
_PUBLIC = tuple(Cidr(block) for block in PUBLIC_INTERNET)
# Whole address families first: a pod that reaches nothing of one needs no look at its ranges.
_FAMILIES = (Cidr("0.0.0.0/0"), Cidr("::/0"))


def _reaches(model: NetworkModel, pod: Pod, destination: Cidr, classes: Sequence[PortClass]) -> bool:
    # The first port of each class decides for the class; an uncertain verdict counts (fail closed).
    for cls in classes:
        verdict = model.reachable(pod, destination, cls.first, cls.protocol)
        if verdict.allowed or verdict.uncertain:
            return True
    return False


def _evaluate(objects: Sequence[K8sObject]) -> Iterator[tuple[K8sObject, Violation]]:
    try:
        model = workload_model(objects)
    except NetworkPolicyError as exc:
        yield from unjudged(objects, is_endpoint, exc)
        return
    # Classes are the same for every CIDR destination (named ports resolve on pods only).
    classes = port_classes(model, _FAMILIES[0])
    for pod in model.pods:
        if pod.obj is None:
            continue
        path = labels_path(pod.obj)
        if not model.isolating(pod, EGRESS):
            yield pod.obj, Violation(path, "not isolated for egress: it may reach any address on the internet")
            continue
        for family in _FAMILIES:
            if not _reaches(model, pod, family, classes):
                continue
            version = family.network.version
            block = next(
                (b for b in _PUBLIC if b.network.version == version and _reaches(model, pod, b, classes)), None
            )
            if block is not None:
                yield pod.obj, Violation(path, f"may reach the internet ({block.network}) through its egress rules")
                break


CHECK = Check(
    id=ID,
    title="Egress to the internet allowed",
    summary="A workload must be isolated for egress and reach no internet address on any port.",
    remediation=(
        "Select the workload with an Egress NetworkPolicy whose rules name in-cluster peers or private ranges only."
    ),
    category=Category.NETWORK,
    severity=Severity.HIGH,
    evaluate_selection=_evaluate,
    references=("https://kubernetes.io/docs/concepts/services-networking/network-policies/",),
    helpers=("assert_egress_restricted",),
)
