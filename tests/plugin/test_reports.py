"""--k8s-report (JSON, Markdown, HTML) and the field line in JUnit records, in real pytest runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_k8ssec.checks import builtin_registry
from tests.plugin.test_network_report_browser import _render, chromium  # noqa: F401  (a fixture)

SECRET_VALUE = "hunter2-correct-horse"
# The object name carries markup: every report must show it as text, never run it.
HOSTILE = "x<script>document.title='pwned'</script>"

DEPLOY = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        env:
        - name: DB_PASSWORD
          value: {SECRET_VALUE}
        securityContext:
          privileged: true
---
apiVersion: v1
kind: Secret
metadata: {{name: db, namespace: shop}}
stringData:
  password: {SECRET_VALUE}
---
apiVersion: v1
kind: Pod
metadata:
  name: "{HOSTILE}"
  namespace: shop
spec:
  containers:
  - name: c
    image: busybox:1.36
"""
PRIVILEGED_LINE = 18

SUITE = """
import pytest
from pytest_k8ssec import (assert_no_credential_literals, assert_no_secrets_in_manifests,
                           assert_not_privileged, assert_resources)

def test_privileged(k8s_workload):
    assert_not_privileged(k8s_workload)

def test_limits(k8s_workload):
    assert_resources(k8s_workload, requests=False)

def test_secrets(k8s_inventory):
    assert_no_secrets_in_manifests(k8s_inventory.objects)

def test_credentials(k8s_inventory):
    assert_no_credential_literals(k8s_inventory.objects)

@pytest.mark.k8s_control("TEAM-1")
@pytest.mark.k8s_severity("low")
def test_team_rule():
    assert 1 == 2, "the team's own rule"
"""


INI = "[pytest]\nk8s_extra_controls = TEAM-1: the team's own rule\n"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.mkdir("deploy") / "app.yaml").write_text(DEPLOY)
    pytester.makepyfile(test_suite=SUITE)
    # The suite's team test claims a project's own control id.
    pytester.makeini(INI)
    return pytester


def _run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest("--k8s-manifests=deploy", "--k8s-fail-on=medium", "-p", "no:randomly", *args)


def test_json_report_per_target_control_and_check(project: pytest.Pytester) -> None:
    result = _run(project, "--k8s-report=report.json")
    result.stdout.fnmatch_lines([f"k8ssec: wrote json report {project.path / 'report.json'}"])
    data = json.loads((project.path / "report.json").read_text())
    run = data["run"]
    assert data["schema"] == "k8ssec-report/v1"
    assert run["targets"] == ["manifests"]
    assert run["gate"] == {"fail_on": "medium"}
    assert run["waivers"] is None and run["baseline"] is None
    assert re.match(r"\d{4}-\d\d-\d\dT", run["date"])
    assert run["tests"] == {"failed": 5, "passed": 2}
    result.assert_outcomes(failed=5, passed=2)
    (target,) = data["targets"]
    checks = {c["id"]: c for c in target["checks"]}
    privileged = checks["privileged-container"]
    assert privileged["severity"] == "critical"
    assert privileged["title"] == builtin_registry().get("privileged-container").title
    assert (privileged["judged"], privileged["pass"], privileged["fail"]) == (2, 1, 1)
    controls = {c["id"]: c for c in target["controls"]}
    cis = controls["CIS-5.2.2"]
    assert cis["framework"] == "CIS" and cis["fail"] == 1
    # The team's marked test counts under its control, with its gate state (low < medium: advisory).
    assert controls["TEAM-1"]["advisory"] == 1 and controls["TEAM-1"]["judged"] == 1
    assert {
        "test": "test_suite.py::test_team_rule",
        "controls": ["TEAM-1"],
        "severity": "low",
        "state": "advisory",
    } in (data["tests"])
    (finding,) = [f for f in target["findings"] if f["check"] == "privileged-container"]
    assert finding["object"] == "Deployment/shop/web"
    assert (finding["file"], finding["line"], finding["document_line"]) == ("deploy/app.yaml", PRIVILEGED_LINE, 1)
    assert finding["path"] == "spec.template.spec.containers[0].securityContext.privileged"
    assert finding["container"] == "app" and finding["state"] == "fail"
    assert finding["fix"] == builtin_registry().get("privileged-container").remediation
    # Worst state first.
    states = [f["state"] for f in target["findings"]]
    assert states == sorted(states, key=["fail", "advisory", "baselined", "waived"].index)


def test_markdown_report(project: pytest.Pytester) -> None:
    _run(project, "--k8s-report=report.md")
    text = (project.path / "report.md").read_text()
    assert text.startswith("# Kubernetes security report\n")
    assert "- **gate**: fail on medium and above; findings below are advisory" in text
    assert "## Target manifests" in text and "### Controls" in text and "### Checks" in text
    row = next(line for line in text.splitlines() if line.startswith("| fail | privileged-container |"))
    assert f"deploy/app.yaml:{PRIVILEGED_LINE}" in row and "Deployment/shop/web" in row
    assert re.search(r"^\| privileged-container \| .* \| critical \| 2 \| 1 \| 1 \| 0 \| 0 \| 0 \|$", text, re.M)
    # Markup in a name is shown as text, and a "|" in a cell cannot break the table.
    assert "<script>" not in text and "&lt;script>" in text


