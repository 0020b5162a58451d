"""The gate's batch paths (a helper's findings at once) give what the per-finding paths give."""

from __future__ import annotations

import datetime

import pytest

from pytest_k8ssec.checks import builtin_registry
from pytest_k8ssec.checks._check import Severity
from pytest_k8ssec.engine import Finding, evaluate
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.policy import baseline as baseline_module
from pytest_k8ssec.policy.baseline import Baseline, fingerprint, stable_path
from pytest_k8ssec.policy.gate import Gate, Subject, subject_of, subjects_of
from pytest_k8ssec.policy.waivers import Waiver, WaiverSet
from pytest_k8ssec.reporting.recording import HelperContext, target_of

TODAY = datetime.date(2026, 6, 1)


def _pod(name: str, provenance: Provenance, **context: object) -> K8sObject:
    raw = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "annotations": {"team": "a"}},
        "spec": {
            "hostNetwork": True,
            "containers": [
                {"name": "app", "image": "nginx", "securityContext": dict(context)},
                {"name": "side", "image": "busybox:latest", "securityContext": {"privileged": True}},
            ],
        },
    }
    return K8sObject(raw, provenance)


def _subjects() -> list[Subject]:
    objects = [
        _pod("a", Provenance("pods.yaml", 1), runAsUser=0),
        _pod("b", Provenance.of_cluster("prod")),
        _pod("c", Provenance("<dict>"), privileged=True),
    ]
    findings = evaluate(builtin_registry(), objects)
    assert len({f.check.id for f in findings}) > 5
    context = HelperContext(severity=Severity.LOW, controls=("ORG-1", "CIS-5.2.2"), target="stage")
    marked = [_built(f, target_of(f.obj, "stage"), Severity.LOW, ("ORG-1", "CIS-5.2.2")) for f in findings]
    assert context.subjects(findings) == marked
    assert [context.subject(finding) for finding in findings] == marked
    plain = [_built(f, target_of(f.obj)) for f in findings]
    assert subjects_of(findings, target_of) == plain
    assert [subject_of(f, target_of(f.obj)) for f in findings] == plain
    assert [s.annotations for s in subjects_of(findings, target_of)] == [s.annotations for s in plain]
    return plain


def _built(finding: Finding, target: str, severity: Severity | None = None, controls: tuple[str, ...] = ()) -> Subject:
    """A finding's subject, field by field: the test's markers override the check's severity and
    add to its controls (each control once)."""
    obj = finding.obj
    return Subject(
        check=finding.check.id,
        severity=finding.check.severity if severity is None else severity,
        controls=tuple(dict.fromkeys((*finding.check.controls, *controls))),
        target=target,
        kind=obj.kind,
        group=obj.api_group,
        namespace=obj.namespace,
        name=obj.name,
        container=finding.container,
        path=finding.path,
        annotations=obj.annotations,
    )


def test_subjects_of_a_batch_equal_each_finding_s_subject() -> None:
    assert {s.target for s in _subjects()} == {"manifests", "prod"}


@pytest.mark.parametrize(
    "gate",
    [
        Gate(today=TODAY),
        Gate(fail_on=Severity.HIGH, today=TODAY),
        Gate(waivers=WaiverSet([Waiver("known", datetime.date(2027, 1, 1), check="host-namespaces")]), today=TODAY),
        Gate(annotation_waivers=True, today=TODAY),
        Gate(baseline=Baseline(["0" * 32]), today=TODAY),
    ],
    ids=["default", "fail-on-high", "waivers", "annotation-waivers", "baseline"],
)
def test_judge_all_equals_judge_of_each(gate: Gate) -> None:
    subjects = _subjects()
    if gate.baseline is not None:
        gate = Gate(baseline=Baseline([fingerprint(subjects[0])]), today=TODAY)
    assert gate.judge_all(subjects) == [gate.judge(subject) for subject in subjects]


def test_stable_path_is_worked_out_once_per_path_and_container(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = baseline_module._CONTAINER_INDEX

    class Counted:
        def sub(self, *args: object, **kwargs: object) -> str:
            calls.append(str(args[1]))
            return real.sub(*args, **kwargs)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(baseline_module, "_CONTAINER_INDEX", Counted())
    monkeypatch.setattr(baseline_module, "_STABLE", {})
    path = "spec.template.spec.initContainers[3].securityContext.privileged"
    assert stable_path(path, "app") == "spec.template.spec.initContainers[name=app].securityContext.privileged"
    assert stable_path(path, "app") == "spec.template.spec.initContainers[name=app].securityContext.privileged"
    assert stable_path(path, "web") == "spec.template.spec.initContainers[name=web].securityContext.privileged"
    assert calls == [path, path]


def test_a_helper_s_subjects_ask_each_source_s_target_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_k8ssec.reporting import recording

    asked: list[str] = []

    def counted(obj: K8sObject, default: str = recording.MANIFESTS) -> str:
        asked.append(obj.provenance.source)
        return target_of(obj, default)

    monkeypatch.setattr(recording, "target_of", counted)
    objects = [
        *(_pod(f"f{index}", Provenance("pods.yaml", index)) for index in range(3)),
        *(_pod(f"c{index}", Provenance.of_cluster("prod")) for index in range(2)),
        _pod("d", Provenance("<dict>")),
    ]
    findings = evaluate(builtin_registry(), objects)
    subjects = HelperContext(target="stage").subjects(findings)
    assert sorted(asked) == ["<dict>", "cluster prod", "pods.yaml"]
    assert {(s.name, s.target) for s in subjects} == {
        ("f0", "manifests"), ("f1", "manifests"), ("f2", "manifests"),
        ("c0", "prod"), ("c1", "prod"), ("d", "stage"),
    }  # fmt: skip
