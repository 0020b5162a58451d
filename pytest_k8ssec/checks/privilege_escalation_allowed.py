"""privilege-escalation-allowed.

Pod Security Standards, Restricted, "Privilege Escalation (v1.8+)": privilege escalation (such as
via set-user-ID or set-group-ID file mode) should not be allowed. Restricted fields:
``spec.containers[*].securityContext.allowPrivilegeEscalation`` (and init and ephemeral
containers); allowed value: ``false``.

The field must be set explicitly: unset means the kubelet leaves ``no_new_privs`` off, so an unset
field allows escalation just as ``true`` does. The API reference adds that escalation "is true
always when the container is run as privileged or has CAP_SYS_ADMIN"; such a container is
reported even when it sets the field to ``false`` (PSA itself does not look, because the
privileged and capabilities checks catch those containers).

Builds on the upstream control (``checks/pss/check_allow_privilege_escalation.py``, reported once
per pod as ``pss-allow-privilege-escalation``): the containers it forbids are reported one by one,
and this check's own opinion adds the privileged and CAP_SYS_ADMIN containers. Windows pods stay
exempt from both, as the control exempts them from v1.25.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks.pss import check_allow_privilege_escalation
from pytest_k8ssec.checks.pss._registry import outcome
from pytest_k8ssec.model.containers import ContainerRef, containers
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.security import is_windows
from pytest_k8ssec.model.workloads import pod_spec

# The runtimes upper-case capability names and CRI-O also accepts a "CAP_" prefix, so every
# spelling of SYS_ADMIN grants it (the API server itself only special-cases "CAP_SYS_ADMIN").
_SYS_ADMIN_SPELLINGS: Final = frozenset({"SYS_ADMIN", "CAP_SYS_ADMIN"})

#: What an unset field means: the kubelet sets no_new_privs only for an explicit false.
UNSET_WHY: Final = (
    "it is unset, so the kubelet leaves no_new_privs off and setuid binaries or file capabilities "
    "can raise the process's privileges"
)


def _escalates_anyway(ref: ContainerRef) -> str | None:
    """Why escalation is possible although allowPrivilegeEscalation=false, or ``None``."""
    context = ref.security_context
    if context.get("privileged") is True:
        return "privileged=true"
    for capability in as_list(as_mapping(context.get("capabilities")).get("add")):
        if isinstance(capability, str) and capability.upper() in _SYS_ADMIN_SPELLINGS:
            return f'capabilities.add "{capability}"'
    return None


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    pod = pod_spec(obj)
    # Windows pods are exempt (PSS v1.25+): the API server rejects the field when
    # spec.os.name is windows, so demanding it would make the check unfixable.
    if pod is None or is_windows(pod):
        return
    found = outcome(check_allow_privilege_escalation.CONTROL, obj)
    for ref in containers(obj):
        path = f"{ref.path}.securityContext.allowPrivilegeEscalation"
        # The control accepts only a real boolean false; a string "false" is malformed and fails.
        if path in found.paths:
            message = f'container "{ref.name}" must set securityContext.allowPrivilegeEscalation=false'
            if ref.security_context.get("allowPrivilegeEscalation") is None:
                # Unset reads as harmless; say what it leaves on.
                message += f": {UNSET_WHY}"
            yield Violation(path, message, ref.name)
            continue
        reason = _escalates_anyway(ref)
        if reason is not None:
            yield Violation(
                path,
                f'container "{ref.name}" can escalate privileges despite '
                f"allowPrivilegeEscalation=false because it sets {reason}",
                ref.name,
            )


CHECK = Check(
    id="privilege-escalation-allowed",
    title="Privilege escalation allowed",
    summary=(
        "Containers must set allowPrivilegeEscalation=false, so setuid binaries and file "
        "capabilities cannot give a process more privileges than its parent."
    ),
    remediation=(
        "Set securityContext.allowPrivilegeEscalation: false on every container, and do not run "
        "it privileged or with CAP_SYS_ADMIN."
    ),
    category=Category.PRIVILEGES,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    controls=("PSS-restricted-privilege-escalation", "CIS-5.2.6", "NSA-pod-security-enforcement", "MITRE-T1068"),
    references=(
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
        "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
    ),
)
