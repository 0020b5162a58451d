"""privileged-port.

No Pod Security Standard covers container ports. Linux lets only a process with
``CAP_NET_BIND_SERVICE`` (root has it) bind a port below ``net.ipv4.ip_unprivileged_port_start``,
1024 by default; a container that declares such a port (kube-linter ``privileged-ports``, Trivy
KSV117) usually expects to run as root or to keep that capability, which the other checks ask it
to give up. Judged: ``ports[*].containerPort`` from 1 to 1023 of init and regular containers
(ephemeral containers may not declare ports).

Since Kubernetes 1.22, ``net.ipv4.ip_unprivileged_port_start`` is a safe sysctl (also allowed by
the Pod Security Baseline): a pod may lower it in its own network namespace, and then binding the
port needs no privilege. A pod that sets it in ``spec.securityContext.sysctls`` to a value at or
below a port is not reported for that port. Some runtimes lower it by default (Docker since 20.10,
containerd with ``enable_unprivileged_ports``); a manifest cannot show the node's runtime, so only
the pod's own sysctl counts. With ``hostNetwork: true`` the pod shares the node's network
namespace, where the API server rejects network sysctls, so the node's setting applies.

A port that is not an integer, or 0, is left to malformed-object.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.security import pod_security_context
from pytest_k8ssec.model.workloads import pod_spec

UNPRIVILEGED_PORT_START: Final = 1024
SYSCTL: Final = "net.ipv4.ip_unprivileged_port_start"


def _port(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _unprivileged_start(context: Mapping[str, object]) -> int:
    """The first port any user may bind in the pod's network namespace, as the pod sets it."""
    start = UNPRIVILEGED_PORT_START
    for sysctl in as_list(context.get("sysctls")):
        entry = as_mapping(sysctl)
        if entry.get("name") in (SYSCTL, SYSCTL.replace(".", "/")):
            value = entry.get("value")
            # The kernel reads the value as an integer; anything else does not lower it.
            if isinstance(value, str) and value.strip().isdigit():
                start = min(start, int(value.strip()))
    return start


def _evaluate(obj: K8sObject) -> Iterator[Violation]:
    pod = pod_spec(obj)
    if pod is None:
        return
    start = UNPRIVILEGED_PORT_START
    if pod.spec.get("hostNetwork") is not True:
        start = _unprivileged_start(pod_security_context(pod))
    for ref in containers(obj):
        if ref.field == "ephemeralContainers":
            continue  # the API rejects ports on ephemeral containers
        for index, entry in enumerate(as_list(ref.container.get("ports"))):
            port = _port(as_mapping(entry).get("containerPort"))
            if port is not None and port < start:
                yield Violation(
                    f"{ref.path}.ports[{index}].containerPort",
                    f'container "{ref.name}" declares privileged port {port} (below {start}: binding it needs '
                    "root or CAP_NET_BIND_SERVICE)",
                    ref.name,
                )


CHECK = Check(
    id="privileged-port",
    title="Privileged port declared",
    summary=(
        "Containers should listen on ports from 1024 up, so that they need neither root nor "
        "CAP_NET_BIND_SERVICE; a Service can still expose them on any port."
    ),
    remediation=(
        "Make the process listen on a port of 1024 or above and map the Service's port to it (or set the "
        "safe sysctl net.ipv4.ip_unprivileged_port_start in the pod's securityContext)."
    ),
    category=Category.PRIVILEGES,
    severity=Severity.LOW,
    evaluate=_evaluate,
    references=(
        "https://kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster/#safe-and-unsafe-sysctls",
        "https://man7.org/linux/man-pages/man7/capabilities.7.html",
    ),
)
