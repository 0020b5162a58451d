"""network-default-deny-missing.

Kubernetes NetworkPolicy, "Default policies": a default-deny policy selects every pod of its
namespace (``podSelector: {}``), has the direction in its policyTypes and no rules in that
direction, so every pod of the namespace, present or created later, is isolated. CIS Kubernetes
Benchmark 5.3.2: ensure that all namespaces have NetworkPolicies defined.

A selection check: each workload is judged by the policies of its namespace in the selection
(a workload in a namespace without a default deny is reported). The registry record judges
ingress; ``configure(direction)`` gives the variant for ``"egress"`` or ``"both"``;
``assert_default_deny`` asks it of one namespace.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pytest_k8ssec.checks._check import Category, Check, EvaluateSelection, Severity, Violation
from pytest_k8ssec.checks._network import Findings, directions, is_endpoint, over_model
from pytest_k8ssec.model.objects import K8sObject

if TYPE_CHECKING:
    from pytest_k8ssec.model.netpol import NetworkModel

ID = "network-default-deny-missing"


def _evaluator(direction: str) -> EvaluateSelection:
    def judge(model: NetworkModel) -> Findings:
        wanted = directions(direction)
        denied = {
            (policy.namespace, d)
            for policy in model.policies
            for d in wanted
            if policy.pod_selector.is_empty and d in policy.policy_types and not policy.rules(d)
        }
        for pod in model.pods:
            if pod.obj is None:
                continue
            for d in wanted:
                if (pod.namespace, d) not in denied:
                    message = (
                        f"namespace {pod.namespace} has no default-deny {d} NetworkPolicy (podSelector {{}}, "
                        f"policyType {d}, no {d.lower()} rules)"
                    )
                    yield pod.obj, Violation("metadata.namespace", message)

    def evaluate(objects: Sequence[K8sObject]) -> Findings:
        return over_model(objects, is_endpoint, judge)

    return evaluate


CHECK = Check(
    id=ID,
    title="Namespace without a default-deny NetworkPolicy",
    summary="A namespace must have a default-deny NetworkPolicy for the direction the test names (ingress by default).",
    remediation="Add a NetworkPolicy with podSelector: {}, the policyType and no rules in that direction to the namespace.",
    category=Category.NETWORK,
    severity=Severity.HIGH,
    evaluate_selection=_evaluator("ingress"),
    controls=("CIS-5.3.2", "NSA-net-policies", "MITRE-T1046"),
    references=("https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies",),
    helpers=("assert_default_deny",),
    parameters=(("direction", "ingress"),),
)


def configure(direction: str = "ingress") -> Check:
    """The registry record judging default deny for ``direction`` (a wrong direction fails here)."""
    directions(direction)
    return dataclasses.replace(CHECK, evaluate_selection=_evaluator(direction), parameters=(("direction", direction),))
