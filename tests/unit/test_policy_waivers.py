"""Waivers: the gate's matching and annotation waivers (pure), and the waiver / baseline files."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from pytest_k8ssec.checks._check import Severity
from pytest_k8ssec.policy.gate import Gate, State, Subject
from pytest_k8ssec.policy.waivers import Waiver, WaiverSet, annotation_waiver
from pytest_k8ssec.sources.waiver_files import (
    WaiverFileError,
    baseline_entries,
    read_baseline,
    read_waivers,
    write_baseline,
)

TODAY = datetime.date(2027, 1, 1)
KNOWN = {"privileged-container", "host-namespaces", "missing-resource-limits"}


def subject(annotations: dict[str, str] | None = None, **fields: object) -> Subject:
    values: dict[str, object] = {
        "check": "privileged-container",
        "severity": Severity.CRITICAL,
        "controls": ("CIS-5.2.2",),
        "target": "manifests",
        "kind": "Deployment",
        "group": "apps",
        "namespace": "monitoring",
        "name": "node-exporter",
        "container": "exporter",
        "path": "spec.template.spec.containers[0].securityContext.privileged",
        **fields,
    }
    return Subject(annotations=annotations or {}, **values)  # type: ignore[arg-type]


def waiver(**fields: object) -> Waiver:
    values: dict[str, object] = {"reason": "needs /proc", "expires": datetime.date(2027, 3, 31), **fields}
    return Waiver(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "matches"),
    [
        ({"check": "privileged-container"}, True),
        ({"check": "host-namespaces"}, False),
        ({"control": "CIS-5.2.*"}, True),
        ({"control": "CIS-5.3.*"}, False),
        ({"check": "privileged-container", "kind": "Deployment", "namespace": "mon*", "name": "node-*"}, True),
        ({"check": "privileged-container", "namespace": "default"}, False),
        ({"check": "privileged-container", "container": "exp*"}, True),
        ({"check": "privileged-container", "container": "sidecar"}, False),
        ({"check": "privileged-container", "context": "prod-*"}, False),
        ({"check": "privileged-container", "context": "manifests"}, True),
    ],
)
def test_a_waiver_matches_when_every_pattern_does(fields: dict[str, object], matches: bool) -> None:
    gate = Gate(waivers=WaiverSet([waiver(**fields)]), today=TODAY)
    assert (gate.judge(subject()).state is State.WAIVED) is matches


def test_a_waiver_is_valid_through_its_expiry_day_and_fails_the_day_after() -> None:
    rule = waiver(check="privileged-container", source="w.yaml:2")
    assert Gate(waivers=WaiverSet([rule]), today=datetime.date(2027, 3, 31)).judge(subject()).state is State.WAIVED
    late = Gate(waivers=WaiverSet([rule]), today=datetime.date(2027, 4, 1)).judge(subject())
    assert late.state is State.FAIL and late.blocking and late.expired
    assert late.explanation == "waiver w.yaml:2 expired on 2027-03-31"


ANNOTATION = "k8ssec.io/waive.privileged-container"


def test_annotation_waivers_are_ignored_unless_the_gate_turns_them_on() -> None:
    marked = subject({ANNOTATION: "needs /proc; expires=2027-03-31"})
    assert Gate(today=TODAY).judge(marked).state is State.FAIL
    outcome = Gate(today=TODAY, annotation_waivers=True).judge(marked)
    assert outcome.state is State.WAIVED
    assert outcome.waiver is not None and outcome.waiver.reason == "needs /proc"
    assert outcome.waiver.source == f"annotation {ANNOTATION} on Deployment/monitoring/node-exporter"
    # The annotation names one check: another check's findings on the same object still fail.
    other = subject({ANNOTATION: "needs /proc; expires=2027-03-31"}, check="host-namespaces")
    assert Gate(today=TODAY, annotation_waivers=True).judge(other).state is State.FAIL


def test_an_annotation_waiver_reads_its_fields_and_a_reason_may_hold_semicolons() -> None:
    found, problem = annotation_waiver(
        subject({ANNOTATION: "node metrics; read-only /proc; expires=2027-03-31; owner=obs; ticket=OPS-1"})
    )
    assert problem is None and found is not None
    assert (found.reason, found.expires, found.owner, found.ticket) == (
        "node metrics; read-only /proc",
        datetime.date(2027, 3, 31),
        "obs",
        "OPS-1",
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("needs /proc", "no expiry"),
        ("; expires=2027-03-31", "no reason"),
        ("needs /proc; expires=31.03.2027", "'31.03.2027' is not a date"),
        ("needs /proc; expires=2027-02-30", "'2027-02-30' is not a date"),
    ],
)
def test_a_malformed_annotation_waiver_does_not_waive_and_says_why(value: str, problem: str) -> None:
    outcome = Gate(today=TODAY, annotation_waivers=True).judge(subject({ANNOTATION: value}))
    assert outcome.state is State.FAIL and outcome.waiver is None
    assert outcome.explanation is not None and problem in outcome.explanation
    assert outcome.explanation.startswith(f"annotation {ANNOTATION} on Deployment/monitoring/node-exporter ignored")


def test_an_expired_annotation_waiver_fails() -> None:
    gate = Gate(today=datetime.date(2028, 1, 1), annotation_waivers=True)
    outcome = gate.judge(subject({ANNOTATION: "needs /proc; expires=2027-03-31"}))
    assert outcome.state is State.FAIL and outcome.expired


def test_the_waiver_file_comes_before_an_annotation() -> None:
    gate = Gate(
        waivers=WaiverSet([waiver(check="privileged-container", reason="platform decision", source="w.yaml:2")]),
        today=TODAY,
        annotation_waivers=True,
    )
    outcome = gate.judge(subject({ANNOTATION: "mine; expires=2027-03-31"}))
    assert outcome.waiver is not None and outcome.waiver.source == "w.yaml:2"


# --- the waiver file -------------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    return path


def test_the_waiver_file_gives_waivers_with_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
# platform team's waivers
waivers:
  - check: privileged-container
    target: Deployment/monitoring/node-exporter
    context: prod-*
    container: exporter
    reason: needs the host's /proc to export node metrics
    expires: 2027-03-31
    owner: team-observability
    ticket: 1234
  - control: "CIS-5.2.*"
    target: ClusterRole/admin-*
    reason: "reviewed"
    expires: "2026-12-31"
""",
    )
    first, second = read_waivers(path, "waivers.yaml", KNOWN)
    assert first == Waiver(
        reason="needs the host's /proc to export node metrics",
        expires=datetime.date(2027, 3, 31),
        check="privileged-container",
        context="prod-*",
        kind="Deployment",
        namespace="monitoring",
        name="node-exporter",
        container="exporter",
        owner="team-observability",
        ticket="1234",
        source="waivers.yaml:3",
    )
    assert (second.control, second.kind, second.namespace, second.name) == ("CIS-5.2.*", "ClusterRole", "", "admin-*")
    assert second.source == "waivers.yaml:11" and second.target == "ClusterRole/admin-*"
    assert second.expires == datetime.date(2026, 12, 31) and second.context == "*"


