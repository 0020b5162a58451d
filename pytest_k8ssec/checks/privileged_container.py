"""privileged-container.

Pod Security Standards, Baseline, "Privileged Containers": privileged Pods disable most security
mechanisms and must be disallowed. Restricted field: ``spec.containers[*].securityContext.privileged``
(and init and ephemeral containers); allowed values: undefined/nil, ``false``.

Builds on the upstream control (``checks/pss/check_privileged.py``, which ``pss-privileged``
reports once per pod as the API server does): same verdict, one violation per container.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks.pss import check_privileged
from pytest_k8ssec.checks.pss._helpers import Outcome
from pytest_k8ssec.checks.pss._registry import outcome
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject


def _evaluate(obj: K8sObject) -> Iterable[Violation]:
    found = outcome(check_privileged.CONTROL, obj)
    # The common answer (nothing to report) without building a generator: every object meets this.
    return () if found.allowed else _violations(obj, found)


def _violations(obj: K8sObject, found: Outcome) -> Iterator[Violation]:
    for ref in containers(obj):
        path = f"{ref.path}.securityContext.privileged"
        if path in found.paths:
            yield Violation(
                path,
                f'container "{ref.name}" must not set securityContext.privileged=true',
                ref.name,
            )


CHECK = Check(
    id="privileged-container",
    title="Privileged container",
    summary="Containers must not run privileged: a privileged container has all capabilities and the host's devices.",
    remediation="Remove securityContext.privileged or set it to false; grant only the capabilities the container needs.",
    category=Category.PRIVILEGES,
    severity=Severity.CRITICAL,
    evaluate=_evaluate,
    controls=("PSS-baseline-privileged-containers", "CIS-5.2.2", "NSA-pod-security-enforcement", "MITRE-T1611"),
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",),
)
