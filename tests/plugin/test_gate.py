"""The severity gate (--k8s-fail-on) and the k8s_severity / k8s_control markers, in real pytest runs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import yaml

from tests.builders import container, deployment_manifest

SUITE = """
import pytest
from pytest_k8ssec import assert_not_privileged, assert_resources

def test_privileged(k8s_workload):          # critical
    assert_not_privileged(k8s_workload)

def test_limits(k8s_workload):              # medium: missing-resource-limits
    assert_resources(k8s_workload, requests=False)
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    deploy = pytester.mkdir("deploy")
    spec = {"containers": [container("app", privileged=True)]}
    (deploy / "app.yaml").write_text(yaml.safe_dump(deployment_manifest(spec, name="app")))
    pytester.makepyfile(SUITE)
    return pytester


def _findings(junit: object) -> list[dict[str, object]]:
    return [
        json.loads(str(p.get("value")))
        for p in ET.parse(str(junit)).getroot().iter("property")
        if p.get("name") == "k8ssec.finding"
    ]


def test_without_a_gate_every_finding_fails(project: pytest.Pytester) -> None:
    result = project.runpytest("--k8s-manifests=deploy", "-p", "no:randomly")
    result.assert_outcomes(failed=2)


def test_findings_below_the_gate_are_advisory_and_stay_visible(project: pytest.Pytester) -> None:
    junit = project.path / "junit.xml"
    result = project.runpytest(
        "--k8s-manifests=deploy", "--k8s-fail-on=high", f"--junitxml={junit}", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "missing-resource-limits*medium*1*0*0*1*0*0",
            "3 finding(s) from 3 check(s): 1 fail, 2 advisory, 0 baselined, 0 waived (gate: fail on high and above)",
        ]
    )
    states = {(f["check"], f["state"]) for f in _findings(junit)}
    assert states == {("privileged-container", "fail"), ("missing-resource-limits", "advisory")}


def test_the_ini_key_sets_the_gate_and_a_bad_value_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nk8s_fail_on = critical\n")
    project.runpytest("--k8s-manifests=deploy", "-p", "no:randomly").assert_outcomes(passed=1, failed=1)
    project.makeini("[pytest]\nk8s_fail_on = severe\n")
    result = project.runpytest("--k8s-manifests=deploy")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*k8s_fail_on: 'severe' is not a severity; use one of info, low, medium, high, critical*"]
    )


def test_an_empty_selection_fails_whatever_the_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_k8ssec import assert_not_privileged

        def test_nothing():
            assert_not_privileged([])
        """
    )
    result = pytester.runpytest("--k8s-fail-on=critical")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*nothing was checked*"])


def test_the_severity_marker_overrides_the_checks_severity(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_marked="""
        import pytest
        from pytest_k8ssec import assert_not_privileged

        @pytest.mark.k8s_severity("low")
        def test_privileged_but_low(k8s_workload):
            assert_not_privileged(k8s_workload)
        """
    )
    result = project.runpytest("test_marked.py", "--k8s-manifests=deploy", "--k8s-fail-on=medium")
    result.assert_outcomes(passed=1)


def test_a_marked_plain_assertion_meets_the_gate_and_an_error_never_does(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.k8s_severity("low")
        @pytest.mark.k8s_control("CIS-5.6.1")
        def test_team_rule():
            assert 1 == 2, "team rule broken"

        @pytest.mark.k8s_severity("low")
        def test_team_error():
            raise RuntimeError("could not read")

        @pytest.mark.k8s_severity("critical")
        def test_team_critical():
            assert False
        """
    )
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest("--k8s-fail-on=high", f"--junitxml={junit}", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=2)
    props = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in ET.parse(junit).getroot().iter("testcase")
    }
    test = json.loads(props["test_team_rule"]["k8ssec.test"])
    assert test["state"] == "advisory" and test["message"].startswith("team rule broken")
    assert test["controls"] == ["CIS-5.6.1"] and test["severity"] == "low"


def test_an_unknown_severity_marker_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.k8s_severity("urgent")
        def test_x():
            pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*k8s_severity: 'urgent' is not a severity*"])


def test_pod_security_findings_meet_the_gate_and_are_counted_per_control_run(pytester: pytest.Pytester) -> None:
    deploy = pytester.mkdir("deploy")
    spec = {"containers": [{**container("app"), "ports": [{"containerPort": 80, "hostPort": 80}]}]}
    (deploy / "app.yaml").write_text(yaml.safe_dump(deployment_manifest(spec, name="app")))
    pytester.makepyfile(
        """
        from pytest_k8ssec import assert_pod_security

        def test_baseline(k8s_workload):
            assert_pod_security(k8s_workload, level="baseline")
        """
    )
    # pss-host-ports is medium: it fails by default, and is advisory under a high gate.
    pytester.runpytest("--k8s-manifests=deploy", "-p", "no:randomly").assert_outcomes(failed=1)
    result = pytester.runpytest("--k8s-manifests=deploy", "--k8s-fail-on=high", "-p", "no:randomly")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["pss-host-ports*medium*1*0*0*1*0*0"])
    # Only the baseline controls ran: no restricted control is counted as judged.
    assert "pss-run-as-non-root" not in result.stdout.str()
