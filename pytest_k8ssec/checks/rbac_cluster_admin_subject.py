"""rbac-cluster-admin-subject.

CIS Kubernetes Benchmark 5.1.1, "Ensure that the cluster-admin role is only used where required":
a subject that holds every verb on every resource in every API group cluster-wide (cluster-admin,
or any role spelling the same wildcard, or group system:masters) can do anything.

A requirement check: the test names the subject (rbac-cluster-admin-binding judges bindings alone); run it with assert_not_cluster_admin().
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Check, Severity

ID = "rbac-cluster-admin-subject"

CHECK = Check(
    id=ID,
    title="Subject is cluster-admin",
    summary="The subject must not hold every verb on every resource cluster-wide.",
    remediation="Bind a role that grants only what the subject needs instead of cluster-admin (or a role with '*' on '*').",
    category=Category.RBAC,
    severity=Severity.CRITICAL,
    targets=frozenset(),
    helpers=("assert_not_cluster_admin",),
    controls=("CIS v1.12 5.1.1",),
    references=("https://kubernetes.io/docs/reference/access-authn-authz/rbac/",),
)
