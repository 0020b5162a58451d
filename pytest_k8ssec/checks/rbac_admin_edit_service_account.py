"""rbac-admin-edit-service-account.

Kubernetes RBAC, "User-facing roles": ``admin`` "allows admin access, intended to be granted within
a namespace using a RoleBinding" (read and write of most objects, Secrets and RoleBindings
included) and ``edit`` "allows read/write access to most objects in a namespace", Secrets
included, and running pods as any service account of the namespace. They are meant for people:
bound to a service account, every pod that runs as it (and everyone who can exec into such a pod
or read its token) holds them, and bound by a ClusterRoleBinding they hold them in every
namespace. CIS Kubernetes Benchmark 5.1.2 (secrets) and 5.1.4 (create pods) follow for any such
binding.

A violation is a subject of a RoleBinding or ClusterRoleBinding whose roleRef is the ClusterRole
``admin`` or ``edit`` (roleRef apiGroup empty or rbac.authorization.k8s.io, as the API server
defaults it) and that is a ServiceAccount, or the group of all service accounts
(``system:serviceaccounts``) or of one namespace's (``system:serviceaccounts:<ns>``); the path is
``subjects[<i>]``. Users and other groups are not reported (the roles exist for them), nor a Role
named admin or edit (a namespace's own role, not the built-in). ``cluster-admin`` is
rbac-cluster-admin-binding's (and rbac-risky-binding's ``cluster-admin-service-account``). Trivy's
KSV111 reports every binding to cluster-admin, admin or edit whatever its subjects; Kubescape's
"administrative roles" controls report subjects of roles with admin-like rules: this is the
service-account part of both, by name as the API server resolves it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.rbac import RBAC_GROUP, SERVICE_ACCOUNTS
from pytest_k8ssec.sources.default_roles import is_default_binding

ROLES: Final = frozenset({"admin", "edit"})


def _service_accounts(subject: object, namespace: str) -> str | None:
    """What the subject names if it is one or more service accounts, else ``None``."""
    raw = as_mapping(subject)
    kind, name = raw.get("kind"), raw.get("name")
    if not isinstance(name, str):
        return None
    if kind == "ServiceAccount":
        return f"ServiceAccount {raw.get('namespace') or namespace}/{name}"
    if kind == "Group" and (name == SERVICE_ACCOUNTS or name.startswith(f"{SERVICE_ACCOUNTS}:")):
        owners = "every namespace" if name == SERVICE_ACCOUNTS else f"namespace {name.split(':', 2)[2]}"
        return f"Group {name} (every service account of {owners})"
    return None


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    if obj.api_group != RBAC_GROUP or is_default_binding(obj):
        return
    ref = as_mapping(obj.raw.get("roleRef"))
    role = ref.get("name")
    if (
        ref.get("kind") != "ClusterRole"
        or not isinstance(role, str)
        or role not in ROLES
        or (ref.get("apiGroup") or RBAC_GROUP) != RBAC_GROUP
    ):
        return
    namespace = obj.namespace or ""
    where = "in every namespace" if obj.kind == "ClusterRoleBinding" else f"in namespace {namespace}"
    for i, subject in enumerate(as_list(obj.raw.get("subjects"))):
        who = _service_accounts(subject, namespace)
        if who is not None:
            yield Violation(
                f"subjects[{i}]",
                f"{who} gets ClusterRole {role} {where}: any pod that runs as it can read Secrets and run pods as "
                f"any service account there{', and write Roles and RoleBindings' if role == 'admin' else ''}",
            )


CHECK = Check(
    id="rbac-admin-edit-service-account",
    title="Service account bound to admin or edit",
    summary="No binding may give a service account the built-in admin or edit ClusterRole.",
    remediation="Bind the service account to a Role that grants only the verbs and resources its workload uses.",
    category=Category.RBAC,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    targets=frozenset({"ClusterRoleBinding", "RoleBinding"}),
    controls=("CIS-5.1.2", "CIS-5.1.4", "NSA-authz-rbac"),
    references=(
        "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles",
        "https://kubernetes.io/docs/concepts/security/rbac-good-practices/#least-privilege",
    ),
)
