"""unsafe-sysctls.

Pod Security Standards, Baseline, "Sysctls": "Sysctls can disable security mechanisms or affect all
containers on a host, and should be disallowed except for an allowed 'safe' subset. A sysctl is
considered safe if it is namespaced in the container or the Pod, and it is isolated from other
Pods or processes on the same Node." Restricted field: ``spec.securityContext.sysctls[*].name``
(k8s.io/pod-security-admission ``policy/check_sysctls.go``, control ``sysctls``; allowlist
versions v1.0, v1.27, v1.29, v1.32; this check applies the newest released one, v1.32).

Builds on the upstream control (``checks/pss/check_sysctls.py``) at policy v1.32: the sysctls it
forbids are reported one by one; a non-string name, which the control reads as a forbidden name,
is left to malformed-object here. ``pss-sysctls`` reports the control as the newest policy has it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks.pss import check_sysctls
from pytest_k8ssec.checks.pss._registry import outcome, v
from pytest_k8ssec.model.objects import K8sObject, as_list
from pytest_k8ssec.model.security import pod_security_context
from pytest_k8ssec.model.workloads import pod_spec

# The v1.32 allowlist. pod-security-admission master (tag v0.37.0-alpha.1 onwards, commit 23192ec,
# 2026-04-14) adds net.ipv4.tcp_slow_start_after_idle and net.ipv4.tcp_notsent_lowat at policy
# v1.37, but no v0.37.x release exists yet (only v0.37.0-alpha.0..2; the newest release, v0.36.2,
# stops at v1.32), so they are not allowed here: no released Kubernetes version admits them yet.
SAFE_SYSCTLS: Final = check_sysctls.ALLOWED_1_32
RELEASED: Final = v(1, 32)


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    found = outcome(check_sysctls.CONTROL, obj, RELEASED)
    pod = pod_spec(obj)
    if found.allowed or pod is None:
        return
    for index, sysctl in enumerate(as_list(pod_security_context(pod).get("sysctls"))):
        if not isinstance(sysctl, Mapping):
            continue  # malformed-object reports a non-mapping entry
        name = sysctl.get("name")
        if name is None:
            name = ""  # PSA reads a missing name as "", which is not on the allowlist
        path = f"{pod.path}.securityContext.sysctls[{index}].name"
        if not isinstance(name, str) or path not in found.paths:
            continue
        # Exact match, as in PSA: Kubernetes also accepts the slash form "net/ipv4/tcp_rmem", but
        # PSA's allowlist holds only the dotted names, so the slash form is forbidden there too.
        yield Violation(
            path,
            f'pod must not set sysctl "{name}": it is not in the Pod Security Standards safe set',
        )


CHECK = Check(
    id="unsafe-sysctls",
    title="Unsafe sysctl",
    summary="Pods may set only the sysctls the Pod Security Standards list as safe (namespaced and isolated from other pods).",
    remediation="Remove sysctls outside the safe set from spec.securityContext.sysctls; tune node-wide settings on the node instead.",
    category=Category.KERNEL,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    controls=("PSS-baseline-sysctls", "MITRE-T1611"),
    references=(
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
        "https://kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/",
    ),
)
