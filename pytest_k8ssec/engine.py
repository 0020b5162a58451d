"""evaluate(checks, objects) -> findings: the one place where checks meet objects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pytest_k8ssec.checks._check import Check, Violation
from pytest_k8ssec.model.objects import K8sObject


@dataclass(frozen=True, slots=True)
class Finding:
    """A violation of one check by one object (the object carries its provenance)."""

    check: Check
    obj: K8sObject
    violation: Violation

    @property
    def path(self) -> str:
        """Field path of the violation."""
        return self.violation.path

    @property
    def message(self) -> str:
        """What is wrong, naming the container."""
        return self.violation.message

    @property
    def container(self) -> str | None:
        """Name of the container at fault, if the violation is about one."""
        return self.violation.container


def evaluate(checks: Iterable[Check], objects: Iterable[K8sObject]) -> list[Finding]:
    """Run every applicable check on every object; findings come in object order, then check order.

    A check that raises on an object does not crash the run and does not pass: its exception
    becomes a finding of that check (fail closed), since it means the object is shaped in a way
    the check did not expect.
    """
    checks = tuple(checks)
    findings: list[Finding] = []
    append = findings.append
    for obj in objects:
        for check in checks:
            if not check.applies_to(obj):
                continue
            try:
                for violation in check.evaluate(obj):
                    append(Finding(check, obj, violation))
            except Exception as exc:
                # Only the exception's type: its text may quote a field value, and values can be
                # secrets (messages never carry values).
                message = (
                    f"check could not evaluate the object ({type(exc).__name__} raised in the check); "
                    "the object is probably malformed"
                )
                append(Finding(check, obj, Violation("", message)))
    return findings
