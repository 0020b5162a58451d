"""rbac-role-ref-missing.

Kubernetes RBAC: a binding may reference a role that does not exist (the API server accepts it;
the authorizer's rule resolver, ``VisitRulesFor``, skips a roleRef it cannot resolve, so the binding
grants nothing), and it starts granting the moment a role of that name is created: whoever may
create Roles in the namespace (or ClusterRoles) decides what its subjects get.

A selection check: a RoleBinding or ClusterRoleBinding is reported at ``roleRef.name`` when its
role is neither in the selection nor a default ClusterRole of a shipped Kubernetes version. What
that means depends on the selection, and the message says which: objects listed from a live
cluster are the cluster's own listing, so the role really does not exist there (a dangling
reference); on manifests the role may be created by something outside the selection (another
chart, an operator), so it is "not in the selection", and the fix is to add it or correct the
name. Not reported: bindings the API server would reject (rbac-risky-binding reports them), and
roles that are in the selection but invalid (rbac-risky-rules reports their rules, rbac-risky-binding
the binding).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence

from pytest_k8ssec.checks._bindings import bindings_of
from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.sources.default_roles import default_roles, default_versions

ID = "rbac-role-ref-missing"


@functools.lru_cache(maxsize=1)
def _default_names() -> frozenset[str]:
    # Every shipped version's: a cluster one version behind the newest data still has its own defaults.
    return frozenset(obj.name for version in default_versions() for obj in default_roles(version))


def _evaluate(objects: Sequence[K8sObject]) -> Iterator[tuple[K8sObject, Violation]]:
    for view in bindings_of(objects):
        binding = view.binding
        if binding is None or view.role is not None or view.role_listed:
            continue
        kind, _, name = binding.role_ref.partition("/")
        if kind == "ClusterRole" and name in _default_names():
            continue  # a default ClusterRole of another shipped version: the cluster creates it itself
        if view.obj.provenance.from_cluster:
            message = (
                f"references {binding.role_ref}, which the cluster does not have: the binding grants nothing now, "
                f"and whoever creates a {kind} of that name grants it to its subjects"
            )
        else:
            message = (
                f"references {binding.role_ref}, which is not in the selection nor a default ClusterRole: the "
                "binding grants whatever a role of that name is created with elsewhere, or nothing"
            )
        yield view.obj, Violation("roleRef.name", message)


CHECK = Check(
    id=ID,
    title="Binding to a role that does not exist",
    summary="A RoleBinding or ClusterRoleBinding must reference a role of the selection or a default ClusterRole.",
    remediation="Add the role to the selection, correct roleRef.name, or delete the binding.",
    category=Category.RBAC,
    severity=Severity.MEDIUM,
    evaluate_selection=_evaluate,
    targets=frozenset({"ClusterRoleBinding", "RoleBinding"}),
    controls=("NSA-authz-rbac",),
    references=("https://kubernetes.io/docs/reference/access-authn-authz/rbac/#rolebinding-and-clusterrolebinding",),
)
