"""Waivers: an explicit, expiring decision that a finding is accepted, with the reason.

Matching is pure; reading a waiver file (with the line of each entry) is ``sources``' job.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_k8ssec.policy.gate import Subject


@dataclass(frozen=True, slots=True)
class Waiver:
    """One waiver: what it covers (a check id or a control id, and globs over the target), why,
    until when, and who owns it. ``source`` is where it was written (``file:line``)."""

    reason: str
    expires: datetime.date
    check: str | None = None
    control: str | None = None
    context: str = "*"
    kind: str = "*"
    namespace: str = "*"
    name: str = "*"
    container: str | None = None
    owner: str | None = None
    ticket: str | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if self.check is None and self.control is None:
            raise ValueError("a waiver names a check or a control")
        if not self.reason.strip():
            raise ValueError("a waiver gives a reason")

    @property
    def key(self) -> str:
        """How reports refer to the waiver: where it was written, else what it covers."""
        return self.source or f"{self.check or self.control} {self.target}"

    @property
    def target(self) -> str:
        """The target pattern as written: ``Kind/namespace/name``."""
        return f"{self.kind}/{self.namespace}/{self.name}"

    def matches(self, subject: Subject) -> bool:
        """True when the waiver covers ``subject`` (every given pattern matches)."""
        if self.check is not None and self.check != subject.check:
            return False
        if self.control is not None and not any(fnmatchcase(c, self.control) for c in subject.controls):
            return False
        if self.container is not None and (
            subject.container is None or not fnmatchcase(subject.container, self.container)
        ):
            return False
        return (
            fnmatchcase(subject.target, self.context)
            and fnmatchcase(subject.kind, self.kind)
            and fnmatchcase(subject.namespace or "", self.namespace)
            and fnmatchcase(subject.name, self.name)
        )


class WaiverSet:
    """The run's waivers, in file order; the first that matches a subject waives it."""

    def __init__(self, waivers: Iterable[Waiver] = ()) -> None:
        self.waivers: Sequence[Waiver] = tuple(waivers)

    def __len__(self) -> int:
        return len(self.waivers)

    def match(self, subject: Subject) -> Waiver | None:
        """The first waiver covering ``subject``, or ``None``."""
        for waiver in self.waivers:
            if waiver.matches(subject):
                return waiver
        return None
