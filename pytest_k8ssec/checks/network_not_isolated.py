"""network-not-isolated.

Kubernetes NetworkPolicy, "Isolated and Non-isolated Pods": by default a pod is non-isolated for
ingress and egress (all connections allowed); it is isolated for a direction when some
NetworkPolicy in its namespace selects it and has that direction in its policyTypes. NSA/CISA
Kubernetes Hardening Guide, "Network policies": select every pod with a policy.

A selection check: a workload is judged given every NetworkPolicy in the selection. The registry
record judges ingress; ``configure(direction)`` (``"ingress"``, ``"egress"``, ``"both"``) gives
the variant ``assert_isolated`` runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

from pytest_k8ssec.checks._check import Category, Check, EvaluateSelection, Severity, Violation
from pytest_k8ssec.checks._network import is_endpoint, labels_path, unjudged, workload_model
from pytest_k8ssec.model.netpol import NetworkPolicyError, directions
from pytest_k8ssec.model.objects import K8sObject

ID = "network-not-isolated"


def _evaluator(direction: str) -> EvaluateSelection:
    wanted = directions(direction)

    def evaluate(objects: Sequence[K8sObject]) -> Iterator[tuple[K8sObject, Violation]]:
        try:
            model = workload_model(objects)
        except NetworkPolicyError as exc:
            yield from unjudged(objects, is_endpoint, exc)
            return
        for pod in model.pods:
            if pod.obj is None:
                continue
            for d in wanted:
                if not model.isolating(pod, d):
                    message = f"not isolated for {d}: no NetworkPolicy selects it with policyType {d}"
                    yield pod.obj, Violation(labels_path(pod.obj), message)

    return evaluate


CHECK = Check(
    id=ID,
    title="Workload not isolated by a NetworkPolicy",
    summary="A workload must be selected by a NetworkPolicy for the direction the test names (ingress by default).",
    remediation="Add a NetworkPolicy whose podSelector selects the workload with that policyType.",
    category=Category.NETWORK,
    severity=Severity.HIGH,
    evaluate_selection=_evaluator("ingress"),
    references=("https://kubernetes.io/docs/concepts/services-networking/network-policies/",),
    helpers=("assert_isolated",),
    parameters=(("direction", "ingress"),),
)


def configure(direction: str = "ingress") -> Check:
    """The registry record judging isolation for ``direction``."""
    return dataclasses.replace(CHECK, evaluate_selection=_evaluator(direction), parameters=(("direction", direction),))
