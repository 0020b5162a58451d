"""The one failure path of every assertion helper: coerce the inputs, run, bound the message,
record the result for the reports, raise.

Helpers in the sibling modules build their checks and titles; this module owns what a failure
looks like, so a failure reads the same whatever domain raised it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any, Union

from pytest_k8ssec.checks import active_registry, builtin_registry
from pytest_k8ssec.checks._check import Check, CheckKind
from pytest_k8ssec.engine import Evaluation, Finding, derived, evaluate_judged
from pytest_k8ssec.errors import SecurityAssertionError
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.policy.gate import Outcome, State, Subject
from pytest_k8ssec.reporting import recording

Objects = Union[K8sObject, Mapping[str, Any], Iterable[K8sObject | Mapping[str, Any]]]
CheckRef = Union[str, Check]

# Keep failure output linear in the number of findings and bounded for huge selections
# (pytest-dev/pytest#13360: long failure texts times many tests make the summary quadratic).
MAX_OBJECTS_SHOWN = 25
MAX_VIOLATIONS_SHOWN = 20
# Helpers that word their own lines (format_lines): a backstop for items with long details
# (20 items of a few lines each fit).
MAX_LINES_SHOWN = 100


_OBJECT_TYPES = frozenset((K8sObject,))


def _objects(objs: Objects) -> list[K8sObject]:
    if isinstance(objs, K8sObject):
        return [objs]
    if isinstance(objs, Mapping):
        return [K8sObject(objs, Provenance("<dict>"))]
    if type(objs) is list or type(objs) is tuple:
        # The common input (a fixture's list of objects): one C loop over the items' types
        # answers what the loop below would do item by item.
        if set(map(type, objs)) <= _OBJECT_TYPES:
            return list(objs)
    result = []
    for obj in objs:
        if isinstance(obj, K8sObject):
            result.append(obj)
        elif isinstance(obj, Mapping):
            result.append(K8sObject(obj, Provenance("<dict>")))
        else:
            raise TypeError(f"expected K8sObject or a manifest dict, got {type(obj).__name__}")
    return result


def _resolve(checks: CheckRef | Iterable[CheckRef]) -> list[Check]:
    refs = [checks] if isinstance(checks, (str, Check)) else list(checks)
    registry = active_registry()
    resolved = [ref if isinstance(ref, Check) else registry.get(ref) for ref in refs]
    for check in resolved:
        if check.kind is CheckKind.REQUIREMENT:
            # Objects alone cannot answer it: nothing would be checked, and that must not pass.
            raise check.requirement_error()
    return resolved


def format_findings(title: str, findings: Sequence[Finding], notes: Mapping[int, str] | None = None) -> str:
    """The failure text: a one-line summary, then per object its violations and the fix.

    ``notes`` (keyed by ``id(finding)``) adds a word to a finding's line (an expired waiver).
    """
    by_object: dict[int, list[Finding]] = {}
    order: list[K8sObject] = []
    for finding in findings:
        key = id(finding.obj)
        if key not in by_object:
            by_object[key] = []
            order.append(finding.obj)
        by_object[key].append(finding)
    count = len(findings)
    noun = "violation" if count == 1 else "violations"
    lines: list[str]
    if len(order) == 1:
        obj = order[0]
        lines = [f"{title}: {count} {noun} in {obj.display} ({obj.provenance})"]
    else:
        lines = [f"{title}: {count} {noun} in {len(order)} objects"]
    for obj in order[:MAX_OBJECTS_SHOWN]:
        if len(order) > 1:
            lines.append(f"{obj.display} ({obj.provenance})")
        own = by_object[id(obj)]
        checks = list(dict.fromkeys(f.check for f in own))
        for check in checks:
            mine = [f for f in own if f.check is check]
            prefix = f"  [{check.id}] " if len(checks) > 1 or check.id not in title else "  "
            for finding in mine[:MAX_VIOLATIONS_SHOWN]:
                where = f"{finding.path}: " if finding.path else ""
                note = f" ({notes[id(finding)]})" if notes and id(finding) in notes else ""
                lines.append(f"{prefix}- {where}{finding.message}{note}")
            if len(mine) > MAX_VIOLATIONS_SHOWN:
                lines.append(f"{prefix}- ... and {len(mine) - MAX_VIOLATIONS_SHOWN} more")
            lines.append(f"  fix: {check.remediation}")
    if len(order) > MAX_OBJECTS_SHOWN:
        lines.append(
            f"... and {len(order) - MAX_OBJECTS_SHOWN} more objects (every finding is attached to the "
            "exception as .findings and to the test report)"
        )
    return "\n".join(lines)


def format_lines(title: str, lines: Sequence[str]) -> str:
    """The failure text of a helper that words its own lines (RBAC, network): the one-line summary,
    then the lines, bounded like ``format_findings``.

    Items are the least indented lines whose text starts with ``- ``, each with the more indented
    lines under it; at most ``MAX_VIOLATIONS_SHOWN`` items are shown, and one line says how many
    more there are. Other lines (``fix:``, section heads) stay. Past ``MAX_LINES_SHOWN`` lines the
    text is cut, saying how many lines were left out.
    """
    physical = [line for text in lines for line in text.splitlines()]
    level = min((_indent(line) for line in physical if _is_item(line)), default=0)
    shown: list[str] = []
    items = hidden = 0
    hiding = False
    note_at: int | None = None
    for line in physical:
        indent = _indent(line)
        if hiding and indent > level:
            continue  # the detail of an item left out
        hiding = False
        if indent == level and _is_item(line):
            items += 1
            if items > MAX_VIOLATIONS_SHOWN:
                hidden += 1
                hiding = True
                note_at = len(shown) if note_at is None else note_at
                continue
        shown.append(line)
    if note_at is not None:
        note = f"{' ' * level}- ... and {hidden} more (every finding is attached to the exception as .findings)"
        shown.insert(note_at, note)
    if len(shown) > MAX_LINES_SHOWN:
        # The fix is the line a reader needs most: it survives the cut.
        fix = [shown.pop()] if shown[-1].lstrip().startswith("fix: ") else []
        cut = len(shown) - MAX_LINES_SHOWN
        shown = [
            *shown[:MAX_LINES_SHOWN],
            f"  ... and {cut} more lines (every finding is attached to the exception as .findings)",
            *fix,
        ]
    return "\n".join([title, *shown])


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_item(line: str) -> bool:
    return line.lstrip().startswith("- ")


def _run(title: str, checks: Sequence[Check], objs: Objects, *, require_judged: bool = True) -> None:
    """Run ``checks`` on ``objs`` and raise on findings.

    ``require_judged=False`` is for checks whose subject may rightly be absent ("no Secret is
    committed" holds for manifests without Secrets); an empty selection still fails.
    """
    __tracebackhide__ = True
    objects = _objects(objs)
    if not objects:
        raise SecurityAssertionError(
            f"{title}: no objects given; nothing was checked (an empty selection never passes)"
        )
    run, result, counts = _evaluated(checks, objects)
    asked_schema = any(c is run[0] for c in checks)
    # The engine's own applies_to answers: only the checks asked count (schema is always added).
    if require_judged and not any(judged for index, judged in enumerate(result.judged) if index or asked_schema):
        kinds = sorted({obj.kind for obj in objects})
        raise SecurityAssertionError(
            f"{title}: none of the {len(objects)} given objects ({', '.join(kinds)}) is one these checks "
            "judge; nothing was checked"
        )
    _conclude(title, run, objects, result.findings, judged=counts)


def _evaluated(
    checks: Sequence[Check], objects: Sequence[K8sObject]
) -> tuple[list[Check], Evaluation, list[recording.Judged]]:
    """``checks`` with ``malformed-object`` first, the engine's evaluation of them, and the
    reports' judged counts from it: a malformed object must not pass a check that could not read
    it (fail closed)."""
    schema = builtin_registry().get("malformed-object")
    run = [schema, *(c for c in checks if c is not schema)]
    result = evaluate_judged(run, objects)
    return run, result, judged_counts(run, objects, result.judged)


def _conclude(
    title: str,
    checks: Sequence[Check],
    objects: Sequence[K8sObject],
    findings: Sequence[Finding],
    extra: Sequence[str] = (),
    judged: Sequence[recording.Judged] | None = None,
) -> None:
    """The end of every helper whose verdict is a list of findings over ``objects``: the gate
    judges each finding, the result is recorded (passes included), and the blocking findings
    raise (``extra`` lines follow the findings in the message). ``judged`` replaces the counts
    ``applies_to`` gives, for helpers that run a check on only some of the objects."""
    __tracebackhide__ = True
    context = recording.current()
    subjects = context.subjects(findings)
    outcomes = context.gate.judge_all(subjects)
    counts = _judged(checks, objects) if judged is None else judged
    recording.record(title, checks, len(objects), findings, outcomes=outcomes, judged=counts, subjects=subjects)
    blocking = [finding for finding, outcome in zip(findings, outcomes) if outcome.blocking]
    if blocking:
        message = format_findings(title, blocking, _expired_notes(findings, outcomes))
        raise SecurityAssertionError("\n".join([message, *extra]) + _passed_note(outcomes), blocking)


def _judged(checks: Sequence[Check], objects: Sequence[K8sObject]) -> list[recording.Judged]:
    """Per check and target: how many of ``objects`` the check judged (the reports' pass counts)."""
    return judged_counts(checks, objects, [[obj for obj in objects if check.applies_to(obj)] for check in checks])


def judged_counts(
    checks: Sequence[Check], objects: Sequence[K8sObject], judged: Sequence[Sequence[K8sObject]]
) -> list[recording.Judged]:
    """Per check and target, how many objects it judged, given the objects each check judged (in
    ``objects``' order, as ``engine.evaluate_judged`` gives them): the reports' pass counts."""
    default = recording.current().target
    # One target per object, not per (check, object), and once per selection: a suite asks many
    # checks of the same objects (the engine keeps what it derives from them).
    targets: dict[int, str]
    single: str | None
    targets, single = derived(objects, ("judged_counts.targets", default), partial(_targets, default=default))
    counted: list[recording.Judged] = []
    if single is not None:
        # Every object has the same target (all from manifests, or all from one cluster): the
        # count is the length, without a loop over each check's objects.
        counted.extend(recording.Judged(check.id, single, len(mine)) for check, mine in zip(checks, judged) if mine)
        return counted
    for check, mine in zip(checks, judged):
        counts: dict[str, int] = {}
        for obj in mine:
            target = targets[id(obj)]
            counts[target] = counts.get(target, 0) + 1
        counted.extend(recording.Judged(check.id, target, count) for target, count in counts.items())
    return counted


def _targets(objects: Sequence[K8sObject], *, default: str) -> tuple[dict[int, str], str | None]:
    """Each object's target (by ``id``), and the one target they all have, if they have one."""
    # target_of reads only the provenance's source (a context, a file, or "<...>" for the test's
    # default), so it is asked once per source: thousands of objects come from a few hundred files.
    by_source: dict[str, str] = {}
    targets: dict[int, str] = {}
    for obj in objects:
        source = obj.provenance.source
        target = by_source.get(source)
        if target is None:
            target = by_source[source] = recording.target_of(obj, default)
        targets[id(obj)] = target
    distinct = set(by_source.values())
    return targets, distinct.pop() if len(distinct) == 1 else None


def _expired_notes(findings: Sequence[Finding], outcomes: Sequence[Outcome]) -> dict[int, str]:
    return {
        id(finding): outcome.explanation
        for finding, outcome in zip(findings, outcomes)
        if outcome.explanation is not None
    }


def _passed_note(outcomes: Sequence[Outcome]) -> str:
    """A last line counting the findings that did not fail the test (waived, advisory, baselined)."""
    counts = {state: sum(1 for o in outcomes if o.state is state) for state in State if state is not State.FAIL}
    shown = [f"{count} {state}" for state, count in counts.items() if count]
    return f"\n  not failing: {', '.join(shown)} (see the reports)" if shown else ""


def _named(check_ids: Sequence[str], objs: Objects) -> None:
    __tracebackhide__ = True
    checks = [builtin_registry().get(i) for i in check_ids]
    _run(", ".join(check_ids), checks, objs)


def _check(check_id: str) -> Check:
    """A helper's own check: the registry record (the active registry, so a plugin sees its id)."""
    return active_registry().get(check_id)


def _record_pass(title: str, check: Check, objects: int = 1) -> None:
    """Record a helper's passing verdict for the reports (requirement helpers that judge no objects)."""
    recording.record(title, [check], objects, [])


def _fail(
    title: str,
    check: Check,
    lines: Sequence[str] = (),
    findings: Sequence[Finding] = (),
    objects: int = 1,
    *,
    error: bool = False,
    controls: Sequence[str] = (),
) -> None:
    """Record ``check`` as failed and raise unless the gate lets the failure pass: the message is
    ``title`` (one line) then ``lines``, bounded by ``format_lines``. ``controls``: those of the
    check's ``finding_controls`` a failure without findings fails (the items it missed).

    For helpers whose verdict is not a list of object findings (a dry-run, an in-pod probe, an
    access question, a reachability requirement); ``findings`` are attached when the failure is
    about objects. The gate judges the findings (or, without findings, the requirement itself):
    when none of them blocks (waived, advisory, baselined), the failure is recorded and the helper
    returns, so callers ``return _fail(...)``. ``error=True`` is for a helper that could not reach
    a verdict (unreadable input): that always fails, whatever the gate.
    """
    __tracebackhide__ = True
    context = recording.current()
    requirement: list[tuple[Subject, Outcome]] = []
    if findings:
        outcomes = [context.gate.judge(context.subject(finding)) for finding in findings]
        blocking = error or any(outcome.blocking for outcome in outcomes)
        notes = _expired_notes(findings, outcomes)
    else:
        outcomes = []
        subject = context.requirement(check, title, controls)
        outcome = Outcome(State.FAIL, subject.fingerprint) if error else context.gate.judge(subject)
        requirement.append((subject, outcome))
        blocking = outcome.blocking
        notes = {}
        if outcome.expired and outcome.waiver is not None:
            title = f"{title} (waiver {outcome.waiver.key} expired on {outcome.waiver.expires.isoformat()})"
    recording.record(title, [check], objects, findings, failed=[check], outcomes=outcomes, requirement=requirement)
    if blocking:
        shown = list(lines)
        if notes:
            shown.append(f"  waivers not applied: {'; '.join(sorted(set(notes.values())))}")
        raise SecurityAssertionError(format_lines(title, shown) + _passed_note(outcomes), findings)
