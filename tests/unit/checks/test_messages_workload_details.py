"""Exact violations (path, message, container) of the workload-detail checks the scanners have:
writable host-path mounts, privileged and SSH ports, hostAliases, a shared process namespace, low
user and group ids, the default namespace, probes, absent ServiceAccounts, dangerous components,
ephemeral storage, and the why of an unset allowPrivilegeEscalation."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_k8ssec.checks import (
    dangerous_component,
    default_namespace_used,
    host_aliases_set,
    liveness_probe_missing,
    missing_ephemeral_storage_limit,
    privilege_escalation_allowed,
    privileged_port,
    process_namespace_shared,
    readiness_probe_missing,
    run_as_low_id,
    service_account_missing,
    ssh_port_exposed,
    writable_host_path_mount,
)
from pytest_k8ssec.checks._check import Check, Violation
from pytest_k8ssec.engine import evaluate
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


def test_run_as_low_id_names_value_field_and_inheriting_containers() -> None:
    obj = pod(
        {
            "securityContext": {"runAsUser": 1000, "runAsGroup": 10000},
            "containers": [container("a"), container("b"), container("c", runAsUser=20000, runAsGroup=5)],
        }
    )
    assert run(run_as_low_id.CHECK, obj) == [
        Violation(
            "spec.securityContext.runAsUser", 'pod sets runAsUser 1000, below 10000, which containers "a", "b" inherit'
        ),
        Violation(
            "spec.containers[2].securityContext.runAsGroup",
            'container "c" runs with group id 5 (runAsGroup), below 10000',
            "c",
        ),
    ]
    unset = pod({"containers": [container("a", runAsGroup=10000)]})
    assert [v.message for v in run(run_as_low_id.CHECK, unset)] == [
        'container "a" sets no runAsUser, nor does the pod: the image decides its user id, which must be 10000 or above'
    ]


def test_run_as_low_id_configure_checks_its_minimum() -> None:
    assert run_as_low_id.configure(1000) is run_as_low_id.configure(1000)
    assert run_as_low_id.configure(1000).parameters == (("minimum", "1000"),)
    assert run_as_low_id.configure(1000).id == run_as_low_id.CHECK.id
    for bad in (0, -1, True, "10000"):
        with pytest.raises(ValueError, match="minimum must be a positive integer"):
            run_as_low_id.configure(bad)  # type: ignore[arg-type]


def test_default_namespace_says_whether_it_was_written_or_unset() -> None:
    written = run(default_namespace_used.CHECK, pod({"containers": [container()]}, namespace="default"))
    assert written == [Violation("metadata.namespace", 'workload is in the "default" namespace')]
    raw = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [container()]}}
    assert [v.message for v in run(default_namespace_used.CHECK, as_object(raw))] == [
        "workload sets no metadata.namespace, so it lands in the namespace of whoever applies it: "
        '"default" unless their kubectl context or -n says otherwise'
    ]


def test_probe_messages() -> None:
    obj = pod({"containers": [with_(livenessProbe={"periodSeconds": 5})]})
    assert run(liveness_probe_missing.CHECK, obj) == [
        Violation(
            "spec.containers[0].livenessProbe",
            'container "app" has a livenessProbe without a handler (exec, httpGet, tcpSocket, grpc), so a hung '
            "process is never restarted",
            "app",
        )
    ]
    assert run(readiness_probe_missing.CHECK, obj) == [
        Violation(
            "spec.containers[0].readinessProbe",
            'container "app" has no readinessProbe, so it gets traffic before it can answer and keeps it when it '
            "stops answering",
            "app",
        )
    ]


def test_service_account_missing_says_when_the_selection_may_be_partial() -> None:
    workload = pod({"serviceAccountName": "api", "containers": [container()]}, namespace="shop")
    other = as_object({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "web", "namespace": "shop"}})
    check = service_account_missing.CHECK
    assert [f.message for f in evaluate([check], [workload, other])] == [
        'pod runs as ServiceAccount "api", which is not among the 1 ServiceAccount(s) of namespace shop in the selection'
    ]
    assert [f.message for f in evaluate([check], [workload])] == [
        'pod runs as ServiceAccount "api", and the selection holds no ServiceAccount of namespace shop: it cannot '
        "show that the account exists (add the ServiceAccounts to the objects judged)"
    ]
    assert [f.path for f in evaluate([check], [workload])] == ["spec.serviceAccountName"]


def test_dangerous_component_messages() -> None:
    obj = pod(
        {
            "containers": [
                {"name": "tiller", "image": "ghcr.io/helm/tiller:v2.17.0"},
                {
                    "name": "ui",
                    "image": "k8s.gcr.io/kubernetes-dashboard-amd64:v1.10.0",
                    "args": ["--enable-skip-login=True"],
                },
            ]
        }
    )
    assert run(dangerous_component.CHECK, obj) == [
        Violation(
            "spec.containers[0].image",
            'container "tiller" runs Tiller (ghcr.io/helm/tiller:v2.17.0), Helm 2\'s server: it installs whatever '
            "reaches its gRPC port, with its own (usually cluster-admin) ServiceAccount",
            "tiller",
        ),
        Violation(
            "spec.containers[1].image",
            'container "ui" runs Kubernetes Dashboard v1.10.0, older than v1.10.1: its login can be skipped to act as '
            "the Dashboard's ServiceAccount (CVE-2018-18264)",
            "ui",
        ),
        Violation(
            "spec.containers[1].args[0]",
            'container "ui" runs Kubernetes Dashboard with --enable-skip-login, which lets anyone skip the login and '
            "act as the Dashboard's ServiceAccount",
            "ui",
        ),
    ]


def test_missing_ephemeral_storage_limit_says_a_request_alone_does_not_bound() -> None:
    obj = pod({"containers": [with_(resources={"requests": {"ephemeral-storage": "1Gi"}})]})
    assert run(missing_ephemeral_storage_limit.CHECK, obj) == [
        Violation(
            "spec.containers[0].resources.limits.ephemeral-storage",
            'container "app" must set resources.limits.ephemeral-storage (a request alone does not bound what it writes)',
            "app",
        )
    ]


def test_default_namespace_follows_where_the_default_namespace_option_places_objects() -> None:
    from pytest_k8ssec.model.inventory import place

    raw = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [container()]}}
    check = default_namespace_used.CHECK
    assert [f.path for f in evaluate([check], place([as_object(raw)]))] == ["metadata.namespace"]
    assert evaluate([check], place([as_object(raw)], "shop")) == []
    assert [f.message for f in evaluate([check], place([as_object(raw)], "default"))] == [
        "workload sets no metadata.namespace, so it lands in the namespace of whoever applies it: "
        '"default" unless their kubectl context or -n says otherwise'
    ]
