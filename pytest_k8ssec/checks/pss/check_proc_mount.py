"""PSS baseline ``procMount`` (v1.0, v1.35).

"The default /proc masks are set up to reduce attack surface, and should be required." Restricted
fields: ``spec.containers[*].securityContext.procMount`` (and init and ephemeral containers);
allowed values: undefined/null, ``Default``; from v1.35 any value when the pod runs in a user
namespace (``spec.hostUsers: false``) (k8s.io/pod-security-admission
``policy/check_procMount_baseline.go``). Restricted v1.35+ overrides it with ``procMount_restricted``,
which has no user-namespace relaxation.
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import (
    ALLOWED,
    Outcome,
    forbidden,
    in_user_namespace,
    join_quote,
    pluralize,
    text,
)
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import PodSpecRef


def proc_mount_1_0(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    names: list[str] = []
    paths: list[str] = []
    kinds: set[str] = set()
    for ref in containers(obj):
        value = ref.security_context.get("procMount")
        if value is not None and value != "Default":
            names.append(ref.name)
            kinds.add(text(value))
            paths.append(f"{ref.path}.securityContext.procMount")
    if not names:
        return ALLOWED
    return forbidden(
        "procMount",
        f"{pluralize('container', 'containers', len(names))} {join_quote(names)} must not set "
        f"securityContext.procMount to {join_quote(sorted(kinds))}",
        paths,
        names,
    )


def proc_mount_1_35_baseline(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    if in_user_namespace(pod):
        return ALLOWED
    return proc_mount_1_0(pod, obj)


CONTROL = Control(
    "procMount",
    "baseline",
    (Versioned(v(1, 0), proc_mount_1_0), Versioned(v(1, 35), proc_mount_1_35_baseline)),
    "pss-proc-mount",
)

CHECK = make_check(
    CONTROL,
    title="PSS baseline: /proc mount type",
    summary="Containers must keep the default masked /proc mount unless the pod runs in a user namespace (Pod Security Standards, baseline).",
    remediation="Remove securityContext.procMount or set it to Default (or run the pod with hostUsers: false).",
    category=Category.KERNEL,
    severity=Severity.HIGH,
    controls=("MITRE-T1611",),
)
