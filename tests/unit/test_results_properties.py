"""The k8ssec.judged property's text form survives any target name."""

from __future__ import annotations

import pytest

from pytest_k8ssec.reporting.results import JUDGED_PROPERTY, RunResults, judged_value, parse_judged


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
