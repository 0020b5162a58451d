"""Judge an object and the copy ``kubectl apply`` recorded of it, for the credential checks.

The ``kubectl.kubernetes.io/last-applied-configuration`` annotation keeps what was applied: a
literal since removed from the spec is still readable there. A finding of the copy that the object
itself also has (same path, same value) is reported once, at the object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from pytest_k8ssec.checks._check import Violation
from pytest_k8ssec.model.credentials import LAST_APPLIED_PATH, last_applied

#: Findings of one object shape with the value each is about (to tell copies apart).
Judge = Callable[[Mapping[str, object]], Iterable[tuple[Violation, object]]]


def with_last_applied(raw: Mapping[str, object], judge: Judge) -> Iterator[Violation]:
    """``judge(raw)``'s violations, then those of the last-applied copy the object does not repeat."""
    found = set()
    for violation, value in judge(raw):
        found.add((violation.path, value))
        yield violation
    copy = last_applied(raw)
    if copy is None:
        return
    for violation, value in judge(copy):
        if (violation.path, value) not in found:
            yield Violation(
                f"{LAST_APPLIED_PATH}.{violation.path}",
                f"the last-applied-configuration annotation records: {violation.message}",
                violation.container,
            )
