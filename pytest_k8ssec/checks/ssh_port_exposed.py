"""ssh-port-exposed.

No Pod Security Standard covers ports. kube-linter's ``ssh-port`` ("Indicates when deployments
expose port 22, which is commonly reserved for SSH access") and Kubescape's C-0042 ("SSH server
running inside container") report port 22: an SSH server in a container is a way in that skips
the API server's authentication, authorization and audit (``kubectl exec`` goes through them),
and its keys or passwords live in the image or a volume.

Judged: ``ports[*].containerPort: 22`` of init and regular containers whose ``protocol`` is TCP,
unset included (the API's default protocol is TCP; ephemeral containers may not declare ports),
and, on a Service, ``ports[*].port: 22`` or a numeric ``targetPort: 22`` whose protocol is TCP
(a named targetPort is resolved by the pods' port names, which the Service alone does not show).
Port 22 over UDP or SCTP is not SSH. A port that is not an integer is left to malformed-object.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, api_group, as_list, as_mapping
from pytest_k8ssec.model.workloads import WORKLOAD_KINDS, is_workload

SSH_PORT: Final = 22


def _is_ssh(value: object, protocol: object) -> bool:
    # bool is an int in Python but not a port; the API defaults an unset protocol to TCP.
    return type(value) is int and value == SSH_PORT and protocol in (None, "TCP")


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    if is_workload(obj):
        yield from _containers(obj)
    elif obj.kind == "Service" and api_group(obj.api_version) == "":
        yield from _service(obj)


def _containers(obj: K8sObject) -> Iterator[Violation]:
    for ref in containers(obj):
        if ref.field == "ephemeralContainers":
            continue  # the API rejects ports on ephemeral containers
        for index, entry in enumerate(as_list(ref.container.get("ports"))):
            port = as_mapping(entry)
            if _is_ssh(port.get("containerPort"), port.get("protocol")):
                yield Violation(
                    f"{ref.path}.ports[{index}].containerPort",
                    f'container "{ref.name}" exposes port 22/TCP, the SSH port',
                    ref.name,
                )


def _service(obj: K8sObject) -> Iterator[Violation]:
    for index, entry in enumerate(as_list(as_mapping(obj.raw.get("spec")).get("ports"))):
        port = as_mapping(entry)
        protocol = port.get("protocol")
        if _is_ssh(port.get("port"), protocol):
            yield Violation(f"spec.ports[{index}].port", "Service exposes port 22/TCP, the SSH port")
        elif _is_ssh(port.get("targetPort"), protocol):
            yield Violation(
                f"spec.ports[{index}].targetPort", "Service forwards to port 22/TCP, the SSH port, of its pods"
            )


CHECK = Check(
    id="ssh-port-exposed",
    title="SSH port exposed",
    summary=(
        "Workloads should not expose port 22: an SSH server in a container is a way in that bypasses the "
        "API server's authentication, authorization and audit."
    ),
    remediation=(
        "Remove the SSH server and its port 22 from the container and the Service; use kubectl exec or "
        "kubectl debug, which the API server authorizes and audits."
    ),
    category=Category.NETWORK,
    severity=Severity.MEDIUM,
    evaluate=_evaluate,
    targets=WORKLOAD_KINDS | {"Service"},
    references=(
        "https://kubernetes.io/docs/tasks/debug/debug-application/get-shell-running-container/",
        "https://hub.armosec.io/docs/c-0042",
    ),
)
