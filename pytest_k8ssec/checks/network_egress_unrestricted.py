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

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._network import Findings, is_endpoint, labels_path, over_model
from pytest_k8ssec.model.objects import K8sObject

if TYPE_CHECKING:
    from pytest_k8ssec.model.netpol import Cidr, NetworkModel, Pod, PortClass

ID = "network-egress-unrestricted"


@functools.cache
def _ranges() -> tuple[tuple[Cidr, ...], tuple[Cidr, ...]]:
    """The address families, then every public range (built on first use: see checks/_network.py).

    Whole families come first: a pod that reaches nothing of one needs no look at its ranges."""
    from pytest_k8ssec.model.netpol import PUBLIC_INTERNET, Cidr

    return (Cidr("0.0.0.0/0"), Cidr("::/0")), tuple(Cidr(block) for block in PUBLIC_INTERNET)


def _reaches(model: NetworkModel, pod: Pod, destination: Cidr, classes: Sequence[PortClass]) -> bool:
    # The first port of each class decides for the class; an uncertain verdict counts (fail closed).
    for cls in classes:
        verdict = model.reachable(pod, destination, cls.first, cls.protocol)
        if verdict.allowed or verdict.uncertain:
            return True
    return False


def _judge(model: NetworkModel) -> Findings:
    from pytest_k8ssec.model.netpol import EGRESS, port_classes

    families, public = _ranges()
    # Classes are the same for every CIDR destination (named ports resolve on pods only).
    classes = port_classes(model, families[0])
    for pod in model.pods:
        if pod.obj is None:
            continue
        path = labels_path(pod.obj)
        if not model.isolating(pod, EGRESS):
            yield pod.obj, Violation(path, "not isolated for egress: it may reach any address on the internet")
            continue
        for family in families:
            if not _reaches(model, pod, family, classes):
                continue
            version = family.network.version
            block = next((b for b in public if b.network.version == version and _reaches(model, pod, b, classes)), None)
            if block is not None:
                yield pod.obj, Violation(path, f"may reach the internet ({block.network}) through its egress rules")
                break


def _evaluate(objects: Sequence[K8sObject]) -> Findings:
    return over_model(objects, is_endpoint, _judge)


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
    controls=("NSA-net-policies",),
    references=("https://kubernetes.io/docs/concepts/services-networking/network-policies/",),
    helpers=("assert_egress_restricted",),
)
