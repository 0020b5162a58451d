"""PSS baseline ``hostNamespaces`` (v1.0).

"Sharing the host namespaces must be disallowed." Restricted fields: ``spec.hostNetwork``,
``spec.hostPID``, ``spec.hostIPC``; allowed values: undefined/nil, ``false``
(k8s.io/pod-security-admission ``policy/check_hostNamespaces.go``).
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome, forbidden, is_true
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import PodSpecRef


def host_namespaces_1_0(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    shared = [key for key in ("hostNetwork", "hostPID", "hostIPC") if is_true(pod.spec.get(key))]
    if not shared:
        return ALLOWED
    return forbidden(
        "host namespaces", ", ".join(f"{key}=true" for key in shared), [f"{pod.path}.{key}" for key in shared]
    )


CONTROL = Control("hostNamespaces", "baseline", (Versioned(v(1, 0), host_namespaces_1_0),), "pss-host-namespaces")

CHECK = make_check(
    CONTROL,
    title="PSS baseline: host namespaces",
    summary="Pods must not share the host's network, PID or IPC namespace (Pod Security Standards, baseline).",
    remediation="Remove hostNetwork, hostPID and hostIPC from the pod spec or set them to false.",
    category=Category.HOST,
    severity=Severity.HIGH,
    controls=("CIS-5.2.3", "CIS-5.2.4", "CIS-5.2.5", "NSA-pod-security-enforcement", "MITRE-T1611"),
)
