"""Waivers in real pytest runs: --k8s-waivers, --k8s-today, stale waivers, annotation waivers."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
import yaml

from tests.builders import container, deployment_manifest

SUITE = """
import pytest
from pytest_k8ssec import assert_not_privileged

def test_privileged(k8s_workload):
    assert_not_privileged(k8s_workload)

@pytest.mark.k8s_control("TEAM-7")
def test_team_privileged(k8s_workload):
    assert_not_privileged(k8s_workload)
"""

WAIVER = """\
waivers:
  - check: privileged-container
    target: "{target}"
    reason: needs the host's /proc to export node metrics
    expires: 2027-03-31
    owner: team-observability
    ticket: OPS-1234
"""


def _deployment(name: str, namespace: str, *containers: str, annotations: dict[str, str] | None = None) -> str:
    manifest = deployment_manifest(
        {"containers": [container(c, privileged=True) for c in containers]}, name=name, namespace=namespace
    )
    if annotations:
        manifest["metadata"]["annotations"] = annotations
    return yaml.safe_dump(manifest)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # TEAM-7 is the project's own control id; given through the environment, so the tests that
    # write their own ini file keep it.
    monkeypatch.setenv("PYTEST_ADDOPTS", "'--k8s-extra-control=TEAM-7: the team privileged rule'")
    deploy = pytester.mkdir("deploy")
    (deploy / "exporter.yaml").write_text(_deployment("node-exporter", "monitoring", "exporter"))
    (deploy / "web.yaml").write_text(_deployment("web", "shop", "app", "side"))
    pytester.makepyfile(SUITE)
    return pytester


def run(project: pytest.Pytester, waivers: str | None, *args: str) -> pytest.RunResult:
    extra = list(args)
    if waivers is not None:
        (project.path / "waivers.yaml").write_text(waivers)
        extra.append("--k8s-waivers=waivers.yaml")
    return project.runpytest("--k8s-manifests=deploy", "--k8s-today=2027-01-01", "-p", "no:randomly", *extra)


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """test id -> PASSED / FAILED from the -v lines."""
    found = {}
    for line in result.outlines:
        match = re.match(r"\S+::(\S+) (PASSED|FAILED)", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def findings(junit: object) -> list[dict[str, object]]:
    return [
        json.loads(str(p.get("value")))
        for p in ET.parse(str(junit)).getroot().iter("property")
        if p.get("name") == "k8ssec.finding"
    ]


def test_a_waived_finding_does_not_fail_and_stays_visible_with_its_reason(project: pytest.Pytester) -> None:
    junit = project.path / "junit.xml"
    result = run(project, WAIVER.format(target="Deployment/monitoring/node-exporter"), "-v", f"--junitxml={junit}")
    assert outcomes(result) == {
        "test_privileged[Deployment/monitoring/node-exporter]": "PASSED",
        "test_privileged[Deployment/shop/web]": "FAILED",
        "test_team_privileged[Deployment/monitoring/node-exporter]": "PASSED",
        "test_team_privileged[Deployment/shop/web]": "FAILED",
    }
    result.stdout.fnmatch_lines(
        ["privileged-container*critical*4*0*2*0*2*0", "*4 fail, 0 advisory, 0 baselined, 2 waived*"]
    )
    waived = [f for f in findings(junit) if f["state"] == "waived"]
    assert len(waived) == 2 and {f["object"] for f in waived} == {"Deployment/monitoring/node-exporter"}
    assert waived[0]["waiver"] == {
        "source": "waivers.yaml:2",
        "reason": "needs the host's /proc to export node metrics",
        "expires": "2027-03-31",
        "owner": "team-observability",
        "ticket": "OPS-1234",
        "expired": False,
    }
    assert "stale" not in result.stdout.str()


def test_target_globs_and_the_container_narrow_a_waiver(project: pytest.Pytester) -> None:
    text = WAIVER.format(target="Deployment/*/w*") + "    container: app\n"
    result = run(project, text, "-k", "test_privileged", "-v")
    # The side container is not covered: the test still fails, on that container alone.
    result.assert_outcomes(passed=0, failed=2)
    result.stdout.fnmatch_lines(["*containers[[]1[]]*container ?side? must not*"])
    assert 'container "app"' not in result.stdout.str()
    result.stdout.fnmatch_lines(["*2 fail, 0 advisory, 0 baselined, 1 waived*"])
    result = run(project, WAIVER.format(target="*/shop/*") + "    container: '*'\n", "-k", "test_privileged", "-v")
    assert outcomes(result)["test_privileged[Deployment/shop/web]"] == "PASSED"


def test_a_waiver_by_control_covers_the_checks_and_the_tests_carrying_it(project: pytest.Pytester) -> None:
    by_marker = "waivers:\n  - control: TEAM-*\n    reason: team decision\n    expires: 2027-03-31\n"
    result = run(project, by_marker, "-v")
    assert outcomes(result) == {
        "test_privileged[Deployment/monitoring/node-exporter]": "FAILED",
        "test_privileged[Deployment/shop/web]": "FAILED",
        "test_team_privileged[Deployment/monitoring/node-exporter]": "PASSED",
        "test_team_privileged[Deployment/shop/web]": "PASSED",
    }
    # privileged-container implements CIS 5.2.2 (however its control id is spelt).
    by_check_control = "waivers:\n  - control: '*5.2.2'\n    reason: r\n    expires: 2027-03-31\n"
    run(project, by_check_control).assert_outcomes(passed=4)


def test_a_waiver_for_another_context_does_not_cover_manifests_and_is_stale(project: pytest.Pytester) -> None:
    text = WAIVER.format(target="*/*/*") + "    context: prod-*\n"
    result = run(project, text)
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        [
            "k8ssec: 1 stale waiver(s): matched no finding in this run",
            "  waivers.yaml:2: check privileged-container, target */*/*, context prod-*",
        ]
    )


def test_an_expired_waiver_fails_the_test_naming_the_waiver(project: pytest.Pytester) -> None:
    text = WAIVER.format(target="Deployment/monitoring/node-exporter")
    (project.path / "waivers.yaml").write_text(text)
    common = ("--k8s-manifests=deploy", "--k8s-waivers=waivers.yaml", "-k", "test_privileged", "-p", "no:randomly")
    project.runpytest(*common, "--k8s-today=2027-03-31").assert_outcomes(passed=1, failed=1)
    result = project.runpytest(*common, "--k8s-today=2027-04-01")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*privileged*(waiver waivers.yaml:2 expired on 2027-03-31)"])
    # An expired waiver matched its finding: it is not stale.
    assert "stale" not in result.stdout.str()
    project.makeini("[pytest]\nk8s_today = 2027-04-01\n")
    project.runpytest(*common).assert_outcomes(failed=2)


def test_a_bad_date_for_today_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest("--k8s-today=April 1st")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*k8s_today: 'April 1st' is not a date (YYYY-MM-DD)*"])


def test_strict_waivers_fail_a_green_run_with_a_stale_waiver(project: pytest.Pytester) -> None:
    text = (
        WAIVER.format(target="*/*/*")
        + "  - check: host-namespaces\n    target: Deployment/*/*\n    reason: r\n    expires: 2027-03-31\n"
    )
    result = run(project, text)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        ["*1 stale waiver(s)*", "  waivers.yaml:8: check host-namespaces, target Deployment/*/*, context *"]
    )
    result = run(project, text, "--k8s-strict-waivers")
    result.assert_outcomes(passed=4)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["k8ssec: --k8s-strict-waivers: the run fails because a waiver is stale*"])
    project.makeini("[pytest]\nk8s_strict_waivers = true\n")
    assert run(project, text).ret == pytest.ExitCode.TESTS_FAILED
    # Without stale waivers, strict mode changes nothing.
    assert run(project, WAIVER.format(target="*/*/*")).ret == pytest.ExitCode.OK


def test_the_ini_path_is_relative_to_the_ini_file(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = project.mkdir("policy")
    (policy / "waivers.yaml").write_text(WAIVER.format(target="*/*/*"))
    project.makeini("[pytest]\nk8s_waivers = policy/waivers.yaml\n")
    # From another folder: relative to the working directory the file would not exist.
    monkeypatch.chdir(project.mkdir("sub"))
    result = project.runpytest(str(project.path), "--k8s-manifests=../deploy", "--k8s-today=2027-01-01")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*0 fail, 0 advisory, 0 baselined, 6 waived*"])


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "waivers:\n  - check: privileged-container\n    expires: 2027-03-31\n",
            "waivers.yaml:2: waiver 0: no reason*",
        ),
        (
            "waivers:\n  - check: privileged-container\n    reason: r\n    expires: 2027-03-31\n"
            "  - check: privileged-containr\n    reason: r\n    expires: 2027-03-31\n",
            "waivers.yaml:5: waiver 1: unknown check 'privileged-containr'; did you mean privileged-container*",
        ),
        (
            "waivers:\n  - check: privileged-container\n    reason: r\n    expires: 31/03/2027\n",
            "waivers.yaml:2: waiver 0: expires '31/03/2027' is not a date (YYYY-MM-DD)*",
        ),
        (
            "waivers:\n  - check: privileged-container\n    reasons: r\n    expires: 2027-03-31\n",
            "waivers.yaml:2: waiver 0: unknown key 'reasons' (line 3); did you mean 'reason'?*",
        ),
        (
            "waivers:\n  - control: CIS-5.2.22\n    reason: r\n    expires: 2027-03-31\n",
            "waivers.yaml:2: waiver 0: control 'CIS-5.2.22' matches no known control; did you mean CIS-5.2.2*",
        ),
    ],
)
def test_a_malformed_waiver_file_is_a_usage_error_naming_entry_and_line(
    project: pytest.Pytester, text: str, error: str
) -> None:
    result = run(project, text)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: k8s_waivers: {error}"])


def test_a_missing_waiver_file_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest("--k8s-waivers=nowhere.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*k8s_waivers: nowhere.yaml: cannot read the waiver file*"])


def test_a_check_a_plugin_registers_can_be_waived(project: pytest.Pytester) -> None:
    # Check ids are looked up in the run's registry, which plugins extend at configure time.
    project.makeconftest(
        """
        import dataclasses
        from pytest_k8ssec.checks import builtin_registry

        def pytest_k8ssec_register_checks(registry):
            registry.add(dataclasses.replace(builtin_registry().get("privileged-container"), id="team-no-privileged"))
        """
    )
    text = "waivers:\n  - check: team-no-privileged\n    reason: r\n    expires: 2027-03-31\n"
    result = run(project, text)
    assert result.ret != pytest.ExitCode.USAGE_ERROR, result.stderr.str()


ANNOTATION = "k8ssec.io/waive.privileged-container"


@pytest.fixture
def annotated(pytester: pytest.Pytester) -> pytest.Pytester:
    deploy = pytester.mkdir("deploy")
    good = {ANNOTATION: "needs the host's /proc; expires=2027-03-31; owner=obs"}
    (deploy / "exporter.yaml").write_text(_deployment("node-exporter", "monitoring", "exporter", annotations=good))
    (deploy / "web.yaml").write_text(_deployment("web", "shop", "app", annotations={ANNOTATION: "trust me"}))
    pytester.makepyfile(SUITE.split("@pytest.mark")[0])
    return pytester


def test_annotation_waivers_are_off_by_default(annotated: pytest.Pytester) -> None:
    result = run(annotated, None)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*2 fail, 0 advisory, 0 baselined, 0 waived*"])


def test_annotation_waivers_when_on_waive_and_a_malformed_one_says_why(annotated: pytest.Pytester) -> None:
    junit = annotated.path / "junit.xml"
    annotated.makeini("[pytest]\nk8s_annotation_waivers = true\n")
    result = run(annotated, None, "-v", f"--junitxml={junit}")
    assert outcomes(result) == {
        "test_privileged[Deployment/monitoring/node-exporter]": "PASSED",
        "test_privileged[Deployment/shop/web]": "FAILED",
    }
    result.stdout.fnmatch_lines(
        [f'*(annotation {ANNOTATION} on Deployment/shop/web ignored: no expiry (write "<reason>; expires=YYYY-MM-DD"))']
    )
    waived = [f for f in findings(junit) if f["state"] == "waived"]
    assert len(waived) == 1
    assert waived[0]["waiver"]["reason"] == "needs the host's /proc"  # type: ignore[index]
    assert waived[0]["waiver"]["source"] == f"annotation {ANNOTATION} on Deployment/monitoring/node-exporter"  # type: ignore[index]
    # The CLI flag turns them on as the ini key does.
    run(annotated, None, "--k8s-annotation-waivers").assert_outcomes(passed=1, failed=1)


def test_a_waiver_of_a_marked_tests_own_assertion_is_used_not_stale(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.k8s_control("CIS-5.6.4")
        def test_team_rule():
            assert False, "objects in the default namespace"
        """
    )
    (pytester.path / "waivers.yaml").write_text(
        "waivers:\n  - control: CIS-5.6.4\n    reason: legacy app, moving in Q2\n    expires: 2027-03-31\n"
    )
    junit = pytester.path / "junit.xml"
    args = ["--k8s-waivers=waivers.yaml", "--k8s-today=2027-01-01", "--k8s-strict-waivers", f"--junitxml={junit}"]
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK
    assert "stale waiver" not in result.stdout.str()
    props = {p.get("name"): p.get("value") for p in ET.parse(str(junit)).getroot().iter("property")}
    record = json.loads(str(props["k8ssec.test"]))
    assert record["state"] == "waived"
    assert record["waiver"]["reason"] == "legacy app, moving in Q2"
    # After its expiry the waiver no longer covers the assertion: the test fails.
    pytester.runpytest(*args[:1], "--k8s-today=2027-04-01").assert_outcomes(failed=1)
