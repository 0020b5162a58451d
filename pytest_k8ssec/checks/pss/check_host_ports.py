"""PSS baseline ``hostPorts`` (v1.0).

"HostPorts should be disallowed entirely (recommended) or restricted to a known list." PSA
disallows them: restricted fields ``spec.containers[*].ports[*].hostPort`` (and init and ephemeral
containers); allowed values: undefined/0 (k8s.io/pod-security-admission ``policy/check_hostPorts.go``).
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome, forbidden, join_quote, pluralize
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.workloads import PodSpecRef


def host_ports_1_0(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    names: list[str] = []
    paths: list[str] = []
    ports: set[str] = set()
    for ref in containers(obj):
        bad = False
        for index, port in enumerate(as_list(ref.container.get("ports"))):
            host_port = as_mapping(port).get("hostPort")
            if host_port is not None and host_port is not False and host_port != 0:
                bad = True
                ports.add(str(host_port))
                paths.append(f"{ref.path}.ports[{index}].hostPort")
        if bad:
            names.append(ref.name)
    if not names:
        return ALLOWED
    # Upstream sorts the ports as strings ("8080" before "9").
    return forbidden(
        "hostPort",
        f"{pluralize('container', 'containers', len(names))} {join_quote(names)} {pluralize('uses', 'use', len(names))} "
        f"{pluralize('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}",
        paths,
        names,
    )


CONTROL = Control("hostPorts", "baseline", (Versioned(v(1, 0), host_ports_1_0),), "pss-host-ports")

CHECK = make_check(
    CONTROL,
    title="PSS baseline: host ports",
    summary="Containers must not bind host ports (Pod Security Standards, baseline).",
    remediation="Remove hostPort from container ports and expose the pod through a Service.",
    category=Category.HOST,
    severity=Severity.MEDIUM,
    controls=("CIS-5.2.12",),
)
