"""evaluate(checks, objects) -> findings: the one place where checks meet objects."""

from __future__ import annotations

import gc
import operator
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

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
    selection = _selection(tuple(objects))
    judged: tuple[list[K8sObject], ...] = tuple([] for _ in checks)
    found: list[tuple[int, Check, Hits]] = []
    # A large selection's first evaluations are arranged for it (see _judge_together and
    # _pause_collector); a few objects' are a few allocations with no caches to keep warm, and
    # tests of one workload each make thousands of such calls.
    large = len(selection.objects) >= _SELECTION_MIN
    paused = large and _pause_collector()
    try:
        if large:
            selection.prepare([(c.evaluate, c.targets) for c in checks if c.kind is CheckKind.OBJECT])
        for index, check in enumerate(checks):
            if check.kind is not CheckKind.OBJECT:
                continue
            hits, mine = selection.judge(check.evaluate, check.targets)
            judged[index].extend(mine)
            if hits:
                found.append((index, check, hits))
    finally:
        if paused:
            gc.enable()
    if len(found) == 1:
        # One check's hits are in object order already: the common case (malformed-object,
        # which helpers add to every run, rarely finds anything) needs no entries and no sort.
        _, check, hits = found[0]
        findings = [Finding(check, obj, violation) for _, obj, violations in hits for violation in violations]
    else:
        # (position in objects, check index, finding): sorted into object order, then check order.
        entries: list[tuple[int, int, Finding]] = []
        for index, check, hits in found:
            for position, obj, violations in hits:
                entries.extend((position, index, Finding(check, obj, violation)) for violation in violations)
        # A stable sort: one object's violations of one check keep the order the check yielded them.
        entries.sort(key=_ORDER)
        findings = [finding for _, _, finding in entries]
    append = findings.append
    objects = selection.objects
    for index, check in enumerate(checks):
        if check.kind is not CheckKind.SELECTION:
            continue
        mine = judged[index]
        mine.extend(obj for _, obj in selection.candidates(check.targets))
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


# (position, check index) of an entry, in C: one Python call per finding was a visible share.
_ORDER: Final = operator.itemgetter(0, 1)


Candidates = list[tuple[int, K8sObject]]
Hits = list[tuple[int, K8sObject, tuple[Violation, ...]]]


class _Selection:
    """What the engine learnt about one sequence of objects: which of them each target set
    selects, and each memoized evaluation's violations over all of them.

    Suites ask many checks of the same objects (every ``assert_passes(check, k8s_inventory.objects)``
    of a compliance suite, eleven helpers over ``k8s_workloads``): without this, each call walked
    every object to ask ``applies_to`` and the per-object memo, and re-ran ``malformed-object``'s
    lookups over all of them. Objects are immutable and the sequence is compared by content, so
    nothing here goes stale.
    """

    __slots__ = ("_candidates", "_derived", "_memos", "_results", "objects")

    def __init__(self, objects: tuple[K8sObject, ...]) -> None:
        self.objects = objects
        self._candidates: dict[frozenset[str] | None, Candidates] = {}
        self._memos: dict[frozenset[str] | None, tuple[list[K8sObject], list[_Memo]]] = {}
        self._results: dict[Evaluate, tuple[Hits, list[K8sObject]]] = {}
        self._derived: dict[Hashable, Any] = {}

    def derived(self, key: Hashable, factory: Callable[[tuple[K8sObject, ...]], Any]) -> Any:
        """A value computed from these objects alone (``factory(objects)``), once per ``key``."""
        try:
            return self._derived[key]
        except KeyError:
            value = self._derived[key] = factory(self.objects)
            return value

    def candidates(self, targets: frozenset[str] | None) -> Candidates:
        """(position, object) of the objects a check with these ``targets`` applies to, in order."""
        found = self._candidates.get(targets)
        if found is None:
            if targets is None:
                found = [(position, obj) for position, obj in enumerate(self.objects) if is_workload(obj)]
            else:
                found = [(position, obj) for position, obj in enumerate(self.objects) if obj.kind in targets]
            self._candidates[targets] = found
        return found

    def _memos_of(self, targets: frozenset[str] | None, candidates: Candidates) -> tuple[list[K8sObject], list[_Memo]]:
        """The objects ``targets`` select and, aligned with them, each one's memo (made if new).

        Shared by every evaluation asked with these targets (callers copy the objects).
        """
        found = self._memos.get(targets)
        if found is None:
            mine = [obj for _, obj in candidates]
            found = self._memos[targets] = (mine, [obj.memo(_MEMO, _new_memo) for obj in mine])
        return found

    def prepare(self, asked: Sequence[tuple[Evaluate, frozenset[str] | None]]) -> None:
        """Evaluate the memoized evaluations of ``asked`` (evaluation, targets) not yet judged
        over these objects, object by object: all of an object's evaluations run one after the
        other, then the next object's (see ``_judge_together``)."""
        groups: dict[frozenset[str] | None, list[Evaluate]] = {}
        for run, targets in asked:
            if run not in self._results and memoized(run):
                group = groups.setdefault(targets, [])
                if run not in group:
                    group.append(run)
        for targets, runs in groups.items():
            self._judge_together(runs, targets)

    def judge(self, run: Evaluate, targets: frozenset[str] | None) -> tuple[Hits, list[K8sObject]]:
        """The violations of ``run`` over the objects ``targets`` select (only those with any),
        and the objects it judged."""
        keep = memoized(run)
        if keep:
            known = self._results.get(run)
            if known is not None:
                return known
        hits: Hits = []
        candidates = self.candidates(targets)
        mine, memos = self._memos_of(targets, candidates)
        if not keep:
            for position, obj in candidates:
                violations = _violations(run, obj)
                if violations:
                    hits.append((position, obj, violations))
        else:
            # The loop every (check, object) pair of a few objects goes through once (a large
            # selection's go through _judge_together's), with each object's memo found once per
            # selection, and the evaluation inlined (as _violations does it).
            for (position, obj), memo in zip(candidates, memos):
                kept = memo.get(run)
                if kept is None:
                    found: list[Violation] = []
                    try:
                        found.extend(run(obj))
                    except Exception as exc:
                        found.append(_crashed(exc))
                    kept = memo[run] = tuple(found) if found else ()
                if kept:
                    hits.append((position, obj, kept))
        if keep:
            self._results[run] = (hits, mine)
        return hits, mine

    def _judge_together(self, runs: list[Evaluate], targets: frozenset[str] | None) -> None:
        """Judge the memoized ``runs`` (all asked with ``targets``) over the objects, one object
        at a time, and keep each run's violations.

        Object-major on purpose: a run over thousands of objects reads each one's fields from
        memory the previous run's pass has long evicted from the CPU caches (the objects of a
        10k-object corpus take far more than the caches hold), while the runs of one object
        read the same few dicts. The order of a run's violations does not depend on it (each
        run's hits are collected in object order), and runs are pure (see ``memoized``).
        """
        candidates = self.candidates(targets)
        mine, memos = self._memos_of(targets, candidates)
        collected: list[tuple[Evaluate, Hits]] = [(run, []) for run in runs]
        # As judge's loop, with the object outside and the runs inside.
        for (position, obj), memo in zip(candidates, memos):
            for run, hits in collected:
                kept = memo.get(run)
                if kept is None:
                    found: list[Violation] = []
                    try:
                        found.extend(run(obj))
                    except Exception as exc:
                        found.append(_crashed(exc))
                    kept = memo[run] = tuple(found) if found else ()
                if kept:
                    hits.append((position, obj, kept))
        for run, hits in collected:
            self._results[run] = (hits, mine)


