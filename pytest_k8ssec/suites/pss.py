"""Pod Security Standards, the level of each namespace as Pod Security admission applies it.

    pytest --pyargs pytest_k8ssec.suites.pss --k8s-manifests=deploy/

A namespace's level is its ``pod-security.kubernetes.io/enforce`` label (at its
``enforce-version``); a namespace without the label is held to the profile's
``pss_default_level`` (``baseline`` unless ``--k8s-profile`` / ``k8s_pss_default_level`` says
otherwise), since the admission's own default, ``privileged``, requires nothing. Every workload
outside the system namespaces is one test case of ``test_baseline`` and of ``test_restricted``
(skipped, saying why, where its namespace asks only for baseline); ``test_namespace_enforces``
asks each namespace to declare at least baseline itself, so the cluster refuses what the tests
would catch.
"""

from __future__ import annotations

import pytest

from pytest_k8ssec import (
    Inventory,
    K8sObject,
    Profile,
    WorkloadNamespace,
    assert_namespace_pod_security,
    assert_pod_security,
)
from pytest_k8ssec.suites import _common

BASELINE = (
    "PSS-baseline-hostprocess",
    "PSS-baseline-host-namespaces",
    "PSS-baseline-privileged-containers",
    "PSS-baseline-capabilities",
    "PSS-baseline-hostpath-volumes",
    "PSS-baseline-host-ports",
    "PSS-baseline-apparmor",
    "PSS-baseline-selinux",
    "PSS-baseline-proc-mount-type",
    "PSS-baseline-seccomp",
    "PSS-baseline-sysctls",
    "PSS-baseline-host-probes-lifecycle-hooks",
)
RESTRICTED = (
    "PSS-restricted-volume-types",
    "PSS-restricted-privilege-escalation",
    "PSS-restricted-running-as-non-root",
    "PSS-restricted-running-as-non-root-user",
    "PSS-restricted-seccomp",
    "PSS-restricted-capabilities",
    "PSS-restricted-proc-mount-type",
)


@pytest.mark.k8s_control("NSA-pod-security-enforcement", "CIS-5.2.1")
def test_namespace_enforces(k8s_workload_namespace: WorkloadNamespace, k8s_profile: Profile) -> None:
    _common.skip_system(k8s_workload_namespace.name, k8s_profile)
    namespace = k8s_workload_namespace.namespace
    assert namespace is not None, (
        f"namespace {k8s_workload_namespace.name} holds workloads but its Namespace object is not among the "
        "objects tested, so nothing shows it enforces a Pod Security level; add the Namespace manifest "
        "with a pod-security.kubernetes.io/enforce label"
    )
    assert_namespace_pod_security(namespace, level="baseline", mode="enforce")


@pytest.mark.k8s_control(*BASELINE)
def test_baseline(k8s_workload: K8sObject, k8s_inventory: Inventory, k8s_profile: Profile) -> None:
    _common.skip_system(k8s_workload.namespace, k8s_profile)
    level, version, why = _common.pss_level(
        k8s_workload.namespace, _common.namespace_of(k8s_inventory, k8s_workload.namespace), k8s_profile
    )
    if level == "privileged":
        pytest.skip(f"{why}: Pod Security admits any pod there (test_namespace_enforces reports it)")
    assert_pod_security(k8s_workload, level="baseline", version=version)


@pytest.mark.k8s_control(*RESTRICTED)
def test_restricted(k8s_workload: K8sObject, k8s_inventory: Inventory, k8s_profile: Profile) -> None:
    _common.skip_system(k8s_workload.namespace, k8s_profile)
    level, version, why = _common.pss_level(
        k8s_workload.namespace, _common.namespace_of(k8s_inventory, k8s_workload.namespace), k8s_profile
    )
    if level != "restricted":
        pytest.skip(f"{why}: restricted is not required there (label it restricted, or set pss_default_level)")
    assert_pod_security(k8s_workload, level="restricted", version=version)
