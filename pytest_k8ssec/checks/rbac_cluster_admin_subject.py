"""rbac-cluster-admin-subject.

CIS Kubernetes Benchmark 5.1.1, "Ensure that the cluster-admin role is only used where required":
a subject that holds every verb on every resource in every API group cluster-wide can do anything.
Kubernetes RBAC: only a ClusterRoleBinding grants cluster-wide, and only a rule whose verbs,
resources and apiGroups are ``*`` (without resourceNames) allows the request ``*`` on ``*``.

A selection check: each ClusterRoleBinding is judged with the roles of the selection (aggregation
resolved) and the Kubernetes default ClusterRoles it may bind without listing them, so a binding
to cluster-admin or to any role spelling the same wildcard is found; every subject it names is
reported. The API server's own bootstrap binding is not (rbac-cluster-admin-binding treats it the
same way). ``assert_not_cluster_admin`` asks it of one subject, through any binding (group
system:masters included).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.rbac import RbacModel, request
from pytest_k8ssec.sources.default_roles import default_roles, is_default_binding

ID = "rbac-cluster-admin-subject"
_EVERYTHING = request("*", "*", api_group="*")


def _evaluate(objects: Sequence[K8sObject]) -> Iterator[tuple[K8sObject, Violation]]:
    model = RbacModel.from_objects(objects, defaults=default_roles("latest"))
    for binding in model.bindings:
        if binding.kind != "ClusterRoleBinding" or binding.obj is None or is_default_binding(binding.obj):
            continue
        role = model.role(binding.role_ref)
        if role is None or not any(rule.allows(_EVERYTHING) for rule in role.rules):
            continue
        for index, subject in enumerate(binding.subjects):
            message = f"{subject} holds every verb on every resource cluster-wide (through {binding.role_ref})"
            yield binding.obj, Violation(f"subjects[{index}]", message)


CHECK = Check(
    id=ID,
    title="Subject is cluster-admin",
    summary="No subject may hold every verb on every resource cluster-wide.",
    remediation=(
        "Bind a role that grants only what the subject needs instead of cluster-admin (or a role with '*' on '*')."
    ),
    category=Category.RBAC,
    severity=Severity.CRITICAL,
    evaluate_selection=_evaluate,
    targets=frozenset({"ClusterRoleBinding"}),
    controls=("CIS-5.1.1", "NSA-authz-rbac"),
    references=("https://kubernetes.io/docs/reference/access-authn-authz/rbac/",),
    helpers=("assert_not_cluster_admin",),
)
