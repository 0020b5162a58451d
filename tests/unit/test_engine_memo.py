"""The engine's memo: each (evaluation, object) pair is evaluated once; helpers read the results.

No timing here (figures are in benchmarks/): these tests count evaluations, so they fail when the
mechanism breaks, and check that memoized answers are the answers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_k8ssec import assert_no_host_namespaces, assert_no_host_path, assert_not_privileged, assert_passes
from pytest_k8ssec.asserts._failure import _judged, _targets, judged_counts
from pytest_k8ssec.checks import (
    builtin_registry,
    capabilities_added,
    host_path_volume,
    image_registry_not_allowed,
    image_vulnerable,
    malformed_object,
    sensitive_host_path,
)
from pytest_k8ssec.checks._check import Category, Check, Severity, Violation
from pytest_k8ssec.checks.pss._helpers import Outcome
from pytest_k8ssec.checks.pss._registry import judge
from pytest_k8ssec.engine import evaluate, evaluate_judged
from pytest_k8ssec.errors import SecurityAssertionError
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.model.workloads import PodSpecRef, pod_spec
from pytest_k8ssec.reporting import recording
from pytest_k8ssec.sources.manifests import load_text


def _pod(name: str = "p", **spec: Any) -> K8sObject:
    raw = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "n"},
        "spec": {"containers": [{"name": "c", "image": "registry.example.com/app@sha256:" + "a" * 64}], **spec},
    }
    return K8sObject(raw, Provenance("pods.yaml", 1))


def _counting(calls: list[str], *, crash: bool = False) -> Check:
    def evaluate_counted(obj: K8sObject) -> Iterator[Violation]:
        calls.append(obj.name)
        yield Violation("spec", "first violation")
        if crash:
            raise KeyError("boom")

    return Check(
        id="counted",
        title="Counted",
        summary="Counts its evaluations.",
        remediation="Nothing.",
        category=Category.SCHEMA,
        severity=Severity.LOW,
        evaluate=evaluate_counted,
        targets=frozenset({"Pod"}),
    )


def _lines(findings: list[Any]) -> list[tuple[str, str, str, str]]:
    return [(f.check.id, f.obj.ref, f.path, f.message) for f in findings]


def test_a_check_is_evaluated_once_per_object_across_helper_calls() -> None:
    calls: list[str] = []
    check = _counting(calls)
    pods = [_pod("a"), _pod("b")]
    messages = []
    for _ in range(2):
        with pytest.raises(SecurityAssertionError) as info:
            assert_passes(check, pods)
        messages.append(str(info.value))
    assert calls == ["a", "b"]
    assert messages[0] == messages[1]
    # The engine's own calls read the same memo, with the same findings.
    lines = _lines(evaluate([check], pods))
    assert lines == [
        ("counted", "Pod/n/a", "spec", "first violation"),
        ("counted", "Pod/n/b", "spec", "first violation"),
    ]
    assert calls == ["a", "b"]


def test_a_crash_is_memoized_and_still_fails_closed() -> None:
    calls: list[str] = []
    check = _counting(calls, crash=True)
    pod = _pod()
    first = _lines(evaluate([check], [pod]))
    second = _lines(evaluate([check], [pod]))
    assert calls == ["p"]
    assert first == second
    # What the check yielded before it raised stays, then the crash finding (as without the memo).
    assert first[0][3] == "first violation"
    assert "KeyError raised in the check" in first[1][3]
    with pytest.raises(SecurityAssertionError, match="KeyError raised in the check"):
        assert_passes(check, pod)
    assert calls == ["p"]


def test_the_memo_is_keyed_by_the_evaluation_not_by_check_equality() -> None:
    calls: list[str] = []
    check = _counting(calls)

    def never(obj: K8sObject) -> Iterator[Violation]:
        return iter(())

    quiet = dataclasses.replace(check, evaluate=never)
    assert quiet == check  # evaluate does not take part in equality
    pod = _pod()
    assert len(evaluate([check], [pod])) == 1
    assert evaluate([quiet], [pod]) == []
    assert len(evaluate([check], [pod])) == 1
    assert calls == ["p"]


def test_malformed_object_is_evaluated_once_per_object_whatever_the_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    validated: list[str] = []
    real = malformed_object._validate

    def counted(value: object, spec: Any, path: str) -> list[Violation]:
        validated.append(path)
        return real(value, spec, path)

    monkeypatch.setattr(malformed_object, "_validate", counted)
    pod = _pod()
    assert_not_privileged(pod)
    first = len(validated)
    assert first  # the pod spec and its container
    assert_no_host_namespaces(pod)
    assert_no_host_path(pod)
    assert len(validated) == first


def test_configure_with_equal_arguments_gives_one_evaluation() -> None:
    assert capabilities_added.configure(["NET_BIND_SERVICE"]) is capabilities_added.configure(("NET_BIND_SERVICE",))
    # Normalized paths are the same arguments.
    assert host_path_volume.configure(["/var/log/"]) is host_path_volume.configure(["/var/log"])
    assert sensitive_host_path.configure(["/proc"]) is sensitive_host_path.configure(("/proc",))
    same = image_registry_not_allowed.configure(allowed=["registry.example.com/"])
    assert image_registry_not_allowed.configure(allowed=["registry.example.com/"]) is same


def test_configure_variants_with_other_arguments_do_not_share_results() -> None:
    pod = _pod(volumes=[{"name": "logs", "hostPath": {"path": "/var/log"}}])
    strict, loose = host_path_volume.configure([]), host_path_volume.configure(["/var/log"])
    assert strict == loose  # equal records, different evaluations
    assert len(evaluate([strict], [pod])) == 1
    assert evaluate([loose], [pod]) == []
    assert len(evaluate([strict], [pod])) == 1
    with pytest.raises(SecurityAssertionError):
        assert_no_host_path(pod)
    assert_no_host_path(pod, allow=["/var/log"])


def test_image_vulnerable_variants_are_not_memoized() -> None:
    # Their verdict reads the scan reports, and the judge records what it used while it evaluates.
    calls: list[str] = []

    def judge(obj: K8sObject) -> Iterator[Violation]:
        calls.append(obj.name)
        return iter(())

    check = image_vulnerable.configure(judge)
    pod = _pod()
    evaluate([check], [pod])
    evaluate([check], [pod])
    assert calls == ["p", "p"]


def test_an_object_given_twice_is_reported_twice_as_before() -> None:
    calls: list[str] = []
    check = _counting(calls)
    pod = _pod()
    result = evaluate_judged([check], [pod, pod])
    assert len(result.findings) == 2
    assert result.judged == ([pod, pod],)
    assert calls == ["p"]


MIXED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: app, image: nginx, securityContext: {privileged: true}}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}}
---
apiVersion: example.com/v1
kind: Deployment
metadata: {name: not-a-workload}
"""


