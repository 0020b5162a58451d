"""PSS baseline ``capabilities_baseline`` (v1.0).

"Adding additional capabilities beyond those listed below must be disallowed." Restricted fields:
``spec.containers[*].securityContext.capabilities.add`` (and init and ephemeral containers);
allowed values: undefined/empty, or names from AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID,
KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT (exact, case-sensitive;
k8s.io/pod-security-admission ``policy/check_capabilities_baseline.go``).
"""

from __future__ import annotations

from typing import Final

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome, forbidden, join_quote, pluralize, text
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.workloads import PodSpecRef

ALLOWED_1_0: Final = frozenset(
    {
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
        "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    }
)  # fmt: skip


def capabilities_baseline_1_0(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    names: list[str] = []
    paths: list[str] = []
    added: set[str] = set()
    for ref in containers(obj):
        adds = [text(c) for c in as_list(as_mapping(ref.security_context.get("capabilities")).get("add"))]
        bad = [c for c in adds if c not in ALLOWED_1_0]
        if bad:
            names.append(ref.name)
            paths.append(f"{ref.path}.securityContext.capabilities.add")
            added.update(bad)
    if not names:
        return ALLOWED
    return forbidden(
        "non-default capabilities",
        f"{pluralize('container', 'containers', len(names))} {join_quote(names)} must not include "
        f"{join_quote(sorted(added))} in securityContext.capabilities.add",
        paths,
        names,
    )


CONTROL = Control(
    "capabilities_baseline", "baseline", (Versioned(v(1, 0), capabilities_baseline_1_0),), "pss-capabilities-baseline"
)

CHECK = make_check(
    CONTROL,
    title="PSS baseline: capabilities",
    summary="Containers may add only capabilities from the container runtime's default set (Pod Security Standards, baseline).",
    remediation="Remove every capability outside the default set from securityContext.capabilities.add.",
    category=Category.PRIVILEGES,
    severity=Severity.HIGH,
    controls=("CIS-5.2.9", "MITRE-T1611"),
)