BAD_ENTRY = "  - check: privileged-container\n    target: Deployment/ns/web\n"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "waivers:\n  - check: host-namespaces\n    reason: r\n    expires: 2027-01-01\n"
            + BAD_ENTRY
            + "    expires: 2027-01-01\n",
            "waivers.yaml:5: waiver 1: no reason",
        ),
        ("waivers:\n" + BAD_ENTRY + "    reason: r\n", "waivers.yaml:2: waiver 0: no expiry"),
        (
            "waivers:\n" + BAD_ENTRY + "    reason: r\n    expires: 2027-13-01\n",
            "waiver 0: expires '2027-13-01' is not a date",
        ),
        (
            "waivers:\n" + BAD_ENTRY + "    reason: r\n    expires: next year\n",
            "waiver 0: expires 'next year' is not a date",
        ),
        (
            "waivers:\n" + BAD_ENTRY + "    reason: r\n    expires: 20270101\n",
            "waiver 0: expires 20270101 is not a date",
        ),
        (
            "waivers:\n" + BAD_ENTRY + "    reason: r\n    expires: 2027-01-01\n    expiry: 2027-01-01\n",
            "waivers.yaml:2: waiver 0: unknown key 'expiry' (line 6); did you mean 'expires'?",
        ),
        (
            "waivers:\n  - check: privileged-containers\n    reason: r\n    expires: 2027-01-01\n",
            "waivers.yaml:2: waiver 0: unknown check 'privileged-containers'; did you mean privileged-container?",
        ),
        ("waivers:\n  - reason: r\n    expires: 2027-01-01\n", "waiver 0: names neither a check nor a control"),
        (
            "waivers:\n" + BAD_ENTRY.replace("Deployment/ns/web", "web") + "    reason: r\n    expires: 2027-01-01\n",
            "waiver 0: target 'web' is not Kind/namespace/name or Kind/name",
        ),
        ("waivers:\n  - privileged-container\n", "waivers.yaml:2: waiver 0: an entry is a mapping"),
        ("waivers:\n" + BAD_ENTRY + "    reason: ''\n    expires: 2027-01-01\n", "waiver 0: no reason"),
        ("- check: privileged-container\n", "waivers.yaml:1: a waiver file is a mapping with a 'waivers:' list"),
        ("waivers: privileged-container\n", "a waiver file is a mapping with a 'waivers:' list"),
        ("", "a waiver file is a mapping with a 'waivers:' list"),
        ("waiver:\n  - check: x\n", "a waiver file is a mapping with a 'waivers:' list"),
        ("waivers: []\nextra: 1\n", "waivers.yaml:2: unknown key 'extra'"),
        ("waivers:\n  - check: [unclosed\n", "waivers.yaml:3: invalid YAML"),
        ("waivers: []\n---\nwaivers: []\n", "waivers.yaml:3: a waiver file holds one YAML document"),
        (
            "waivers:\n  - check: privileged-container\n    target: */*/web\n",
            "waivers.yaml:3: invalid YAML: did not find expected alphabetic or numeric character (quote a value",
        ),
    ],
)
def test_a_malformed_waiver_file_names_the_entry_and_line(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(WaiverFileError) as excinfo:
        read_waivers(write(tmp_path, text), "waivers.yaml", KNOWN)
    assert error in str(excinfo.value)


def test_an_unreadable_waiver_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(WaiverFileError, match="missing.yaml: cannot read the waiver file"):
        read_waivers(tmp_path / "missing.yaml", "missing.yaml", KNOWN)


# --- the baseline file ------------------------------------------------------------------------------


def record(fingerprint: str, obj: str, path: str = "spec.x") -> dict[str, object]:
    return {
        "fingerprint": fingerprint,
        "check": "privileged-container",
        "target": "manifests",
        "object": obj,
        "path": path,
        "message": "m",
    }


def test_the_baseline_file_is_sorted_deduplicated_and_round_trips(tmp_path: Path) -> None:
    records = [
        record("b" * 32, "Deployment/ns/web"),
        record("a" * 32, "Deployment/ns/api"),
        record("b" * 32, "Deployment/ns/web"),
    ]
    path = tmp_path / "baseline.json"
    write_baseline(path, baseline_entries(records))
    data = json.loads(path.read_text())
    assert data["version"] == 1
    assert [e["object"] for e in data["findings"]] == ["Deployment/ns/api", "Deployment/ns/web"]
    assert set(data["findings"][0]) == {"fingerprint", "check", "target", "object", "path"}
    assert [e["fingerprint"] for e in read_baseline(path, "baseline.json")] == ["a" * 32, "b" * 32]
    before = path.read_text()
    write_baseline(path, baseline_entries(reversed(records)))
    assert path.read_text() == before  # stable: a rewrite of the same findings changes nothing


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (None, "baseline.json: no such baseline file"),
        ('{"version": 1,\n "findings": [}', "baseline.json:2: invalid JSON"),
        ('{"version": 2, "findings": []}', "baseline version 2 is not 1"),
        ('{"version": 1}', "a JSON object with a 'findings' list"),
        ('{"version": 1, "findings": [{"fingerprint": "xyz"}]}', "finding 0: no valid 'fingerprint'"),
    ],
)
def test_a_missing_or_malformed_baseline_is_an_error(tmp_path: Path, text: str | None, error: str) -> None:
    path = tmp_path / "baseline.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(WaiverFileError) as excinfo:
        read_baseline(path, "baseline.json")
    assert error in str(excinfo.value)
