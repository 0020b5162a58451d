"""NSA/CISA Kubernetes Hardening Guidance (v1.2), the parts judged on objects.

    pytest --pyargs pytest_k8ssec.suites.nsa --k8s-manifests=deploy/

Kubernetes Pod security (non-root containers, immutable file systems, secure images, Pod
Security enforcement, service account tokens, hardened container environments), network
separation (namespaces, default-deny network policies, resource policies, secrets) and
authorization (RBAC). Audit logging and upgrades are about the control plane and its operation:
those tests skip, saying why. Workload tests judge every workload outside the profile's
``system_namespaces``.
"""

from __future__ import annotations

import pytest

from pytest_k8ssec import (
    Inventory,
    K8sObject,
    NetworkModel,
    Profile,
    RbacView,
    Target,
    WorkloadNamespace,
    assert_capabilities,
    assert_default_deny,
    assert_images_pinned,
    assert_namespace_pod_security,
    assert_no_credential_literals,
    assert_no_host_namespaces,
    assert_no_host_path,
    assert_no_host_ports,
    assert_no_latest_tag,
    assert_no_privilege_escalation,
    assert_no_risky_permissions,
    assert_no_secrets_in_manifests,
    assert_no_service_account_token_automount,
    assert_not_privileged,
    assert_read_only_root_filesystem,
    assert_resources,
    assert_runs_as_non_root,
    assert_seccomp,
    assert_secrets_as_files,
)
from pytest_k8ssec.suites import _common

# --- Kubernetes Pod security ---------------------------------------------------------------------


@pytest.mark.k8s_control("NSA-pod-non-root")
def test_non_root_containers(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_runs_as_non_root(_common.app_workloads(k8s_workloads, k8s_profile))


@pytest.mark.k8s_control("NSA-pod-immutable-fs")
def test_immutable_container_file_systems(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_read_only_root_filesystem(_common.app_workloads(k8s_workloads, k8s_profile))


@pytest.mark.k8s_control("NSA-pod-secure-images")
def test_images_immutable(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    workloads = _common.app_workloads(k8s_workloads, k8s_profile)
    assert_no_latest_tag(workloads)
    assert_images_pinned(workloads)


@pytest.mark.k8s_control("NSA-pod-security-enforcement")
def test_pod_security_enforced(k8s_workload_namespace: WorkloadNamespace, k8s_profile: Profile) -> None:
    _common.skip_system(k8s_workload_namespace.name, k8s_profile)
    namespace = k8s_workload_namespace.namespace
    assert namespace is not None, (
        f"namespace {k8s_workload_namespace.name}: its Namespace object is not among the objects tested, so "
        "nothing shows it enforces a Pod Security level; add it with a pod-security.kubernetes.io/enforce label"
    )
    assert_namespace_pod_security(namespace, level="baseline", mode="enforce")


@pytest.mark.k8s_control("NSA-pod-sa-tokens")
def test_service_account_tokens_not_mounted(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_no_service_account_token_automount(_common.app_workloads(k8s_workloads, k8s_profile))


@pytest.mark.k8s_control("NSA-pod-hardening", "MITRE-T1611")
def test_no_privileged_or_escalating_containers(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    workloads = _common.app_workloads(k8s_workloads, k8s_profile)
    assert_not_privileged(workloads)
    assert_no_privilege_escalation(workloads)


@pytest.mark.k8s_control("NSA-pod-hardening")
def test_capabilities_dropped(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_capabilities(_common.app_workloads(k8s_workloads, k8s_profile), drop_all=True)


@pytest.mark.k8s_control("NSA-pod-hardening", "MITRE-T1611")
def test_no_host_access(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    workloads = _common.app_workloads(k8s_workloads, k8s_profile)
    assert_no_host_namespaces(workloads)
    assert_no_host_path(workloads)
    assert_no_host_ports(workloads)


@pytest.mark.k8s_control("NSA-pod-hardening")
def test_seccomp(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_seccomp(_common.app_workloads(k8s_workloads, k8s_profile))


# --- Network separation and hardening ------------------------------------------------------------


@pytest.mark.k8s_control("NSA-net-namespaces")
@pytest.mark.k8s_severity("medium")
def test_workloads_in_their_own_namespaces(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    in_default = [obj for obj in _common.app_workloads(k8s_workloads, k8s_profile) if obj.namespace == "default"]
    shown = "\n".join(f"  - {obj.kind} {obj.name} ({obj.provenance})" for obj in in_default)
    assert not in_default, f"{len(in_default)} workload(s) in namespace default, which separates nothing:\n{shown}"


@pytest.mark.k8s_control("NSA-net-policies")
def test_namespace_default_deny(
    k8s_network: NetworkModel, k8s_workload_namespace: WorkloadNamespace, k8s_profile: Profile
) -> None:
    _common.skip_system(k8s_workload_namespace.name, k8s_profile)
    assert_default_deny(k8s_network, k8s_workload_namespace.name, direction="both")


@pytest.mark.k8s_control("NSA-net-resource-policies")
def test_resource_requests_and_limits(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_resources(_common.app_workloads(k8s_workloads, k8s_profile), requests=True, limits=True)


@pytest.mark.k8s_control("NSA-net-secrets")
def test_no_credentials_in_plain_text(
    k8s_inventory: Inventory, k8s_workloads: list[K8sObject], k8s_profile: Profile
) -> None:
    workloads = _common.app_workloads(k8s_workloads, k8s_profile)
    configmaps = [obj for obj in k8s_inventory.select(kind="ConfigMap") if not k8s_profile.is_system(obj.namespace)]
    assert_no_credential_literals(workloads + configmaps)


@pytest.mark.k8s_control("NSA-net-secrets")
def test_no_secrets_committed(k8s_target: Target, k8s_inventory: Inventory) -> None:
    # A live cluster's Secrets are where secrets belong (the plugin never lists them).
    if k8s_target.live:
        pytest.skip("a live cluster's Secrets are where secrets belong: this test judges manifests in a repository")
    assert_no_secrets_in_manifests(list(k8s_inventory))


@pytest.mark.k8s_control("NSA-net-secrets")
def test_secrets_as_files(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_secrets_as_files(_common.app_workloads(k8s_workloads, k8s_profile))


# --- Authentication and authorization ------------------------------------------------------------


@pytest.mark.k8s_control("NSA-authz-rbac")
def test_no_risky_permissions(k8s_rbac: RbacView) -> None:
    _common.skip_without_bindings(k8s_rbac)
    assert_no_risky_permissions(k8s_rbac)


# --- Audit logging, upgrades ---------------------------------------------------------------------


@pytest.mark.k8s_control("NSA-audit-logging")
def test_audit_logging(k8s_target: Target) -> None:
    _common.live_only(k8s_target, "NSA audit logging", "it is the API server's audit policy")
    pytest.skip(
        "the API server's audit policy and log backend are flags of the control plane the API does not expose; "
        "check them where the control plane is configured"
    )


@pytest.mark.k8s_control("NSA-upgrades")
def test_upgrades() -> None:
    pytest.skip("upgrading and application security practices are a process: review them by hand")
