"""scheduler-flag-insecure.

CIS Kubernetes Benchmark v1.12, section 1.4 "Scheduler": kube-scheduler's ``--profiling``
(default true) and ``--bind-address`` (default 0.0.0.0). With ``--config`` the scheduler reads
profiling from that file and ignores the flag, so the file is reported as not judged (fail closed).

Runs on every container whose ``command`` starts kube-scheduler (static-pod manifests); a running
process is judged by ``assert_component_flags``. Each finding names its CIS item; the check claims
no control itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._components import container_violations, controls_of
from pytest_k8ssec.model.components import SCHEDULER
from pytest_k8ssec.model.objects import K8sObject


def _evaluate(obj: K8sObject) -> Iterable[Violation]:
    return container_violations(obj, SCHEDULER)


CHECK = Check(
    id="scheduler-flag-insecure",
    title="Scheduler flag insecure",
    summary="kube-scheduler's flags must follow CIS section 1.4 (profiling off, bound to localhost).",
    remediation="Set the flag each finding names in the kube-scheduler command (its static-pod manifest).",
    category=Category.CONTROL_PLANE,
    controls=("NSA-net-control-plane",),
    finding_controls=controls_of(SCHEDULER),
    severity=Severity.MEDIUM,
    evaluate=_evaluate,
    references=(
        "https://www.cisecurity.org/benchmark/kubernetes",
        "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-scheduler/",
    ),
)
