"""One place decides what a finding does to its test: fail, advisory, waived or baselined.

The gate is pure data (no pytest, no I/O): the pytest layer builds it once from the options and
hands it to the assertion helpers' one failure path, which asks it about every finding.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from pytest_k8ssec.checks._check import Severity
from pytest_k8ssec.policy.baseline import Baseline, fingerprint
from pytest_k8ssec.policy.waivers import Waiver, WaiverSet, annotation_waiver

if TYPE_CHECKING:
    from pytest_k8ssec.engine import Finding
    from pytest_k8ssec.model.objects import K8sObject

_NO_ANNOTATIONS: Mapping[str, str] = MappingProxyType({})


class State(str, enum.Enum):
    """What a finding does to its test."""

    #: Fails the test (at or above the gate, or under an expired waiver).
    FAIL = "fail"
    #: Below the gate (``--k8s-fail-on``): reported, the test does not fail.
    ADVISORY = "advisory"
    #: Matched a waiver that has not expired: reported with its reason, the test does not fail.
    WAIVED = "waived"
    #: Recorded in the baseline (``--k8s-baseline``): reported, the test does not fail.
    BASELINED = "baselined"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Subject:
    """What the gate judges: one finding (or one failed requirement) with its identity.

    ``severity`` and ``controls`` are effective values: the check's, or the test's own markers'.
    ``target`` is ``manifests`` or the cluster context the object was read from.
    """

    check: str
    severity: Severity
    controls: tuple[str, ...]
    target: str
    kind: str = ""
    group: str = ""
    namespace: str | None = None
    name: str = ""
    container: str | None = None
    path: str = ""
    # Not in the repr: annotations hold values (kubectl's last-applied-configuration copies a whole
    # Secret), and a traceback with --showlocals prints the subjects a helper holds.
    annotations: Mapping[str, str] = field(default_factory=lambda: _NO_ANNOTATIONS, compare=False, repr=False)

    @property
    def fingerprint(self) -> str:
        """Stable identity of the finding (object identity + check + field path; no line numbers)."""
        return fingerprint(self)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The gate's answer about one subject."""

    state: State
    fingerprint: str
    #: The waiver that waived the finding, or that had expired (then ``state`` is FAIL).
    waiver: Waiver | None = None
    expired: bool = False
    #: Why an annotation waiver on the object did not waive the finding (it is malformed).
    note: str | None = None

    @property
    def explanation(self) -> str | None:
        """What a failure message adds to the finding: an expired waiver, an ignored annotation."""
        if self.expired and self.waiver is not None:
            return f"waiver {self.waiver.key} expired on {self.waiver.expires.isoformat()}"
        return self.note

    @property
    def blocking(self) -> bool:
        """True when the finding fails its test."""
        return self.state is State.FAIL


@dataclass(frozen=True)
class Gate:
    """The run's rules: the severity gate, the waivers, the baseline, and today's date.

    The default gate fails on every finding, as a run without these options always did.
    ``annotation_waivers`` lets objects waive their own findings (``k8ssec.io/waive.<check>``):
    off unless the team's configuration turns it on, since whoever writes a manifest could
    otherwise silence the checks on it.
    """

    fail_on: Severity = Severity.INFO
    waivers: WaiverSet = field(default_factory=WaiverSet)
    baseline: Baseline | None = None
    today: datetime.date = field(default_factory=datetime.date.today)
    annotation_waivers: bool = False

    def judge_all(self, subjects: Sequence[Subject]) -> list[Outcome]:
        """``judge`` of each subject, in order."""
        if len(self.waivers) or self.annotation_waivers or self.baseline is not None:
            return [self.judge(subject) for subject in subjects]
        # Nothing to match a subject against: its severity alone decides (as judge would, through
        # _by_severity, inlined: a helper over thousands of workloads asks it per finding).
        fail_on, advisory, fail = self.fail_on, State.ADVISORY, State.FAIL
        return [Outcome(advisory if subject.severity < fail_on else fail, fingerprint(subject)) for subject in subjects]

    def judge(self, subject: Subject) -> Outcome:
        """Waivers first (an explicit decision, expired or not; the waiver file before the
        object's annotations), then the baseline, then severity."""
        mark = subject.fingerprint
        note = None
        waiver = self.waivers.match(subject)
        if waiver is None and self.annotation_waivers:
            waiver, note = annotation_waiver(subject)
        if waiver is not None:
            if waiver.expires < self.today:
                return Outcome(State.FAIL, mark, waiver, expired=True)
            return Outcome(State.WAIVED, mark, waiver)
        if self.baseline is not None and mark in self.baseline:
            return Outcome(State.BASELINED, mark, note=note)
        return self._by_severity(subject, mark, note)

    def _by_severity(self, subject: Subject, mark: str, note: str | None = None) -> Outcome:
        """Advisory below ``fail_on``, else a failure: what is left when nothing matched."""
        return Outcome(State.ADVISORY if subject.severity < self.fail_on else State.FAIL, mark, note=note)


def subject_of(
    finding: Finding, target: str, severity: Severity | None = None, controls: Sequence[str] = ()
) -> Subject:
    """The subject of a finding; ``severity`` and ``controls`` (the test's markers) override and
    extend the check's own."""
    return subjects_of((finding,), lambda _: target, severity, controls)[0]


# What a subject reads of its object, kept with the object (objects are immutable): every helper
# that finds something on an object asks for it again.
_IDENTITY = "gate.identity"


def _identity(obj: K8sObject) -> tuple[str, str, str | None, str, Mapping[str, str]]:
    return obj.kind, obj.api_group, obj.namespace, obj.name, obj.annotations


def subjects_of(
    findings: Sequence[Finding],
    target: Callable[[K8sObject], str],
    severity: Severity | None = None,
    controls: Sequence[str] = (),
) -> list[Subject]:
    """``subject_of`` of each finding (``target`` gives an object's target), in order.

    What a subject takes from the finding's check and object is worked out once per check and
    per object: a helper over thousands of workloads has thousands of findings from a few checks,
    several per failing object (and what it reads of the object is kept with the object).
    """
    by_check: dict[int, tuple[str, Severity, tuple[str, ...]]] = {}
    by_object: dict[int, tuple[str, str, str, str | None, str, Mapping[str, str]]] = {}
    subjects: list[Subject] = []
    append = subjects.append
    for finding in findings:
        check = finding.check
        own = by_check.get(id(check))
        if own is None:
            own = by_check[id(check)] = (
                check.id,
                check.severity if severity is None else severity,
                tuple(dict.fromkeys((*check.controls, *controls))),
            )
        obj = finding.obj
        about = by_object.get(id(obj))
        if about is None:
            about = by_object[id(obj)] = (target(obj), *obj.memo(_IDENTITY, _identity))
        violation = finding.violation
        # Positional, in the field order: keywords cost more per finding (a test compares the
        # subjects with ones built field by field).
        check_id, effective, merged = own
        if violation.controls:
            merged = tuple(dict.fromkeys((*check.controls, *violation.controls, *controls)))
        target_name, kind, group, namespace, name, annotations = about
        append(
            Subject(
                check_id, effective, merged, target_name, kind, group, namespace, name, violation.container,
                violation.path, annotations,
            )
        )  # fmt: skip
    return subjects
