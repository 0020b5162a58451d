"""Guardrail assertions against the real admission of the local control plane (server-side dry-run)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from pytest_k8ssec import (
    SecurityAssertionError,
    assert_admission_allows,
    assert_admission_rejects,
    assert_pod_security_enforced,
)
from pytest_k8ssec.asserts.admission import compliant_pod, probe_pods
from pytest_k8ssec.fixtures.cluster import K8sCluster
from pytest_k8ssec.fixtures.targets import Target
from pytest_k8ssec.model.inventory import Inventory
from pytest_k8ssec.sources.cluster import ClusterSource


@pytest.fixture(scope="module")
def cluster(admin: ClusterSource) -> K8sCluster:
    for name, labels in {
        "guard-restricted": {"pod-security.kubernetes.io/enforce": "restricted"},
        "guard-baseline": {"pod-security.kubernetes.io/enforce": "baseline"},
        "guard-open": {},
    }.items():
        admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
    return K8sCluster(Target("admin", Inventory(), admin), admin)


def test_a_restricted_namespace_enforces_restricted_and_baseline(cluster: K8sCluster) -> None:
    assert_pod_security_enforced("guard-restricted", level="restricted", cluster=cluster)
    assert_pod_security_enforced("guard-restricted", level="baseline", cluster=cluster)


def test_a_baseline_namespace_does_not_enforce_restricted_and_says_which_probes_got_in(cluster: K8sCluster) -> None:
    assert_pod_security_enforced("guard-baseline", level="baseline", cluster=cluster)
    with pytest.raises(SecurityAssertionError) as info:
        assert_pod_security_enforced("guard-baseline", level="restricted", cluster=cluster)
    message = str(info.value)
    assert message.startswith(
        "pod-security restricted: namespace 'guard-baseline' does not enforce it (6 of 18 probes)"
    )
    for probe in (
        "run-as-root-user",
        "run-as-non-root-unset",
        "seccomp-unset",
        "privilege-escalation",
        "capabilities-not-dropped",
        "restricted-volume-type",
    ):
        assert f"  - {probe}: admitted, but restricted forbids it" in message
    assert "fix: label the namespace pod-security.kubernetes.io/enforce=restricted" in message


def test_the_level_by_position_warns_and_still_means_the_level(cluster: K8sCluster) -> None:
    with pytest.warns(DeprecationWarning, match=r"passing level to assert_pod_security_enforced\(\) by position"):
        with pytest.raises(SecurityAssertionError, match=r"pod-security restricted: .* \(6 of 18 probes\)"):
            assert_pod_security_enforced("guard-baseline", "restricted", cluster=cluster)


def test_an_unlabelled_namespace_enforces_nothing(cluster: K8sCluster) -> None:
    with pytest.raises(SecurityAssertionError, match=r"does not enforce it \(11 of 12 probes\)"):
        assert_pod_security_enforced("guard-open", level="baseline", cluster=cluster)


def test_every_probe_breaks_exactly_the_level_it_probes(cluster: K8sCluster) -> None:
    # A baseline namespace admits the restricted-only probes: they are valid pods, refused only by policy.
    baseline_names = set(probe_pods("baseline"))
    for name, pod in probe_pods("restricted").items():
        if name not in baseline_names:
            assert_admission_allows("guard-baseline", pod, cluster=cluster)


def test_rejects_and_allows_show_the_server_reason(cluster: K8sCluster) -> None:
    privileged = probe_pods("baseline")["privileged"]
    result = assert_admission_rejects(
        "guard-restricted", privileged, cluster=cluster, reason='violates PodSecurity "restricted:latest"'
    )
    assert result.status == 403 and "privileged" in result.message
    assert_admission_allows("guard-restricted", compliant_pod(), cluster=cluster)
    with pytest.raises(
        SecurityAssertionError,
        match=r"admission refused Pod k8ssec-probe-privileged in namespace 'guard-restricted' \(HTTP 403\): .*violates PodSecurity",
    ):
        assert_admission_allows("guard-restricted", privileged, cluster=cluster)
    with pytest.raises(
        SecurityAssertionError, match="admission accepted Pod k8ssec-probe-privileged in namespace 'guard-open'"
    ):
        assert_admission_rejects("guard-open", privileged, cluster=cluster)
    with pytest.raises(SecurityAssertionError, match="but not for 'restricted:v1.0'"):
        assert_admission_rejects("guard-restricted", privileged, cluster=cluster, reason="restricted:v1.0")


def test_an_invalid_object_is_not_mistaken_for_a_policy_decision(cluster: K8sCluster) -> None:
    invalid = compliant_pod("invalid")
    invalid["spec"]["containers"][0]["name"] = "Not_A_Valid_Name"
    with pytest.raises(SecurityAssertionError, match="failed with HTTP 422 before admission could judge it"):
        assert_admission_rejects("guard-restricted", invalid, cluster=cluster)


def test_nothing_is_stored_by_dry_runs(cluster: K8sCluster, admin: ClusterSource) -> None:
    assert_admission_allows("guard-open", compliant_pod("never-stored"), cluster=cluster)
    status, _ = admin.request("GET", "/api/v1/namespaces/guard-open/pods/never-stored")
    assert status == 404


def test_admission_results_reach_the_terminal_summary_and_junit_properties(
    pytester: pytest.Pytester, cluster: K8sCluster, live_args: list[str]
) -> None:
    pytester.makepyfile(
        """
        from pytest_k8ssec import assert_admission_allows, assert_admission_rejects, assert_pod_security_enforced
        from pytest_k8ssec.asserts.admission import compliant_pod, probe_pods

        def test_rejects(k8s_cluster):
            assert_admission_rejects("guard-restricted", probe_pods("baseline")["privileged"], cluster=k8s_cluster)

        def test_allows(k8s_cluster):
            assert_admission_allows("guard-restricted", probe_pods("baseline")["privileged"], cluster=k8s_cluster)

        def test_enforced(k8s_cluster):
            assert_pod_security_enforced("guard-restricted", "restricted", cluster=k8s_cluster)
        """
    )
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest(*live_args, "--k8s-context", "admin", f"--junitxml={junit}", "-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*= k8ssec =*",
            "check*severity*judged*pass*fail*advisory*waived*baselined",
            "admission-decision-unexpected*high*2*1*1*0*0*0",
            "pod-security-not-enforced*high*1*1*0*0*0*0",
            "1 finding(s) from 2 check(s): 1 fail, 0 advisory, 0 baselined, 0 waived*",
        ]
    )
    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    props = {name: [(p.get("name"), p.get("value")) for p in case.iter("property")] for name, case in cases.items()}
    assert ("k8ssec.check", "admission-decision-unexpected=pass") in props["test_rejects"]
    assert ("k8ssec.check", "admission-decision-unexpected=fail") in props["test_allows"]
    assert ("k8ssec.check", "pod-security-not-enforced=pass") in props["test_enforced"]
    finding = json.loads(str(next(value for name, value in props["test_allows"] if name == "k8ssec.finding")))
    assert finding["check"] == "admission-decision-unexpected"
    assert finding["object"] == "Pod/guard-restricted/k8ssec-probe-privileged"
    assert finding["message"].startswith(
        "admission refused Pod k8ssec-probe-privileged in namespace 'guard-restricted'"
    )
