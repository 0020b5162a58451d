"""Exact messages, paths and container names of the privilege, capability, user and host checks.

The data-driven tests pin verdicts and paths; these pin the words a user reads, so a change to a
message is a deliberate one.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_k8ssec.checks import (
    capabilities_added,
    capabilities_not_dropped,
    dangerous_capabilities,
    host_namespaces,
    host_port,
    privilege_escalation_allowed,
    run_as_group_root,
    run_as_root_allowed,
    run_as_user_root,
    writable_root_filesystem,
)
from pytest_k8ssec.checks._check import Check, PssControl, Severity, Violation
from pytest_k8ssec.checks.pss import check_capabilities_baseline, check_host_namespaces
from pytest_k8ssec.model.objects import K8sObject
from tests.builders import as_object, container, deployment, pod


def run(check: Check, obj: K8sObject) -> list[Violation]:
    return list(check.evaluate(obj))


# --- privilege-escalation-allowed ----------------------------------------------------------


def test_privilege_escalation_unset() -> None:
    assert run(privilege_escalation_allowed.CHECK, pod({"containers": [container()]})) == [
        Violation(
            "spec.containers[0].securityContext.allowPrivilegeEscalation",
            'container "app" must set securityContext.allowPrivilegeEscalation=false: it is unset, so the '
            "kubelet leaves no_new_privs off and setuid binaries or file capabilities can raise the "
            "process's privileges",
            "app",
        )
    ]


def test_privilege_escalation_true_names_the_required_value() -> None:
    obj = pod({"initContainers": [container("init", allowPrivilegeEscalation=True)]})
    assert [v.message for v in run(privilege_escalation_allowed.CHECK, obj)] == [
        'container "init" must set securityContext.allowPrivilegeEscalation=false'
    ]


def test_privilege_escalation_implied_by_privileged_and_sys_admin() -> None:
    obj = deployment(
        {
            "containers": [
                container("a", allowPrivilegeEscalation=False, privileged=True),
                container("b", allowPrivilegeEscalation=False, capabilities={"add": ["CAP_SYS_ADMIN"]}),
                container("c", allowPrivilegeEscalation=False, capabilities={"add": ["NET_ADMIN"]}),
            ]
        },
        selector=False,
    )
    assert run(privilege_escalation_allowed.CHECK, obj) == [
        Violation(
            "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation",
            'container "a" can escalate privileges despite allowPrivilegeEscalation=false '
            "because it sets privileged=true",
            "a",
        ),
        Violation(
            "spec.template.spec.containers[1].securityContext.allowPrivilegeEscalation",
            'container "b" can escalate privileges despite allowPrivilegeEscalation=false '
            'because it sets capabilities.add "CAP_SYS_ADMIN"',
            "b",
        ),
    ]


def test_privilege_escalation_windows_pod_exempt() -> None:
    assert run(privilege_escalation_allowed.CHECK, pod({"os": {"name": "windows"}, "containers": [container()]})) == []


# --- capabilities-added ----------------------------------------------------------------------


def test_capabilities_added_message_lists_values_once_in_manifest_order() -> None:
    obj = pod({"containers": [container(capabilities={"add": ["SYS_ADMIN", "CHOWN", "NET_ADMIN", "SYS_ADMIN"]})]})
    assert run(capabilities_added.CHECK, obj) == [
        Violation(
            "spec.containers[0].securityContext.capabilities.add",
            'container "app" must not include "SYS_ADMIN", "NET_ADMIN" in securityContext.capabilities.add',
            "app",
        )
    ]


def test_capabilities_added_is_case_sensitive_like_psa() -> None:
    obj = pod({"containers": [container(capabilities={"add": ["chown", "CAP_KILL", "KILL"]})]})
    assert [v.message for v in run(capabilities_added.CHECK, obj)] == [
        'container "app" must not include "chown", "CAP_KILL" in securityContext.capabilities.add'
    ]


def test_capabilities_added_configure() -> None:
    strict = capabilities_added.configure(["NET_BIND_SERVICE"])
    assert strict.id == capabilities_added.CHECK.id
    assert strict.severity is capabilities_added.CHECK.severity
    assert strict.pss is None  # no longer the PSS baseline control
    assert strict.summary == 'Containers may add only these Linux capabilities: "NET_BIND_SERVICE".'
    obj = pod({"containers": [container(capabilities={"add": ["NET_BIND_SERVICE", "CHOWN"]})]})
    assert [v.message for v in run(strict, obj)] == [
        'container "app" must not include "CHOWN" in securityContext.capabilities.add'
    ]
    assert run(capabilities_added.CHECK, obj) == []  # the default check is unchanged


def test_capabilities_added_configure_edges() -> None:
    loose = capabilities_added.configure(iter(["SYS_ADMIN"]))
    obj = pod({"containers": [container(capabilities={"add": ["SYS_ADMIN"]})]})
    assert run(loose, obj) == []
    none = capabilities_added.configure([])
    assert none.summary == "Containers may add only these Linux capabilities: none."
    assert [v.message for v in run(none, pod({"containers": [container(capabilities={"add": ["CHOWN"]})]}))] == [
        'container "app" must not include "CHOWN" in securityContext.capabilities.add'
    ]
    assert capabilities_added.configure(capabilities_added.BASELINE_CAPABILITIES) is capabilities_added.CHECK
    with pytest.raises(TypeError, match="not 'NET_BIND_SERVICE'"):
        capabilities_added.configure("NET_BIND_SERVICE")
    with pytest.raises(TypeError, match="must be strings, got 1"):
        capabilities_added.configure([1])  # type: ignore[list-item]


def test_capabilities_added_builds_on_the_pss_control() -> None:
    # The control is claimed once, by pss-capabilities-baseline; this check uses its allowed set.
    assert capabilities_added.CHECK.pss is None
    assert check_capabilities_baseline.CHECK.pss == PssControl("baseline", "capabilities_baseline", "v1.0")
    assert capabilities_added.BASELINE_CAPABILITIES is check_capabilities_baseline.ALLOWED_1_0
    assert capabilities_added.CHECK.severity is Severity.MEDIUM


# --- dangerous-capabilities ------------------------------------------------------------------


def test_dangerous_capabilities_message_names_value_and_reason() -> None:
    obj = pod({"ephemeralContainers": [container("dbg", capabilities={"add": ["CHOWN", "cap_sys_ptrace"]})]})
    assert run(dangerous_capabilities.CHECK, obj) == [
        Violation(
            "spec.ephemeralContainers[0].securityContext.capabilities.add[1]",
            'container "dbg" must not add "cap_sys_ptrace": it traces and injects code into other '
            "processes (the node's, with hostPID)",
            "dbg",
        )
    ]


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("SYS_ADMIN", "SYS_ADMIN"),
        ("sys_admin", "SYS_ADMIN"),
        ("CAP_SYS_ADMIN", "SYS_ADMIN"),
        ("Cap_Net_Raw", "NET_RAW"),
    ],
)
def test_dangerous_capabilities_canonical(spelling: str, canonical: str) -> None:
    assert dangerous_capabilities.canonical(spelling) == canonical


def test_dangerous_capabilities_list_stays_out_of_the_baseline_set() -> None:
    # Everything this check reports is also outside the PSS baseline set (capabilities-added).
    assert not set(dangerous_capabilities.DANGEROUS_CAPABILITIES) & capabilities_added.BASELINE_CAPABILITIES
    assert dangerous_capabilities.CHECK.severity is Severity.CRITICAL


# --- capabilities-not-dropped -------------------------------------------------------------------


def test_capabilities_drop_all_unset() -> None:
    assert run(capabilities_not_dropped.CHECK, pod({"containers": [container()]})) == [
        Violation(
            "spec.containers[0].securityContext.capabilities.drop",
            'container "app" must set securityContext.capabilities.drop=["ALL"]',
            "app",
        )
    ]


def test_capabilities_drop_all_lowercase_hint() -> None:
    obj = pod({"containers": [container(capabilities={"drop": ["all"]})]})
    assert [v.message for v in run(capabilities_not_dropped.CHECK, obj)] == [
        'container "app" must set securityContext.capabilities.drop=["ALL"] '
        '("all" does not count: PSS requires exactly "ALL")'
    ]


def test_capabilities_drop_all_windows_pod_exempt() -> None:
    assert run(capabilities_not_dropped.CHECK, pod({"os": {"name": "windows"}, "containers": [container()]})) == []


# --- run-as-root-allowed -------------------------------------------------------------------------


def test_run_as_non_root_messages() -> None:
    obj = pod(
        {
            "securityContext": {"runAsNonRoot": False},
            "initContainers": [container("init")],
            "containers": [container("app", runAsNonRoot=False), container("ok", runAsNonRoot=True)],
        }
    )
    assert run(run_as_root_allowed.CHECK, obj) == [
        Violation("spec.securityContext.runAsNonRoot", "pod must not set securityContext.runAsNonRoot=false"),
        Violation(
            "spec.initContainers[0].securityContext.runAsNonRoot",
            'pod or container "init" must set securityContext.runAsNonRoot=true',
            "init",
        ),
        Violation(
            "spec.containers[0].securityContext.runAsNonRoot",
            'container "app" must not set securityContext.runAsNonRoot=false',
            "app",
        ),
    ]


def test_run_as_non_root_pod_true_covers_unset_containers() -> None:
    obj = pod({"securityContext": {"runAsNonRoot": True}, "containers": [container(), container("b")]})
    assert run(run_as_root_allowed.CHECK, obj) == []


def test_run_as_non_root_no_user_namespace_relaxation() -> None:
    obj = pod({"hostUsers": False, "containers": [container()]})
    assert [v.path for v in run(run_as_root_allowed.CHECK, obj)] == ["spec.containers[0].securityContext.runAsNonRoot"]


# --- run-as-user-root ------------------------------------------------------------------------


def test_run_as_user_root_messages() -> None:
    obj = deployment(
        {"securityContext": {"runAsUser": 0}, "containers": [container(runAsUser=0), container("b", runAsUser=1)]},
        selector=False,
    )
    assert run(run_as_user_root.CHECK, obj) == [
        Violation("spec.template.spec.securityContext.runAsUser", "pod must not set securityContext.runAsUser=0"),
        Violation(
            "spec.template.spec.containers[0].securityContext.runAsUser",
            'container "app" must not set securityContext.runAsUser=0',
            "app",
        ),
    ]


def test_run_as_user_root_false_is_not_zero() -> None:
    assert (
        run(run_as_user_root.CHECK, pod({"securityContext": {"runAsUser": False}, "containers": [container()]})) == []
    )


# --- run-as-group-root -----------------------------------------------------------------------


def test_run_as_group_root_messages() -> None:
    obj = pod(
        {
            "securityContext": {"runAsGroup": 0, "fsGroup": 0, "supplementalGroups": [0, 10]},
            "containers": [container(runAsGroup=0)],
        }
    )
    assert run(run_as_group_root.CHECK, obj) == [
        Violation("spec.securityContext.runAsGroup", "pod must not set securityContext.runAsGroup=0"),
        Violation("spec.securityContext.fsGroup", "pod must not set securityContext.fsGroup=0"),
        Violation(
            "spec.securityContext.supplementalGroups[0]",
            "pod must not include 0 in securityContext.supplementalGroups",
        ),
        Violation(
            "spec.containers[0].securityContext.runAsGroup",
            'container "app" must not set securityContext.runAsGroup=0',
            "app",
        ),
    ]


# --- writable-root-filesystem ---------------------------------------------------------------


def test_read_only_root_filesystem_message() -> None:
    obj = pod({"containers": [container(readOnlyRootFilesystem=True)], "ephemeralContainers": [container("dbg")]})
    assert run(writable_root_filesystem.CHECK, obj) == [
        Violation(
            "spec.ephemeralContainers[0].securityContext.readOnlyRootFilesystem",
            'container "dbg" must set securityContext.readOnlyRootFilesystem=true',
            "dbg",
        )
    ]


# --- host-namespaces -------------------------------------------------------------------------


def test_host_namespaces_messages() -> None:
    obj = pod({"hostNetwork": True, "hostPID": True, "hostIPC": True, "containers": [container()]})
    assert run(host_namespaces.CHECK, obj) == [
        Violation(
            "spec.hostNetwork",
            "pod must not set hostNetwork=true (it exposes the node's network interfaces and localhost services)",
        ),
        Violation("spec.hostPID", "pod must not set hostPID=true (it exposes every process on the node)"),
        Violation(
            "spec.hostIPC", "pod must not set hostIPC=true (it exposes the node's shared memory and IPC objects)"
        ),
    ]
    # The control is claimed once, by pss-host-namespaces, which this check builds on.
    assert host_namespaces.CHECK.pss is None
    assert check_host_namespaces.CHECK.pss == PssControl("baseline", "hostNamespaces", "v1.0")


# --- host-port -------------------------------------------------------------------------------


def test_host_port_message() -> None:
    app = container()
    app["ports"] = [{"containerPort": 80}, {"containerPort": 443, "hostPort": 8443}]
    assert run(host_port.CHECK, pod({"containers": [app]})) == [
        Violation("spec.containers[0].ports[1].hostPort", 'container "app" must not use hostPort 8443', "app")
    ]


# --- every check: malformed input never raises ----------------------------------------------

ALL_CHECKS = [
    privilege_escalation_allowed.CHECK,
    capabilities_added.CHECK,
    dangerous_capabilities.CHECK,
    capabilities_not_dropped.CHECK,
    run_as_root_allowed.CHECK,
    run_as_user_root.CHECK,
    run_as_group_root.CHECK,
    writable_root_filesystem.CHECK,
    host_namespaces.CHECK,
    host_port.CHECK,
]

MALFORMED_SPECS: list[Any] = [
    None,
    [],
    "spec",
    {"containers": "app"},
    {"containers": [None, 1, "x", []]},
    {"securityContext": [], "os": "windows", "containers": [{"securityContext": "x", "ports": {"a": 1}}]},
    {
        "securityContext": {"supplementalGroups": {"0": 0}},
        "containers": [{"name": 7, "securityContext": {"capabilities": {"add": {"SYS_ADMIN": 1}, "drop": "ALL"}}}],
    },
    {"os": {"name": ["windows"]}, "containers": [{"ports": [None, {"hostPort": None}, {"hostPort": [80]}]}]},
]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.id)
@pytest.mark.parametrize("spec", MALFORMED_SPECS)
def test_malformed_input_does_not_raise(check: Check, spec: Any) -> None:
    raw = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}
    for violation in check.evaluate(as_object(raw)):
        assert violation.path and violation.message
