"""process-namespace-shared.

No Pod Security Standard covers ``shareProcessNamespace``. The Kubernetes task "Share Process
Namespace between Containers in a Pod" lists what it gives away: every container sees and can
signal the other containers' processes (the pause container is PID 1), and "container
filesystems are visible to other containers in the pod through the /proc/$pid/root link", so a
sidecar can read the main container's files, secrets included, and the environment of processes
running as the same user.

Judged: ``spec.shareProcessNamespace: true``. Unset and ``false`` (the default) pass; a value that
is not a boolean is left to malformed-object. ``hostPID`` (the node's process namespace) is
``host-namespaces``' business.
"""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import pod_spec


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    pod = pod_spec(obj)
    if pod is not None and pod.spec.get("shareProcessNamespace") is True:
        yield Violation(
            f"{pod.path}.shareProcessNamespace",
            "pod shares one process namespace between its containers, so each can see, signal and read the "
            "files (/proc/<pid>/root) of the others' processes",
        )


CHECK = Check(
    id="process-namespace-shared",
    title="Process namespace shared between containers",
    summary=(
        "Pods should not set shareProcessNamespace: every container could then see, signal and read the "
        "filesystems of the other containers' processes."
    ),
    remediation="Remove spec.shareProcessNamespace (or set it to false); debug with kubectl debug --target instead.",
    category=Category.PRIVILEGES,
    severity=Severity.LOW,
    evaluate=_evaluate,
    references=("https://kubernetes.io/docs/tasks/configure-pod-container/share-process-namespace/",),
)
