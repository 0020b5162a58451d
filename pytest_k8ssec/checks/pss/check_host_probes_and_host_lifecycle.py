"""PSS baseline ``hostProbesAndHostLifecycle`` (v1.34).

"Host field is restricted in the probes and lifecycle handlers." Restricted fields:
``livenessProbe``, ``readinessProbe``, ``startupProbe`` ``.httpGet.host`` and ``.tcpSocket.host``,
and ``lifecycle.postStart`` / ``lifecycle.preStop`` ``.httpGet.host`` and ``.tcpSocket.host`` of
every container (init, regular, ephemeral); allowed values: ``""``, undefined/null
(k8s.io/pod-security-admission ``policy/check_hostProbesAndhostLifecycle.go``; KEP-4940).
"""

from __future__ import annotations

from pytest_k8ssec.checks._check import Category, Severity
from pytest_k8ssec.checks.pss._helpers import ALLOWED, Outcome, forbidden, join_quote, pluralize, text
from pytest_k8ssec.checks.pss._registry import Control, Versioned, make_check, v
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_mapping
from pytest_k8ssec.model.workloads import PodSpecRef

_HANDLERS = (
    ("livenessProbe",),
    ("readinessProbe",),
    ("startupProbe",),
    ("lifecycle", "postStart"),
    ("lifecycle", "preStop"),
)


def host_probes_and_host_lifecycle_1_34(pod: PodSpecRef, obj: K8sObject) -> Outcome:
    # Upstream collects containers and hosts in sets: both come out sorted and de-duplicated.
    names: set[str] = set()
    hosts: set[str] = set()
    paths: list[str] = []
    for ref in containers(obj):
        for keys in _HANDLERS:
            handler = as_mapping(ref.container.get(keys[0]))
            if len(keys) > 1:
                handler = as_mapping(handler.get(keys[1]))
            for action in ("httpGet", "tcpSocket"):
                host = text(as_mapping(handler.get(action)).get("host"))
                if host:
                    names.add(ref.name)
                    hosts.add(host)
                    paths.append(f"{ref.path}.{'.'.join(keys)}.{action}.host")
    if not names:
        return ALLOWED
    return forbidden(
        "probe or lifecycle host",
        f"{pluralize('container', 'containers', len(names))} {join_quote(sorted(names))} "
        f"{pluralize('uses', 'use', len(names))} "
        f"{pluralize('probe or lifecycle host', 'probe or lifecycle hosts', len(hosts))} {join_quote(sorted(hosts))}",
        paths,
        sorted(names),
    )


CONTROL = Control(
    "hostProbesAndHostLifecycle",
    "baseline",
    (Versioned(v(1, 34), host_probes_and_host_lifecycle_1_34),),
    "pss-host-probes-and-host-lifecycle",
)

CHECK = make_check(
    CONTROL,
    title="PSS baseline: probe and lifecycle hosts",
    summary="Probes and lifecycle handlers must not name a host to connect to (Pod Security Standards, baseline, v1.34+).",
    remediation="Remove host from httpGet and tcpSocket probes and lifecycle handlers; they then target the pod itself.",
    category=Category.HOST,
    severity=Severity.MEDIUM,
)