def _old_judged(checks: list[Check], objects: list[K8sObject]) -> list[recording.Judged]:
    # The computation the helpers used before the engine returned what it judged.
    default = recording.current().target
    targets = [recording.target_of(obj, default) for obj in objects]
    judged: list[recording.Judged] = []
    for check in checks:
        counts: dict[str, int] = {}
        for obj, target in zip(objects, targets):
            if check.applies_to(obj):
                counts[target] = counts.get(target, 0) + 1
        judged.extend(recording.Judged(check.id, target, count) for target, count in counts.items())
    return judged


def test_judged_counts_from_the_engine_equal_asking_applies_to_again() -> None:
    loaded = load_text(MIXED, "mixed.yaml")
    cluster = K8sObject(
        dict(loaded[0].raw, metadata={"name": "live", "namespace": "shop"}), Provenance.of_cluster("prod")
    )
    plain = K8sObject({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "d"}, "spec": {}}, Provenance("<dict>"))
    objects = [*loaded, cluster, plain, loaded[0]]
    checks = list(builtin_registry())
    result = evaluate_judged(checks, objects)
    expected = _old_judged(checks, objects)
    assert judged_counts(checks, objects, result.judged) == expected
    assert _judged(checks, objects) == expected
    assert {j.target for j in expected} >= {"manifests", "prod"}


def test_judged_counts_of_objects_with_one_target_are_the_lengths() -> None:
    objects = [*load_text(MIXED, "mixed.yaml"), *load_text(MIXED, "again.yaml")]
    checks = list(builtin_registry())
    result = evaluate_judged(checks, objects)
    # One target for all: judged_counts takes each check's count from its length (no loop).
    assert _targets(objects, default="manifests")[1] == "manifests"
    assert judged_counts(checks, objects, result.judged) == _old_judged(checks, objects)


def test_a_pss_control_is_judged_once_per_object_for_every_check_built_on_it() -> None:
    calls: list[str] = []

    def control(pod: PodSpecRef, obj: K8sObject) -> Outcome:
        calls.append(obj.name)
        return Outcome(False, "reason", "detail", (f"{pod.path}.containers[0]",))

    pod = _pod()
    ref = pod_spec(pod)
    assert ref is not None
    first = judge(control, ref, pod)
    assert judge(control, ref, pod) is first
    assert calls == ["p"]
    # Another object is judged on its own.
    judge(control, ref, _pod("q"))
    assert calls == ["p", "q"]


def _naive(checks: list[Check], objects: list[K8sObject]) -> list[tuple[str, str, str]]:
    # The engine's contract, written the slow way: object order, then check order, every object
    # given as often as it is given.
    return [
        (check.id, obj.name, violation.path)
        for obj in objects
        for check in checks
        if check.applies_to(obj)
        for violation in check.evaluate(obj)
    ]


