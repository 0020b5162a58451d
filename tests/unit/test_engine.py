"""The engine: a crashing check fails the object, and its finding never quotes field values."""

from __future__ import annotations

from collections.abc import Iterator

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
