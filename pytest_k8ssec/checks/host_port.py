"""host-port.

Pod Security Standards, Baseline, "HostPorts": HostPorts should be disallowed entirely
(recommended) or restricted to a known list. Restricted fields:
``spec.containers[*].ports[*].hostPort`` (and init and ephemeral containers); allowed values:
undefined/nil, known list (not supported by the built-in Pod Security Admission controller), 0.

With ``hostNetwork: true`` the API server defaults every container's ``hostPort`` to its
``containerPort`` when a Pod is created (``defaultHostNetworkPorts`` in pkg/apis/core/v1; since
v1.28 on Pods only, so pods created from templates get it too), and PSA then rejects it: such
ports are host ports here as well, so a manifest gives the same verdict as the live pod.

Builds on the upstream control (``checks/pss/check_host_ports.py``, reported once per pod as
``pss-host-ports``, which judges the object as written): the host ports it forbids are reported
one by one, and this check adds the container ports that hostNetwork turns into host ports. A
non-integer port, which the control reads as a forbidden one, is left to malformed-object here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks.pss import check_host_ports
from pytest_k8ssec.checks.pss._helpers import Outcome
from pytest_k8ssec.checks.pss._registry import outcome
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.workloads import pod_spec


def _port_number(value: object) -> int | None:
    # 0 means "no port" (the API's zero value); booleans are ints in Python but malformed here,
    # and so are strings (malformed-object reports both).
    if isinstance(value, int) and not isinstance(value, bool) and value != 0:
        return value
    return None


def _evaluate(obj: K8sObject) -> Iterable[Violation]:
    pod = pod_spec(obj)
    host_network = pod is not None and pod.spec.get("hostNetwork") is True
    found = outcome(check_host_ports.CONTROL, obj)
    # A violation is either a host port the control forbids or a container port under
    # hostNetwork: without both, nothing to report, and no generator to build for it.
    return _violations(obj, found, host_network) if host_network or found.paths else ()


def _violations(obj: K8sObject, found: Outcome, host_network: bool) -> Iterator[Violation]:
    for ref in containers(obj):
        for index, port in enumerate(as_list(ref.container.get("ports"))):
            host_port = _port_number(as_mapping(port).get("hostPort"))
            if host_port is not None:
                path = f"{ref.path}.ports[{index}].hostPort"
                if path in found.paths:
                    yield Violation(path, f'container "{ref.name}" must not use hostPort {host_port}', ref.name)
                continue
            container_port = _port_number(as_mapping(port).get("containerPort"))
            if host_network and container_port is not None and ref.field != "ephemeralContainers":
                yield Violation(
                    f"{ref.path}.ports[{index}].containerPort",
                    f'container "{ref.name}" must not use hostPort {container_port} '
                    "(with hostNetwork: true the API server sets hostPort to the containerPort)",
                    ref.name,
                )


CHECK = Check(
    id="host-port",
    title="Host port used",
    summary=(
        "Containers must not bind host ports: a hostPort exposes the pod on the node's address, "
        "bypasses Service-level controls and ties the pod to nodes where the port is free."
    ),
    remediation="Remove hostPort from the container's ports and expose the pod through a Service.",
    category=Category.HOST,
    severity=Severity.MEDIUM,
    evaluate=_evaluate,
    controls=("PSS-baseline-host-ports", "CIS-5.2.12"),
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",),
)