def test_a_large_selection_is_judged_as_object_order_then_check_order_and_asked_again_for_free() -> None:
    # Past a few dozen objects the engine indexes the selection (which objects each check
    # applies to, each evaluation's violations over all of them) and reuses it for the same
    # objects: the answers must be the slow way's, in its order, duplicates included.
    calls: list[str] = []

    def host_pid(obj: K8sObject) -> Iterator[Violation]:
        calls.append(obj.name)
        if obj.raw["spec"].get("hostPID"):
            yield Violation("spec.hostPID", "shares the host's PID namespace")
            yield Violation("spec.hostPID", "a second violation keeps its place")

    counting = Check(
        id="counting-host-pid",
        title="t",
        summary="s",
        remediation="Fix it.",
        category=Category.HOST,
        severity=Severity.HIGH,
        evaluate=host_pid,
    )
    privileged = builtin_registry().get("privileged-container")
    privileged_container = {"name": "c", "image": "app:1", "securityContext": {"privileged": True}}
    pods = [
        _pod(f"p{index}", hostPID=index % 3 == 0, **({"containers": [privileged_container]} if index % 4 == 0 else {}))
        for index in range(40)
    ]
    service = K8sObject({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}, Provenance("<dict>"))
    objects = [*pods[:20], service, pods[5], *pods[20:]]  # a non-workload, and one pod given twice
    checks = [privileged, counting]
    expected = _naive(checks, objects)
    assert {check for check, _, _ in expected} == {"privileged-container", "counting-host-pid"}
    calls.clear()
    result = evaluate_judged(checks, objects)
    assert [(f.check.id, f.obj.name, f.path) for f in result.findings] == expected
    assert [len(mine) for mine in result.judged] == [41, 41]  # the Service is not a workload
    assert len(calls) == 40  # the pod given twice is evaluated once
    again = evaluate_judged(checks, list(objects))  # an equal list: the same selection
    assert [(f.check.id, f.obj.name, f.path) for f in again.findings] == expected
    assert len(calls) == 40


def test_the_checks_of_one_call_are_evaluated_object_by_object() -> None:
    # Each object's evaluations run one after the other (its fields are still in the CPU's
    # caches), then the next object's; the findings keep object order, then check order.
    calls: list[tuple[str, str]] = []

    def recording(name: str) -> Check:
        def evaluate_recorded(obj: K8sObject) -> Iterator[Violation]:
            calls.append((name, obj.name))
            yield Violation("spec", f"{name} violation")

        return dataclasses.replace(_counting([]), id=name, evaluate=evaluate_recorded)

    first, second = recording("first"), recording("second")
    pods = [_pod(f"p{index}") for index in range(40)]  # past the engine's index threshold
    findings = evaluate([first, second], pods)
    assert calls == [(name, f"p{index}") for index in range(40) for name in ("first", "second")]
    assert [(f.check.id, f.obj.name) for f in findings] == calls
    # A few objects (one workload per test) keep the plain check-by-check loop: nothing to gain.
    calls.clear()
    few = [_pod("a"), _pod("b")]
    evaluate([recording("third"), recording("fourth")], few)
    assert calls == [("third", "a"), ("third", "b"), ("fourth", "a"), ("fourth", "b")]


def test_the_collector_is_paused_while_checks_run_and_resumed_after() -> None:
    import gc

    seen: list[bool] = []

    def evaluate_seen(obj: K8sObject) -> Iterator[Violation]:
        seen.append(gc.isenabled())
        return iter(())

    check = dataclasses.replace(_counting([]), evaluate=evaluate_seen)
    pods = [_pod(f"a{index}") for index in range(40)]  # past the engine's index threshold
    assert gc.isenabled()
    evaluate([check], pods)
    assert seen == [False] * 40
    assert gc.isenabled()
    # A collector the caller turned off stays off.
    gc.disable()
    try:
        evaluate([check], [_pod(f"b{index}") for index in range(40)])
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert seen == [False] * 80
    # One workload per test: a few allocations, the collector is left alone.
    evaluate([check], [_pod("c")])
    assert seen[-1] is True


def test_a_control_asked_through_outcome_shares_judge_s_memo() -> None:
    from pytest_k8ssec.checks.pss._registry import Control, Versioned, outcome, v

    calls: list[str] = []

    def newest(pod: PodSpecRef, obj: K8sObject) -> Outcome:
        calls.append(obj.name)
        return Outcome(False, "reason", "detail", (f"{pod.path}.containers[0]",))

    control = Control("counted", "baseline", (Versioned(v(1, 0), newest),), "pss-counted")
    pod = _pod()
    ref = pod_spec(pod)
    assert ref is not None
    first = outcome(control, pod)
    assert outcome(control, pod) is first
    assert judge(newest, ref, pod) is first
    assert outcome(control, pod, v(1, 30)) is first
    assert calls == ["p"]
