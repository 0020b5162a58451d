"""--k8s-sarif: SARIF 2.1.0 that code scanning accepts (both judges in tests/sarif_judges.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_k8ssec.checks import builtin_registry
from pytest_k8ssec.checks._check import Severity
from pytest_k8ssec.reporting.results import FINDING_PROPERTY, JUDGED_PROPERTY, RunResults, judged_value
from pytest_k8ssec.reporting.sarif import FINGERPRINT_KEY, sarif_log
from tests.sarif_judges import judge_sarif

DEPLOY = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {mode: fast}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: side
        image: busybox:1.36
        resources: {limits: {cpu: 100m, memory: 64Mi}}
      - name: app
        image: nginx:1.25
        securityContext:
          privileged: true
"""
PRIVILEGED_LINE = 23  # "privileged: true"
APP_LINE = 20  # "- name: app": the deepest field a missing resources.limits has

RBAC = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bot-admin, namespace: prod}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects: [{kind: ServiceAccount, name: bot, namespace: ci}]
"""

SUITE = """
from pytest_k8ssec import assert_can, assert_cannot, assert_not_privileged, assert_resources

def test_privileged(k8s_workload):
    assert_not_privileged(k8s_workload)

def test_limits(k8s_workload):
    assert_resources(k8s_workload, requests=False)

def test_bot_cannot_read_secrets(k8s_rbac):
    assert_cannot(k8s_rbac, "system:serviceaccount:ci:bot", "get", "secrets", namespace="prod")

def test_bot_can_list_nodes(k8s_rbac):
    assert_can(k8s_rbac, "system:serviceaccount:ci:bot", "list", "nodes")
