"""Findings into pytest's reports: JUnit <properties>, the k8ssec terminal summary, the header.

Helpers record their results (passes included) through ``reporting.recording``; the results ride on
``report.user_properties``, which JUnit XML writes as <properties> and xdist ships to the
controller, so the summary is built from reports alone.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Final

import pytest

from pytest_k8ssec.checks import active_registry
from pytest_k8ssec.engine import Finding
from pytest_k8ssec.reporting import recording

RESULTS_KEY: Final = pytest.StashKey[list[recording.HelperResult]]()
#: API requests per target that xdist workers counted (the controller's sum of them).
WORKER_REQUESTS_KEY: Final = pytest.StashKey[dict[str, int]]()
_WORKER_OUTPUT: Final = "k8ssec_api_requests"
TALLY_KEY: Final = pytest.StashKey["Tally"]()
CHECK_PROPERTY: Final = "k8ssec.check"
FINDING_PROPERTY: Final = "k8ssec.finding"


@dataclass
class CheckTally:
    """Per check: helper calls that ran it, calls that failed on it, and its findings."""

    runs: int = 0
    failed: int = 0
    findings: int = 0


@dataclass
class Tally:
    """Per-check counts over the whole run (from report properties)."""

    checks: dict[str, CheckTally] = field(default_factory=dict)


def finding_record(finding: Finding) -> dict[str, object]:
    """A finding as JSON-ready data (the shape of the JUnit property and, later, JSON reports)."""
    return {
        "check": finding.check.id,
        "severity": str(finding.check.severity),
        "object": finding.obj.ref,
        "source": str(finding.obj.provenance),
        "path": finding.path,
        "container": finding.container,
        "message": finding.message,
    }


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    sink: list[recording.HelperResult] = []
    item.stash[RESULTS_KEY] = sink
    token = recording.RECORDER.set(sink)
    try:
        return (yield)
    finally:
        recording.RECORDER.reset(token)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Properties go on the item before its call report is built: pytest copies item.user_properties
    # into every later report, and JUnit XML writes the teardown report's as <properties>.
    if call.when == "call":
        for result in item.stash.get(RESULTS_KEY, []):
            failing = {f.check.id for f in result.findings} | set(result.failed)
            for check in result.checks:
                verdict = "fail" if check.id in failing else "pass"
                item.user_properties.append((CHECK_PROPERTY, f"{check.id}={verdict}"))
            for finding in result.findings:
                item.user_properties.append((FINDING_PROPERTY, json.dumps(finding_record(finding), sort_keys=True)))
    return (yield)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[TALLY_KEY] = Tally()
    # pytest_runtest_logreport gets no config; a per-run plugin object carries it.
    config.pluginmanager.register(_TallyRecorder(config.stash[TALLY_KEY]), "k8ssec-tally")


class _TallyRecorder:
    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == CHECK_PROPERTY:
                check_id, _, verdict = str(value).rpartition("=")
                entry = self.tally.checks.setdefault(check_id, CheckTally())
                entry.runs += 1
                entry.failed += verdict == "fail"
            elif name == FINDING_PROPERTY:
                check_id = json.loads(str(value))["check"]
                self.tally.checks.setdefault(check_id, CheckTally()).findings += 1


def _own_requests(config: pytest.Config) -> dict[str, int]:
    from pytest_k8ssec.fixtures.targets import STATE_KEY

    state = config.stash.get(STATE_KEY, None)
    targets = state.targets if state is not None else []
    return {target.name: target.cluster.requests for target in targets if target.cluster is not None}


def pytest_sessionfinish(session: pytest.Session) -> None:
    # An xdist worker's requests reach the controller's summary only through workeroutput.
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output[_WORKER_OUTPUT] = _own_requests(session.config)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """xdist: add a finished worker's API requests to the controller's figures."""
    config: pytest.Config = getattr(node, "config")  # noqa: B009  (pytest types the hook argument as object)
    counted = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT, {})
    totals = config.stash.setdefault(WORKER_REQUESTS_KEY, {})
    for name, requests in counted.items():
        totals[name] = totals.get(name, 0) + int(requests)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    requests = _own_requests(config)
    for name, counted in config.stash.get(WORKER_REQUESTS_KEY, {}).items():
        requests[name] = requests.get(name, 0) + counted
    for name, total in requests.items():
        # Objects are listed once per kind per run and process: this figure must not grow with the tests.
        terminalreporter.write_line(f"k8ssec: target {name}: {total} API requests")
    tally = config.stash.get(TALLY_KEY, None)
    if tally is None or not tally.checks:
        return
    terminalreporter.section("k8ssec")
    registry = active_registry()
    width = max(len(check_id) for check_id in tally.checks)
    terminalreporter.line(f"{'check':<{width}}  {'severity':<8}  {'runs':>6}  {'failed':>6}  {'findings':>8}")
    for check_id in sorted(tally.checks, key=lambda i: (-tally.checks[i].findings, i)):
        entry = tally.checks[check_id]
        severity = str(registry.get(check_id).severity) if check_id in registry else "-"
        terminalreporter.line(
            f"{check_id:<{width}}  {severity:<8}  {entry.runs:>6}  {entry.failed:>6}  {entry.findings:>8}",
            red=entry.failed > 0,
            green=entry.failed == 0,
        )
    total = sum(entry.findings for entry in tally.checks.values())
    terminalreporter.line(f"{total} finding(s) from {len(tally.checks)} check(s)")
