"""in-pod-package-manager-present.

NSA/CISA Kubernetes Hardening Guide, "Container images": build minimal images; a package
manager in a running container lets an attacker install tools. Seen from inside the container:
``command -v`` of each package manager.

A requirement check: it reads a running container through a testinfra host; run it with assert_in_pod_no_package_manager().
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Check, Severity

ID = "in-pod-package-manager-present"

CHECK = Check(
    id=ID,
    title="Package manager in the container",
    summary="The image must ship no package manager.",
    remediation="Build from a minimal or distroless base image, or remove the package manager in the last stage.",
    category=Category.IMAGES,
    severity=Severity.LOW,
    targets=frozenset(),
    controls=("NSA-pod-secure-images",),
    helpers=("assert_in_pod_no_package_manager",),
)
