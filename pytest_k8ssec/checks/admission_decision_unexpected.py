"""admission-decision-unexpected.

Kubernetes admission control: a create request passes the admission chain (Pod Security
admission, validating webhooks such as Kyverno or Gatekeeper) or is refused with the reason; a
server-side dry-run (``dryRun=All``) runs the whole chain and stores nothing.

A requirement check: the test names the namespace and the object, and needs a live cluster; run it with assert_admission_rejects() or assert_admission_allows().
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Check, Severity

ID = "admission-decision-unexpected"

CHECK = Check(
    id=ID,
    title="Admission decision against the requirement",
    summary="Admission must refuse (or admit) the object the test sends as a dry-run.",
    remediation="Change the admission policy (Pod Security labels, webhook policies) so that it decides as required.",
    category=Category.PRIVILEGES,
    severity=Severity.HIGH,
    targets=frozenset(),
    helpers=("assert_admission_rejects", "assert_admission_allows"),
    controls=("CIS-5.2.1", "NSA-pod-security-enforcement", "MITRE-T1610"),
    references=("https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/",),
)
