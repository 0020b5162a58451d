"""Exact violations (path, message, container) of the workload-detail checks the scanners have:
writable host-path mounts, privileged and SSH ports, hostAliases, a shared process namespace, and
the why of an unset allowPrivilegeEscalation."""

from __future__ import annotations

from typing import Any

from pytest_k8ssec.checks import (
    host_aliases_set,
    privilege_escalation_allowed,
    privileged_port,
    process_namespace_shared,
    ssh_port_exposed,
    writable_host_path_mount,
)
from pytest_k8ssec.checks._check import Check, Violation
from pytest_k8ssec.model.objects import K8sObject
from tests.builders import as_object, container, pod


def run(check: Check, obj: K8sObject) -> list[Violation]:
    return list(check.evaluate(obj))


def with_(name: str = "app", **fields: Any) -> dict[str, Any]:
    return {**container(name), **fields}


def test_writable_host_path_mount_names_host_path_sub_path_volume_and_mount_path() -> None:
    obj = pod(
        {
            "containers": [
                with_(volumeMounts=[{"name": "h", "mountPath": "/data", "subPath": "app"}]),
                with_("ro", volumeMounts=[{"name": "h", "mountPath": "/data", "readOnly": True}]),
            ],
            "volumes": [{"name": "h", "hostPath": {"path": "/srv/../etc"}}],
        }
    )
    assert run(writable_host_path_mount.CHECK, obj) == [
        Violation(
            "spec.containers[0].volumeMounts[0].readOnly",
            'container "app" mounts host path "/srv/../etc" (resolves to /etc), sub-path \'app\' (volume "h") '
            "at /data writable",
            "app",
        )
    ]


def test_privileged_port_says_what_binding_needs_and_the_pods_own_start() -> None:
    obj = pod(
        {
            "securityContext": {"sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "100"}]},
            "containers": [with_(ports=[{"containerPort": 80}, {"containerPort": 443}])],
        }
    )
    assert run(privileged_port.CHECK, obj) == [
        Violation(
            "spec.containers[0].ports[0].containerPort",
            'container "app" declares privileged port 80 (below 100: binding it needs root or CAP_NET_BIND_SERVICE)',
            "app",
        )
    ]


def test_ssh_port_on_containers_and_services() -> None:
    obj = pod({"containers": [with_("sshd", ports=[{"containerPort": 22}])]})
    assert run(ssh_port_exposed.CHECK, obj) == [
        Violation(
            "spec.containers[0].ports[0].containerPort", 'container "sshd" exposes port 22/TCP, the SSH port', "sshd"
        )
    ]
    service = as_object(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s", "namespace": "ns"},
            "spec": {"ports": [{"port": 2022, "targetPort": 22}]},
        }
    )
    assert [v.message for v in run(ssh_port_exposed.CHECK, service)] == [
        "Service forwards to port 22/TCP, the SSH port, of its pods"
    ]
    assert ssh_port_exposed.CHECK.applies_to(service)


def test_host_aliases_name_what_is_pinned() -> None:
    obj = pod({"hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a.example", "b.example"]}, {"hostnames": []}]})
    assert [v.message for v in run(host_aliases_set.CHECK, obj)] == [
        "pod pins a.example, b.example to 10.0.0.1 in /etc/hosts",
        "pod pins no hostname to an invalid address in /etc/hosts",
    ]


def test_process_namespace_shared() -> None:
    assert run(process_namespace_shared.CHECK, pod({"shareProcessNamespace": True, "containers": [container()]})) == [
        Violation(
            "spec.shareProcessNamespace",
            "pod shares one process namespace between its containers, so each can see, signal and read the "
            "files (/proc/<pid>/root) of the others' processes",
        )
    ]


def test_privilege_escalation_unset_says_why_and_null_is_unset() -> None:
    obj = pod({"containers": [container(allowPrivilegeEscalation=None), container("b", allowPrivilegeEscalation=True)]})
    assert [v.message for v in run(privilege_escalation_allowed.CHECK, obj)] == [
        'container "app" must set securityContext.allowPrivilegeEscalation=false: it is unset, so the kubelet '
        "leaves no_new_privs off and setuid binaries or file capabilities can raise the process's privileges",
        'container "b" must set securityContext.allowPrivilegeEscalation=false',
    ]
