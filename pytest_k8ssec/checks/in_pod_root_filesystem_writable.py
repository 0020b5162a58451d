"""in-pod-root-filesystem-writable.

NSA/CISA Kubernetes Hardening Guide, "Use immutable container file systems" (CIS Kubernetes
Benchmark 5.7.x, readOnlyRootFilesystem): seen from inside the running container, ``/`` must be
mounted read-only.

A requirement check: it reads a running container through a testinfra host; run it with assert_in_pod_read_only_root_filesystem().
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Check, Severity

ID = "in-pod-root-filesystem-writable"

CHECK = Check(
    id=ID,
    title="Container root filesystem writable",
    summary="The container's root filesystem must be mounted read-only.",
    remediation="Set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes where the app writes.",
    category=Category.PRIVILEGES,
    severity=Severity.MEDIUM,
    targets=frozenset(),
    controls=("NSA-pod-immutable-fs",),
    helpers=("assert_in_pod_read_only_root_filesystem",),
)