"""

TEST_CAN_LIST_NODES_LINE = SUITE.splitlines().index("def test_bot_can_list_nodes(k8s_rbac):") + 1


@pytest.fixture
def repo(pytester: pytest.Pytester) -> pytest.Pytester:
    """A repository (a .git folder at its root) with manifests in deploy/ and the suite in tests/."""
    (pytester.path / ".git").mkdir()
    deploy = pytester.mkdir("deploy")
    (deploy / "app.yaml").write_text(DEPLOY)
    (deploy / "rbac.yaml").write_text(RBAC)
    tests = pytester.mkdir("tests")
    (tests / "test_suite.py").write_text(SUITE)
    return pytester


def _results(log: dict[str, Any], run: int = 0) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = log["runs"][run]["results"]
    return results


def test_sarif_points_at_the_field_relative_to_the_repository_root(repo: pytest.Pytester) -> None:
    # Started from a subfolder: URIs are still relative to the repository root.
    sub = repo.path / "tests"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(sub)
        result = repo.runpytest_subprocess(
            "--k8s-manifests=../deploy", "--k8s-sarif=../out.sarif", "--k8s-fail-on=high", "-p", "no:randomly", "."
        )
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines([f"k8ssec: wrote SARIF {sub / '../out.sarif'}"])
    log = judge_sarif(repo.path / "out.sarif")
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    assert run["automationDetails"]["id"] == "k8ssec/manifests/"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.path.resolve().as_uri() + "/"
    by_rule = {r["ruleId"]: r for r in _results(log)}
    privileged = by_rule["privileged-container"]
    assert privileged["level"] == "error"
    physical = privileged["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "deploy/app.yaml", "uriBaseId": "%SRCROOT%"}
    assert physical["region"] == {"startLine": PRIVILEGED_LINE}
    assert privileged["locations"][0]["logicalLocations"] == [
        {"name": "web", "fullyQualifiedName": "Deployment/shop/web", "kind": "resource"}
    ]
    assert 'container "app"' in privileged["message"]["text"] and "Fix: " in privileged["message"]["text"]
    assert privileged["partialFingerprints"][FINGERPRINT_KEY]
    # Below the gate: a warning, pointing at the container that lacks the field.
    limits = by_rule["missing-resource-limits"]
    assert limits["level"] == "warning"
    assert limits["locations"][0]["physicalLocation"]["region"] == {"startLine": APP_LINE}
    # A grant points at the binding that grants it.
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r
        for r in _results(log)
        if r["ruleId"] == "rbac-access-unexpected"
    }
    assert set(uris) == {"deploy/rbac.yaml", "tests/test_suite.py"}
    # A requirement about no object (an access that is missing) points at the test that states
    # it (code scanning refuses a result without a file) and names its subject logically.
    missing = uris["tests/test_suite.py"]
    assert missing["level"] == "error"
    assert missing["locations"][0]["physicalLocation"]["region"] == {"startLine": TEST_CAN_LIST_NODES_LINE}
    assert missing["locations"][0]["logicalLocations"][0]["kind"] == "resource"
    assert "bot" in missing["locations"][0]["logicalLocations"][0]["name"]
    # Every result has a file location.
    assert all("physicalLocation" in r["locations"][0] for r in _results(log))


def test_one_rule_per_check_that_ran_with_help_and_controls(repo: pytest.Pytester) -> None:
    result = repo.runpytest_subprocess("--k8s-manifests=deploy", "--k8s-sarif=out.sarif", "tests")
    result.assert_outcomes(failed=4)
    log = judge_sarif(repo.path / "out.sarif")
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "pytest-k8ssec" and driver["version"] and driver["informationUri"].startswith("https://")
    rules = {rule["id"]: rule for rule in driver["rules"]}
    # malformed-object: the RBAC model judges every RBAC object it reads.
    assert set(rules) == {
        "privileged-container",
        "missing-resource-limits",
        "rbac-access-unexpected",
        "malformed-object",
    }
    check = builtin_registry().get("privileged-container")
    rule = rules["privileged-container"]
    assert rule["shortDescription"]["text"] == check.title
    assert rule["fullDescription"]["text"] == check.summary
    assert check.remediation in rule["help"]["text"] and check.remediation in rule["help"]["markdown"]
    assert all(control in rule["properties"]["tags"] for control in check.controls)
    assert "security" in rule["properties"]["tags"]
    assert rule["properties"]["security-severity"] == "9.5"  # critical
    assert rule["helpUri"] == check.references[0]
    assert rule["defaultConfiguration"]["level"] == "error"
    # Every result's ruleIndex points at its rule.
    for found in _results(log):
        assert driver["rules"][found["ruleIndex"]]["id"] == found["ruleId"]


def test_fingerprints_are_stable_across_reformatting_and_line_moves(repo: pytest.Pytester) -> None:
    repo.runpytest_subprocess("--k8s-manifests=deploy", "--k8s-sarif=before.sarif", "tests")
    (repo.path / "deploy" / "app.yaml").write_text(
        "# moved down\n\n" + DEPLOY.replace("{mode: fast}", "\n  mode: fast")
    )
    repo.runpytest_subprocess("--k8s-manifests=deploy", "--k8s-sarif=after.sarif", "tests")
    before, after = (judge_sarif(repo.path / name) for name in ("before.sarif", "after.sarif"))

    def marks(log: dict[str, Any]) -> set[tuple[str, str]]:
        return {(r["ruleId"], r["partialFingerprints"][FINGERPRINT_KEY]) for r in _results(log)}

    assert marks(before) == marks(after)
    assert len(marks(after)) == len(_results(after)) == 5
    line = {
        r["ruleId"]: r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in _results(after)
        if "physicalLocation" in r["locations"][0]
    }
    assert line["privileged-container"] == PRIVILEGED_LINE + 3


def _record(check: str, state: str, **extra: Any) -> tuple[str, str]:
    record = {
        "check": check,
        "severity": "critical",
        "controls": ["CIS-5.2.2"],
        "target": "manifests",
        "object": "Deployment/shop/web",
        "kind": "Deployment",
        "api_version": "apps/v1",
        "namespace": "shop",
        "name": "web",
        "source": "deploy/app.yaml:6",
        "file": "deploy/app.yaml",
        "line": 6,
        "field_line": PRIVILEGED_LINE,
        "path": "spec.template.spec.containers[1].securityContext.privileged",
        "container": "app",
        "message": 'container "app" must not set securityContext.privileged=true',
        "state": state,
        "fingerprint": f"{state}-mark",
        "waiver": None,
        **extra,
    }
    return FINDING_PROPERTY, json.dumps(record)


def test_waived_findings_are_suppressions_and_the_baseline_says_what_is_new(tmp_path: Path) -> None:
    waiver = {"source": "waivers.yaml:3", "reason": "vendor image, ticket open", "expires": "2099-01-01"}
    waiver.update(owner="platform", ticket="SEC-1", expired=False)  # type: ignore[arg-type]
    results = RunResults()
    results.add_properties(
        "t.py::test_a",
        "passed",
        [
            (JUDGED_PROPERTY, judged_value("privileged-container", "manifests", 3)),
            _record("privileged-container", "waived", waiver=waiver),
            _record("privileged-container", "baselined", name="api", object="Deployment/shop/api"),
            _record("privileged-container", "fail", name="db", object="Deployment/shop/db"),
        ],
    )
    log = sarif_log(
        results, builtin_registry(), version="1.0", base=tmp_path, root=tmp_path, fail_on=Severity.HIGH, baseline=True
    )
    (tmp_path / "gate.sarif").write_text(json.dumps(log))
    judge_sarif(tmp_path / "gate.sarif")
    by_state = {r["properties"]["state"]: r for r in _results(log)}
    assert by_state["waived"]["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "vendor image, ticket open"}
    ]
    assert by_state["waived"]["baselineState"] == "new"
    assert by_state["baselined"]["baselineState"] == "unchanged"
    assert "suppressions" not in by_state["baselined"]
    assert by_state["fail"]["baselineState"] == "new" and by_state["fail"]["level"] == "error"


def test_one_run_per_target(tmp_path: Path) -> None:
    results = RunResults()
    live = {"file": None, "line": None, "field_line": None, "source": "cluster prod", "target": "prod"}
    results.add_properties(
        "t.py::test_a",
        "failed",
        [_record("privileged-container", "fail"), _record("privileged-container", "fail", **live)],
    )
    log = sarif_log(results, builtin_registry(), version="1.0", base=tmp_path, root=tmp_path)
    (tmp_path / "targets.sarif").write_text(json.dumps(log))
    judge_sarif(tmp_path / "targets.sarif")
    assert [run["automationDetails"]["id"] for run in log["runs"]] == ["k8ssec/manifests/", "k8ssec/prod/"]
    (live_result,) = _results(log, 1)
    # A live object: no file to point at, its logical location says what it is.
    assert live_result["locations"] == [
        {"logicalLocations": [{"name": "web", "fullyQualifiedName": "Deployment/shop/web", "kind": "resource"}]}
    ]


def test_an_empty_run_is_still_valid_sarif(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    pytester.runpytest("--k8s-sarif=empty.sarif").assert_outcomes(passed=1)
    log = judge_sarif(pytester.path / "empty.sarif")
    assert [run["results"] for run in log["runs"]] == [[]]


def test_a_sarif_path_in_a_missing_folder_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("--k8s-sarif=nowhere/out.sarif")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*k8s_sarif: *nowhere is not a directory*"])


def test_the_ini_key_is_relative_to_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nk8s_sarif = reports/out.sarif\n")
    pytester.mkdir("reports")
    pytester.makepyfile("def test_nothing(): pass")
    pytester.runpytest().assert_outcomes(passed=1)
    judge_sarif(pytester.path / "reports" / "out.sarif")
