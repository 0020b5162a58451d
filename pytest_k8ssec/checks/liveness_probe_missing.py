"""liveness-probe-missing.

Opt-in hygiene, not a security standard: Polaris (``livenessProbeMissing``), kube-linter
(``no-liveness-probe``), checkov (CKV_K8S_8) and Kubescape (C-0056) ask every long-running
container for a liveness probe. Without one the kubelet restarts a container only when its process
exits, so a hung process (deadlocked, or stuck after an attack exhausted it) keeps the pod up and
its Service endpoint listed ("Configure Liveness, Readiness and Startup Probes").

Judged: ``livenessProbe`` of regular containers and sidecars, on workloads that do not run to
completion (``checks/_probes.py`` says which, and why Jobs, CronJobs and init containers are out).
A probe without a handler (``exec``, ``httpGet``, ``tcpSocket`` or ``grpc``) counts as missing: the
API server rejects it. A ``startupProbe`` does not replace a liveness probe: it only holds the
liveness probe off until the container has started.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks._probes import TARGETS, missing
from pytest_k8ssec.model.objects import K8sObject


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    return missing(obj, "livenessProbe", "a hung process is never restarted")


CHECK = Check(
    id="liveness-probe-missing",
    title="Liveness probe missing",
    summary=(
        "Opt-in hygiene: every long-running container should have a liveness probe, so the kubelet "
        "restarts it when it hangs."
    ),
    remediation="Add a livenessProbe (httpGet, tcpSocket, grpc or exec) to every container and sidecar of the workload.",
    category=Category.RESOURCES,
    severity=Severity.INFO,
    evaluate=_evaluate,
    targets=TARGETS,
    references=(
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
    ),
)
