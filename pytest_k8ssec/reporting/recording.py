"""Where assertion helpers leave their results for the pytest layer to report (passes included),
and where they find the running test's gate.

Context variables keep the helpers free of pytest: outside a test run nothing listens, no gate is
set, and the helpers work the same (every finding fails).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Final

from pytest_k8ssec.checks._check import Check, Severity
from pytest_k8ssec.engine import Finding
from pytest_k8ssec.model.objects import MANIFESTS_TARGET, K8sObject
from pytest_k8ssec.policy.gate import Gate, Outcome, Subject, subject_of, subjects_of

#: Target name of manifest objects (a live object's target is its cluster context).
MANIFESTS: Final = MANIFESTS_TARGET


def target_of(obj: K8sObject, default: str = MANIFESTS) -> str:
    """The target an object belongs to: the context it was listed from, ``manifests`` for one
    read from a file, else ``default`` (an object a test built, ``<dict>``: the test's target)."""
    provenance = obj.provenance
    if provenance.context is not None:
        return provenance.context
    return default if provenance.source.startswith("<") else MANIFESTS


@dataclass(frozen=True)
class HelperContext:
    """What the running test adds to its findings: its markers and target, and the run's gate."""

    gate: Gate = field(default_factory=Gate)
    #: ``@pytest.mark.k8s_severity``: overrides the severity of everything the test reports.
    severity: Severity | None = None
    #: ``@pytest.mark.k8s_control``: added to the controls of everything the test reports.
    controls: tuple[str, ...] = ()
    #: The test's target when it has one (a target-parametrized test), for results about no object.
    target: str = MANIFESTS

    def subject(self, finding: Finding) -> Subject:
        """The gate's subject for a finding of this test."""
        return subject_of(finding, target_of(finding.obj, self.target), self.severity, self.controls)

    def subjects(self, findings: Sequence[Finding]) -> list[Subject]:
        """``subject`` of each finding, in order (see ``policy.gate.subjects_of``)."""
        # target_of reads only the provenance's source: asked once per source, not per object
        # (thousands of failing workloads come from a few hundred files).
        by_source: dict[str, str] = {}

        def target(obj: K8sObject) -> str:
            source = obj.provenance.source
            found = by_source.get(source)
            if found is None:
                found = by_source[source] = target_of(obj, self.target)
            return found

        return subjects_of(findings, target, self.severity, self.controls)

    def requirement(self, check: Check, what: str, controls: Sequence[str] = ()) -> Subject:
        """The gate's subject for a failed requirement about no object (``what`` names it);
        ``controls``: those of the check's ``finding_controls`` the failure fails."""
        return Subject(
            check=check.id,
            severity=check.severity if self.severity is None else self.severity,
            controls=tuple(dict.fromkeys((*check.controls, *controls, *self.controls))),
            target=self.target,
            path=what,
        )


@dataclass(frozen=True)
class Judged:
    """How many objects of one target a check judged in one helper call."""

    check: str
    target: str
    objects: int


@dataclass(frozen=True)
class HelperResult:
    """One helper call: which checks ran on how many objects, what they found, and what the gate
    made of each finding (``outcomes`` pairs with ``findings``).

    ``failed`` names checks that failed without a finding on an object (a requirement answered
    "no" about a subject, a connection or a container, which are not manifests); ``requirement``
    holds the gate's subject and outcome of such a failure.
    """

    helper: str
    checks: tuple[Check, ...]
    objects: int
    findings: tuple[Finding, ...]
    failed: tuple[str, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    judged: tuple[Judged, ...] = ()
    requirement: tuple[tuple[Subject, Outcome], ...] = ()
    #: The gate's subject of each finding (pairs with ``findings``), when the helper asked the gate:
    #: the records reuse it instead of building it again.
    subjects: tuple[Subject, ...] = ()


RECORDER: ContextVar[list[HelperResult] | None] = ContextVar("k8ssec_recorder", default=None)
CONTEXT: ContextVar[HelperContext | None] = ContextVar("k8ssec_test_context", default=None)


def current() -> HelperContext:
    """The running test's context (outside a test run: the default gate, which fails everything)."""
    return CONTEXT.get() or _DEFAULT


_DEFAULT = HelperContext()


def record(
    helper: str,
    checks: Sequence[Check],
    objects: int,
    findings: Sequence[Finding],
    failed: Sequence[Check] = (),
    outcomes: Sequence[Outcome] = (),
    judged: Sequence[Judged] = (),
    requirement: Sequence[tuple[Subject, Outcome]] = (),
    subjects: Sequence[Subject] = (),
) -> None:
    """Hand a helper's result to the running test's report, if a test is running.

    A check with a finding failed; ``failed`` adds checks that failed without one. ``subjects``
    are the gate's subjects of ``findings`` when the helper has them.
    """
    sink = RECORDER.get()
    if sink is not None:
        sink.append(
            HelperResult(
                helper,
                tuple(checks),
                objects,
                tuple(findings),
                tuple(c.id for c in failed),
                tuple(outcomes),
                tuple(judged),
                tuple(requirement),
                tuple(subjects),
            )
        )
