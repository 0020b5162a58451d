"""dangerous-capabilities.

Pod Security Standards, Baseline, "Capabilities": adding additional capabilities beyond those
listed below must be disallowed. This check singles out the added capabilities that give a
container power over the node or its neighbours, whatever policy level a team settles on; it
goes beyond PSS, which bans them only as part of a larger set (see ``capabilities-added``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping

# Canonical name (upper case, no "CAP_" prefix) -> why adding it is dangerous. SETFCAP stays out
# (it is in the PSS baseline set); LINUX_IMMUTABLE and NET_BROADCAST stay out because they give
# no power beyond the container (capabilities-added still reports them).
DANGEROUS_CAPABILITIES: Final[dict[str, str]] = {
    "ALL": "grants every capability, nearly the power of a privileged container",
    "SYS_ADMIN": "allows mounts and namespace and cgroup changes, the usual container escape",
    "SYS_MODULE": "loads kernel modules, i.e. runs arbitrary code in the node's kernel",
    "SYS_RAWIO": "gives raw access to I/O ports and kernel memory devices",
    "SYS_PTRACE": "traces and injects code into other processes (the node's, with hostPID)",
    "SYS_BOOT": "reboots the node or loads a new kernel with kexec",
    "SYS_TIME": "sets the system clock, which all pods on the node share",
    "SYS_RESOURCE": "overrides resource limits and quotas, so one pod can starve the node",
    "DAC_READ_SEARCH": "bypasses file read checks; open_by_handle_at reads host files (shocker)",
    "NET_ADMIN": "reconfigures interfaces, routes and firewalls (the node's, with hostNetwork)",
    "NET_RAW": "opens raw sockets to spoof traffic to other pods on the node",
    "BPF": "loads BPF programs into the shared kernel",
    "PERFMON": "observes other processes and the kernel through perf events",
    "MAC_ADMIN": "changes the AppArmor/SELinux policy that confines the node's containers",
    "MAC_OVERRIDE": "bypasses the AppArmor/SELinux policy",
    "SYSLOG": "reads kernel addresses from the kernel log (defeats KASLR) and clears it",
    "AUDIT_CONTROL": "changes or disables the node's kernel audit rules (not namespaced)",
}


def canonical(capability: str) -> str:
    """``cap_sys_admin`` -> ``SYS_ADMIN``.

    Unlike PSA's exact match, this check compares as the runtimes do: containerd and CRI-O
    upper-case the name, and CRI-O also accepts a ``CAP_`` prefix, so "cap_sys_admin" grants
    SYS_ADMIN and is just as dangerous.
    """
    name = capability.upper()
    return name[4:] if name.startswith("CAP_") else name


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    for ref in containers(obj):
        capabilities = as_mapping(ref.security_context.get("capabilities"))
        for index, value in enumerate(as_list(capabilities.get("add"))):
            if not isinstance(value, str):
                continue  # malformed entry: malformed-object reports it
            reason = DANGEROUS_CAPABILITIES.get(canonical(value))
            if reason is not None:
                yield Violation(
                    f"{ref.path}.securityContext.capabilities.add[{index}]",
                    f'container "{ref.name}" must not add "{value}": it {reason}',
                    ref.name,
                )


CHECK = Check(
    id="dangerous-capabilities",
    title="Dangerous capabilities added",
    summary=(
        "Containers must not add capabilities that give power over the node or other pods "
        "(ALL, SYS_ADMIN, SYS_MODULE, NET_ADMIN, NET_RAW, SYS_PTRACE and similar)."
    ),
    remediation=(
        "Remove the capability from securityContext.capabilities.add; move work that needs it "
        "out of the pod or into a narrowly scoped, reviewed component."
    ),
    category=Category.PRIVILEGES,
    # One severity per check: the worst of the list (ALL, SYS_ADMIN, SYS_MODULE are root on the
    # node); the message says what the particular capability allows.
    severity=Severity.CRITICAL,
    evaluate=_evaluate,
    controls=("PSS-baseline-capabilities", "CIS-5.2.9", "MITRE-T1611"),
    references=(
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
        "https://man7.org/linux/man-pages/man7/capabilities.7.html",
    ),
)
