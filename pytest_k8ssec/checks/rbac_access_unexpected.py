"""rbac-access-unexpected.

Kubernetes RBAC authorization (``RBACAuthorizer``): a request is allowed when some binding whose
subjects match the user grants a rule matching the verb, resource, namespace and name. CIS
Kubernetes Benchmark 5.1: minimise access.

A requirement check: the test names the subject and the request; run it with assert_can() or assert_cannot().
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Check, Severity

ID = "rbac-access-unexpected"

CHECK = Check(
    id=ID,
    title="Access allowed or denied against the requirement",
    summary="A subject's access must be what the test requires.",
    remediation="Change the bindings (or roles) that grant or deny the access, as the failure names them.",
    category=Category.RBAC,
    severity=Severity.HIGH,
    targets=frozenset(),
    helpers=("assert_can", "assert_cannot"),
    controls=("NSA-authz-rbac",),
    references=("https://kubernetes.io/docs/reference/access-authn-authz/rbac/",),
)
