"""Least privilege on the Kubernetes API (RBAC) and on the network (NetworkPolicy).

The same tests run on manifests and on live clusters (``--k8s-context``): RBAC is decided by the
plugin's offline authorizer over the target's roles and bindings, reachability by its
NetworkPolicy model. README.md maps each test to its controls.
"""

from __future__ import annotations

import pytest

from pytest_k8ssec import (
    K8sObject,
    NetworkModel,
    RbacView,
    assert_cannot,
    assert_default_deny,
    assert_egress_restricted,
    assert_network_policies_effective,
    assert_no_risky_permissions,
    assert_not_cluster_admin,
    assert_not_reachable,
    assert_reachable,
)

NAMESPACE = "shop"
# Policies that name pods outside the manifests (cluster DNS in kube-system).
POLICIES_NAMING_OTHER_PODS = ["shop/dns"]

pytestmark = pytest.mark.k8s_select(namespace=NAMESPACE)


# --- RBAC: what each workload's ServiceAccount may do ---------------------------------------------


def test_workload_cannot_read_secrets(k8s_rbac: RbacView, k8s_workload: K8sObject) -> None:
    assert_cannot(k8s_rbac, k8s_workload, "get", "secrets", namespace=NAMESPACE)


def test_workload_cannot_exec_into_pods(k8s_rbac: RbacView, k8s_workload: K8sObject) -> None:
    assert_cannot(k8s_rbac, k8s_workload, "create", "pods/exec", namespace=NAMESPACE)


def test_workload_is_not_cluster_admin(k8s_rbac: RbacView, k8s_workload: K8sObject) -> None:
    assert_not_cluster_admin(k8s_rbac, k8s_workload)


def test_no_risky_permissions(k8s_rbac: RbacView) -> None:
    assert_no_risky_permissions(k8s_rbac)


# --- Network: default deny, then only the flows the application needs -------------------------------


def test_namespace_is_default_deny(k8s_network: NetworkModel) -> None:
    assert_default_deny(k8s_network, NAMESPACE, direction="both")


def test_database_only_from_its_clients(k8s_network: NetworkModel) -> None:
    assert_reachable(k8s_network, "Deployment/shop/api", "StatefulSet/shop/db", 5432)
    assert_not_reachable(k8s_network, "Deployment/shop/web", "StatefulSet/shop/db")
    assert_not_reachable(k8s_network, "internet", "StatefulSet/shop/db")


def test_egress_restricted(k8s_network: NetworkModel, k8s_workloads: list[K8sObject]) -> None:
    assert_egress_restricted(k8s_network, k8s_workloads)


def test_policies_select_what_they_name(k8s_network: NetworkModel) -> None:
    assert_network_policies_effective(k8s_network, allow=POLICIES_NAMING_OTHER_PODS)
