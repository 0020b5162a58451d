"""CIS Kubernetes Benchmark v1.12, section 5 "Policies", one test per recommendation.

    pytest --pyargs pytest_k8ssec.suites.cis --k8s-manifests=deploy/

Numbering is v1.12's as kube-bench (cfg/cis-1.12) carries it: 5.1 RBAC and service accounts,
5.2 Pod Security Standards, 5.3 network policies and CNI, 5.4 secrets, 5.5 extensible admission
control, 5.6 general policies. Older benchmarks differ: v1.9/v1.10 put the general policies at
5.7 (5.7.1-5.7.4, the "5.7 general" some tools still cite), and v1.9-v1.11 had 13 items in 5.2
("added capabilities" at 5.2.9, so HostProcess, HostPath and HostPorts were 5.2.11-5.2.13).

Workload tests judge every workload outside the profile's ``system_namespaces``; RBAC tests ask
the offline authorizer over every binding (cluster-wide and per namespace), leaving out the
control plane's own grants (group system:masters, bootstrap bindings, service accounts of system
namespaces). A recommendation about the running cluster (the CNI, the API server's admission
configuration) skips on manifests, saying what would make it run; one that is organisational
skips always, saying why. A skip is never a pass.
"""

from __future__ import annotations

import pytest

from pytest_k8ssec import (
    Inventory,
    K8sCluster,
    K8sObject,
    NetworkModel,
    Profile,
    RbacView,
    Target,
    WorkloadNamespace,
    assert_capabilities,
    assert_default_deny,
    assert_namespace_pod_security,
    assert_no_host_namespaces,
    assert_no_host_path,
    assert_no_host_ports,
    assert_no_privilege_escalation,
    assert_no_service_account_token_automount,
    assert_no_wildcard_rules,
    assert_not_default_service_account,
    assert_not_privileged,
    assert_passes,
    assert_pod_security,
    assert_pod_security_enforced,
    assert_runs_as_non_root,
    assert_seccomp,
    assert_secrets_as_files,
)
from pytest_k8ssec.suites import _common

RBAC_GROUP = "rbac.authorization.k8s.io"

# --- 5.1 RBAC and service accounts ---------------------------------------------------------------


@pytest.mark.k8s_control("CIS-5.1.1")
@pytest.mark.k8s_severity("critical")
def test_5_1_1_cluster_admin_only_where_required(k8s_rbac: RbacView, k8s_profile: Profile) -> None:
    # Any role spelling '*' on '*' in every group is cluster-admin; bound by a RoleBinding, of a namespace.
    _common.check_nobody_can(k8s_rbac, k8s_profile, [("*", "*", None, "*")], "every verb on every resource")


@pytest.mark.k8s_control("CIS-5.1.2")
@pytest.mark.k8s_severity("high")
def test_5_1_2_minimize_access_to_secrets(k8s_rbac: RbacView, k8s_profile: Profile) -> None:
    requests = [(verb, "secrets", None, "") for verb in ("get", "list", "watch")]
    _common.check_nobody_can(k8s_rbac, k8s_profile, requests, "reading Secrets")


@pytest.mark.k8s_control("CIS-5.1.3")
def test_5_1_3_minimize_wildcard_use(k8s_rbac: RbacView) -> None:
    assert_no_wildcard_rules(k8s_rbac)


@pytest.mark.k8s_control("CIS-5.1.4")
@pytest.mark.k8s_severity("high")
def test_5_1_4_minimize_access_to_create_pods(k8s_rbac: RbacView, k8s_profile: Profile) -> None:
    _common.check_nobody_can(k8s_rbac, k8s_profile, [("create", "pods", None, "")], "creating Pods")