# The last few sequences of objects asked about. Small sequences (one workload per test) are not
# kept: building their index costs less than looking it up, and thousands would pile up.
_SELECTIONS: dict[tuple[K8sObject, ...], _Selection] = {}
_SELECTIONS_KEPT = 4
_SELECTION_MIN = 32


def derived(objects: Sequence[K8sObject], key: Hashable, factory: Callable[[tuple[K8sObject, ...]], Any]) -> Any:
    """``factory(objects)``, kept with the engine's index of these objects (the same objects asked
    again, in the same order, get the same value): for what callers derive from a whole selection,
    e.g. the reports' target per object. ``key`` names the derivation and what it depends on."""
    return _selection(tuple(objects)).derived(key, factory)


def _selection(objects: tuple[K8sObject, ...]) -> _Selection:
    if len(objects) < _SELECTION_MIN:
        return _Selection(objects)
    # Hashing and comparing the tuple are C loops over object identities: far cheaper than the
    # Python loop over the objects they save.
    found = _SELECTIONS.pop(objects, None)
    if found is None:
        found = _Selection(objects)
        if len(_SELECTIONS) >= _SELECTIONS_KEPT:
            del _SELECTIONS[next(iter(_SELECTIONS))]
    _SELECTIONS[objects] = found  # most recently used last
    return found


# The per-object memo lives in the object's own cache: objects are immutable, so nothing
# invalidates it, and it goes when the object goes (no engine-wide table to clear or to leak).
_MEMO = "engine.violations"
_Memo = dict[Evaluate, tuple[Violation, ...]]


def _new_memo(obj: K8sObject) -> _Memo:
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


def _pause_collector() -> bool:
    """Keep Python's cyclic garbage collector from running while checks are evaluated; True when
    it was running (the caller resumes it), False when the caller had already stopped it.

    A first evaluation over thousands of objects allocates a few hundred thousand small values
    (memo tuples and dicts, violations, container refs) and frees few: every few hundred
    allocations the collector ran, and every few of those it walked everything allocated since
    the loaded objects were frozen. None of it forms a reference cycle that needs the collector
    (tuples, dicts and records that point down to the objects, never back; a check's generator
    is finished or closed when its evaluation ends, and ``except ... as`` unbinds the exception),
    so reference counting frees whatever is dropped, and a cycle a custom check might build is
    collected once the collector resumes, at the end of the evaluation.
    """
    if not gc.isenabled():
        return False
    gc.disable()
    return True


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
