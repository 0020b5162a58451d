"""rbac-cluster-admin-binding.

CIS Kubernetes Benchmark 5.1.1: "Ensure that the cluster-admin role is only used where required."
The cluster-admin ClusterRole grants every verb on every resource; bound by a ClusterRoleBinding it
is superuser access to the whole cluster, and bound by a RoleBinding it is full control of the
namespace, its Secrets, RBAC and workloads included.

A violation is a ClusterRoleBinding or RoleBinding whose roleRef is the ClusterRole cluster-admin
(the path is ``roleRef.name``). The API server's own bootstrap binding ``cluster-admin`` (to group
system:masters, labelled kubernetes.io/bootstrapping=rbac-defaults) is not reported unless a
subject was added to it. kube-linter ``cluster-admin-role-binding``, Polaris
``clusterrolebindingClusterAdmin`` and ``rolebindingClusterAdminClusterRole`` check the same
binding by name.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.rbac import RBAC_GROUP
from pytest_k8ssec.sources.default_roles import is_default_binding


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    if obj.api_group != RBAC_GROUP:
        return
    ref = as_mapping(obj.raw.get("roleRef"))
    if (
        ref.get("kind") != "ClusterRole"
        or ref.get("name") != "cluster-admin"
        or (ref.get("apiGroup") or RBAC_GROUP) != RBAC_GROUP
    ):
        return
    if is_default_binding(obj):
        return
    subjects = (
        ", ".join(f"{as_mapping(s).get('kind')} {as_mapping(s).get('name')}" for s in as_list(obj.raw.get("subjects")))
        or "no subject"
    )
    where = (
        "the whole cluster"
        if obj.kind == "ClusterRoleBinding"
        else f"namespace {obj.namespace}, its Secrets and RBAC included"
    )
    yield Violation(
        "roleRef.name", f"binds ClusterRole cluster-admin ({subjects}): every verb on every resource in {where}"
    )


CHECK = Check(
    id="rbac-cluster-admin-binding",
    title="Binding to cluster-admin",
    summary="No RoleBinding or ClusterRoleBinding may grant the cluster-admin ClusterRole.",
    remediation="Bind a role that grants only the verbs and resources the subject needs instead of cluster-admin.",
    category=Category.RBAC,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    targets=frozenset({"ClusterRoleBinding", "RoleBinding"}),
    controls=("CIS-5.1.1", "NSA-authz-rbac", "MITRE-T1098.006"),
    references=("https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles",),
)
