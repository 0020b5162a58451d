"""Network: default deny in every namespace, isolated workloads, and the flows the application needs.

    pytest --pyargs pytest_k8ssec.suites.network --k8s-manifests=deploy/ --k8s-profile=profile.yaml

Reachability is the plugin's exact NetworkPolicy model (the same on manifests and live). The
application's flows come from the profile: ``expected_flows.allowed`` must be reachable,
``expected_flows.denied`` must not be, and only the workloads of ``ingress_allowed`` may take
connections from the internet. Without these keys the tests that need them skip, saying which key
to set: a flow nobody wrote down is not a pass.
"""

from __future__ import annotations

import pytest

from pytest_k8ssec import (
    K8sObject,
    NetworkModel,
    Profile,
    WorkloadNamespace,
    assert_default_deny,
    assert_isolated,
    assert_no_ingress_from,
    assert_not_reachable,
    assert_reachable,
)
from pytest_k8ssec.suites import _common


@pytest.mark.k8s_control("CIS-5.3.2", "NSA-net-policies")
def test_namespace_default_deny_ingress(
    k8s_network: NetworkModel, k8s_workload_namespace: WorkloadNamespace, k8s_profile: Profile
) -> None:
    _common.skip_system(k8s_workload_namespace.name, k8s_profile)
    assert_default_deny(k8s_network, k8s_workload_namespace.name, direction="ingress")


@pytest.mark.k8s_control("NSA-net-policies")
def test_namespace_default_deny_egress(
    k8s_network: NetworkModel, k8s_workload_namespace: WorkloadNamespace, k8s_profile: Profile
) -> None:
    _common.skip_system(k8s_workload_namespace.name, k8s_profile)
    assert_default_deny(k8s_network, k8s_workload_namespace.name, direction="egress")


@pytest.mark.k8s_control("NSA-net-policies")
def test_workload_isolated(k8s_network: NetworkModel, k8s_workload: K8sObject, k8s_profile: Profile) -> None:
    _common.skip_system(k8s_workload.namespace, k8s_profile)
    assert_isolated(k8s_network, k8s_workload, direction="both")


@pytest.mark.k8s_control("NSA-net-policies")
@pytest.mark.k8s_severity("high")
def test_expected_flows_allowed(k8s_network: NetworkModel, k8s_profile: Profile) -> None:
    if not k8s_profile.allowed_flows:
        pytest.skip("no expected_flows.allowed in the profile: list the flows the application needs (--k8s-profile)")
    for flow in k8s_profile.allowed_flows:
        assert flow.port is not None  # the profile loader requires it for allowed flows
        assert_reachable(k8s_network, flow.src, flow.dst, flow.port, protocol=flow.protocol)


@pytest.mark.k8s_control("NSA-net-policies", "MITRE-T1046")
@pytest.mark.k8s_severity("high")
def test_expected_flows_denied(k8s_network: NetworkModel, k8s_profile: Profile) -> None:
    if not k8s_profile.denied_flows:
        pytest.skip("no expected_flows.denied in the profile: list the flows that must never happen (--k8s-profile)")
    for flow in k8s_profile.denied_flows:
        assert_not_reachable(k8s_network, flow.src, flow.dst, flow.port, protocol=flow.protocol)


@pytest.mark.k8s_control("NSA-net-policies")
def test_no_ingress_from_internet(k8s_network: NetworkModel, k8s_workload: K8sObject, k8s_profile: Profile) -> None:
    _common.skip_system(k8s_workload.namespace, k8s_profile)
    if k8s_profile.ingress_allowed is None:
        pytest.skip(
            "no ingress_allowed in the profile: list the workloads the internet may reach "
            "(an empty list means none) in --k8s-profile"
        )
    public = {endpoint for spec in k8s_profile.ingress_allowed for endpoint in k8s_network.resolve(spec)}
    if any(endpoint in public for endpoint in k8s_network.resolve(k8s_workload)):
        pytest.skip(f"{k8s_workload.kind}/{k8s_workload.namespace}/{k8s_workload.name} is in ingress_allowed")
    assert_no_ingress_from(k8s_network, k8s_workload, cidr=["0.0.0.0/0", "::/0"])