@pytest.mark.k8s_control("CIS-5.1.5")
def test_5_1_5_default_service_account_not_used(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_not_default_service_account(_common.app_workloads(k8s_workloads, k8s_profile))


@pytest.mark.k8s_control("CIS-5.1.6")
def test_5_1_6_service_account_tokens_only_where_necessary(
    k8s_workloads: list[K8sObject], k8s_profile: Profile
) -> None:
    assert_no_service_account_token_automount(_common.app_workloads(k8s_workloads, k8s_profile))


@pytest.mark.k8s_control("CIS-5.1.7")
@pytest.mark.k8s_severity("critical")
def test_5_1_7_avoid_system_masters(k8s_inventory: Inventory) -> None:
    bindings = [*k8s_inventory.by_kind("ClusterRoleBinding"), *k8s_inventory.by_kind("RoleBinding")]
    naming = [
        binding
        for binding in bindings
        if binding.labels.get(_common.BOOTSTRAP) != "rbac-defaults"
        and any(
            isinstance(subject, dict) and subject.get("kind") == "Group" and subject.get("name") == "system:masters"
            for subject in binding.raw.get("subjects") or ()
        )
    ]
    shown = "\n".join(f"  - {b.kind} {b.name} ({b.provenance})" for b in naming)
    assert not naming, f"{len(naming)} binding(s) name group system:masters, which bypasses RBAC:\n{shown}"


@pytest.mark.k8s_control("CIS-5.1.8")
@pytest.mark.k8s_severity("high")
def test_5_1_8_limit_bind_impersonate_escalate(k8s_rbac: RbacView, k8s_profile: Profile) -> None:
    requests = [
        ("bind", "clusterroles", None, RBAC_GROUP),
        ("bind", "roles", None, RBAC_GROUP),
        ("escalate", "clusterroles", None, RBAC_GROUP),
        ("escalate", "roles", None, RBAC_GROUP),
        ("impersonate", "users", None, ""),
        ("impersonate", "groups", None, ""),
        ("impersonate", "serviceaccounts", None, ""),
    ]
    _common.check_nobody_can(k8s_rbac, k8s_profile, requests, "bind, escalate or impersonate")


@pytest.mark.k8s_control("CIS-5.1.9")
@pytest.mark.k8s_severity("high")
def test_5_1_9_minimize_access_to_create_persistent_volumes(k8s_rbac: RbacView, k8s_profile: Profile) -> None:
    requests = [("create", "persistentvolumes", None, "")]
    _common.check_nobody_can(k8s_rbac, k8s_profile, requests, "creating PersistentVolumes")


@pytest.mark.k8s_control("CIS-5.1.10")
@pytest.mark.k8s_severity("high")
def test_5_1_10_minimize_access_to_nodes_proxy(k8s_rbac: RbacView, k8s_profile: Profile) -> None:
    requests = [(verb, "nodes", "proxy", "") for verb in ("get", "create")]
    _common.check_nobody_can(k8s_rbac, k8s_profile, requests, "the nodes/proxy subresource")


@pytest.mark.k8s_control("CIS-5.1.11")
@pytest.mark.k8s_severity("high")
def test_5_1_11_minimize_csr_approval(k8s_rbac: RbacView, k8s_profile: Profile) -> None:
    requests = [("update", "certificatesigningrequests", "approval", "certificates.k8s.io")]
    _common.check_nobody_can(k8s_rbac, k8s_profile, requests, "approving CertificateSigningRequests")


@pytest.mark.k8s_control("CIS-5.1.12")
@pytest.mark.k8s_severity("high")
def test_5_1_12_minimize_access_to_webhook_configurations(k8s_rbac: RbacView, k8s_profile: Profile) -> None:
    requests = [
        (verb, resource, None, "admissionregistration.k8s.io")
        for resource in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations")
        for verb in ("create", "update", "patch")
    ]
    _common.check_nobody_can(k8s_rbac, k8s_profile, requests, "writing admission webhook configurations")


@pytest.mark.k8s_control("CIS-5.1.13")
@pytest.mark.k8s_severity("high")
def test_5_1_13_minimize_service_account_token_creation(k8s_rbac: RbacView, k8s_profile: Profile) -> None:
    requests = [("create", "serviceaccounts", "token", "")]
    _common.check_nobody_can(k8s_rbac, k8s_profile, requests, "creating service account tokens")


# --- 5.2 Pod Security Standards ------------------------------------------------------------------


@pytest.mark.k8s_control("CIS-5.2.1")
def test_5_2_1_policy_control_in_place(k8s_workload_namespace: WorkloadNamespace, k8s_profile: Profile) -> None:
    # On manifests the mechanism that shows is Pod Security admission's namespace label.
    _common.skip_system(k8s_workload_namespace.name, k8s_profile)
    namespace = k8s_workload_namespace.namespace
    assert namespace is not None, (
        f"namespace {k8s_workload_namespace.name}: its Namespace object is not among the objects tested, so no "
        "policy control shows; add it with a pod-security.kubernetes.io/enforce label"
    )
    assert_namespace_pod_security(namespace, level="baseline", mode="enforce")


@pytest.mark.k8s_control("CIS-5.2.1")
@pytest.mark.k8s_severity("high")
def test_5_2_1_admission_refuses_what_the_level_forbids(
    k8s_target: Target, k8s_workload_namespace: WorkloadNamespace, k8s_profile: Profile, request: pytest.FixtureRequest
) -> None:
    _common.live_only(k8s_target, "CIS 5.2.1 (admission, as the cluster runs it)", "it probes admission with dry-runs")
    _common.skip_system(k8s_workload_namespace.name, k8s_profile)
    level, _, _ = _common.level_of(k8s_workload_namespace, k8s_profile)
    cluster: K8sCluster = request.getfixturevalue("k8s_cluster")
    assert_pod_security_enforced(k8s_workload_namespace.name, level="baseline", cluster=cluster)
    if level == "restricted":
        assert_pod_security_enforced(k8s_workload_namespace.name, level="restricted", cluster=cluster)


@pytest.mark.k8s_control("CIS-5.2.2")
def test_5_2_2_no_privileged_containers(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_not_privileged(_common.app_workloads(k8s_workloads, k8s_profile))


@pytest.mark.k8s_control("CIS-5.2.3", "CIS-5.2.4", "CIS-5.2.5")
def test_5_2_3_to_5_2_5_no_host_pid_ipc_network(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_no_host_namespaces(_common.app_workloads(k8s_workloads, k8s_profile))


@pytest.mark.k8s_control("CIS-5.2.6")
def test_5_2_6_no_privilege_escalation(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_no_privilege_escalation(_common.app_workloads(k8s_workloads, k8s_profile))


@pytest.mark.k8s_control("CIS-5.2.7")
def test_5_2_7_no_root_containers(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_runs_as_non_root(_common.app_workloads(k8s_workloads, k8s_profile))


@pytest.mark.k8s_control("CIS-5.2.8")
def test_5_2_8_net_raw_dropped(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    # NET_RAW is in the runtimes' default set; dropping ALL is the one spelling every runtime honours.
    assert_passes("capabilities-not-dropped", _common.app_workloads(k8s_workloads, k8s_profile))


@pytest.mark.k8s_control("CIS-5.2.9")
def test_5_2_9_no_capabilities_assigned(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_capabilities(_common.app_workloads(k8s_workloads, k8s_profile), drop_all=False)


@pytest.mark.k8s_control("CIS-5.2.10")
def test_5_2_10_no_windows_host_process(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_passes("windows-host-process", _common.app_workloads(k8s_workloads, k8s_profile))


@pytest.mark.k8s_control("CIS-5.2.11")
def test_5_2_11_no_host_path_volumes(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_no_host_path(_common.app_workloads(k8s_workloads, k8s_profile))


@pytest.mark.k8s_control("CIS-5.2.12")
def test_5_2_12_no_host_ports(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_no_host_ports(_common.app_workloads(k8s_workloads, k8s_profile))


# --- 5.3 Network policies and CNI ----------------------------------------------------------------


@pytest.mark.k8s_control("CIS-5.3.1")
def test_5_3_1_cni_supports_network_policies(k8s_target: Target) -> None:
    _common.live_only(k8s_target, "CIS 5.3.1", "the CNI plugin is part of the running nodes")
    pytest.skip(
        "CIS 5.3.1 needs pods on nodes: apply a deny policy and probe a connection between two pods "
        "(write that test with k8s_namespace and k8s_pod_host); the API server alone cannot show the CNI"
    )


@pytest.mark.k8s_control("CIS-5.3.2")
def test_5_3_2_every_namespace_has_network_policies(
    k8s_network: NetworkModel, k8s_workload_namespace: WorkloadNamespace, k8s_profile: Profile
) -> None:
    # Stricter than "a policy exists": a default deny, so a pod added later is covered too.
    _common.skip_system(k8s_workload_namespace.name, k8s_profile)
    assert_default_deny(k8s_network, k8s_workload_namespace.name, direction="ingress")


# --- 5.4 Secrets management -----------------------------------------------------------------------


@pytest.mark.k8s_control("CIS-5.4.1")
def test_5_4_1_secrets_as_files(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_secrets_as_files(_common.app_workloads(k8s_workloads, k8s_profile))


@pytest.mark.k8s_control("CIS-5.4.2")
def test_5_4_2_external_secret_storage() -> None:
    pytest.skip(
        "CIS 5.4.2 is organisational: whether secrets live in an external store (Vault, a cloud secret "
        "manager) is a choice of the platform no object shows; review it by hand"
    )


# --- 5.5 Extensible admission control ------------------------------------------------------------


@pytest.mark.k8s_control("CIS-5.5.1")
def test_5_5_1_image_provenance_admission(k8s_target: Target) -> None:
    _common.live_only(k8s_target, "CIS 5.5.1", "it is the API server's admission configuration")
    pytest.skip(
        "CIS 5.5.1 is the API server's --admission-control-config-file (ImagePolicyWebhook), which the API "
        "does not expose; check the control plane's configuration (kube-bench reads it on the node)"
    )


# --- 5.6 General policies (5.7 in v1.9/v1.10) -------------------------------------------------------


@pytest.mark.k8s_control("CIS-5.6.1")
def test_5_6_1_namespaces_as_boundaries() -> None:
    pytest.skip(
        "CIS 5.6.1 is organisational: which namespaces separate which teams and applications is a design "
        "choice; 5.6.4 (no default namespace) and the network suite check its visible part"
    )


@pytest.mark.k8s_control("CIS-5.6.2")
def test_5_6_2_seccomp_runtime_default(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    assert_seccomp(_common.app_workloads(k8s_workloads, k8s_profile))


@pytest.mark.k8s_control("CIS-5.6.3")
@pytest.mark.k8s_severity("high")
def test_5_6_3_security_context_applied(k8s_workloads: list[K8sObject], k8s_profile: Profile) -> None:
    # The restricted Pod Security Standard is the security context the benchmark asks for.
    assert_pod_security(_common.app_workloads(k8s_workloads, k8s_profile), level="restricted")


@pytest.mark.k8s_control("CIS-5.6.4")
@pytest.mark.k8s_severity("medium")
def test_5_6_4_default_namespace_not_used(k8s_inventory: Inventory) -> None:
    used = [
        obj
        for obj in k8s_inventory.select(namespace="default")
        if not (obj.kind in ("ServiceAccount", "ConfigMap") and obj.name in ("default", "kube-root-ca.crt"))
        and not (obj.kind == "Service" and obj.name == "kubernetes")
    ]
    shown = "\n".join(f"  - {obj.kind} {obj.name} ({obj.provenance})" for obj in used[:25])
    assert not used, (
        f"{len(used)} object(s) in namespace default (a manifest without metadata.namespace lands there; "
        f"render charts with --k8s-default-namespace NS to test where they will be installed):\n{shown}"
    )
