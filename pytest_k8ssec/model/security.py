"""Pod-level lookups that several checks share: the pod's securityContext and its operating system."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_k8ssec.model.workloads import PodSpecRef


def pod_security_context(pod: PodSpecRef) -> Mapping[str, Any]:
    """``spec.securityContext`` of the pod (empty if missing or malformed)."""
    return pod.security_context


def is_windows(pod: PodSpecRef) -> bool:
    """True for pods with ``spec.os.name: windows``.

    The API server rejects the Linux-only securityContext fields (seccompProfile, capabilities,
    allowPrivilegeEscalation, readOnlyRootFilesystem, ...) on such pods, so checks demanding them
    would be unfixable; PSA v1.25+ exempts Windows pods from the same restricted controls.
    """
    return pod.windows
