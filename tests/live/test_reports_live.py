"""Reports with several targets (manifests and a live context), serial and under pytest-xdist,
against the real control plane."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_k8ssec.sources.cluster import ClusterSource
from tests.sarif_judges import judge_sarif

NAMESPACE = "treports"  # a name no other live test uses

DEPLOY = f"""\
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: {NAMESPACE}}}
spec:
  containers:
  - name: app
    image: registry.example.com/app:1.0
    securityContext:
      privileged: true
"""

SUITE = """
from pytest_k8ssec import assert_not_privileged

def test_privileged(k8s_workload):
    assert_not_privileged(k8s_workload)
"""


@pytest.fixture
def reports_namespace(admin: ClusterSource) -> Iterator[None]:
    """Two live Pods in ``treports``: one privileged, one not (no node runs them; they are listed)."""
    admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    for name, privileged in (("live-priv", True), ("live-ok", False)):
        admin.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NAMESPACE},
                     "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1.0",
                                              "securityContext": {"privileged": privileged}}]}})  # fmt: skip
    yield
    admin.request("DELETE", f"/api/v1/namespaces/{NAMESPACE}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            admin.request("GET", f"/api/v1/namespaces/{NAMESPACE}")
        except Exception:
            return
        time.sleep(0.5)


def _run(pytester: pytest.Pytester, live_args: list[str], name: str, *extra: str) -> tuple[list[str], Path]:
    out = pytester.mkdir(name)
    result = pytester.runpytest_subprocess(
        *live_args, "--k8s-manifests=deploy.yaml", "--k8s-context", "admin", "--k8s-namespace", NAMESPACE,
        f"--k8s-sarif={name}/out.sarif", f"--k8s-report={name}/report.json", "-p", "no:randomly", *extra,
    )  # fmt: skip
    # manifests: web (privileged); admin: live-priv (privileged), live-ok.
    result.assert_outcomes(failed=2, passed=1)
    return result.stdout.lines, out


def _summary(lines: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(lines) if re.match(r"=+ k8ssec =+", line))
    end = next(i for i, line in enumerate(lines) if "finding(s) from" in line)
    return lines[start : end + 1]


def _report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    data["run"].pop("date")
    return data


def test_reports_group_per_target_serial_and_under_xdist_live(
    pytester: pytest.Pytester, live_args: list[str], reports_namespace: object
) -> None:
    (pytester.path / ".git").mkdir()
    (pytester.path / "deploy.yaml").write_text(DEPLOY)
    pytester.makepyfile(test_suite=SUITE)
    serial, serial_out = _run(pytester, live_args, "serial")
    parallel, parallel_out = _run(pytester, live_args, "xdist", "-p", "xdist", "-n", "2")

    # The summary groups per target, and reads the same under xdist.
    summary = _summary(serial)
    assert summary == _summary(parallel)
    assert any(line == "target manifests:" for line in summary) and any(line == "target admin:" for line in summary)
    # (malformed-object: every manifest object is judged for it when it is loaded.)
    assert summary[-1].startswith("2 finding(s) from 2 check(s): 2 fail"), summary
    # The API requests of the live target are counted in the workers and summed on the controller.
    for lines in (serial, parallel):
        (requests,) = [line for line in lines if line.startswith("k8ssec: target admin:")]
        count = int(re.fullmatch(r"k8ssec: target admin: (\d+) API requests", requests).group(1))  # type: ignore[union-attr]
        assert count > 0, requests

    report = _report(serial_out / "report.json")
    assert report == _report(parallel_out / "report.json")
    assert report["run"]["targets"] == ["manifests", "admin"]
    targets = {t["name"]: t for t in report["targets"]}
    live = {c["id"]: c for c in targets["admin"]["checks"]}["privileged-container"]
    static = {c["id"]: c for c in targets["manifests"]["checks"]}["privileged-container"]
    assert (live["judged"], live["pass"], live["fail"]) == (2, 1, 1)
    assert (static["judged"], static["pass"], static["fail"]) == (1, 0, 1)
    (live_finding,) = targets["admin"]["findings"]
    assert live_finding["object"] == f"Pod/{NAMESPACE}/live-priv" and live_finding["file"] is None

    # SARIF: one run per target, the live finding with a logical location only.
    log = judge_sarif(serial_out / "out.sarif")
    assert {run["automationDetails"]["id"] for run in log["runs"]} == {"k8ssec/manifests/", "k8ssec/admin/"}
    runs = {run["automationDetails"]["id"]: run for run in log["runs"]}
    (static_result,) = runs["k8ssec/manifests/"]["results"]
    assert static_result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "deploy.yaml"
    assert static_result["locations"][0]["physicalLocation"]["region"] == {"startLine": 9}
    (live_result,) = runs["k8ssec/admin/"]["results"]
    # A live object has no manifest: the result points at the test (code scanning needs a file;
    # makepyfile strips the leading newline)
    # and names the object logically.
    assert live_result["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": "test_suite.py", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": SUITE.strip().splitlines().index("def test_privileged(k8s_workload):") + 1},
            },
            "logicalLocations": [
                {"name": "live-priv", "fullyQualifiedName": f"Pod/{NAMESPACE}/live-priv", "kind": "resource"}
            ],
        }
    ]
    parallel_log = judge_sarif(parallel_out / "out.sarif")
    assert {json.dumps(r, sort_keys=True) for run in log["runs"] for r in run["results"]} == {
        json.dumps(r, sort_keys=True) for run in parallel_log["runs"] for r in run["results"]
    }
