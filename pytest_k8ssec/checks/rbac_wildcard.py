"""rbac-wildcard.

CIS Kubernetes Benchmark 5.1.3: "Minimize wildcard use in Roles and ClusterRoles." Kubernetes Roles
and ClusterRoles grant access to resources by name; "*" grants every current and future value
(new verbs, resources added by CRDs or upgrades, every API group), so what a role allows can grow
without anyone editing it.

A violation is a ``*`` in a rule's ``verbs``, ``resources``, ``apiGroups`` or ``nonResourceURLs``
(a bare ``*`` URL reaches every non-resource path, /debug and /logs included; a path prefix such
as ``/healthz/*`` names a tree and is not reported). ``*/scale`` names one subresource of every
resource and is not the wildcard. Not judged: rules a default (bootstrap) ClusterRole of a shipped
Kubernetes version has verbatim (cluster-admin and the controllers' roles are wildcards by
design; a widened one is reported), and aggregated ClusterRoles, whose rules the aggregation
controller copies from the roles it selects (those are judged themselves).
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.rbac import RBAC_GROUP, PolicyRule
from pytest_k8ssec.model.rbac_risks import is_default_rule

_WHAT = {
    "verbs": "every verb, escalate, bind and impersonate included",
    "resources": "every resource and subresource of its API groups, secrets and pods/exec included",
    "apiGroups": "every API group, including those CRDs add later",
    "nonResourceURLs": "every non-resource path of the API server",
}


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    if obj.api_group != RBAC_GROUP or (obj.kind == "ClusterRole" and obj.raw.get("aggregationRule") is not None):
        return
    for i, raw in enumerate(as_list(obj.raw.get("rules"))):
        rule = as_mapping(raw)
        try:
            if is_default_rule(obj.kind, obj.name, PolicyRule.from_raw(rule)):
                continue
        except ValueError:
            pass  # malformed: no default role has it (rbac-risky-rules reports it); wildcards still count
        for key, what in _WHAT.items():
            if "*" in as_list(rule.get(key)):
                yield Violation(f"rules[{i}].{key}", f'rule {i} grants "*" in {key}: {what}')


CHECK = Check(
    id="rbac-wildcard",
    title="Wildcard in RBAC rule",
    summary="Roles and ClusterRoles must name the verbs, resources, API groups and URLs they grant instead of using a wildcard.",
    remediation="Replace each \"*\" with the verbs, resources, API groups or paths the role needs.",
    category=Category.RBAC,
    severity=Severity.MEDIUM,
    evaluate=_evaluate,
    targets=frozenset({"Role", "ClusterRole"}),
    controls=("CIS v1.12 5.1.3",),
    references=("https://kubernetes.io/docs/concepts/security/rbac-good-practices/#least-privilege",),
)
