"""in-pod-shell-present.

NSA/CISA Kubernetes Hardening Guide, "Container images": build minimal images; an interactive
shell in a running container serves an attacker. Seen from inside the container: ``command -v``
of each shell beyond the ``/bin/sh`` the exec backend needs.

A requirement check: it reads a running container through a testinfra host; run it with assert_in_pod_no_shell().
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Check, Severity

ID = "in-pod-shell-present"

CHECK = Check(
    id=ID,
    title="Interactive shell in the container",
    summary="The image must ship no interactive shell beyond /bin/sh.",
    remediation="Build from a distroless base image (then test from outside the container).",
    category=Category.IMAGES,
    severity=Severity.LOW,
    targets=frozenset(),
    controls=("NSA-pod-secure-images", "MITRE-T1609"),
    helpers=("assert_in_pod_no_shell",),
)
