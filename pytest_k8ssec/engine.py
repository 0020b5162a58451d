"""evaluate(checks, objects) -> findings: the one place where checks meet objects."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pytest_k8ssec.checks._check import Check, CheckKind, Violation
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

    Object checks run per object; selection checks then run once over all ``objects`` (their
    findings follow, in check order); requirement checks judge no object on their own and are
    skipped (their helpers run them with the test's question).

    A check that raises on an object does not crash the run and does not pass: its exception
    becomes a finding of that check (fail closed), since it means the object is shaped in a way
    the check did not expect.
    """
    checks = tuple(checks)
    per_object = tuple(c for c in checks if c.kind is CheckKind.OBJECT)
    selections = tuple(c for c in checks if c.kind is CheckKind.SELECTION)
    objects = objects if isinstance(objects, Sequence) else list(objects)
    findings: list[Finding] = []
    append = findings.append
    for obj in objects:
        for check in per_object:
            if not check.applies_to(obj):
                continue
            try:
                for violation in check.evaluate(obj):
                    append(Finding(check, obj, violation))
            except Exception as exc:
                append(Finding(check, obj, _crashed(exc)))
    for check in selections:
        judged = [obj for obj in objects if check.applies_to(obj)]
        if not judged:
            continue
        assert check.evaluate_selection is not None  # the kind says so
        try:
            for obj, violation in check.evaluate_selection(objects):
                append(Finding(check, obj, violation))
        except Exception as exc:
            # No object to blame for the whole selection: every object the check judges fails.
            findings.extend(Finding(check, obj, _crashed(exc)) for obj in judged)
    return findings


def _crashed(exc: Exception) -> Violation:
    # Only the exception's type: its text may quote a field value, and values can be secrets
    # (messages never carry values).
    return Violation(
        "",
        f"check could not evaluate the object ({type(exc).__name__} raised in the check); "
        "the object is probably malformed",
    )
