"""evaluate(checks, objects) -> findings: the one place where checks meet objects."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pytest_k8ssec.checks._check import Check, CheckKind, Evaluate, Violation
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import is_workload


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

    Each (evaluation, object) pair is evaluated at most once per object's life (see ``memoized``):
    a second helper asking the same check of the same object reads the first one's violations.
    """
    return evaluate_judged(checks, objects).findings


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What ``evaluate_judged`` found, and which objects each check judged (in object order)."""

    findings: list[Finding]
    #: Aligned with the checks given: the objects each one applies to (none for a requirement check).
    judged: tuple[list[K8sObject], ...]


def evaluate_judged(checks: Iterable[Check], objects: Iterable[K8sObject]) -> Evaluation:
    """``evaluate``, also returning the objects each check judged: the reports' pass counts come
    from the same ``applies_to`` answers the engine acted on, not from asking again."""
    checks = tuple(checks)
    objects = objects if isinstance(objects, Sequence) else list(objects)
    judged: tuple[list[K8sObject], ...] = tuple([] for _ in checks)
    per_object = [
        (check, check.targets, check.evaluate, memoized(check.evaluate), judged[index])
        for index, check in enumerate(checks)
        if check.kind is CheckKind.OBJECT
    ]
    findings: list[Finding] = []
    append = findings.append
    for obj in objects:
        workload: bool | None = None
        memo: dict[Evaluate, tuple[Violation, ...]] = obj.memo(_MEMO, _new_memo)
        for check, targets, run, keep, mine in per_object:
            if targets is None:
                if workload is None:
                    workload = is_workload(obj)
                if not workload:
                    continue
            elif obj.kind not in targets:
                continue
            mine.append(obj)
            violations = memo.get(run) if keep else None
            if violations is None:
                violations = _violations(run, obj)
                if keep:
                    memo[run] = violations
            for violation in violations:
                append(Finding(check, obj, violation))
    for index, check in enumerate(checks):
        if check.kind is not CheckKind.SELECTION:
            continue
        mine = judged[index]
        mine.extend(obj for obj in objects if check.applies_to(obj))
        if not mine:
            continue
        assert check.evaluate_selection is not None  # the kind says so
        try:
            for obj, violation in check.evaluate_selection(objects):
                append(Finding(check, obj, violation))
        except Exception as exc:
            # No object to blame for the whole selection: every object the check judges fails.
            findings.extend(Finding(check, obj, _crashed(exc)) for obj in mine)
    return Evaluation(findings, judged)


# The per-object memo lives in the object's own cache: objects are immutable, so nothing
# invalidates it, and it goes when the object goes (no engine-wide table to clear or to leak).
_MEMO = "engine.violations"


def _new_memo(obj: K8sObject) -> dict[Evaluate, tuple[Violation, ...]]:
    return {}


def memoized(run: Evaluate) -> bool:
    """True when the engine may keep ``run``'s violations per object.

    The key is the evaluation itself (the function), never the ``Check``: ``Check`` equality
    ignores ``evaluate``, so two variants (``configure(...)``, ``dataclasses.replace``) compare
    equal while judging differently. Every built-in evaluation reads only the object (and
    constants: the PSS tables, the bootstrap roles, a variant's own parameters closed over when
    it was configured); one that reads or changes anything else marks itself
    ``_k8ssec_memo = False``: image-vulnerable's variants, which read scan reports and record
    which allow entries they used (and a memo entry would keep the reports alive as long as the
    objects).
    """
    return getattr(run, "_k8ssec_memo", True) is not False


def _violations(run: Evaluate, obj: K8sObject) -> tuple[Violation, ...]:
    found: list[Violation] = []
    try:
        found.extend(run(obj))
    except Exception as exc:
        # The violations yielded before the exception stay, as when they were appended one by one.
        found.append(_crashed(exc))
    return tuple(found) if found else ()


def _crashed(exc: Exception) -> Violation:
    # Only the exception's type: its text may quote a field value, and values can be secrets
    # (messages never carry values).
    return Violation(
        "",
        f"check could not evaluate the object ({type(exc).__name__} raised in the check); "
        "the object is probably malformed",
    )
