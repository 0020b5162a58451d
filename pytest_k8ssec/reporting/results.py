"""The run's results as data, merged from test reports: what every report format is written from.

Workers (xdist) and the controller see the same records: each test report carries its results as
``user_properties`` (JSON), and this module folds them into one ``RunResults``. Nothing here
imports pytest, so report writers are tested on plain data.

Units: a *result* is one check's verdict on one object in one test (a requirement without an
object counts as one result). ``judged`` counts results; each finding record is one violation; a
result with findings takes the worst state of them (fail, advisory, baselined, waived), a result
without findings passed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pytest_k8ssec.model.objects import MANIFESTS_TARGET

#: Names of the ``user_properties`` entries (and JUnit ``<property>`` names).
CHECK_PROPERTY: Final = "k8ssec.check"
FINDING_PROPERTY: Final = "k8ssec.finding"
#: One test's finding records as one value, when no JUnit XML is written: the list of records in
#: the process that ran the test, their JSON text (one array) when it comes from an xdist worker.
FINDINGS_PROPERTY: Final = "k8ssec.findings"
JUDGED_PROPERTY: Final = "k8ssec.judged"
TEST_PROPERTY: Final = "k8ssec.test"

#: States of a result, worst first.
STATES: Final = ("fail", "advisory", "baselined", "waived")
#: Every column a count row has.
COLUMNS: Final = ("judged", "pass", *STATES)


def judged_value(check: str, target: str, objects: int) -> str:
    """``k8ssec.judged``'s value: ``check|target|objects``. Plain text, not JSON: a run writes one
    per check per test, and in JUnit XML every JSON quote becomes ``&quot;`` (it was a third of
    the file)."""
    return f"{check}|{target}|{objects}"


def parse_judged(value: str) -> tuple[str, str, int]:
    """``judged_value``'s parts; a check id holds no ``|``, a target name may."""
    check, _, rest = value.partition("|")
    target, _, objects = rest.rpartition("|")
    return check, target, int(objects)


@dataclass
class CaseRecord:
    """One test: outcome, markers, target, and (for a failed or advisory plain assertion) why."""

    nodeid: str
    outcome: str = "passed"
    severity: str | None = None
    controls: tuple[str, ...] = ()
    target: str | None = None
    state: str | None = None
    message: str | None = None
    #: The waiver that decided a marked test's own failed assertion (its JSON record).
    waiver: dict[str, Any] | None = None


