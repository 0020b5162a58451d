"""Where assertion helpers leave their results for the pytest layer to report (passes included).

A context variable keeps the helpers free of pytest: outside a test run nothing listens, and the
helpers work the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from pytest_k8ssec.checks._check import Check
from pytest_k8ssec.engine import Finding


@dataclass(frozen=True)
class HelperResult:
    """One helper call: which checks ran on how many objects, and what they found.

    ``failed`` names checks that failed without a finding on an object (a requirement answered
    "no" about a subject, a connection or a container, which are not manifests).
    """

    helper: str
    checks: tuple[Check, ...]
    objects: int
    findings: tuple[Finding, ...]
    failed: tuple[str, ...] = ()


RECORDER: ContextVar[list[HelperResult] | None] = ContextVar("k8ssec_recorder", default=None)


def record(
    helper: str,
    checks: Sequence[Check],
    objects: int,
    findings: Sequence[Finding],
    failed: Sequence[Check] = (),
) -> None:
    """Hand a helper's result to the running test's report, if a test is running.

    A check with a finding failed; ``failed`` adds checks that failed without one.
    """
    sink = RECORDER.get()
    if sink is not None:
        sink.append(HelperResult(helper, tuple(checks), objects, tuple(findings), tuple(c.id for c in failed)))
