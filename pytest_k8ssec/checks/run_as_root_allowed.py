"""run-as-root-allowed.

Pod Security Standards, Restricted, "Running as Non-root": containers must be required to run as
non-root users. Restricted fields: ``spec.securityContext.runAsNonRoot``,
``spec.containers[*].securityContext.runAsNonRoot`` (and init and ephemeral containers); allowed
values: ``true``; the container fields may be undefined/nil if the pod-level
``spec.securityContext.runAsNonRoot`` is set to ``true``.

This check does not claim the PSS control (``pss-run-as-non-root``, ``checks/pss/check_run_as_non_root.py``,
implements it exactly) because its rule deliberately differs in two ways:

- it reports every fault at once: PSA reports the explicit ``false`` settings and mentions the
  containers that leave the field unset only when there is no explicit ``false``, so fixing one
  finding would reveal the next; here both are listed (a pod-level ``false`` still fails even when
  every container sets ``true``, and every container-level ``false`` fails, as in PSA);
- unlike PSA from v1.35, pods with ``hostUsers: false`` are not exempt: this check asks whether
  the process runs as root, and root in a user namespace is still root inside the pod.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
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
    id="run-as-root-allowed",
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
    controls=("CIS-5.2.7", "NSA-pod-non-root", "MITRE-T1611"),
    references=("https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",),
)
