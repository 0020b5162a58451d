"""run-as-user-root.

Pod Security Standards, Restricted, "Running as Non-root user (v1.23+)": containers must not set
runAsUser to 0. Restricted fields: ``spec.securityContext.runAsUser``,
``spec.containers[*].securityContext.runAsUser`` (and init and ephemeral containers); allowed
values: any non-zero value, undefined/null.

Each explicit 0 is a violation at its own path: a pod-level 0 fails even when every container
overrides it (as in PSA), because a container added later inherits it. Pods with
``hostUsers: false`` are not exempt (unlike PSA from v1.35): UID 0 in a user namespace is still
root inside the pod; the versioned PSS evaluator applies that relaxation where PSS does.

Builds on the upstream control (``checks/pss/check_run_as_user.py``) at policy v1.23, the version
before that relaxation; ``pss-run-as-user`` reports the control as the newest policy has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks.pss import check_run_as_user
from pytest_k8ssec.checks.pss._helpers import Outcome
from pytest_k8ssec.checks.pss._registry import outcome, v
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import PodSpecRef, pod_spec

# The control as it stood at v1.23 (see above); one Version, not one per object.
_V1_23: Final = v(1, 23)


def _evaluate(obj: K8sObject) -> Iterable[Violation]:
    found = outcome(check_run_as_user.CONTROL, obj, _V1_23)
    pod = pod_spec(obj)
    # The common answer (nothing to report) without building a generator: every object meets this.
    return () if found.allowed or pod is None else _violations(obj, pod, found)


def _violations(obj: K8sObject, pod: PodSpecRef, found: Outcome) -> Iterator[Violation]:
    path = f"{pod.path}.securityContext.runAsUser"
    if path in found.paths:
        yield Violation(path, "pod must not set securityContext.runAsUser=0")
    for ref in containers(obj):
        path = f"{ref.path}.securityContext.runAsUser"
        if path in found.paths:
            yield Violation(
                path,
                f'container "{ref.name}" must not set securityContext.runAsUser=0',
                ref.name,
            )


CHECK = Check(
    id="run-as-user-root",
    title="Runs as UID 0",
    summary="Pods and containers must not set runAsUser: 0, which runs the process as root.",
    remediation=("Remove runAsUser: 0 or set a non-zero UID, at pod level and on every container that sets it."),
    category=Category.PRIVILEGES,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    controls=("PSS-restricted-running-as-non-root-user", "CIS-5.2.7", "NSA-pod-non-root", "MITRE-T1611"),
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",),
)
