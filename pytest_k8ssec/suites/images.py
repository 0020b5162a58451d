"""Images: immutable references from the registries you trust, and no credentials beside them.

    pytest --pyargs pytest_k8ssec.suites.images --k8s-manifests=deploy/ --k8s-profile=profile.yaml

One test case per workload outside the profile's ``system_namespaces``. The registries images
may come from are the profile's ``allowed_registries`` (or ``--k8s-allowed-registry`` /
``k8s_allowed_registries``); without them that test skips saying how to set them, since a
requirement never configured is not a pass.
"""

from __future__ import annotations

import pytest

from pytest_k8ssec import (
    Inventory,
    K8sObject,
    Profile,
    assert_images_from,
    assert_images_pinned,
    assert_no_credential_literals,
    assert_no_latest_tag,
    assert_pull_policy,
)
from pytest_k8ssec.suites import _common


@pytest.mark.k8s_control("NSA-pod-secure-images", "MITRE-T1525")
def test_no_latest_tag(k8s_workload: K8sObject, k8s_profile: Profile) -> None:
    _common.skip_system(k8s_workload.namespace, k8s_profile)
    assert_no_latest_tag(k8s_workload)


@pytest.mark.k8s_control("NSA-pod-secure-images", "MITRE-T1525")
def test_pinned_by_digest(k8s_workload: K8sObject, k8s_profile: Profile) -> None:
    _common.skip_system(k8s_workload.namespace, k8s_profile)
    assert_images_pinned(k8s_workload)


@pytest.mark.k8s_control("NSA-pod-secure-images", "MITRE-T1204.003")
def test_from_allowed_registries(k8s_workload: K8sObject, k8s_profile: Profile) -> None:
    _common.skip_system(k8s_workload.namespace, k8s_profile)
    if not k8s_profile.allowed_registries:
        pytest.skip(
            "no allowed registries configured: set allowed_registries in --k8s-profile FILE "
            "(or --k8s-allowed-registry PREFIX, ini k8s_allowed_registries)"
        )
    assert_images_from(k8s_workload, registries=k8s_profile.allowed_registries)


@pytest.mark.k8s_control("NSA-pod-secure-images")
def test_mutable_images_always_pulled(k8s_workload: K8sObject, k8s_profile: Profile) -> None:
    _common.skip_system(k8s_workload.namespace, k8s_profile)
    assert_pull_policy(k8s_workload)


@pytest.mark.k8s_control("NSA-net-secrets", "MITRE-T1552.001")
def test_no_credentials_in_env(k8s_workload: K8sObject, k8s_profile: Profile) -> None:
    _common.skip_system(k8s_workload.namespace, k8s_profile)
    assert_no_credential_literals(k8s_workload)


@pytest.mark.k8s_control("NSA-net-secrets", "MITRE-T1552.001")
def test_no_credentials_in_configmaps(k8s_inventory: Inventory, k8s_profile: Profile) -> None:
    configmaps = [obj for obj in k8s_inventory.select(kind="ConfigMap") if not k8s_profile.is_system(obj.namespace)]
    if not configmaps:
        pytest.skip("no ConfigMap outside the system namespaces: nothing to judge")
    assert_no_credential_literals(configmaps)
