"""Pod- and container-level securityContext lookups shared by the checks.

Kubernetes resolves several settings container-first, pod-second (runAsNonRoot, runAsUser,
runAsGroup, seccompProfile, seLinuxOptions, appArmorProfile); these helpers answer with the value
and the field path it came from, so a violation points at the field to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_k8ssec.model.containers import ContainerRef
from pytest_k8ssec.model.objects import as_mapping
from pytest_k8ssec.model.workloads import PodSpecRef


def pod_security_context(pod: PodSpecRef) -> Mapping[str, Any]:
    """``spec.securityContext`` of the pod (empty if missing or malformed)."""
    return as_mapping(pod.spec.get("securityContext"))


def effective(pod: PodSpecRef, container: ContainerRef, key: str) -> tuple[Any, str | None]:
    """The container's ``securityContext.<key>`` if set, else the pod's; with the path it was read from.

    Returns ``(None, None)`` when neither sets it.
    """
    value = container.security_context.get(key)
    if value is not None:
        return value, f"{container.path}.securityContext.{key}"
    value = pod_security_context(pod).get(key)
    if value is not None:
        return value, f"{pod.path}.securityContext.{key}"
    return None, None


def quote_names(names: list[str]) -> str:
    """``container "a"`` / ``containers "a", "b"``: PSA's way of naming containers in a message."""
    quoted = ", ".join(f'"{name}"' for name in names)
    return f"container {quoted}" if len(names) == 1 else f"containers {quoted}"


def is_windows(pod: PodSpecRef) -> bool:
    """True for pods with ``spec.os.name: windows``.

    The API server rejects the Linux-only securityContext fields (seccompProfile, capabilities,
    allowPrivilegeEscalation, readOnlyRootFilesystem, ...) on such pods, so checks demanding them
    would be unfixable; PSA v1.25+ exempts Windows pods from the same restricted controls.
    """
    return as_mapping(pod.spec.get("os")).get("name") == "windows"
