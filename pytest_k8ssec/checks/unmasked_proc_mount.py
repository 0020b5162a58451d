"""unmasked-proc-mount.

Pod Security Standards, Restricted, "/proc Mount Type": "The default /proc masks are set up to
reduce attack surface, and should be required by the restricted profile." Restricted field:
``securityContext.procMount`` of every init, regular and ephemeral container; allowed values:
undefined/null, ``Default`` (k8s.io/pod-security-admission ``policy/check_procMount_restricted.go``,
control ``procMount_restricted``, v1.35).

Since policy v1.35 the Baseline ``procMount`` control allows any value when ``spec.hostUsers`` is
false, because the unmasked /proc then belongs to the pod's user namespace. This check does not
apply that relaxation: it is the strict, restricted-level control, which keeps the /proc masks
required even in a user namespace (they still hide kernel interfaces such as /proc/sysrq-trigger
and /proc/kcore that a namespace does not make harmless).

Builds on that upstream control (``checks/pss/check_proc_mount_restricted.py``, reported once per
pod as ``pss-proc-mount-restricted``): the containers it forbids are reported one by one; a
non-string value, which the control reads as a forbidden type, is left to malformed-object here.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks.pss import check_proc_mount_restricted
from pytest_k8ssec.checks.pss._registry import outcome
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    found = outcome(check_proc_mount_restricted.CONTROL, obj)
    if found.allowed:
        return
    for ref in containers(obj):
        path = f"{ref.path}.securityContext.procMount"
        value = ref.security_context.get("procMount")
        # Any string the control forbids, "" included, fails; a non-string is a type error
        # malformed-object reports.
        if path in found.paths and isinstance(value, str):
            yield Violation(
                path,
                f'container "{ref.name}" must not set securityContext.procMount to "{value}"',
                ref.name,
            )


CHECK = Check(
    id="unmasked-proc-mount",
    title="Unmasked /proc mount",
    summary="Containers must keep the default /proc masks (procMount unset or Default).",
    remediation="Remove securityContext.procMount or set it to Default.",
    category=Category.KERNEL,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    controls=("PSS-restricted-proc-mount-type", "MITRE-T1611"),
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",),
)
