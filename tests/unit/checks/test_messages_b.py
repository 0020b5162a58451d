"""Exact violations (path, message, container) of the host-path, kernel-hardening, service-account
and resource checks, and the ``configure(allowed)`` variants of the two host-path checks."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_k8ssec.checks import (
    apparmor_unconfined,
    custom_selinux_options,
    host_path_volume,
    missing_resource_limits,
    missing_resource_requests,
    seccomp_unconfined,
    sensitive_host_path,
    service_account_token_automount,
    unmasked_proc_mount,
    unsafe_sysctls,
)
from pytest_k8ssec.checks._check import Check, Violation
from pytest_k8ssec.model.objects import K8sObject
from tests.builders import as_object, deployment, pod


def run(check: Check, obj: K8sObject) -> list[Violation]:
    return list(check.evaluate(obj))


def app(**fields: Any) -> dict[str, Any]:
    return {"name": "app", "image": "nginx:1.27", **fields}


def host_paths(*paths: str) -> dict[str, Any]:
    return {
        "containers": [app()],
        "volumes": [{"name": f"v{i}", "hostPath": {"path": p}} for i, p in enumerate(paths)],
    }


# --- host-path-volume ---------------------------------------------------------------------------


def test_host_path_volume_names_volume_and_path() -> None:
    assert run(host_path_volume.CHECK, pod(host_paths("/var/log"))) == [
        Violation("spec.volumes[0].hostPath", 'volume "v0" mounts host path "/var/log"'),
    ]


def test_host_path_volume_without_path() -> None:
    obj = pod({"containers": [app()], "volumes": [{"name": "x", "hostPath": {"type": "Directory"}}]})
    assert run(host_path_volume.CHECK, obj) == [
        Violation("spec.volumes[0].hostPath", 'volume "x" is a hostPath volume without a valid path'),
    ]


def test_host_path_volume_configure_keeps_id_and_leaves_the_default_alone() -> None:
    variant = host_path_volume.configure(["/var/log"])
    assert variant.id == host_path_volume.CHECK.id == "host-path-volume"
    assert variant.severity == host_path_volume.CHECK.severity
    obj = pod(host_paths("/var/log"))
    assert run(variant, obj) == []
    assert len(run(host_path_volume.CHECK, obj)) == 1


@pytest.mark.parametrize(
    "path",
    ["/var/log", "/var/log/", "/var/log/pods", "/var/log/./pods/", "//var/log", "/var//log/x/../y"],
)
def test_host_path_volume_configure_allows_the_directory_and_below(path: str) -> None:
    assert run(host_path_volume.configure(["/var/log/"]), pod(host_paths(path))) == []


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/var/log/../../etc", '"/var/log/../../etc" (resolves to /etc)'),
        ("/var/log/..", '"/var/log/.." (resolves to /var)'),
        ("/var/logs", '"/var/logs"'),
        ("/var", '"/var"'),
        ("/", '"/"'),
        ("var/log", '"var/log" (a relative path)'),
        ("/var/lo", '"/var/lo"'),
    ],
)
def test_host_path_volume_configure_reports_paths_outside(path: str, shown: str) -> None:
    violations = run(host_path_volume.configure(["/var/log"]), pod(host_paths(path)))
    assert violations == [Violation("spec.volumes[0].hostPath", f'volume "v0" mounts host path {shown}')]


def test_host_path_volume_configure_allowed_entries_are_normalized_too() -> None:
    assert run(host_path_volume.configure(["/opt/app/../data/"]), pod(host_paths("/opt/data/x"))) == []
    assert len(run(host_path_volume.configure(["/opt/app/../data/"]), pod(host_paths("/opt/app/x")))) == 1


def test_host_path_volume_configure_root_allows_every_absolute_path() -> None:
    assert run(host_path_volume.configure(["/"]), pod(host_paths("/etc", "/var/run/docker.sock"))) == []


def test_host_path_volume_configure_rejects_relative_and_bare_string() -> None:
    with pytest.raises(ValueError, match="must be an absolute path"):
        host_path_volume.configure(["var/log"])
    with pytest.raises(TypeError, match="not a single string"):
        host_path_volume.configure("/var/log")


# --- sensitive-host-path ------------------------------------------------------------------------


def test_sensitive_host_path_exact_entry() -> None:
    assert run(sensitive_host_path.CHECK, pod(host_paths("/var/run/docker.sock"))) == [
        Violation(
            "spec.volumes[0].hostPath",
            'volume "v0" mounts sensitive host path "/var/run/docker.sock": '
            "the Docker daemon socket: start a privileged container, so root on the node",
        ),
    ]


def test_sensitive_host_path_under_entry_names_the_most_specific_one() -> None:
    assert run(sensitive_host_path.CHECK, pod(host_paths("/etc/kubernetes/manifests"))) == [
        Violation(
            "spec.volumes[0].hostPath",
            'volume "v0" mounts sensitive host path "/etc/kubernetes/manifests": under /etc/kubernetes '
            "(kubelet and control-plane kubeconfigs, PKI and static pod manifests: "
            "cluster-admin credentials or a pod of the attacker's choice on the node)",
        ),
    ]


def test_sensitive_host_path_ancestor_lists_outermost_contained_entries() -> None:
    assert run(sensitive_host_path.CHECK, pod(host_paths("/var/lib/"))) == [
        Violation(
            "spec.volumes[0].hostPath",
            'volume "v0" mounts sensitive host path "/var/lib/" (resolves to /var/lib): contains '
            "/var/lib/containerd, /var/lib/containers, /var/lib/docker, /var/lib/etcd, /var/lib/kubelet",
        ),
    ]


def test_sensitive_host_path_traversal_resolves() -> None:
    assert run(sensitive_host_path.CHECK, pod(host_paths("/var/log/../../etc"))) == [
        Violation(
            "spec.volumes[0].hostPath",
            'volume "v0" mounts sensitive host path "/var/log/../../etc" (resolves to /etc): '
            "host configuration (shadow, sudoers, cron, systemd units): writing it is root on the node",
        ),
    ]


def test_sensitive_host_path_relative_path_is_read_from_root() -> None:
    violations = run(sensitive_host_path.CHECK, pod(host_paths("proc")))
    assert [v.message.split(":")[0] for v in violations] == [
        'volume "v0" mounts sensitive host path "proc" (relative, read as /proc)'
    ]


@pytest.mark.parametrize("path", ["/var/log", "/etcd", "/data", "/var/lib/kubelet-plugins", "/opt/app", "/srv"])
def test_sensitive_host_path_leaves_ordinary_paths(path: str) -> None:
    assert run(sensitive_host_path.CHECK, pod(host_paths(path))) == []


def test_sensitive_host_path_root_matches_only_itself() -> None:
    assert [v.message for v in run(sensitive_host_path.CHECK, pod(host_paths("/", "//", "/data")))] == [
        'volume "v0" mounts sensitive host path "/": the whole host filesystem: every credential, socket and program of the node',
        'volume "v1" mounts sensitive host path "//" (resolves to /): the whole host filesystem: every credential, socket and program of the node',
    ]


def test_sensitive_host_path_configure_exempts_allowed_and_below_only() -> None:
    variant = sensitive_host_path.configure(["/proc"])
    assert variant.id == "sensitive-host-path"
    assert run(variant, pod(host_paths("/proc", "/proc/1/"))) == []
    # Traversal out of an allowed directory, and a parent of it, stay reported.
    reported = run(variant, pod(host_paths("/proc/../etc", "/", "/sys")))
    assert [v.path for v in reported] == [
        "spec.volumes[0].hostPath",
        "spec.volumes[1].hostPath",
        "spec.volumes[2].hostPath",
    ]
    assert run(sensitive_host_path.CHECK, pod(host_paths("/proc")))  # the default is unchanged


def test_sensitive_host_path_configure_socket_does_not_allow_its_directory() -> None:
    variant = sensitive_host_path.configure(["/var/run/docker.sock"])
    assert run(variant, pod(host_paths("/var/run/docker.sock"))) == []
    assert len(run(variant, pod(host_paths("/var/run")))) == 1


# --- seccomp-unconfined ----------------------------------------------------------------------------


def test_seccomp_unset_everywhere_names_each_container() -> None:
    obj = deployment({"initContainers": [{"name": "init"}], "containers": [app()]})
    assert run(seccomp_unconfined.CHECK, obj) == [
        Violation(
            "spec.template.spec.initContainers[0].securityContext.seccompProfile.type",
            'pod or container "init" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
            "init",
        ),
        Violation(
            "spec.template.spec.containers[0].securityContext.seccompProfile.type",
            'pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
            "app",
        ),
    ]


def test_seccomp_pod_unconfined_is_one_violation_even_when_containers_override() -> None:
    spec = {
        "securityContext": {"seccompProfile": {"type": "Unconfined"}},
        "containers": [app(securityContext={"seccompProfile": {"type": "RuntimeDefault"}}), {"name": "b"}],
    }
    assert run(seccomp_unconfined.CHECK, pod(spec)) == [
        Violation(
            "spec.securityContext.seccompProfile.type",
            'pod must not set securityContext.seccompProfile.type to "Unconfined"',
        ),
    ]


def test_seccomp_container_explicit_bad_despite_pod_default() -> None:
    spec = {
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [app(securityContext={"seccompProfile": {"type": "Unconfined"}})],
    }
    assert run(seccomp_unconfined.CHECK, pod(spec)) == [
        Violation(
            "spec.containers[0].securityContext.seccompProfile.type",
            'container "app" must not set securityContext.seccompProfile.type to "Unconfined"',
            "app",
        ),
    ]


def test_seccomp_localhost_at_pod_level_covers_containers() -> None:
    spec = {
        "securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}},
        "containers": [app()],
    }
    assert run(seccomp_unconfined.CHECK, pod(spec)) == []


@pytest.mark.parametrize("bad", ["RuntimeDefault", ["RuntimeDefault"], {"type": 1}])
def test_seccomp_malformed_pod_profile_covers_nothing(bad: object) -> None:
    spec = {"securityContext": {"seccompProfile": bad}, "containers": [app()]}
    assert [v.path for v in run(seccomp_unconfined.CHECK, pod(spec))] == [
        "spec.containers[0].securityContext.seccompProfile.type"
    ]


# --- apparmor-unconfined ------------------------------------------------------------------------


def test_apparmor_field_and_annotation_messages() -> None:
    spec = {
        "securityContext": {"appArmorProfile": {"type": "Unconfined"}},
        "containers": [app(securityContext={"appArmorProfile": {"type": "Unconfined"}})],
    }
    annotations = {
        "container.apparmor.security.beta.kubernetes.io/app": "unconfined",
        "container.apparmor.security.beta.kubernetes.io/ok": "localhost/custom",
        "unrelated.example.com/app": "unconfined",
    }
    assert run(apparmor_unconfined.CHECK, deployment(spec, annotations)) == [
        Violation(
            "spec.template.spec.securityContext.appArmorProfile.type",
            'pod must not set securityContext.appArmorProfile.type to "Unconfined"',
        ),
        Violation(
            "spec.template.spec.containers[0].securityContext.appArmorProfile.type",
            'container "app" must not set securityContext.appArmorProfile.type to "Unconfined"',
            "app",
        ),
        Violation(
            'spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/app"]',
            'annotation container.apparmor.security.beta.kubernetes.io/app must not set AppArmor profile "unconfined" '
            '(allowed: empty, "runtime/default", "localhost/<profile>")',
            "app",
        ),
    ]


@pytest.mark.parametrize("value", ["", None, "runtime/default", "localhost/x", 5])
def test_apparmor_allowed_or_malformed_annotation_values(value: object) -> None:
    obj = pod({"containers": [app()]}, {"container.apparmor.security.beta.kubernetes.io/app": value})
    assert run(apparmor_unconfined.CHECK, obj) == []


def test_apparmor_runtime_default_case_matters() -> None:
    # PSA compares exactly: "RuntimeDefault" is a field value, not an annotation value.
    obj = pod({"containers": [app()]}, {"container.apparmor.security.beta.kubernetes.io/app": "RuntimeDefault"})
    assert [v.path for v in run(apparmor_unconfined.CHECK, obj)] == [
        'metadata.annotations["container.apparmor.security.beta.kubernetes.io/app"]'
    ]


# --- custom-selinux-options ----------------------------------------------------------------------------


def test_selinux_each_forbidden_field_is_its_own_violation() -> None:
    spec = {
        "securityContext": {"seLinuxOptions": {"type": "spc_t", "level": "s0:c1,c2"}},
        "ephemeralContainers": [{"name": "dbg", "securityContext": {"seLinuxOptions": {"user": "u", "role": "r"}}}],
        "containers": [app(securityContext={"seLinuxOptions": {"type": "container_engine_t"}})],
    }
    assert run(custom_selinux_options.CHECK, pod(spec)) == [
        Violation(
            "spec.securityContext.seLinuxOptions.type",
            'pod must not set securityContext.seLinuxOptions.type to "spc_t"',
        ),
        Violation(
            "spec.ephemeralContainers[0].securityContext.seLinuxOptions.user",
            'container "dbg" must not set securityContext.seLinuxOptions.user (set to "u")',
            "dbg",
        ),
        Violation(
            "spec.ephemeralContainers[0].securityContext.seLinuxOptions.role",
            'container "dbg" must not set securityContext.seLinuxOptions.role (set to "r")',
            "dbg",
        ),
    ]


# --- unmasked-proc-mount ------------------------------------------------------------------------


def test_proc_mount_message_and_no_user_namespace_relaxation() -> None:
    spec = {"hostUsers": False, "containers": [app(securityContext={"procMount": "Unmasked"})]}
    assert run(unmasked_proc_mount.CHECK, pod(spec)) == [
        Violation(
            "spec.containers[0].securityContext.procMount",
            'container "app" must not set securityContext.procMount to "Unmasked"',
            "app",
        ),
    ]


# --- unsafe-sysctls -----------------------------------------------------------------------------


def test_sysctls_message_and_index() -> None:
    spec = {
        "securityContext": {
            "sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "1"}, {"name": "kernel.msgmax", "value": "1"}]
        },
        "containers": [app()],
    }
    assert run(unsafe_sysctls.CHECK, deployment(spec)) == [
        Violation(
            "spec.template.spec.securityContext.sysctls[1].name",
            'pod must not set sysctl "kernel.msgmax": it is not in the Pod Security Standards safe set',
        ),
    ]


def test_sysctls_allowlist_is_the_v1_32_one() -> None:
    assert len(unsafe_sysctls.SAFE_SYSCTLS) == 12
    assert "net.ipv4.tcp_wmem" in unsafe_sysctls.SAFE_SYSCTLS
    assert "net.ipv4.tcp_notsent_lowat" not in unsafe_sysctls.SAFE_SYSCTLS  # v1.37, unreleased


# --- service-account-token-automount ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            None,
            "pod must set automountServiceAccountToken=false (unset defaults to true unless its ServiceAccount sets it false)",
        ),
        (
            True,
            "pod must not set automountServiceAccountToken=true: the ServiceAccount token is mounted into every container",
        ),
        ("false", 'pod must set automountServiceAccountToken to the boolean false, not "false"'),
        (0, "pod must set automountServiceAccountToken to the boolean false, not 0"),
    ],
)
def test_service_account_token_messages(value: object, message: str) -> None:
    spec: dict[str, Any] = {"containers": [app()]}
    if value is not None:
        spec["automountServiceAccountToken"] = value
    assert run(service_account_token_automount.CHECK, deployment(spec)) == [
        Violation("spec.template.spec.automountServiceAccountToken", message),
    ]


def test_service_account_token_false_passes() -> None:
    assert (
        run(service_account_token_automount.CHECK, pod({"automountServiceAccountToken": False, "containers": [app()]}))
        == []
    )


# --- missing-resource-requests / missing-resource-limits --------------------------------------------------------


def test_resource_requests_default_from_limits_per_resource() -> None:
    spec = {"containers": [app(resources={"limits": {"cpu": "1"}})], "ephemeralContainers": [{"name": "dbg"}]}
    assert run(missing_resource_requests.CHECK, pod(spec)) == [
        Violation(
            "spec.containers[0].resources.requests.memory",
            'container "app" must set resources.requests.memory (or resources.limits.memory, which the request defaults to)',
            "app",
        ),
    ]


def test_resource_limits_are_never_defaulted_from_requests() -> None:
    spec = {
        "initContainers": [
            app(name="init", resources={"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}})
        ]
    }
    assert run(missing_resource_limits.CHECK, pod(spec)) == [
        Violation(
            "spec.initContainers[0].resources.limits.cpu", 'container "init" must set resources.limits.cpu', "init"
        ),
    ]


def test_resource_checks_skip_ephemeral_containers() -> None:
    spec = {
        "containers": [app(resources={"limits": {"cpu": "1", "memory": "1Gi"}})],
        "ephemeralContainers": [{"name": "dbg", "image": "busybox:1.36"}],
    }
    assert run(missing_resource_requests.CHECK, pod(spec)) == []
    assert run(missing_resource_limits.CHECK, pod(spec)) == []


# --- every check survives malformed input -------------------------------------------------------

CHECKS = (
    host_path_volume.CHECK,
    sensitive_host_path.CHECK,
    seccomp_unconfined.CHECK,
    apparmor_unconfined.CHECK,
    custom_selinux_options.CHECK,
    unmasked_proc_mount.CHECK,
    unsafe_sysctls.CHECK,
    service_account_token_automount.CHECK,
    missing_resource_requests.CHECK,
    missing_resource_limits.CHECK,
)

MALFORMED: tuple[Any, ...] = (
    None,
    "spec",
    [],
    {"containers": "app", "volumes": {"name": "x"}, "securityContext": "restricted"},
    {"containers": [None, 1, "app", {"name": 3, "securityContext": [], "resources": []}]},
    {
        "securityContext": {
            "seccompProfile": [],
            "appArmorProfile": 1,
            "seLinuxOptions": "x",
            "sysctls": [None, {"name": []}],
        },
        "containers": [
            {"securityContext": {"seccompProfile": {"type": None}, "procMount": 1, "seLinuxOptions": {"user": 1}}}
        ],
        "volumes": [None, {"hostPath": 1}, {"hostPath": {"path": 7}}, {"name": None, "hostPath": {"path": ""}}],
    },
)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
@pytest.mark.parametrize("spec", MALFORMED)
def test_checks_survive_malformed_specs(check: Check, spec: Any) -> None:
    for obj in (pod(spec), deployment(spec, annotations={"container.apparmor.security.beta.kubernetes.io/": []})):
        for violation in run(check, obj):
            assert violation.message
    raw = {"apiVersion": "v1", "kind": "Pod", "metadata": "m", "spec": spec}
    list(check.evaluate(as_object(raw)))
