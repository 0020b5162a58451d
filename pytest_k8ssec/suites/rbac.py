"""RBAC: least privilege on the Kubernetes API, decided by the RBAC authorizer's own rules.

    pytest --pyargs pytest_k8ssec.suites.rbac --k8s-manifests=deploy/

On manifests the plugin's offline authorizer resolves the bindings over the roles in the
manifests and Kubernetes' default ClusterRoles (``--k8s-rbac-defaults``); on ``--k8s-context`` it
reads the cluster's. The control plane's own bootstrap bindings are its design and are not
reported. Workload tests take every workload outside the profile's ``system_namespaces``.
"""

from __future__ import annotations

import pytest

from pytest_k8ssec import (
    K8sObject,
    Profile,
    RbacView,
    assert_no_anonymous_access,
    assert_no_risky_permissions,
    assert_no_wildcard_rules,
    assert_not_cluster_admin,
    assert_not_default_service_account,
)
from pytest_k8ssec.suites import _common


@pytest.mark.k8s_control("CIS-5.1.1", "NSA-authz-rbac")
@pytest.mark.k8s_severity("critical")
def test_no_cluster_admin_grants(k8s_rbac: RbacView, k8s_profile: Profile) -> None:
    _common.check_nobody_can(k8s_rbac, k8s_profile, [("*", "*", None, "*")], "every verb on every resource")


@pytest.mark.k8s_control("CIS-5.1.1", "NSA-authz-rbac", "MITRE-T1078.001")
def test_workload_is_not_cluster_admin(k8s_rbac: RbacView, k8s_workload: K8sObject, k8s_profile: Profile) -> None:
    _common.skip_system(k8s_workload.namespace, k8s_profile)
    assert_not_cluster_admin(k8s_rbac, k8s_workload)


@pytest.mark.k8s_control("CIS-5.1.3", "NSA-authz-rbac")
def test_no_wildcard_rules(k8s_rbac: RbacView) -> None:
    assert_no_wildcard_rules(k8s_rbac)


@pytest.mark.k8s_control(
    "CIS-5.1.2",
    "CIS-5.1.4",
    "CIS-5.1.8",
    "CIS-5.1.9",
    "CIS-5.1.10",
    "CIS-5.1.11",
    "CIS-5.1.12",
    "CIS-5.1.13",
    "NSA-authz-rbac",
)
def test_no_risky_permissions(k8s_rbac: RbacView) -> None:
    # Escalate, bind, impersonate, secrets, pod creation, exec/attach/port-forward, nodes/proxy,
    # token and CSR issuing, webhook configurations, persistent volumes: the plugin's risk catalog.
    _common.skip_without_bindings(k8s_rbac)
    assert_no_risky_permissions(k8s_rbac)


@pytest.mark.k8s_control("NSA-authz-rbac")
def test_no_anonymous_access(k8s_rbac: RbacView) -> None:
    _common.skip_without_bindings(k8s_rbac)
    assert_no_anonymous_access(k8s_rbac)


@pytest.mark.k8s_control("CIS-5.1.5", "MITRE-T1078.001")
def test_workload_has_its_own_service_account(k8s_workload: K8sObject, k8s_profile: Profile) -> None:
    _common.skip_system(k8s_workload.namespace, k8s_profile)
    assert_not_default_service_account(k8s_workload)
