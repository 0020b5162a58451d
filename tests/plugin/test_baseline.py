"""Baselines in real pytest runs: --k8s-baseline, --k8s-baseline-update, what is known, fixed and
new; and the end-of-run figures (stale waivers, baseline counts) under pytest-xdist."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.builders import container, deployment_manifest

SUITE = """
from pytest_k8ssec import assert_not_privileged

def test_privileged(k8s_workload):
    assert_not_privileged(k8s_workload)
"""


def web(
    *, flags: tuple[bool, bool] = (True, True), order: tuple[int, int] = (0, 1), init: bool = False
) -> dict[str, Any]:
    containers = [container("app", privileged=flags[0]), container("side", privileged=flags[1])]
    spec: dict[str, Any] = {"containers": [containers[i] for i in order]}
    if init:
        spec["initContainers"] = [container("init", privileged=True)]
    return deployment_manifest(spec, name="web", namespace="shop")


def api(name: str = "api") -> dict[str, Any]:
    return deployment_manifest({"containers": [container("main", privileged=True)]}, name=name, namespace="shop")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    deploy = pytester.mkdir("deploy")
    (deploy / "all.yaml").write_text(yaml.safe_dump_all([web(), api()]))
    pytester.makepyfile(SUITE)
    return pytester


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest("--k8s-manifests=deploy", "--k8s-baseline=baseline.json", "-p", "no:randomly", *args)


def test_a_missing_or_malformed_baseline_is_a_usage_error(project: pytest.Pytester) -> None:
    result = run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*k8s_baseline: baseline.json: no such baseline file (write it with --k8s-baseline-update*"]
    )
    (project.path / "baseline.json").write_text('{"version": 1,\n  "findings": [\n}\n')
    result = run(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*k8s_baseline: baseline.json:3: invalid JSON*"])
    result = project.runpytest("--k8s-manifests=deploy", "--k8s-baseline-update")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--k8s-baseline-update: name the file to write with --k8s-baseline FILE*"])


def test_known_findings_are_baselined_and_survive_reformatting_and_moves(project: pytest.Pytester) -> None:
    result = run(project, "--k8s-baseline-update")
    result.assert_outcomes(failed=2)  # judged without a baseline: there was none
    result.stdout.fnmatch_lines(["k8ssec: baseline baseline.json: written with 3 finding(s)"])
    data = json.loads((project.path / "baseline.json").read_text())
    assert data["version"] == 1
    assert [(e["object"], e["path"]) for e in data["findings"]] == [
        ("Deployment/shop/api", "spec.template.spec.containers[0].securityContext.privileged"),
        ("Deployment/shop/web", "spec.template.spec.containers[0].securityContext.privileged"),
        ("Deployment/shop/web", "spec.template.spec.containers[1].securityContext.privileged"),
    ]
    assert all(e["check"] == "privileged-container" and e["target"] == "manifests" for e in data["findings"])
    assert all(len(e["fingerprint"]) == 32 for e in data["findings"])

    result = run(project)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*3 finding(s) from 2 check(s): 0 fail, 0 advisory, 3 baselined, 0 waived*",
            "k8ssec: baseline baseline.json: 3 of 3 known finding(s) seen, 0 not seen (fixed), 0 new finding(s)",
        ]
    )

    # Reformatted (JSON, flow style, comments), split into other files, documents and containers reordered.
    deploy = project.path / "deploy"
    (deploy / "all.yaml").unlink()
    (deploy / "web.json").write_text(json.dumps(web(order=(1, 0)), indent=4))
    (deploy / "nested").mkdir()
    (deploy / "nested" / "api.yaml").write_text(
        "# moved here\n\n\n" + yaml.safe_dump(api(), default_flow_style=True, width=60)
    )
    result = run(project)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*3 of 3 known finding(s) seen, 0 not seen (fixed), 0 new finding(s)"])

    # Renamed object, another field (an init container), one container fixed: new and fixed findings.
    (deploy / "web.json").write_text(json.dumps(web(flags=(True, False), init=True)))
    (deploy / "nested" / "api.yaml").write_text(yaml.safe_dump(api("api-v2")))
    result = run(project, "-v")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*3 finding(s) from 2 check(s): 2 fail, 0 advisory, 1 baselined, 0 waived*",
            "k8ssec: baseline baseline.json: 1 of 3 known finding(s) seen, 2 not seen (fixed), 2 new finding(s)",
        ]
    )
    out = result.stdout.str()
    assert "initContainers[0].securityContext.privileged" in out and 'container "app"' not in out

    # Updating records today's findings: the next run is green again.
    run(project, "--k8s-baseline-update").assert_outcomes(failed=2)
    assert len(json.loads((project.path / "baseline.json").read_text())["findings"]) == 3
    run(project).assert_outcomes(passed=2)


def test_waived_findings_stay_out_of_the_baseline(project: pytest.Pytester) -> None:
    (project.path / "waivers.yaml").write_text(
        "waivers:\n  - check: privileged-container\n    target: Deployment/shop/api\n    reason: r\n    expires: 2027-03-31\n"
    )
    run(project, "--k8s-baseline-update", "--k8s-waivers=waivers.yaml", "--k8s-today=2027-01-01")
    entries = json.loads((project.path / "baseline.json").read_text())["findings"]
    assert {e["object"] for e in entries} == {"Deployment/shop/web"}


def test_the_ini_keys_set_the_baseline_relative_to_the_ini_file(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nk8s_baseline = policy/baseline.json\nk8s_baseline_update = true\n")
    project.runpytest("--k8s-manifests=deploy").assert_outcomes(failed=2)
    assert (project.path / "policy" / "baseline.json").is_file()
    project.makeini("[pytest]\nk8s_baseline = policy/baseline.json\n")
    project.runpytest("--k8s-manifests=deploy").assert_outcomes(passed=2)


def _end_lines(result: pytest.RunResult) -> list[str]:
    """The k8ssec lines of the summary: totals, baseline figures, stale waivers."""
    return [
        line
        for line in result.outlines
        if line.startswith(("k8ssec: baseline", "k8ssec: 1 stale", "  waivers.yaml:")) or "finding(s) from" in line
    ]


def test_stale_waivers_and_baseline_counts_are_the_same_under_xdist(project: pytest.Pytester, tmp_path: Path) -> None:
    (project.path / "waivers.yaml").write_text(
        "waivers:\n"
        "  - check: privileged-container\n    target: Deployment/shop/api\n    reason: r\n    expires: 2027-03-31\n"
        "  - check: host-namespaces\n    reason: stale\n    expires: 2027-03-31\n"
    )
    common = ("--k8s-waivers=waivers.yaml", "--k8s-today=2027-01-01", "-p", "no:cacheprovider")
    project.runpytest_subprocess(
        "--k8s-manifests=deploy", "--k8s-baseline=baseline.json", "--k8s-baseline-update", *common
    )
    written = (project.path / "baseline.json").read_text()
    # One known finding fixed and one new, so that every figure is non-zero.
    (project.path / "deploy" / "all.yaml").write_text(yaml.safe_dump_all([web(flags=(True, False), init=True), api()]))
    serial = project.runpytest_subprocess("--k8s-manifests=deploy", "--k8s-baseline=baseline.json", *common)
    parallel = project.runpytest_subprocess(
        "--k8s-manifests=deploy", "--k8s-baseline=baseline.json", *common, "-p", "xdist", "-n", "2"
    )
    assert "2 workers" in parallel.stdout.str()
    assert _end_lines(serial) == _end_lines(parallel)
    assert _end_lines(serial) == [
        "3 finding(s) from 2 check(s): 1 fail, 0 advisory, 1 baselined, 1 waived (gate: fail on info and above)",
        "k8ssec: baseline baseline.json: 1 of 2 known finding(s) seen, 1 not seen (fixed), 1 new finding(s)",
        "k8ssec: 1 stale waiver(s): matched no finding in this run",
        "  waivers.yaml:6: check host-namespaces, target */*/*, context *",
    ]
    # The baseline written under xdist (by the controller alone) is the serial run's, byte for byte.
    (project.path / "deploy" / "all.yaml").write_text(yaml.safe_dump_all([web(), api()]))
    project.runpytest_subprocess(
        "--k8s-manifests=deploy",
        "--k8s-baseline=baseline.json",
        "--k8s-baseline-update",
        *common,
        "-p",
        "xdist",
        "-n",
        "2",
    )
    assert (project.path / "baseline.json").read_text() == written
