"""Workload hardening: one requirement per test, one test case per workload.

Each test takes ``k8s_workload`` and runs as ``test_name[Kind/namespace/name]``, so a report
shows exactly which workload breaks which requirement. README.md maps each test to its controls.
"""

from __future__ import annotations

from pytest_k8ssec import (
    K8sObject,
    assert_capabilities,
    assert_no_host_namespaces,
    assert_no_host_path,
    assert_no_host_ports,
    assert_no_privilege_escalation,
    assert_no_service_account_token_automount,
    assert_not_privileged,
    assert_passes,
    assert_read_only_root_filesystem,
    assert_resources,
    assert_runs_as_non_root,
    assert_seccomp,
)


def test_not_privileged(k8s_workload: K8sObject) -> None:
    assert_not_privileged(k8s_workload)


def test_no_privilege_escalation(k8s_workload: K8sObject) -> None:
    assert_no_privilege_escalation(k8s_workload)


def test_runs_as_non_root(k8s_workload: K8sObject) -> None:
    assert_runs_as_non_root(k8s_workload)


def test_read_only_root_filesystem(k8s_workload: K8sObject) -> None:
    assert_read_only_root_filesystem(k8s_workload)


def test_capabilities(k8s_workload: K8sObject) -> None:
    assert_capabilities(k8s_workload, drop_all=True, allow=["NET_BIND_SERVICE"])


def test_no_host_namespaces(k8s_workload: K8sObject) -> None:
    assert_no_host_namespaces(k8s_workload)


def test_no_host_path(k8s_workload: K8sObject) -> None:
    assert_no_host_path(k8s_workload)


def test_no_host_ports(k8s_workload: K8sObject) -> None:
    assert_no_host_ports(k8s_workload)


def test_seccomp(k8s_workload: K8sObject) -> None:
    assert_seccomp(k8s_workload)


def test_service_account_token_not_automounted(k8s_workload: K8sObject) -> None:
    assert_no_service_account_token_automount(k8s_workload)


def test_resources(k8s_workload: K8sObject) -> None:
    assert_resources(k8s_workload, requests=True, limits=True)


def test_no_node_takeover(k8s_workloads: list[K8sObject]) -> None:
    # One finding anywhere here means a pod can take over its node: fail the whole set at once.
    assert_passes(["dangerous-capabilities", "sensitive-host-path"], k8s_workloads)
