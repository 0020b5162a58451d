"""PSS baseline ``sysctls`` (v1.0, v1.27, v1.29, v1.32, v1.37).

"Sysctls can disable security mechanisms or affect all containers on a host, and should be
disallowed except for an allowed 'safe' subset." Restricted fields:
``spec.securityContext.sysctls[*].name``; allowed values: undefined/empty, or
``kernel.shm_rmid_forced``, ``net.ipv4.ip_local_port_range``, ``net.ipv4.tcp_syncookies``,
``net.ipv4.ping_group_range``, ``net.ipv4.ip_unprivileged_port_start``; + v1.27
``net.ipv4.ip_local_reserved_ports``; + v1.29 ``net.ipv4.tcp_keepalive_time``,
``net.ipv4.tcp_fin_timeout``, ``net.ipv4.tcp_keepalive_intvl``, ``net.ipv4.tcp_keepalive_probes``;
+ v1.32 ``net.ipv4.tcp_rmem``, ``net.ipv4.tcp_wmem``; + v1.37 ``net.ipv4.tcp_slow_start_after_idle``,
``net.ipv4.tcp_notsent_lowat`` (k8s.io/pod-security-admission ``policy/check_sysctls.go``).
"""

from __future__ import annotations

from typing import Final

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome, forbidden, text
from pytest_k8ssec.checks.pss._registry import CheckFn, Control, Versioned, make_check, v
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.security import pod_security_context
from pytest_k8ssec.model.workloads import PodSpecRef

ALLOWED_1_0: Final = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    }
)
ALLOWED_1_27: Final = ALLOWED_1_0 | {"net.ipv4.ip_local_reserved_ports"}
ALLOWED_1_29: Final = ALLOWED_1_27 | {
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
ALLOWED_1_32: Final = ALLOWED_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
ALLOWED_1_37: Final = ALLOWED_1_32 | {"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"}


def _sysctls(allowed: frozenset[str]) -> CheckFn:
    def check(pod: PodSpecRef, obj: K8sObject) -> Outcome:
        # In the pod's order, duplicates kept, as upstream lists them.
        bad = [
            (index, text(as_mapping(sysctl).get("name")))
            for index, sysctl in enumerate(as_list(pod_security_context(pod).get("sysctls")))
            if text(as_mapping(sysctl).get("name")) not in allowed
        ]
        if not bad:
            return ALLOWED
        return forbidden(
            "forbidden sysctls",
            ", ".join(name for _, name in bad),
            [f"{pod.path}.securityContext.sysctls[{index}].name" for index, _ in bad],
        )

    return check


sysctls_1_0 = _sysctls(ALLOWED_1_0)
sysctls_1_27 = _sysctls(ALLOWED_1_27)
sysctls_1_29 = _sysctls(ALLOWED_1_29)
sysctls_1_32 = _sysctls(ALLOWED_1_32)
sysctls_1_37 = _sysctls(ALLOWED_1_37)

CONTROL = Control(
    "sysctls",
    "baseline",
    (
        Versioned(v(1, 0), sysctls_1_0),
        Versioned(v(1, 27), sysctls_1_27),
        Versioned(v(1, 29), sysctls_1_29),
        Versioned(v(1, 32), sysctls_1_32),
        Versioned(v(1, 37), sysctls_1_37),
    ),
    "pss-sysctls",
)

CHECK = make_check(
    CONTROL,
    title="PSS baseline: sysctls",
    summary="Pods may set only the namespaced, isolated sysctls Pod Security Standards call safe (baseline).",
    remediation="Remove every sysctl outside the safe set from securityContext.sysctls.",
    category=Category.KERNEL,
    severity=Severity.HIGH,
    controls=("MITRE-T1611",),
)
