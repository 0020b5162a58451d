"""A check that judges many items of a benchmark names each finding's own control: the control-plane
flag checks carry the CIS item of each finding to the gate (waivers, --k8s-controls), the reports'
control counts and SARIF, and the docs list them as covered."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

from pytest_k8ssec.checks import builtin_registry
from pytest_k8ssec.checks._check import Category, Check, Severity
from pytest_k8ssec.checks._docs import render, render_controls
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.policy.gate import subjects_of
from pytest_k8ssec.policy.waivers import Waiver, WaiverSet
from pytest_k8ssec.reporting.results import FINDINGS_PROPERTY, JUDGED_PROPERTY, RunResults, judged_value
from pytest_k8ssec.sources.manifests import load

DATA = Path(__file__).parents[1] / "data" / "checks"
COMPONENT_CHECKS = (
    "apiserver-flag-insecure",
    "controller-manager-flag-insecure",
    "scheduler-flag-insecure",
    "etcd-flag-insecure",
    "kubelet-config-insecure",
)


@pytest.mark.parametrize("check_id", COMPONENT_CHECKS)
def test_every_finding_names_its_cis_item_among_the_checks_finding_controls(check_id: str) -> None:
    check = builtin_registry().get(check_id)
    assert check.finding_controls and all(c.startswith("CIS-") for c in check.finding_controls)
    files = sorted((DATA / check_id).glob("fail-*.yaml"))
    findings = [f for path in files for f in evaluate([check], load([str(path)]).objects)]
    assert findings, check_id
    named = [f for f in findings if f.violation.controls]
    # Every finding whose rule has a CIS item carries it, in its message too.
    for finding in named:
        (control,) = finding.violation.controls
        assert control in check.finding_controls
        assert control.replace("CIS-", "CIS ") in finding.message
    assert {f.violation.controls for f in findings if not f.violation.controls} <= {()}
    assert all("no CIS item" in f.message or "has no literal value" in f.message for f in findings if f not in named)
    assert named, check_id


def test_the_subject_adds_the_findings_control_to_the_checks_and_the_tests() -> None:
    check = builtin_registry().get("apiserver-flag-insecure")
    objects = load([str(DATA / "apiserver-flag-insecure" / "fail-kubeadm-defaults.yaml")]).objects
    findings = evaluate([check], objects)
    subjects = subjects_of(findings, lambda _: "manifests", controls=("ORG-1",))
    for finding, subject in zip(findings, subjects):
        assert subject.controls == (*check.controls, *finding.violation.controls, "ORG-1")
    # A waiver by one CIS item waives exactly the findings of that item.
    item = findings[0].violation.controls[0]
    waivers = WaiverSet([Waiver(reason="accepted", expires=datetime.date(2099, 1, 1), control=item)])
    waived = [f for f, s in zip(findings, subjects) if waivers.match(s) is not None]
    assert waived and all(f.violation.controls == (item,) for f in waived)
    assert len(waived) < len(findings)


def test_control_counts_count_a_finding_control_only_where_a_finding_names_it() -> None:
    results = RunResults()
    record = {"check": "apiserver-flag-insecure", "target": "manifests", "path": "spec", "state": "fail"}
    results.add_properties(
        "t1",
        "failed",
        [
            (JUDGED_PROPERTY, judged_value("apiserver-flag-insecure", "manifests", 3)),
            (
                FINDINGS_PROPERTY,
                [
                    {**record, "object": "Pod/kube-system/a", "controls": ("NSA-net-control-plane", "CIS-1.2.1")},
                    {**record, "object": "Pod/kube-system/a", "controls": ("NSA-net-control-plane", "CIS-1.2.15")},
                    {
                        **record,
                        "object": "Pod/kube-system/b",
                        "state": "waived",
                        "controls": ("NSA-net-control-plane", "CIS-1.2.1"),
                    },
                ],
            ),
        ],
    )
    check = builtin_registry().get("apiserver-flag-insecure")
    counts = results.control_counts({check.id: check.controls}, finding_controls_of={check.id: check.finding_controls})
    zero = {"advisory": 0, "baselined": 0}
    assert counts["CIS-1.2.1"] == {"judged": 3, "pass": 1, "fail": 1, "waived": 1, **zero}
    assert counts["CIS-1.2.15"] == {"judged": 3, "pass": 2, "fail": 1, "waived": 0, **zero}
    assert counts["CIS-1.2.5"] == {"judged": 3, "pass": 3, "fail": 0, "waived": 0, **zero}
    # The check's own control counts the results, as before: object a fails, b is waived.
    assert counts["NSA-net-control-plane"] == {"judged": 3, "pass": 1, "fail": 1, "waived": 1, **zero}
    # Without the finding controls, reports count only the check's own.
    assert "CIS-1.2.1" not in results.control_counts({check.id: check.controls})


def test_the_docs_list_finding_controls_as_covered() -> None:
    checks = list(builtin_registry())
    assert "[`CIS-1.2.1`](controls.md#cis-121)" in render(checks)
    row = next(line for line in render_controls(checks).splitlines() if "`CIS-1.2.1`" in line)
    assert "apiserver-flag-insecure" in row


@pytest.mark.parametrize(
    ("controls", "finding_controls", "error"),
    [(("CIS-1.2.1",), ("CIS-1.2.1",), "both the check's and a finding's"), ((), ("CIS-9.9.9",), "CIS-9.9.9")],
)
def test_finding_controls_are_catalog_ids_the_check_does_not_claim_itself(
    controls: tuple[str, ...], finding_controls: tuple[str, ...], error: str
) -> None:
    with pytest.raises(ValueError, match=error.replace(".", r"\.")):
        Check(
            id="x-check",
            title="x",
            summary="x",
            remediation="Fix it.",
            category=Category.CONTROL_PLANE,
            severity=Severity.LOW,
            evaluate=lambda obj: (),
            controls=controls,
            finding_controls=finding_controls,
        )


def test_every_risky_permission_entry_has_its_controls() -> None:
    from pytest_k8ssec.checks._rbac_risks import RISK_CONTROLS
    from pytest_k8ssec.model.rbac.risks import CATALOG

    assert set(RISK_CONTROLS) == {entry.id for entry in CATALOG}


@pytest.mark.parametrize("check_id", ["rbac-risky-rules", "rbac-risky-binding"])
def test_a_risky_permission_finding_carries_the_controls_of_the_entries_it_names(check_id: str) -> None:
    from pytest_k8ssec.checks._rbac_risks import RISK_CONTROLS

    check = builtin_registry().get(check_id)
    assert check.controls == ("NSA-authz-rbac",)
    objects = [o for path in sorted((DATA / check_id).glob("fail-*.yaml")) for o in load([str(path)]).objects]
    findings = evaluate([check], objects)
    granting = [f for f in findings if "cannot be" not in f.message]
    assert granting
    secrets_only = []
    for finding in granting:
        granted = finding.message.split(": ", 1)[0]  # what is granted; the reason follows
        named = [risk for risk in RISK_CONTROLS if re.search(rf"(?<![\w-]){re.escape(risk)}(?![\w-])", granted)]
        assert named, finding.message
        expected = {c for risk in named for c in RISK_CONTROLS[risk]}
        assert set(finding.violation.controls) == expected, finding.message
        assert set(finding.violation.controls) <= set(check.finding_controls)
        if named == ["read-secrets"]:
            secrets_only.append(finding)
    # A secrets reader fails CIS 5.1.2, not 5.1.8 (bind, escalate, impersonate).
    assert secrets_only and all(f.violation.controls == ("CIS-5.1.2", "MITRE-T1552.007") for f in secrets_only)