def test_html_report_renders_in_headless_chromium(project: pytest.Pytester, chromium: str) -> None:  # noqa: F811
    _run(project, "--k8s-report=report.html")
    page = project.path / "report.html"
    source = page.read_text()
    assert "<script" not in source.replace("&lt;script", "")
    dump = _render(chromium, page, "--dump-dom")
    assert dump.returncode == 0, dump.stderr[-2000:]
    dom = dump.stdout
    # The markup in the name stayed text: the title is the report's, and no script element exists.
    assert "<title>Kubernetes security report</title>" in dom
    assert "<script" not in dom.replace("&lt;script", "")
    assert f"Pod/shop/{HOSTILE}".replace("<", "&lt;").replace(">", "&gt;") in dom
    text = re.sub(r"<[^>]+>", " ", dom)
    text = re.sub(r"\s+", " ", text)
    assert "Target manifests" in text
    assert f"fail privileged-container critical Deployment/shop/web deploy/app.yaml:{PRIVILEGED_LINE}" in text
    assert re.search(r"privileged-container .*? critical 2 1 1 0 0 0", text)
    assert "TEAM-1" in text
    # A reader sees the failing row marked.
    assert re.search(r'<tr class="fail"><td>fail</td><td>privileged-container</td>', dom)


def test_no_secret_value_in_any_report(project: pytest.Pytester) -> None:
    result = _run(project, "--k8s-report=report.json", "--k8s-sarif=out.sarif", "--junitxml=junit.xml")
    assert "secret-in-manifest" in (project.path / "report.json").read_text()
    assert "env-credential-literal" in (project.path / "report.json").read_text()
    _run(project, "--k8s-report=report.html")
    _run(project, "--k8s-report=report.md")
    for name in ("report.json", "report.html", "report.md", "out.sarif", "junit.xml"):
        assert SECRET_VALUE not in (project.path / name).read_text(), name
    assert SECRET_VALUE not in result.stdout.str()


def _junit_findings(path: Path) -> list[dict[str, Any]]:
    return [
        json.loads(str(p.get("value")))
        for p in ET.parse(str(path)).getroot().iter("property")
        if p.get("name") == "k8ssec.finding"
    ]


def test_junit_findings_carry_the_field_line(project: pytest.Pytester) -> None:
    _run(project, "--junitxml=junit.xml")
    findings = _junit_findings(project.path / "junit.xml")
    (privileged,) = [f for f in findings if f["check"] == "privileged-container"]
    assert privileged["field_line"] == PRIVILEGED_LINE and privileged["line"] == 1
    assert privileged["controls"] and privileged["severity"] == "critical" and privileged["state"] == "fail"
    assert all("field_line" in f for f in findings)


def test_stdin_has_no_field_line(project: pytest.Pytester) -> None:
    project.makepyfile(test_suite="from pytest_k8ssec import assert_not_privileged\n"
                       "def test_p(k8s_workload):\n    assert_not_privileged(k8s_workload)\n")  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--k8s-manifests", "-", "--junitxml=junit.xml"],
        cwd=project.path,
        input=DEPLOY.encode(),
        capture_output=True,
        timeout=300,
    )
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout.decode()[-3000:]
    (privileged,) = _junit_findings(project.path / "junit.xml")
    assert privileged["field_line"] is None and privileged["file"] is None


def test_without_a_report_no_field_line_is_computed(project: pytest.Pytester) -> None:
    # The cost is paid only when a report shows field lines.
    project.makeconftest(
        """
        from pytest_k8ssec.sources.manifests import field_lines

        def boom(*args, **kwargs):
            raise AssertionError("field lines computed without a report")

        field_lines.FieldLines.line = boom
        """
    )
    # In a subprocess: the patch must not outlive the run.
    result = project.runpytest_subprocess("--k8s-manifests=deploy", "--k8s-fail-on=medium", "-p", "no:randomly")
    assert "field lines computed" not in result.stdout.str()
    result.assert_outcomes(failed=5, passed=2)


@pytest.mark.parametrize("name", ["report.txt", "report", "report.xml"])
def test_a_report_without_a_known_suffix_is_a_usage_error(project: pytest.Pytester, name: str) -> None:
    result = _run(project, f"--k8s-report={name}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*k8s_report: '{name}': name the format by the suffix: .json, .md, .html*"])


def test_a_run_that_stops_on_a_usage_error_writes_no_report(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\n")  # TEAM-1 is unknown now: a usage error at collection
    result = _run(project, "--k8s-report=report.json", "--k8s-sarif=out.sarif")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert not (project.path / "report.json").exists()
    assert not (project.path / "out.sarif").exists()
