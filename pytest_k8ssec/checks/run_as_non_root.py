"""run-as-non-root.

Pod Security Standards, Restricted, "Running as Non-root": containers must be required to run as
non-root users. Restricted fields: ``spec.securityContext.runAsNonRoot``,
``spec.containers[*].securityContext.runAsNonRoot`` (and init and ephemeral containers); allowed
values: ``true``; the container fields may be undefined/nil if the pod-level
``spec.securityContext.runAsNonRoot`` is set to ``true``.

As in PSA, a pod-level ``false`` fails even when every container sets ``true``, and every
container-level ``false`` fails. Unlike PSA from v1.35, pods with ``hostUsers: false`` are not
exempt: this check asks whether the process runs as root, and root in a user namespace is still
root inside the pod; the versioned PSS evaluator applies that relaxation where PSS does.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, PssControl, Severity, Violation
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.security import pod_security_context
from pytest_k8ssec.model.workloads import pod_spec


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    pod = pod_spec(obj)
    if pod is None:
        return
    pod_value = pod_security_context(pod).get("runAsNonRoot")
    if pod_value is False:
        yield Violation(
            f"{pod.path}.securityContext.runAsNonRoot",
            "pod must not set securityContext.runAsNonRoot=false",
        )
    for ref in containers(obj):
        value = ref.security_context.get("runAsNonRoot")
        path = f"{ref.path}.securityContext.runAsNonRoot"
        if value is True:
            continue
        if value is False:
            yield Violation(
                path,
                f'container "{ref.name}" must not set securityContext.runAsNonRoot=false',
                ref.name,
            )
        elif value is not None or pod_value is not True:
            # Unset and not covered by a pod-level true; a non-boolean value (malformed) is
            # not true either, and must not pass.
            yield Violation(
                path,
                f'pod or container "{ref.name}" must set securityContext.runAsNonRoot=true',
                ref.name,
            )


CHECK = Check(
    id="run-as-non-root",
    title="Not required to run as non-root",
    summary=(
        "Pods must set runAsNonRoot=true (pod or every container), so the kubelet refuses to "
        "start a container whose user is root."
    ),
    remediation=(
        "Set securityContext.runAsNonRoot: true on the pod (or on every container) and run the image as a non-zero UID."
    ),
    category=Category.PRIVILEGES,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    controls=(
        "PSS restricted: Running as Non-root",
        "CIS v1.12 5.2.7",
        "NSA/CISA: Pod security - non-root containers",
    ),
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",),
    pss=PssControl("restricted", "runAsNonRoot", "v1.0"),
)
