"""What the two probe checks share: which containers serve for the pod's lifetime, and what a set probe is.

A probe is judged on the containers that run as long as the pod does: regular containers and
sidecars (init containers with ``restartPolicy: Always``, which accept liveness and readiness
probes since v1.28). Plain init containers run to completion and may not have probes (the API
rejects them); ephemeral containers may not either. Workloads that run to completion are not
judged at all: Jobs, CronJobs, and Pods or PodTemplates whose ``restartPolicy`` is ``OnFailure``
or ``Never`` (Polaris and kube-score leave Jobs and CronJobs out too; a liveness probe there only
kills a run that would end by itself). Workloads whose restartPolicy must be Always (Deployment,
StatefulSet, DaemonSet, ReplicaSet, ReplicationController) are always judged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

from pytest_k8ssec.checks._check import Violation
from pytest_k8ssec.model.containers import ContainerRef, containers
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import WORKLOAD_KINDS, pod_spec

HANDLERS: Final = ("exec", "httpGet", "tcpSocket", "grpc")
#: The kinds judged: every workload kind but the ones that run to completion.
TARGETS: Final = WORKLOAD_KINDS - {"Job", "CronJob"}


def _long_running(ref: ContainerRef) -> bool:
    if ref.field == "containers":
        return True
    return ref.field == "initContainers" and ref.container.get("restartPolicy") == "Always"


def missing(obj: K8sObject, field: str, what: str) -> Iterator[Violation]:
    """A violation per long-running container whose ``field`` (``livenessProbe``, ...) has no handler."""
    pod = pod_spec(obj)
    if pod is None or pod.spec.get("restartPolicy") in ("OnFailure", "Never"):
        return
    for ref in containers(obj):
        if not _long_running(ref):
            continue
        probe = ref.container.get(field)
        if probe is None:
            message = f'container "{ref.name}" has no {field}, so {what}'
        elif not isinstance(probe, Mapping):
            continue  # malformed-object reports it
        elif not any(probe.get(handler) is not None for handler in HANDLERS):
            message = f'container "{ref.name}" has a {field} without a handler ({", ".join(HANDLERS)}), so {what}'
        else:
            continue
        yield Violation(f"{ref.path}.{field}", message, ref.name)
