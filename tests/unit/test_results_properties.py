"""The k8ssec.judged property's text form survives any target name; the results' states are worked out once."""

from __future__ import annotations

import json

import pytest

from pytest_k8ssec.reporting.results import (
    FINDING_PROPERTY,
    FINDINGS_PROPERTY,
    JUDGED_PROPERTY,
    RunResults,
    judged_value,
    parse_judged,
)


@pytest.mark.parametrize("target", ["manifests", "prod", "kind|odd|name", "ctx with spaces"])
def test_judged_values_round_trip(target: str) -> None:
    assert parse_judged(judged_value("privileged-container", target, 12)) == ("privileged-container", target, 12)


def test_judged_counts_add_up_per_check_and_target() -> None:
    results = RunResults()
    results.add_properties("t1", "passed", [(JUDGED_PROPERTY, judged_value("host-port", "prod", 2))])
    results.add_properties("t2", "passed", [(JUDGED_PROPERTY, judged_value("host-port", "prod", 3))])
    results.add_properties("t3", "passed", [(JUDGED_PROPERTY, judged_value("host-port", "stage", 1))])
    assert results.judged == {("host-port", "prod"): 5, ("host-port", "stage"): 1}
    assert results.check_counts("prod")["host-port"]["pass"] == 5


def _finding(test: str, obj: str, state: str = "fail") -> tuple[str, object]:
    record = {"check": "host-port", "target": "prod", "object": obj, "path": "spec", "state": state}
    return FINDING_PROPERTY, json.dumps(record)


def test_result_states_are_computed_once_per_set_of_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    results = RunResults()
    results.add_properties(
        "t1", "failed", [(JUDGED_PROPERTY, judged_value("host-port", "prod", 2)), _finding("t1", "a")]
    )
    computed: list[int] = []
    compute = RunResults._result_states

    def counted(self: RunResults) -> dict[tuple[str, str, str, str], str]:
        computed.append(len(self.findings))
        return compute(self)

    monkeypatch.setattr(RunResults, "_result_states", counted)
    # The summary asks per target and for all; every report file asks again.
    assert results.check_counts("prod") == results.check_counts() == results.check_counts("prod")
    assert results.control_counts({"host-port": ("CIS-5.2.13",)})["CIS-5.2.13"]["fail"] == 1
    assert computed == [1]
    # A new finding makes the states stale.
    results.add_properties(
        "t2", "failed", [(JUDGED_PROPERTY, judged_value("host-port", "prod", 1)), _finding("t2", "b")]
    )
    assert results.check_counts()["host-port"] == {
        "judged": 3, "pass": 1, "fail": 2, "advisory": 0, "baselined": 0, "waived": 0,
    }  # fmt: skip
    assert computed == [1, 2]


def test_a_finding_record_is_left_untracked_by_the_collector() -> None:
    # A run keeps every record to its end: a record the collector stops tracking after one full
    # collection is not walked again at every later one.
    import gc

    from pytest_k8ssec.checks import builtin_registry
    from pytest_k8ssec.engine import evaluate
    from pytest_k8ssec.policy.gate import Gate, subject_of
    from pytest_k8ssec.reporting.pytest_reports import finding_record
    from tests.builders import pod

    privileged = pod({"containers": [{"name": "app", "image": "nginx:1.25", "securityContext": {"privileged": True}}]})
    (finding,) = evaluate([builtin_registry().get("privileged-container")], [privileged])
    subject = subject_of(finding, "manifests", controls=("CIS-5.2.1",))
    records = [finding_record(finding), finding_record(finding, subject, Gate().judge(subject))]
    gc.collect()
    assert [gc.is_tracked(record) for record in records] == [False, False]
    assert json.loads(json.dumps(records[1]))["controls"] == list(subject.controls)


def test_a_findings_property_folds_each_record_in_order_as_single_ones_do() -> None:
    records = [
        {"check": "host-port", "target": "prod", "object": obj, "path": "spec", "state": state}
        for obj, state in (("a", "fail"), ("a", "waived"), ("b", "advisory"))
    ]
    batched, single = RunResults(), RunResults()
    batched.add_properties("t1", "failed", [(FINDINGS_PROPERTY, json.dumps(records))])
    single.add_properties("t1", "failed", [(FINDING_PROPERTY, json.dumps(r)) for r in records])
    assert batched.findings == single.findings == [{**r, "test": "t1"} for r in records]
    assert batched.check_counts() == single.check_counts()
    # The process that ran the test hands its records over as they are, never encoded.
    own = RunResults()
    own.add_properties("t2", "failed", [(FINDINGS_PROPERTY, [dict(r) for r in records])])
    assert own.findings == [{**r, "test": "t2"} for r in records]
