"""Supply chain: immutable images from our registries, and no credentials in the manifests.

Per-workload tests run once per workload (``test_name[Kind/namespace/name]``); the credential
tests judge the whole set of objects, since Secrets and ConfigMaps are not workloads. README.md
maps each test to its controls.
"""

from __future__ import annotations

from pytest_k8ssec import (
    Inventory,
    K8sObject,
    assert_images_from,
    assert_images_pinned,
    assert_no_credential_literals,
    assert_no_latest_tag,
    assert_no_secrets_in_manifests,
    assert_not_default_service_account,
    assert_pull_policy,
)

# Registry prefixes images may come from, matched on whole path components of the normalized
# reference ("docker.io/library" covers "nginx"; "registry.example.com" does not cover
# "registry.example.com.evil.io").
ALLOWED_REGISTRIES = ["registry.example.com/"]


def test_no_latest_tag(k8s_workload: K8sObject) -> None:
    assert_no_latest_tag(k8s_workload)


def test_images_pinned_by_digest(k8s_workload: K8sObject) -> None:
    assert_images_pinned(k8s_workload)


def test_images_from_allowed_registries(k8s_workload: K8sObject) -> None:
    assert_images_from(k8s_workload, registries=ALLOWED_REGISTRIES)


def test_mutable_images_always_pulled(k8s_workload: K8sObject) -> None:
    assert_pull_policy(k8s_workload)


def test_dedicated_service_account(k8s_workload: K8sObject) -> None:
    assert_not_default_service_account(k8s_workload)


def test_no_credential_literals(k8s_inventory: Inventory) -> None:
    # Container env values and ConfigMaps; values never appear in the failure, only their length.
    assert_no_credential_literals(k8s_inventory.workloads() + k8s_inventory.select(kind="ConfigMap"))


def test_no_secrets_committed(k8s_inventory: Inventory) -> None:
    assert_no_secrets_in_manifests(list(k8s_inventory))
