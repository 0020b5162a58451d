"""Findings into pytest's reports: JUnit <properties>, the k8ssec terminal summary.

Helpers record their results (passes included) through ``reporting.recording``; the results ride on
``report.user_properties`` as JSON (``reporting.results`` names them), which JUnit XML writes as
<properties> and xdist ships to the controller, so every summary and report file is built from
reports alone and reads the same with or without xdist.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Generator
from typing import Any, Final

import pytest

from pytest_k8ssec.checks import active_registry
from pytest_k8ssec.engine import Finding
from pytest_k8ssec.errors import K8sSecError
from pytest_k8ssec.policy.gate import Outcome, State, Subject
from pytest_k8ssec.reporting import gate as gate_plugin
from pytest_k8ssec.reporting import recording, report_options
from pytest_k8ssec.reporting.results import (
    CHECK_PROPERTY,
    FINDING_PROPERTY,
    FINDINGS_PROPERTY,
    JUDGED_PROPERTY,
    STATES,
    TEST_PROPERTY,
    CaseRecord,
    RunResults,
    judged_value,
)

RUN_RESULTS_KEY: Final = pytest.StashKey[RunResults]()
#: API requests per target that xdist workers counted (the controller's sum of them).
WORKER_REQUESTS_KEY: Final = pytest.StashKey[dict[str, int]]()
_WORKER_OUTPUT: Final = "k8ssec_api_requests"
_CONTEXT_KEY: Final = pytest.StashKey[recording.HelperContext]()


def outcome_record(outcome: Outcome) -> dict[str, Any]:
    """The gate's part of a record: state, fingerprint, and the waiver that decided it."""
    waiver = outcome.waiver
    return {
        "state": str(outcome.state),
        "fingerprint": outcome.fingerprint,
        # Why a waiver did not apply (expired, or an annotation waiver that was ignored or malformed).
        "note": outcome.explanation,
        "waiver": None
        if waiver is None
        else {
            "source": waiver.source,
            "reason": waiver.reason,
            "expires": waiver.expires.isoformat(),
            "owner": waiver.owner,
            "ticket": waiver.ticket,
            "expired": outcome.expired,
        },
    }


def finding_record(finding: Finding, subject: Subject | None = None, outcome: Outcome | None = None) -> dict[str, Any]:
    """A finding as JSON-ready data: the JUnit property and every report file read this shape.

    Only strings, numbers, None and a tuple of strings: a run keeps every record to its end, and
    the collector stops tracking a dict of such values after one full collection instead of
    walking it at every one (with a list of controls, a 50k-object run spent 6.9 s in the
    collector, with a tuple 5.4 s). JSON reads the tuple back as a list."""
    obj = finding.obj
    provenance = obj.provenance
    record: dict[str, Any] = {
        "check": finding.check.id,
        "severity": str(subject.severity if subject is not None else finding.check.severity),
        "controls": tuple(subject.controls if subject is not None else finding.check.controls),
        "target": subject.target if subject is not None else recording.target_of(obj),
        "object": obj.ref,
        "kind": obj.kind,
        "api_version": obj.api_version,
        "namespace": obj.namespace,
        "name": obj.name,
        "source": str(provenance),
        "file": None if provenance.from_cluster or provenance.source.startswith("<") else provenance.source,
        "line": provenance.line,
        "path": finding.path,
        "container": finding.container,
        "message": finding.message,
    }
    if outcome is not None:
        record.update(outcome_record(outcome))
    return record


def requirement_record(check_id: str, subject: Subject, outcome: Outcome, message: str) -> dict[str, Any]:
    """A failed requirement about no object (who may do what, a connection, a probe) as a record."""
    return {
        "check": check_id,
        "severity": str(subject.severity),
        "controls": tuple(subject.controls),
        "target": subject.target,
        "object": None,
        "kind": None,
        "api_version": None,
        "namespace": None,
        "name": None,
        "source": None,
        "file": None,
        "line": None,
        "path": subject.path,
        "container": None,
        "message": message,
        **outcome_record(outcome),
    }


