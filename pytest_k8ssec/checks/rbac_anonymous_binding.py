"""rbac-anonymous-binding.

Kubernetes RBAC good practices: "Review bindings for the system:unauthenticated group and remove
them where possible, as this gives access to anyone who can contact the API server at a network
level." Requests without credentials are user system:anonymous in group system:unauthenticated
(when anonymous authentication is on, the default), so a binding to either grants its role to
anyone who can reach the API server.

A violation is a subject User system:anonymous or Group system:unauthenticated of a RoleBinding or
ClusterRoleBinding (the path is ``subjects[<i>]``). Not reported: the API server's bootstrap binding
system:public-info-viewer (health and version endpoints, labelled
kubernetes.io/bootstrapping=rbac-defaults, with no subject added) and kubeadm's
kube-public/kubeadm:bootstrap-signer-clusterinfo (the cluster-info ConfigMap that ``kubeadm join``
reads). Whether their roles were widened is a question about the roles: ``assert_no_anonymous_access``
answers it with the whole RBAC model.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.rbac import ANONYMOUS, KUBEADM_CLUSTER_INFO, RBAC_GROUP, UNAUTHENTICATED
from pytest_k8ssec.sources.default_roles import is_default_binding


def anonymous_subject(subject: object) -> bool:
    """User system:anonymous or Group system:unauthenticated."""
    raw = as_mapping(subject)
    return (raw.get("kind"), raw.get("name")) in (("User", ANONYMOUS), ("Group", UNAUTHENTICATED))


def _kubeadm_cluster_info(obj: K8sObject) -> bool:
    ref = as_mapping(obj.raw.get("roleRef"))
    binding, role, _ = KUBEADM_CLUSTER_INFO
    return obj.ref == binding and f"{ref.get('kind')}/{obj.namespace}/{ref.get('name')}" == role


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    if obj.api_group != RBAC_GROUP or is_default_binding(obj) or _kubeadm_cluster_info(obj):
        return
    ref = as_mapping(obj.raw.get("roleRef"))
    for i, subject in enumerate(as_list(obj.raw.get("subjects"))):
        if anonymous_subject(subject):
            raw = as_mapping(subject)
            yield Violation(
                f"subjects[{i}]",
                f"{raw.get('kind')} {raw.get('name')} gets {ref.get('kind')} {ref.get('name')}: anyone who can "
                "reach the API server, without credentials",
            )


CHECK = Check(
    id="rbac-anonymous-binding",
    title="RBAC binding for anonymous users",
    summary="No binding may grant a role to user system:anonymous or group system:unauthenticated.",
    remediation="Remove the system:anonymous and system:unauthenticated subjects; bind the role to the authenticated users or service accounts that need it.",
    category=Category.RBAC,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    targets=frozenset({"ClusterRoleBinding", "RoleBinding"}),
    controls=("NSA-authn-users", "NSA-authz-rbac", "MITRE-T1078.001"),
    references=(
        "https://kubernetes.io/docs/concepts/security/rbac-good-practices/#general-good-practice",
        "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#anonymous-requests",
    ),
)
