"""pod-security-not-enforced.

Pod Security Admission, "enforce" mode: policy violations cause the pod to be rejected. Proven
by dry-run probes: one pod per control of the level, each breaking exactly that control, and a
compliant pod that must be admitted.

A requirement check: the test names the namespace, and needs a live cluster; run it with assert_pod_security_enforced().
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Check, Severity

ID = "pod-security-not-enforced"

CHECK = Check(
    id=ID,
    title="Namespace does not enforce its Pod Security level",
    summary="A namespace must refuse every pod its Pod Security level forbids and admit a compliant one.",
    remediation="Label the namespace pod-security.kubernetes.io/enforce=<level> (or enforce it with your policy engine).",
    category=Category.PRIVILEGES,
    severity=Severity.HIGH,
    targets=frozenset(),
    helpers=("assert_pod_security_enforced",),
    controls=("CIS-5.2.1", "NSA-pod-security-enforcement", "MITRE-T1610"),
    references=("https://kubernetes.io/docs/concepts/security/pod-security-admission/",),
)