def _item_target(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get("k8s_target") if callspec is not None else None
    name = getattr(target, "name", None)
    if isinstance(name, str):
        return name
    from pytest_k8ssec.fixtures.targets import STATE_KEY

    state = item.config.stash.get(STATE_KEY, None)
    if state is not None and len(state.targets) == 1:
        return state.targets[0].name
    return recording.MANIFESTS


#: One context per distinct (gate, severity, controls, target): the test cases of one function share it.
_CONTEXTS_KEY: Final = pytest.StashKey[dict[tuple[int, Any, tuple[str, ...], str], recording.HelperContext]]()


def _context(item: pytest.Item) -> recording.HelperContext:
    context = item.stash.get(_CONTEXT_KEY, None)
    if context is None:
        gate = gate_plugin.gate(item.config)
        severity, controls = gate_plugin.item_marks(item)
        target = _item_target(item)
        contexts = item.config.stash.get(_CONTEXTS_KEY, None)
        if contexts is None:
            contexts = item.config.stash[_CONTEXTS_KEY] = {}
        # The context holds the gate, so its id names no other gate while the entry lives.
        key = (id(gate), severity, controls, target)
        context = contexts.get(key)
        if context is None:
            context = contexts[key] = recording.HelperContext(
                gate=gate, severity=severity, controls=controls, target=target
            )
        item.stash[_CONTEXT_KEY] = context
    return context


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    sink: list[recording.HelperResult] = []
    token = recording.RECORDER.set(sink)
    context_token = recording.CONTEXT.set(_context(item))
    try:
        return (yield)
    finally:
        recording.CONTEXT.reset(context_token)
        recording.RECORDER.reset(token)
        # Properties go on the item before its call report is built: pytest copies
        # item.user_properties into every later report, and JUnit XML writes the teardown
        # report's as <properties>. Built where the call ends rather than in the makereport
        # wrapper, which pytest calls for each of the three phases.
        if sink:
            item.user_properties.extend(_properties(item, sink))


def _worst(states: list[str]) -> str:
    return min(states, key=STATES.index) if states else "pass"


def _properties(item: pytest.Item, results: list[recording.HelperResult]) -> list[tuple[str, object]]:
    properties: list[tuple[str, object]] = []
    context = _context(item)
    fields, test_file, test_line = None, "", None
    # This process folds the records it writes, unless the xdist controller folds them.
    remember = not _is_worker(item.config)
    # Most results of a run pass: what only a finding's record needs is looked up for findings only.
    if any(result.findings or result.requirement for result in results):
        # The field line costs a second look at the file: paid per finding, only when a report shows it.
        fields = report_options.field_lines(item.config)
        # Where the requirement is written: the place a result about no file (a live object, an
        # access question) points at, so code scanning can show every result.
        test_file, test_line = str(item.path), item.location[1] + 1 if item.location[1] is not None else None
    # JUnit XML promises a property per finding (JSON text); any other reader gets the test's
    # records as one property: the list itself in the process that folds it (nothing to encode),
    # and from an xdist worker one JSON text, which C encodes and decodes and execnet ships as one
    # string (its own serialisation walks every value in Python).
    records: list[dict[str, Any]] | None = [] if not getattr(item.config.option, "xmlpath", None) else None
    for result in results:
        if result.findings or result.requirement or result.failed:
            states: dict[str, list[str]] = {check.id: [] for check in result.checks}
            for finding, outcome in zip(result.findings, result.outcomes):
                states.setdefault(finding.check.id, []).append(str(outcome.state))
            for subject, outcome in result.requirement:
                states.setdefault(subject.check, []).append(str(outcome.state))
            for check_id in result.failed:
                if not states.get(check_id):
                    states[check_id] = ["fail"]
            verdicts = {check_id: _worst(found) for check_id, found in states.items()}
        else:
            verdicts = dict.fromkeys((check.id for check in result.checks), "pass")
        properties.extend((CHECK_PROPERTY, f"{check_id}={verdict}") for check_id, verdict in verdicts.items())
        judged = result.judged or [
            recording.Judged(check.id, context.target, result.objects) for check in result.checks
        ]
        properties.extend((JUDGED_PROPERTY, judged_value(entry.check, entry.target, entry.objects)) for entry in judged)
        subjects = result.subjects or [context.subject(finding) for finding in result.findings]
        for finding, outcome, subject in zip(result.findings, result.outcomes, subjects):
            record = finding_record(finding, subject, outcome)
            if fields is not None:
                via = finding.obj.provenance.via
                record["field_line"] = fields.line(record["file"], record["line"], finding.path, via)
            record["test_file"], record["test_line"] = test_file, test_line
            _add_record(properties, records, record, remember)
        for subject, outcome in result.requirement:
            record = requirement_record(subject.check, subject, outcome, result.helper)
            if fields is not None:
                record["field_line"] = None
            record["test_file"], record["test_line"] = test_file, test_line
            _add_record(properties, records, record, remember)
    if records:
        properties.append((FINDINGS_PROPERTY, records if remember else json.dumps(records)))
    return properties


def _add_record(
    properties: list[tuple[str, object]], batch: list[dict[str, Any]] | None, record: dict[str, Any], remember: bool
) -> None:
    if batch is not None:
        batch.append(record)
    else:
        properties.append(_finding_property(record, remember))


def _finding_property(record: dict[str, Any], remember: bool) -> tuple[str, object]:
    """A ``k8ssec.finding`` property as JSON; remembered, when this process folds it, so that it is
    folded unread."""
    text = json.dumps(record, sort_keys=True)
    if remember:
        _WRITTEN[id(text)] = (text, record)
    return FINDING_PROPERTY, text


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when == "call":
        _gate_plain_failure(item, call, report)
    return report


def _gate_plain_failure(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """A marked test's own failed assertion (not a helper's) meets the gate as its findings do."""
    context = _context(item)
    marked = context.severity is not None or context.controls
    if not marked:
        return
    data: dict[str, Any] = {
        "severity": None if context.severity is None else str(context.severity),
        "controls": list(context.controls),
        "target": context.target,
    }
    excinfo = call.excinfo
    if (
        report.failed
        and excinfo is not None
        and isinstance(excinfo.value, AssertionError)
        # A helper's failure already passed the gate; any other exception is an error (never gated).
        and not isinstance(excinfo.value, K8sSecError)
    ):
        severity = context.severity
        subject = Subject(
            check="",
            severity=severity if severity is not None else context.gate.fail_on,
            controls=context.controls,
            target=context.target,
            path=item.nodeid,
        )
        outcome = context.gate.judge(subject)
        if outcome.waiver is not None:
            # The waiver was used (stale-waiver listing reads this), expired or not.
            data["waiver"] = outcome_record(outcome)["waiver"]
        if not outcome.blocking:
            data["state"] = str(outcome.state)
            data["message"] = str(excinfo.value).splitlines()[0] if str(excinfo.value) else "assertion failed"
            report.outcome = "passed"
            report.longrepr = None
        elif outcome.expired:
            data["state"] = str(State.FAIL)
    entry = (TEST_PROPERTY, json.dumps(data, sort_keys=True))
    # The call report holds a copy; JUnit XML writes the later reports' (the item's) properties.
    item.user_properties.append(entry)
    if report.user_properties is not item.user_properties:
        report.user_properties.append(entry)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RUN_RESULTS_KEY] = RunResults()
    if _is_worker(config):
        # The controller folds every worker's reports; a worker folding its own would build the
        # same records again for no reader.
        return
    # pytest_runtest_logreport gets no config; a per-run plugin object carries the results.
    config.pluginmanager.register(_Collector(config.stash[RUN_RESULTS_KEY]), "k8ssec-results")


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    """The xdist controller runs no test: its loop receives reports and folds their records, and
    keeps every record to the end. With the collector on, each full collection walked all records
    folded so far (half a second of the controller's time at 53k findings, much of it after the
    last worker finished). Records are plain JSON data, without cycles: the collector is paused
    for the loop, and what the loop made is frozen before it resumes."""
    if session.config.pluginmanager.get_plugin("dsession") is None or _is_worker(session.config):
        return (yield)
    enabled = gc.isenabled()
    gc.disable()
    try:
        return (yield)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


# The finding records this process wrote as JSON properties, by the identity of the JSON text
# (which the entry keeps alive, so the identity cannot be reused): a serial run folds its own
# reports and need not read back tens of thousands of records it has just written. Reports from
# xdist workers arrive as new strings and are read from their JSON.
_WRITTEN: dict[int, tuple[str, dict[str, Any]]] = {}


def _written(value: object) -> dict[str, Any] | None:
    entry = _WRITTEN.pop(id(value), None)
    return entry[1] if entry is not None and entry[0] is value else None


class _Collector:
    def __init__(self, results: RunResults) -> None:
        self.results = results

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # The call report carries the results; a setup error or skip has no call report.
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.results.add_properties(report.nodeid, report.outcome, report.user_properties, _written)
        elif report.when == "teardown" and report.failed:
            self.results.tests.setdefault(report.nodeid, CaseRecord(report.nodeid)).outcome = "failed"


def run_results(config: pytest.Config) -> RunResults:
    """The run's results so far (on the xdist controller: merged from every worker's reports)."""
    return config.stash.setdefault(RUN_RESULTS_KEY, RunResults())


def _own_requests(config: pytest.Config) -> dict[str, int]:
    from pytest_k8ssec.fixtures.targets import STATE_KEY

    state = config.stash.get(STATE_KEY, None)
    targets = state.targets if state is not None else []
    return {target.name: target.cluster.requests for target in targets if target.cluster is not None}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    _WRITTEN.clear()  # records of reports never folded (an interrupted test)
    # An xdist worker's requests reach the controller's summary only through workeroutput.
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output[_WORKER_OUTPUT] = _own_requests(session.config)
        return
    # The summary and every report read each result's state. Worked out here, first: on the xdist
    # controller this is before it waits for its workers to exit, so the two overlap.
    run_results(session.config).result_states()


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
    results = run_results(config)
    if not results.judged and not results.findings:
        return
    terminalreporter.section("k8ssec")
    registry = active_registry()
    targets = results.targets
    # One table per target when there are several, else one table over everything.
    tables: list[str | None] = [*targets] if len(targets) > 1 else [None]
    for target in tables:
        counts = results.check_counts(target)
        if not counts:
            continue
        if target is not None:
            terminalreporter.line(f"target {target}:")
        width = max(len(check_id) for check_id in counts)
        terminalreporter.line(
            f"{'check':<{width}}  {'severity':<8}  {'judged':>6}  {'pass':>6}  {'fail':>6}  "
            f"{'advisory':>8}  {'waived':>6}  {'baselined':>9}"
        )
        for check_id in sorted(counts, key=lambda i: (-counts[i]["fail"], -counts[i]["advisory"], i)):
            row = counts[check_id]
            severity = str(registry.get(check_id).severity) if check_id in registry else "-"
            terminalreporter.line(
                f"{check_id:<{width}}  {severity:<8}  {row['judged']:>6}  {row['pass']:>6}  {row['fail']:>6}  "
                f"{row['advisory']:>8}  {row['waived']:>6}  {row['baselined']:>9}",
                red=row["fail"] > 0,
                yellow=row["fail"] == 0 and row["advisory"] > 0,
                green=row["fail"] == 0 and row["advisory"] == 0,
            )
    totals = results.state_totals()
    fail_on = gate_plugin.gate(config).fail_on
    terminalreporter.line(
        f"{len(results.findings)} finding(s) from {len(results.check_counts())} check(s): "
        + ", ".join(f"{totals[state]} {state}" for state in STATES)
        + f" (gate: fail on {fail_on} and above)"
    )
