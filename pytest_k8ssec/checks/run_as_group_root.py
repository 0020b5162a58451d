"""run-as-group-root.

Pod Security Standards (earlier revisions of the page), Restricted, "Non-root groups (optional)":
containers should be forbidden from running with a root primary or supplementary GID. Restricted
fields: ``spec.securityContext.runAsGroup``, ``spec.securityContext.supplementalGroups[*]``,
``spec.securityContext.fsGroup``, ``spec.containers[*].securityContext.runAsGroup`` (and init and
ephemeral containers); allowed values: non-zero, undefined/nil (except for ``*.runAsGroup``).

PSA never enforced this optional control. We report explicit zeros only: an unset GID is the
image's choice and is not known from a manifest (as with runAsUser).
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_list
from pytest_k8ssec.model.security import pod_security_context
from pytest_k8ssec.model.workloads import pod_spec


def _is_zero(value: object) -> bool:
    # bool is an int in Python and False == 0; a boolean (malformed) is not GID 0.
    return isinstance(value, int) and not isinstance(value, bool) and value == 0


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    pod = pod_spec(obj)
    if pod is None:
        return
    context = pod_security_context(pod)
    prefix = f"{pod.path}.securityContext"
    if _is_zero(context.get("runAsGroup")):
        yield Violation(f"{prefix}.runAsGroup", "pod must not set securityContext.runAsGroup=0")
    # fsGroup 0 makes the kubelet chown volumes to group root and add GID 0 to every container.
    if _is_zero(context.get("fsGroup")):
        yield Violation(f"{prefix}.fsGroup", "pod must not set securityContext.fsGroup=0")
    for index, group in enumerate(as_list(context.get("supplementalGroups"))):
        if _is_zero(group):
            yield Violation(
                f"{prefix}.supplementalGroups[{index}]",
                "pod must not include 0 in securityContext.supplementalGroups",
            )
    for ref in containers(obj):
        if _is_zero(ref.security_context.get("runAsGroup")):
            yield Violation(
                f"{ref.path}.securityContext.runAsGroup",
                f'container "{ref.name}" must not set securityContext.runAsGroup=0',
                ref.name,
            )


CHECK = Check(
    id="run-as-group-root",
    title="Runs with root group",
    summary=(
        "Pods and containers must not set GID 0 (runAsGroup, fsGroup, supplementalGroups): "
        "group root can read and write files owned by root's group on mounted volumes and "
        "in the image."
    ),
    remediation=("Remove GID 0 from runAsGroup, fsGroup and supplementalGroups, or replace it with a non-zero GID."),
    category=Category.PRIVILEGES,
    severity=Severity.MEDIUM,
    evaluate=_evaluate,
    controls=("NSA-pod-non-root",),
    references=(
        "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
    ),
)
