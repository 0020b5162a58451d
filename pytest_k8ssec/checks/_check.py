"""The Check record: declared once; messages, docs, reports and SARIF rules derive from it."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import is_workload

_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class Severity(enum.IntEnum):
    """How bad a violation is; gates compare against it."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    def __str__(self) -> str:
        return self.name.lower()


class Category(str, enum.Enum):
    """The domain of a check (groups the docs and the terminal summary)."""

    SCHEMA = "schema"
    PRIVILEGES = "privileges"
    HOST = "host-isolation"
    KERNEL = "kernel-hardening"
    SERVICE_ACCOUNTS = "service-accounts"
    RESOURCES = "resources"
    IMAGES = "images"
    CREDENTIALS = "credentials"
    RBAC = "rbac"
    NETWORK = "network"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Violation:
    """One thing wrong in one object: the field path, a message naming the container, the container."""

    path: str
    message: str
    container: str | None = None


@dataclass(frozen=True, slots=True)
class PssControl:
    """The Pod Security Standards control a check corresponds to (level, control name, since version)."""

    level: str
    control: str
    since: str


Evaluate = Callable[[K8sObject], Iterable[Violation]]


@dataclass(frozen=True)
class Check:
    """A security check: stable id, human text, metadata, and a pure ``evaluate(obj)``.

    ``targets`` is ``None`` for "any workload" (an object with a pod spec), otherwise the kinds
    the check applies to.
    """

    id: str
    title: str
    summary: str
    remediation: str
    category: Category
    severity: Severity
    evaluate: Evaluate = field(repr=False, compare=False)
    targets: frozenset[str] | None = None
    controls: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    pss: PssControl | None = None

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"check id {self.id!r} is not kebab-case")
        if not self.remediation.endswith("."):
            raise ValueError(f"remediation of {self.id} must be a sentence ending with a period")

    def applies_to(self, obj: K8sObject) -> bool:
        """True when this check judges objects of ``obj``'s kind."""
        if self.targets is None:
            return is_workload(obj)
        return obj.kind in self.targets