@dataclass
class RunResults:
    """Every finding and count of the run, ready for the terminal summary and report writers."""

    findings: list[dict[str, Any]] = field(default_factory=list)
    #: (check id, target) -> results judged
    judged: dict[tuple[str, str], int] = field(default_factory=dict)
    tests: dict[str, CaseRecord] = field(default_factory=dict)
    _states: tuple[list[dict[str, Any]], int, dict[tuple[str, str, str, str], str]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def add_properties(
        self,
        nodeid: str,
        outcome: str,
        properties: Iterable[tuple[str, object]],
        parsed: Callable[[object], dict[str, Any] | None] | None = None,
    ) -> None:
        """Fold one test's call report (its outcome and ``user_properties``) in.

        ``parsed(value)`` may give a finding property's record without reading its JSON (the
        process that wrote it still has it); None means read the JSON.
        """
        test = self.tests.get(nodeid)
        if test is None:
            # Not setdefault: it would build a record per call, once per test of the run.
            test = self.tests[nodeid] = CaseRecord(nodeid)
        test.outcome = outcome
        for name, value in properties:
            if name == FINDING_PROPERTY:
                known = parsed(value) if parsed is not None else None
                record = known if known is not None else json.loads(str(value))
                record["test"] = nodeid
                self.findings.append(record)
            elif name == FINDINGS_PROPERTY:
                records = value if isinstance(value, list) else json.loads(str(value))
                for record in records:
                    record["test"] = nodeid
                self.findings.extend(records)
            elif name == JUDGED_PROPERTY:
                check, target, objects = parse_judged(str(value))
                self.judged[check, target] = self.judged.get((check, target), 0) + objects
            elif name == TEST_PROPERTY:
                data = json.loads(str(value))
                test.severity = data.get("severity")
                test.controls = tuple(data.get("controls", ()))
                test.target = data.get("target")
                test.state = data.get("state")
                test.message = data.get("message")
                test.waiver = data.get("waiver")

    @property
    def targets(self) -> list[str]:
        """Every target with a result: manifests first, then by name. Not in first-seen order:
        under xdist that is the order reports happen to arrive in, and two runs would differ."""
        seen = {target for _, target in self.judged}
        seen.update(str(f["target"]) for f in self.findings)
        return sorted(seen, key=lambda target: (target != MANIFESTS_TARGET, target))

    def result_states(self) -> dict[tuple[str, str, str, str], str]:
        """(test, check, target, object-or-requirement) -> the worst state of that result's findings.

        Computed once per set of findings: the summary asks once per target and once for all, and
        every report file asks again. Findings are only ever appended, so their number (and the
        list itself) tells whether the answer is still current.
        """
        cached = self._states
        if cached is not None and cached[0] is self.findings and cached[1] == len(self.findings):
            return cached[2]
        states = self._result_states()
        self._states = (self.findings, len(self.findings), states)
        return states

    def _result_states(self) -> dict[tuple[str, str, str, str], str]:
        states: dict[tuple[str, str, str, str], str] = {}
        for finding in self.findings:
            key = (finding["test"], finding["check"], finding["target"], finding.get("object") or finding["path"])
            state = finding["state"]
            old = states.get(key)
            if old is None or STATES.index(state) < STATES.index(old):
                states[key] = state
        return states

    def check_counts(self, target: str | None = None) -> dict[str, dict[str, int]]:
        """Per check: results judged, passed, and per state (of one target, or all)."""
        counts: dict[str, dict[str, int]] = {}
        for (check, where), judged in self.judged.items():
            if target is None or where == target:
                row = counts.setdefault(check, dict.fromkeys(COLUMNS, 0))
                row["judged"] += judged
        for (_, check, where, _), state in self.result_states().items():
            if target is None or where == target:
                row = counts.setdefault(check, dict.fromkeys(COLUMNS, 0))
                row[state] += 1
        for row in counts.values():
            # A requirement helper can fail on more subjects than it was counted for: never negative.
            row["judged"] = max(row["judged"], sum(row[s] for s in STATES))
            row["pass"] = row["judged"] - sum(row[s] for s in STATES)
        return counts

    def control_counts(
        self,
        controls_of: Mapping[str, tuple[str, ...]],
        target: str | None = None,
        finding_controls_of: Mapping[str, tuple[str, ...]] | None = None,
    ) -> dict[str, dict[str, int]]:
        """Per control: the check counts of every check carrying it, plus the tests marked with it
        (a marked test counts as one result: pass, fail, or its gate state).

        ``finding_controls_of`` names, per check, the controls single findings carry
        (``Check.finding_controls``): each object the check judged was judged for each of them,
        and it fails one only through a finding that names it."""
        counts: dict[str, dict[str, int]] = {}
        check_rows = self.check_counts(target)
        for check, row in check_rows.items():
            for control in controls_of.get(check, ()):
                total = counts.setdefault(control, dict.fromkeys(COLUMNS, 0))
                for column in COLUMNS:
                    total[column] += row[column]
        if finding_controls_of:
            self._add_finding_controls(counts, check_rows, finding_controls_of, target)
        for test in self.tests.values():
            if test.outcome == "skipped" or (target is not None and test.target not in (None, target)):
                continue  # a skipped test judged nothing
            for control in test.controls:
                total = counts.setdefault(control, dict.fromkeys(COLUMNS, 0))
                total["judged"] += 1
                total[case_state(test)] += 1
        return counts

    def _add_finding_controls(
        self,
        counts: dict[str, dict[str, int]],
        check_rows: Mapping[str, Mapping[str, int]],
        finding_controls_of: Mapping[str, tuple[str, ...]],
        target: str | None,
    ) -> None:
        # (control, check) -> result -> its worst state among the findings that name the control.
        states: dict[tuple[str, str], dict[tuple[str, str, str], str]] = {}
        for finding in self.findings:
            own = finding_controls_of.get(finding["check"])
            if not own or (target is not None and finding["target"] != target):
                continue
            result = (finding["test"], finding["target"], finding.get("object") or finding["path"])
            for control in finding.get("controls", ()):
                if control in own:
                    found = states.setdefault((control, finding["check"]), {})
                    old = found.get(result)
                    if old is None or STATES.index(finding["state"]) < STATES.index(old):
                        found[result] = finding["state"]
        for check, controls in finding_controls_of.items():
            row = check_rows.get(check)
            if row is None:
                continue  # the check did not run
            for control in controls:
                total = counts.setdefault(control, dict.fromkeys(COLUMNS, 0))
                failing = states.get((control, check), {})
                total["judged"] += row["judged"]
                for state in failing.values():
                    total[state] += 1
                total["pass"] += max(row["judged"] - len(failing), 0)

    def state_totals(self) -> dict[str, int]:
        """Findings per state over the run."""
        totals = dict.fromkeys(STATES, 0)
        for finding in self.findings:
            totals[finding["state"]] += 1
        return totals


def case_state(test: CaseRecord) -> str:
    """``pass``, ``fail`` (failed or errored) or the gate state of a marked test."""
    if test.state is not None:
        return test.state
    return "pass" if test.outcome == "passed" else "fail"
