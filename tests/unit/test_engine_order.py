"""Findings come in object order, then check order, then the order each check yielded them,
whether one check has findings (no sort) or several (sorted)."""

from __future__ import annotations

from collections.abc import Iterator

from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.model.objects import K8sObject, Provenance


def _check(check_id: str) -> Check:
    def evaluate(obj: K8sObject) -> Iterator[Violation]:
        yield Violation(f"{check_id}.first", obj.name)
        yield Violation(f"{check_id}.second", obj.name)

    return Check(
        id=check_id,
        title=check_id,
        summary="Test check.",
        remediation="Fix it.",
        category=Category.PRIVILEGES,
        severity=Severity.LOW,
        evaluate=evaluate,
    )


def _pods(count: int) -> list[K8sObject]:
    return [
        K8sObject({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}"}, "spec": {}}, Provenance("p.yaml"))
        for i in range(count)
    ]


def test_one_check_s_findings_keep_object_then_yield_order() -> None:
    pods = _pods(40)  # a selection the engine indexes
    found = evaluate([_check("check-a")], pods)
    assert [(f.obj.name, f.path) for f in found] == [
        (p.name, f"check-a.{n}") for p in pods for n in ("first", "second")
    ]


def test_several_checks_findings_are_sorted_by_object_then_check() -> None:
    pods = _pods(40)
    found = evaluate([_check("check-a"), _check("check-b")], pods)
    assert [(f.obj.name, f.path) for f in found] == [
        (p.name, f"{c}.{n}") for p in pods for c in ("check-a", "check-b") for n in ("first", "second")
    ]
