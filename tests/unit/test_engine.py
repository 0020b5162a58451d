"""The engine: a crashing check fails the object, and its finding never quotes field values."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.model.objects import K8sObject, Provenance

PLANTED = "hunter2-very-secret-value"


def _crashing(obj: K8sObject) -> Iterator[Violation]:
    value = obj.raw["data"]["password"]
    raise ValueError(f"invalid literal: {value!r}")
    yield  # pragma: no cover - makes this a generator like real checks


def test_a_crashing_check_fails_closed_without_quoting_the_value() -> None:
    check = Check(
        id="crashes",
        title="Crashes",
        summary="Always crashes.",
        remediation="Nothing.",
        category=Category.CREDENTIALS,
        severity=Severity.LOW,
        evaluate=_crashing,
        targets=frozenset({"Secret"}),
    )
    obj = K8sObject(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": PLANTED}},
        Provenance("<test>"),
    )
    findings = evaluate([check], [obj])
    assert len(findings) == 1
    assert "ValueError" in findings[0].message
    assert PLANTED not in findings[0].message


def _pod(name: str) -> K8sObject:
    raw = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "n"}, "spec": {"containers": []}}
    return K8sObject(raw, Provenance("pods.yaml", 1))


def _selection_check(evaluate_selection: object) -> Check:
    return Check(
        id="names-unique",
        title="Names unique",
        summary="Pod names are unique across the selection.",
        remediation="Rename one.",
        category=Category.SCHEMA,
        severity=Severity.LOW,
        evaluate_selection=evaluate_selection,  # type: ignore[arg-type]
        targets=frozenset({"Pod"}),
    )


def test_a_selection_check_sees_every_object_once_and_reports_on_the_ones_it_names() -> None:
    calls: list[int] = []

    def duplicates(objects: Sequence[K8sObject]) -> Iterator[tuple[K8sObject, Violation]]:
        calls.append(len(objects))
        seen: set[str] = set()
        for obj in objects:
            if obj.name in seen:
                yield obj, Violation("metadata.name", f"name {obj.name} is used twice")
            seen.add(obj.name)

    pods = [_pod("a"), _pod("b"), _pod("a")]
    findings = evaluate([_selection_check(duplicates)], iter(pods))
    assert calls == [3]
    assert [(f.obj, f.path) for f in findings] == [(pods[2], "metadata.name")]
    # Judged alone (evaluate(obj)), an object is its own selection.
    assert list(_selection_check(duplicates).evaluate(pods[0])) == []


def test_a_crashing_selection_check_fails_every_object_it_judges() -> None:
    def crash(objects: Sequence[K8sObject]) -> Iterator[tuple[K8sObject, Violation]]:
        raise ValueError(PLANTED)

    pods = [_pod("a"), _pod("b")]
    findings = evaluate([_selection_check(crash)], pods)
    assert [f.obj for f in findings] == pods
    assert all("ValueError raised in the check" in f.message and PLANTED not in f.message for f in findings)
