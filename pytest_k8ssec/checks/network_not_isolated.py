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
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pytest_k8ssec.checks._check import Category, Check, EvaluateSelection, Severity, Violation
from pytest_k8ssec.checks._network import Findings, directions, is_endpoint, labels_path, over_model
from pytest_k8ssec.model.objects import K8sObject

if TYPE_CHECKING:
    from pytest_k8ssec.model.netpol import NetworkModel

ID = "network-not-isolated"


def _evaluator(direction: str) -> EvaluateSelection:
    def judge(model: NetworkModel) -> Findings:
        wanted = directions(direction)
        for pod in model.pods:
            if pod.obj is None:
                continue
            for d in wanted:
                if not model.isolating(pod, d):
                    message = f"not isolated for {d}: no NetworkPolicy selects it with policyType {d}"
                    yield pod.obj, Violation(labels_path(pod.obj), message)

    def evaluate(objects: Sequence[K8sObject]) -> Findings:
        return over_model(objects, is_endpoint, judge)

    return evaluate


CHECK = Check(
    id=ID,
    title="Workload not isolated by a NetworkPolicy",
    summary="A workload must be selected by a NetworkPolicy for the direction the test names (ingress by default).",
    remediation="Add a NetworkPolicy whose podSelector selects the workload with that policyType.",
    category=Category.NETWORK,
    severity=Severity.HIGH,
    evaluate_selection=_evaluator("ingress"),
    controls=("NSA-net-policies", "MITRE-T1046"),
    references=("https://kubernetes.io/docs/concepts/services-networking/network-policies/",),
    helpers=("assert_isolated",),
    parameters=(("direction", "ingress"),),
)


def configure(direction: str = "ingress") -> Check:
    """The registry record judging isolation for ``direction`` (a wrong direction fails here)."""
    directions(direction)
    return dataclasses.replace(CHECK, evaluate_selection=_evaluator(direction), parameters=(("direction", direction),))
