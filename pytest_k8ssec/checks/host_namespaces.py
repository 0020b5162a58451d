"""host-namespaces.

Pod Security Standards, Baseline, "Host Namespaces": sharing the host namespaces must be
disallowed. Restricted fields: ``spec.hostNetwork``, ``spec.hostPID``, ``spec.hostIPC``; allowed
values: undefined/nil, ``false``.

Builds on the upstream control (``checks/pss/check_host_namespaces.py``, reported once per pod as
``pss-host-namespaces``): same verdict, one violation per shared namespace, saying what it exposes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks.pss import check_host_namespaces
from pytest_k8ssec.checks.pss._helpers import Outcome
from pytest_k8ssec.checks.pss._registry import outcome
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import PodSpecRef, pod_spec

# Field -> what sharing it exposes (in the message, so a reader knows why it matters).
_NAMESPACES: Final[dict[str, str]] = {
    "hostNetwork": "the node's network interfaces and localhost services",
    "hostPID": "every process on the node",
    "hostIPC": "the node's shared memory and IPC objects",
}


def _evaluate(obj: K8sObject) -> Iterable[Violation]:
    found = outcome(check_host_namespaces.CONTROL, obj)
    pod = pod_spec(obj)
    # The common answer (nothing to report) without building a generator: every object meets this.
    return () if found.allowed or pod is None else _violations(pod, found)


def _violations(pod: PodSpecRef, found: Outcome) -> Iterator[Violation]:
    for field, exposes in _NAMESPACES.items():
        path = f"{pod.path}.{field}"
        if path in found.paths:
            yield Violation(
                path,
                f"pod must not set {field}=true (it exposes {exposes})",
            )


CHECK = Check(
    id="host-namespaces",
    title="Host namespaces shared",
    summary=("Pods must not share the node's network, process or IPC namespace (hostNetwork, hostPID, hostIPC)."),
    remediation="Remove hostNetwork, hostPID and hostIPC from the pod spec or set them to false.",
    category=Category.HOST,
    severity=Severity.HIGH,
    evaluate=_evaluate,
    controls=(
        "PSS-baseline-host-namespaces",
        "CIS-5.2.3",
        "CIS-5.2.4",
        "CIS-5.2.5",
        "NSA-pod-security-enforcement",
        "MITRE-T1611",
    ),
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",),
)
