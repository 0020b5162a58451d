"""The Check record: declared once; messages, docs, reports and SARIF rules derive from it."""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar, cast

from pytest_k8ssec.checks._controls import known, unknown_message
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
    #: The control plane's and nodes' own settings (component flags, kubelet config, node files).
    CONTROL_PLANE = "control-plane"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Violation:
    """One thing wrong in one object: the field path, a message naming the container, the container.

    ``controls``: the controls this one violation fails besides its check's own, for a check whose
    findings each belong to another item of a benchmark (the control-plane flag checks: one CIS
    item per flag); each must be in the check's ``finding_controls``.
    """

    path: str
    message: str
    container: str | None = None
    controls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PssControl:
    """The Pod Security Standards control a check corresponds to (level, control name, since version)."""

    level: str
    control: str
    since: str


class CheckKind(str, enum.Enum):
    """What a check needs to reach a verdict (the docs say it per check)."""

    #: ``evaluate(obj)`` judges each object on its own.
    OBJECT = "object"
    #: ``evaluate_selection(objects)`` judges the objects it targets given the whole selection
    #: (a model built from all of them: NetworkPolicies for isolation, bindings and roles for RBAC).
    SELECTION = "selection"
    #: The verdict answers the test's own question (who may do what, which connection, which
    #: dry-run, which container): only the helpers named in ``helpers`` can ask it.
    REQUIREMENT = "requirement"

    def __str__(self) -> str:
        return self.value


Evaluate = Callable[[K8sObject], Iterable[Violation]]
#: Judges a whole selection; yields each violation with the object it is about (one of the input).
EvaluateSelection = Callable[[Sequence[K8sObject]], Iterable[tuple[K8sObject, Violation]]]


def _unset(obj: K8sObject) -> Iterable[Violation]:
    # Sentinel default of Check.evaluate: __post_init__ replaces it according to the kind.
    raise AssertionError("unreachable: Check.__post_init__ replaces the unset evaluate")


def _requirement_error(check_id: str, helpers: tuple[str, ...]) -> TypeError:
    names = " or ".join(f"{name}()" for name in helpers) or "its assertion helper"
    return TypeError(
        f"{check_id} is a requirement check: its verdict answers a question the test asks; "
        f"call {names} instead of running it on objects"
    )


@dataclass(frozen=True)
class Check:
    """A security check: stable id, human text, metadata, and a pure evaluation.

    ``targets`` is ``None`` for "any workload" (an object with a pod spec), otherwise the kinds
    the check applies to (and, for a selection check, the kinds it reports on).

    The kind follows from what the record is given (see ``CheckKind``): ``evaluate_selection``
    makes a selection check (its ``evaluate(obj)`` judges the selection of that one object);
    neither evaluator makes a requirement check (``evaluate`` raises ``TypeError`` naming
    ``helpers``, and its ``targets`` are empty: it applies to no object, so the engine never runs
    it on its own).
    ``controls`` are ids of the control catalog (``checks/_controls.py``: ``CIS-5.2.2``,
    ``NSA-pod-non-root``, ``PSS-baseline-privileged-containers``, ``MITRE-T1611``); a check claims
    a control when each of its findings is a violation of it. An unknown id is a ``ValueError``.
    ``parameters`` documents the defaults a parameterised check's evaluation uses; a helper runs
    another variant as ``dataclasses.replace(check, ...)`` of the registry record (the module's
    ``configure(...)`` where it has one), so the id and texts stay the record's.
    """

    id: str
    title: str
    summary: str
    remediation: str
    category: Category
    severity: Severity
    evaluate: Evaluate = field(default=_unset, repr=False, compare=False)
    targets: frozenset[str] | None = None
    controls: tuple[str, ...] = ()
    #: Controls a single finding may fail besides ``controls`` (its ``Violation.controls`` name
    #: which): a check that judges many items of a benchmark, where a control claimed by the check
    #: would have to hold for every finding.
    finding_controls: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    pss: PssControl | None = None
    evaluate_selection: EvaluateSelection | None = field(default=None, repr=False, compare=False)
    #: The assertion helpers that run this check (for a requirement check: the only way to run it).
    helpers: tuple[str, ...] = ()
    #: Default parameters of a parameterised check, as (name, value) pairs shown in the docs.
    parameters: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"check id {self.id!r} is not kebab-case")
        if not self.remediation.endswith("."):
            raise ValueError(f"remediation of {self.id} must be a sentence ending with a period")
        if set(self.controls) & set(self.finding_controls):
            # A control of the check holds for every finding: counting it per finding too would count it twice.
            raise ValueError(f"check {self.id}: a control is both the check's and a finding's")
        for control_id in (*self.controls, *self.finding_controls):
            # Reports count per control id and --k8s-controls selects by them: free text or a
            # typo would be a control nobody can select, so only catalog ids are accepted.
            if not known(control_id):
                raise ValueError(f"check {self.id}: {unknown_message(control_id)}")
        # A derived evaluate is re-derived, so dataclasses.replace(check, ...) keeps it in step.
        if self.evaluate is _unset or getattr(self.evaluate, "_k8ssec_derived", False):
            object.__setattr__(self, "evaluate", self._derived_evaluate())
        elif self.evaluate_selection is not None:
            raise ValueError(f"check {self.id} gives both evaluate and evaluate_selection; give one")
        if self.kind is CheckKind.REQUIREMENT:
            if not self.helpers:
                raise ValueError(f"requirement check {self.id} must name the helpers that run it")
            if self.targets != frozenset():
                # applies_to stays one cheap comparison in the engine's inner loop.
                raise ValueError(f"requirement check {self.id} judges no object alone: give targets=frozenset()")

    @property
    def kind(self) -> CheckKind:
        """What the check needs to reach a verdict."""
        if self.evaluate_selection is not None:
            return CheckKind.SELECTION
        if getattr(self.evaluate, "_k8ssec_requirement", False):
            return CheckKind.REQUIREMENT
        return CheckKind.OBJECT

    def _derived_evaluate(self) -> Evaluate:
        selection = self.evaluate_selection
        if selection is not None:

            def evaluate_alone(obj: K8sObject) -> list[Violation]:
                return [violation for subject, violation in selection([obj]) if subject is obj]

            evaluate_alone._k8ssec_derived = True  # type: ignore[attr-defined]
            return evaluate_alone
        check_id, helpers = self.id, self.helpers

        def refuse(obj: K8sObject) -> Iterable[Violation]:
            raise _requirement_error(check_id, helpers)

        refuse._k8ssec_derived = True  # type: ignore[attr-defined]
        refuse._k8ssec_requirement = True  # type: ignore[attr-defined]
        return refuse

    def requirement_error(self) -> TypeError:
        """The error for running a requirement check without its question (names its helpers)."""
        return _requirement_error(self.id, self.helpers)

    def applies_to(self, obj: K8sObject) -> bool:
        """True when this check judges objects of ``obj``'s kind (a requirement check judges none alone)."""
        if self.targets is None:
            return is_workload(obj)
        return obj.kind in self.targets


_Factory = TypeVar("_Factory", bound=Callable[..., Check])


def one_variant_per_argument(factory: _Factory) -> _Factory:
    """Cache a parameterised check's variants by their normalized (hashable) arguments.

    A per-workload test calls its helper once per object with the same arguments, and the
    engine's memo is keyed by the variant's evaluation: equal arguments must give the very same
    variant (building a ``Check`` also validates it each time).
    """
    return cast(_Factory, functools.lru_cache(maxsize=256)(factory))
