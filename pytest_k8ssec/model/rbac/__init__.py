"""RBAC as kube-apiserver decides it, offline: one module per concern, the names other layers use.

- ``rules``: requests and rules (``Request``, ``PolicyRule``: the rule matchers and rule validation)
- ``subjects``: who asks (``UserInfo``, ``user``) and binding subjects (``RbacSubject``)
- ``aggregation``: aggregated ClusterRoles as the clusterrole-aggregation controller writes them
- ``authorizer``: ``RbacModel`` (can, who_can, permissions) over validated roles and bindings
- ``default_roles``: the bootstrap roles and bindings a version ships (read by
  ``pytest_k8ssec.sources.default_roles``), and what counts as default
- ``risks``: the catalog of risky permissions
"""

from __future__ import annotations

from pytest_k8ssec.model.rbac.authorizer import Grant, Permission, RbacBinding, RbacModel, RbacRole
from pytest_k8ssec.model.rbac.default_roles import (
    BOOTSTRAP_LABEL,
    BOOTSTRAP_VALUE,
    KUBEADM_CLUSTER_INFO,
    DefaultRoles,
    is_bootstrap,
)
from pytest_k8ssec.model.rbac.risks import (
    CATALOG,
    CLUSTER_ADMIN,
    NAMED_VERBS,
    RISKS,
    Access,
    Risk,
    RuleHit,
    SubjectHit,
    describe,
    granted_request,
    risk,
    role_risks,
    subject_risks,
)
from pytest_k8ssec.model.rbac.rules import (
    PRIVILEGED_GROUP,
    RBAC_API_VERSION,
    RBAC_GROUP,
    RBAC_KINDS,
    PolicyRule,
    RbacError,
    Request,
    request,
)
from pytest_k8ssec.model.rbac.subjects import (
    ANONYMOUS,
    AUTHENTICATED,
    SA_PREFIX,
    SERVICE_ACCOUNTS,
    UNAUTHENTICATED,
    RbacSubject,
    UserInfo,
    service_account,
    user,
    workload_user,
)

__all__ = (
    "ANONYMOUS",
    "AUTHENTICATED",
    "BOOTSTRAP_LABEL",
    "BOOTSTRAP_VALUE",
    "CATALOG",
    "CLUSTER_ADMIN",
    "KUBEADM_CLUSTER_INFO",
    "NAMED_VERBS",
    "PRIVILEGED_GROUP",
    "RBAC_API_VERSION",
    "RBAC_GROUP",
    "RBAC_KINDS",
    "RISKS",
    "SA_PREFIX",
    "SERVICE_ACCOUNTS",
    "UNAUTHENTICATED",
    "Access",
    "DefaultRoles",
    "Grant",
    "Permission",
    "PolicyRule",
    "RbacBinding",
    "RbacError",
    "RbacModel",
    "RbacRole",
    "RbacSubject",
    "Request",
    "Risk",
    "RuleHit",
    "SubjectHit",
    "UserInfo",
    "describe",
    "granted_request",
    "is_bootstrap",
    "request",
    "risk",
    "role_risks",
    "service_account",
    "subject_risks",
    "user",
    "workload_user",
)
