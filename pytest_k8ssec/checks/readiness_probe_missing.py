"""readiness-probe-missing.

Opt-in hygiene, not a security standard: Polaris (``readinessProbeMissing``), kube-linter
(``no-readiness-probe``), checkov (CKV_K8S_9) and Kubescape (C-0018) ask every long-running
container for a readiness probe. Without one a pod is Ready, and receives Service traffic, as soon
as its containers start, before the application can answer, and stays in the endpoints when it
stops answering ("Configure Liveness, Readiness and Startup Probes").

Judged: ``readinessProbe`` of regular containers and sidecars, on workloads that do not run to
completion (``checks/_probes.py`` says which, and why Jobs, CronJobs and init containers are out).
A probe without a handler (``exec``, ``httpGet``, ``tcpSocket`` or ``grpc``) counts as missing: the
API server rejects it.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._probes import TARGETS, missing
from pytest_k8ssec.model.objects import K8sObject


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    return missing(obj, "readinessProbe", "it gets traffic before it can answer and keeps it when it stops answering")


CHECK = Check(
    id="readiness-probe-missing",
    title="Readiness probe missing",
    summary=(
        "Opt-in hygiene: every long-running container should have a readiness probe, so it gets traffic "
        "only while it can answer."
    ),
    remediation="Add a readinessProbe (httpGet, tcpSocket, grpc or exec) to every container and sidecar of the workload.",
    category=Category.RESOURCES,
    severity=Severity.INFO,
    evaluate=_evaluate,
    targets=TARGETS,
    references=(
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
    ),
)
