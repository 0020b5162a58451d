"""PSS restricted ``allowPrivilegeEscalation`` (v1.8, v1.25).

"Privilege escalation (such as via set-user-ID or set-group-ID file mode) should not be allowed."
Restricted fields: ``spec.containers[*].securityContext.allowPrivilegeEscalation`` (and init and
ephemeral containers); allowed value: ``false`` (explicitly). From v1.25 pods with
``spec.os.name: windows`` are exempt (k8s.io/pod-security-admission
``policy/check_allowPrivilegeEscalation.go``).
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome, forbidden, join_quote, pluralize
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.security import is_windows
from pytest_k8ssec.model.workloads import PodSpecRef


def allow_privilege_escalation_1_8(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    bad = [ref for ref in containers(obj) if ref.security_context.get("allowPrivilegeEscalation") is not False]
    if not bad:
        return ALLOWED
    names = [ref.name for ref in bad]
    return forbidden(
        "allowPrivilegeEscalation != false",
        f"{pluralize('container', 'containers', len(names))} {join_quote(names)} must set "
        "securityContext.allowPrivilegeEscalation=false",
        [f"{ref.path}.securityContext.allowPrivilegeEscalation" for ref in bad],
        names,
    )


def allow_privilege_escalation_1_25(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    # The API server rejects allowPrivilegeEscalation on Windows pods, so it cannot be required.
    if is_windows(pod):
        return ALLOWED
    return allow_privilege_escalation_1_8(pod, obj)


CONTROL = Control(
    "allowPrivilegeEscalation",
    "restricted",
    (
        Versioned(v(1, 8), allow_privilege_escalation_1_8),
        Versioned(v(1, 25), allow_privilege_escalation_1_25),
    ),
    "pss-allow-privilege-escalation",
)

CHECK = make_check(
    CONTROL,
    title="PSS restricted: privilege escalation",
    summary="Every container must set allowPrivilegeEscalation: false (Pod Security Standards, restricted).",
    remediation="Set securityContext.allowPrivilegeEscalation: false on every container.",
    category=Category.PRIVILEGES,
    severity=Severity.HIGH,
    controls=("CIS-5.2.6", "NSA-pod-security-enforcement", "MITRE-T1068"),
)
