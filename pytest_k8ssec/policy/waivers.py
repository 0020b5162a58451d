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
        """The target pattern as written: ``Kind/namespace/name`` (``Kind/name``: cluster-scoped)."""
        if not self.namespace:
            return f"{self.kind}/{self.name}"
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


#: Annotation waivers: ``k8ssec.io/waive.<check-id>: "<reason>; expires=YYYY-MM-DD"`` on the object.
ANNOTATION_PREFIX = "k8ssec.io/waive."
_ANNOTATION_FIELDS = ("expires", "owner", "ticket")


def parse_date(text: str) -> datetime.date | None:
    """``YYYY-MM-DD`` as a date; anything else (another layout, an impossible day) is ``None``."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def annotation_waiver(subject: Subject) -> tuple[Waiver | None, str | None]:
    """The waiver an object's own annotation writes for the subject's check, or why it is ignored.

    The value is the reason, then ``; key=value`` fields: ``expires`` (required), ``owner`` and
    ``ticket``. A reason may hold ``;`` itself: only trailing parts naming a known field are fields.
    Returns ``(waiver, None)``, ``(None, problem)`` for a malformed annotation, or ``(None, None)``.
    """
    if not subject.check:
        return None, None
    key = ANNOTATION_PREFIX + subject.check
    value = subject.annotations.get(key)
    if value is None:
        return None, None
    where = f"annotation {key} on {_object(subject)}"
    if not isinstance(value, str):
        return None, f"{where} ignored: its value is not a string"
    parts = value.split(";")
    fields: dict[str, str] = {}
    while len(parts) > 1:
        name, sep, field_value = parts[-1].strip().partition("=")
        if not sep or name.strip() not in _ANNOTATION_FIELDS or name.strip() in fields:
            break
        fields[name.strip()] = field_value.strip()
        parts.pop()
    reason = ";".join(parts).strip()
    if not reason:
        return None, f'{where} ignored: no reason (write "<reason>; expires=YYYY-MM-DD")'
    if "expires" not in fields:
        return None, f'{where} ignored: no expiry (write "<reason>; expires=YYYY-MM-DD")'
    expires = parse_date(fields["expires"])
    if expires is None:
        return None, f"{where} ignored: expires={fields['expires']!r} is not a date (YYYY-MM-DD)"
    waiver = Waiver(
        reason=reason,
        expires=expires,
        check=subject.check,
        context=subject.target,
        kind=subject.kind,
        namespace=subject.namespace or "",
        name=subject.name,
        owner=fields.get("owner") or None,
        ticket=fields.get("ticket") or None,
        source=where,
    )
    return waiver, None


def _object(subject: Subject) -> str:
    if subject.namespace is None:
        return f"{subject.kind}/{subject.name}"
    return f"{subject.kind}/{subject.namespace}/{subject.name}"
