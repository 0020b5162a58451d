"""pytest-xdist: ``-n 2`` writes the reports and the summary a serial run writes (one merged file
per format, the same verdicts), for every report format."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.plugin.test_reports import DEPLOY, INI, SUITE
from tests.sarif_judges import judge_sarif

MORE = "\n".join(
    f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: extra-{i}, namespace: team-{i % 3}}}
spec:
  selector: {{matchLabels: {{app: extra}}}}
  template:
    metadata: {{labels: {{app: extra}}}}
    spec:
      containers:
      - name: main
        image: nginx:1.25
        securityContext: {{privileged: {str(i % 2 == 0).lower()}}}
        resources: {{limits: {{cpu: 100m}}}}"""
    for i in range(8)
)


def _run(pytester: pytest.Pytester, name: str, *extra: str) -> list[str]:
    out = pytester.mkdir(name)
    result = pytester.runpytest_subprocess(
        "--k8s-manifests=deploy",
        "--k8s-fail-on=medium",
        f"--k8s-sarif={name}/out.sarif",
        f"--junitxml={name}/junit.xml",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        *extra,
    )
    result.assert_outcomes(failed=17, passed=6)
    for kind in ("json", "md", "html"):
        again = pytester.runpytest_subprocess(
            "--k8s-manifests=deploy", "--k8s-fail-on=medium", f"--k8s-report={name}/report.{kind}", "-p", "no:randomly",
            "-p", "no:cacheprovider", *extra,
        )  # fmt: skip
        again.assert_outcomes(failed=17, passed=6)
    assert sorted(p.name for p in out.iterdir()) == [
        "junit.xml",
        "out.sarif",
        "report.html",
        "report.json",
        "report.md",
    ]
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if re.match(r"=+ k8ssec =+", line))
    end = next(i for i, line in enumerate(lines) if "finding(s) from" in line)
    return lines[start : end + 1]


def _json_report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    data["run"].pop("date")
    for target in data["targets"]:
        target["findings"].sort(key=lambda f: json.dumps(f, sort_keys=True))
    data["tests"].sort(key=lambda t: t["test"])
    return data


def _sarif(path: Path) -> list[tuple[Any, ...]]:
    log = judge_sarif(path)
    return [
        (
            run["automationDetails"]["id"],
            json.dumps(run["tool"]["driver"]["rules"], sort_keys=True),
            frozenset(json.dumps(r, sort_keys=True) for r in run["results"]),
        )
        for run in log["runs"]
    ]


def _junit(path: Path) -> dict[str, list[str]]:
    cases: dict[str, list[str]] = {}
    for case in ET.parse(str(path)).getroot().iter("testcase"):
        values = []
        for prop in case.iter("property"):
            name, value = str(prop.get("name")), str(prop.get("value"))
            if name.startswith("k8ssec."):
                normal = json.dumps(json.loads(value), sort_keys=True) if value.startswith("{") else value
                values.append(f"{name}={normal}")
        cases[f"{case.get('classname')}::{case.get('name')}"] = sorted(values)
    return cases


def _text(path: Path) -> list[str]:
    # The rows of a table keep their order; rows that tie on the sort keys may come in any order.
    return sorted(line for line in path.read_text().splitlines() if "date" not in line)


def test_xdist_writes_what_a_serial_run_writes(pytester: pytest.Pytester) -> None:
    (pytester.mkdir("deploy") / "app.yaml").write_text(DEPLOY + MORE)
    pytester.makepyfile(test_suite=SUITE)
    pytester.makeini(INI)
    serial = _run(pytester, "serial")
    parallel = _run(pytester, "xdist", "-p", "xdist", "-n", "2")
    assert serial == parallel
    assert any("privileged-container" in line for line in serial)

    assert _json_report(pytester.path / "serial/report.json") == _json_report(pytester.path / "xdist/report.json")
    counts = {c["id"]: c for c in _json_report(pytester.path / "xdist/report.json")["targets"][0]["checks"]}
    assert counts["privileged-container"]["fail"] == 5 and counts["privileged-container"]["judged"] == 10
    assert _sarif(pytester.path / "serial/out.sarif") == _sarif(pytester.path / "xdist/out.sarif")
    assert _junit(pytester.path / "serial/junit.xml") == _junit(pytester.path / "xdist/junit.xml")
    assert any(_junit(pytester.path / "xdist/junit.xml").values())
    for name in ("report.md", "report.html"):
        assert _text(pytester.path / "serial" / name) == _text(pytester.path / "xdist" / name), name
