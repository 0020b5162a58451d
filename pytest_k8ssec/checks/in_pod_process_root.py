"""in-pod-process-root.

Pod Security Standards, Restricted, "Running as Non-root": containers must be required to run as
non-root users. Seen from inside the running container: the real and effective UID of its main
process (``/proc/<pid>/status``), whatever the manifest and the image say.

A requirement check: it reads a running container through a testinfra host; run it with assert_in_pod_runs_as_non_root().
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Check, Severity

ID = "in-pod-process-root"

CHECK = Check(
    id=ID,
    title="Container process runs as root",
    summary="The container's main process must run with a non-zero real and effective UID.",
    remediation="Set securityContext.runAsNonRoot: true and a non-zero runAsUser, or a non-root USER in the image.",
    category=Category.PRIVILEGES,
    severity=Severity.HIGH,
    targets=frozenset(),
    helpers=("assert_in_pod_runs_as_non_root",),
    controls=("CIS-5.2.7", "NSA-pod-non-root", "MITRE-T1611"),
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/",),
)
