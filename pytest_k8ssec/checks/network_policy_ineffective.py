"""network-policy-ineffective.

Kubernetes NetworkPolicy semantics: a policy applies to the pods its podSelector selects in its
namespace, and a peer allows only the namespaces and pods its selectors match. A policy that
selects no pod protects nothing, and a peer that matches nothing allows nothing (often a typo in
a label, so the intended connection is refused or, worse, the intended isolation is missing).

A selection check: each NetworkPolicy is judged given every workload and Namespace in the
selection (``NetworkModel.lint``). ``assert_network_policies_effective`` runs it with its
``allow`` list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._network import Findings, over_model
from pytest_k8ssec.model.objects import K8sObject

if TYPE_CHECKING:
    from pytest_k8ssec.model.netpol import NetworkModel

ID = "network-policy-ineffective"


def _is_policy(obj: K8sObject) -> bool:
    return obj.kind == "NetworkPolicy"


def _judge(model: NetworkModel) -> Findings:
    for problem in model.lint():
        if problem.policy.obj is not None:
            yield problem.policy.obj, Violation(problem.path, problem.message)


def _evaluate(objects: Sequence[K8sObject]) -> Findings:
    return over_model(objects, _is_policy, _judge)


CHECK = Check(
    id=ID,
    title="NetworkPolicy that selects nothing",
    summary="Every NetworkPolicy must select a pod and every peer must match a namespace and a pod.",
    remediation="Fix the selector (labels, namespace labels) or delete the policy or peer.",
    category=Category.NETWORK,
    severity=Severity.MEDIUM,
    evaluate_selection=_evaluate,
    targets=frozenset({"NetworkPolicy"}),
    controls=("NSA-net-policies",),
    references=("https://kubernetes.io/docs/concepts/services-networking/network-policies/",),
    helpers=("assert_network_policies_effective",),
)
