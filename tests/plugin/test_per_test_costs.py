"""What the plugin works out once per test function rather than once per test case: a per-workload
suite over a large corpus has tens of thousands of cases but a dozen functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from pytest_k8ssec.reporting import gate
from tests.builders import container, deployment_manifest

WORKLOADS = 5

SUITE = """
import pytest
from pytest_k8ssec import assert_not_privileged
from pytest_k8ssec.reporting import recording

CONTEXTS = {}

@pytest.mark.k8s_control("CIS-5.2.2")
@pytest.mark.k8s_severity("high")
def test_privileged(k8s_workload):
    CONTEXTS.setdefault("test_privileged", set()).add(id(recording.current()))
    assert_not_privileged(k8s_workload)

def test_kind(k8s_workload):
    CONTEXTS.setdefault("test_kind", set()).add(id(recording.current()))
    assert k8s_workload.kind

def test_one_context_per_function():
    assert {name: len(ids) for name, ids in CONTEXTS.items()} == {"test_privileged": 1, "test_kind": 1}
    assert len(set().union(*CONTEXTS.values())) == 2
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    deploy = pytester.mkdir("deploy")
    docs = [
        deployment_manifest({"containers": [container("app", privileged=i % 2 == 0)]}, name=f"app{i}")
        for i in range(WORKLOADS)
    ]
    (deploy / "app.yaml").write_text(yaml.safe_dump_all(docs))
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def _counting(calls: list[str], function: Callable[..., Any]) -> Callable[..., Any]:
    def counted(item: pytest.Item) -> Any:
        calls.append(item.nodeid)
        return function(item)

    return counted


def test_markers_are_read_once_per_test_function(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    severity: list[str] = []
    controls: list[str] = []
    monkeypatch.setattr(gate, "marked_severity", _counting(severity, gate.marked_severity))
    monkeypatch.setattr(gate, "marked_controls", _counting(controls, gate.marked_controls))
    result = project.runpytest_inprocess("--k8s-manifests=deploy", "-p", "no:randomly", "--k8s-controls=CIS-5.2.*")
    # --k8s-controls keeps the marked function's cases only; every item was still judged by its markers.
    result.assert_outcomes(passed=2, failed=3)
    # Eleven items, two marker sets: test_privileged's, and the unmarked functions' (whose markers
    # are their module's).
    assert len(severity) == len(controls) == 2
    assert [nodeid.partition("[")[0] for nodeid in severity] == [
        "test_suite.py::test_privileged",
        "test_suite.py::test_kind",
    ]


def test_cases_of_one_function_share_their_helper_context(project: pytest.Pytester) -> None:
    result = project.runpytest_inprocess("--k8s-manifests=deploy", "-p", "no:randomly")
    result.assert_outcomes(passed=2 + WORKLOADS + 1, failed=3)
