"""The control catalog and the registry's mapping of checks to control ids."""

from __future__ import annotations

import dataclasses
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_k8ssec.checks import BUILTIN_CHECK_MODULES, Category, Check, Severity, _docs, builtin_registry, module_name
from pytest_k8ssec.checks import _controls as catalog
from pytest_k8ssec.checks._controls import (
    BUILTIN_CONTROLS,
    PSS_UPSTREAM,
    Control,
    UnknownControlError,
    control,
    controls_by_framework,
    expand,
    known,
    register_control,
    unregister_control,
)
from pytest_k8ssec.checks.pss._registry import make_check, table
from pytest_k8ssec.errors import K8sSecError

ROOT = Path(__file__).resolve().parents[2]

# CIS Kubernetes Benchmark v1.12 section 5 as kube-bench's cfg/cis-1.12/policies.yaml numbers it.
CIS_V1_12 = (
    [f"5.1.{n}" for n in range(1, 14)]
    + [f"5.2.{n}" for n in range(1, 13)]
    + ["5.3.1", "5.3.2", "5.4.1", "5.4.2", "5.5.1"]
    + [f"5.6.{n}" for n in range(1, 5)]
)


@pytest.fixture
def team_control() -> Iterator[Control]:
    new = Control("TEAM-7", "extra", "Every Deployment names an owner")
    register_control(new)
    yield new
    unregister_control(new.id)


# --- the catalog ----------------------------------------------------------------------------------


def test_cis_section_5_is_complete_in_v1_12_numbering() -> None:
    cis = [c.id for c in controls_by_framework()["CIS"] if c.id.startswith("CIS-5.")]
    assert cis == [f"CIS-{item}" for item in CIS_V1_12]
    # The v1.9/v1.10 numbering (General Policies at 5.7, 13 items in 5.2) is not accepted.
    assert not known("CIS-5.7.1") and not known("CIS-5.2.13")
    assert control("CIS-5.2.8").title == "Minimize the admission of containers with the NET_RAW capability"
    assert control("CIS-5.6.1").section == "5.6 General Policies"


def test_every_pss_control_of_both_levels_is_in_the_catalog_under_its_upstream_name() -> None:
    pss = {c.id: c.title for c in controls_by_framework()["PSS"]}
    expected_baseline = (
        "hostprocess host-namespaces privileged-containers capabilities hostpath-volumes host-ports "
        "host-probes-lifecycle-hooks apparmor selinux proc-mount-type seccomp sysctls"
    ).split()
    expected_restricted = (
        "volume-types privilege-escalation running-as-non-root running-as-non-root-user seccomp capabilities "
        "proc-mount-type"
    ).split()
    assert list(pss) == [f"PSS-baseline-{s}" for s in expected_baseline] + [
        f"PSS-restricted-{s}" for s in expected_restricted
    ]
    assert pss["PSS-baseline-privileged-containers"] == "Baseline: Privileged Containers"
    assert pss["PSS-restricted-running-as-non-root-user"] == "Restricted: Running as Non-root user"


def test_the_pss_controls_are_exactly_the_upstream_checks() -> None:
    upstream = {c.id for c in table().controls}
    assert set(PSS_UPSTREAM) == upstream
    assert sorted(PSS_UPSTREAM.values()) == sorted(c.id for c in controls_by_framework()["PSS"])
    assert PSS_UPSTREAM["hostPathVolumes"] == "PSS-baseline-hostpath-volumes"
    assert PSS_UPSTREAM["procMount_restricted"] == "PSS-restricted-proc-mount-type"


def test_nsa_and_mitre_ids() -> None:
    nsa = {c.id for c in controls_by_framework()["NSA"]}
    for slug in (
        "pod-non-root pod-immutable-fs pod-secure-images pod-security-enforcement pod-sa-tokens pod-hardening "
        "net-namespaces net-policies net-resource-policies net-secrets authz-rbac audit-logging upgrades"
    ).split():
        assert f"NSA-{slug}" in nsa
    mitre = control("MITRE-T1552.001")
    assert mitre.title == "Unsecured Credentials: Credentials In Files"
    assert mitre.url == "https://attack.mitre.org/techniques/T1552/001/"
    for technique in ("T1609", "T1610", "T1611", "T1612", "T1613", "T1078.001", "T1525", "T1204.003", "T1528"):
        assert known(f"MITRE-{technique}")


def test_cis_sections_1_to_4_are_complete_in_v1_12_numbering() -> None:
    # kube-bench's cfg/cis-1.12: 21 + 30 + 7 + 2 items in section 1, 7 in 2, 5 in 3, 10 + 14 + 1 in 4.
    nodes = [c.id for c in controls_by_framework()["CIS"] if not c.id.startswith("CIS-5.")]
    sections = [c.rsplit(".", 1)[0] for c in nodes]
    counts = {section: sections.count(section) for section in dict.fromkeys(sections)}
    assert counts == {
        "CIS-1.1": 21,
        "CIS-1.2": 30,
        "CIS-1.3": 7,
        "CIS-1.4": 2,
        "CIS-2": 7,
        "CIS-3.1": 3,
        "CIS-3.2": 2,
        "CIS-4.1": 10,
        "CIS-4.2": 14,
        "CIS-4.3": 1,
    }
    assert control("CIS-1.2.1").title == "Ensure that the --anonymous-auth argument is set to false"
    assert control("CIS-2.5").section == "2 Etcd Node Configuration"
    assert control("CIS-4.2.10").section == "4.2 Kubelet"


def test_every_id_is_well_formed_and_every_control_has_a_title_and_a_source() -> None:
    pattern = re.compile(
        r"^(CIS-5\.\d\.\d+|CIS-[1-4](\.\d+){1,2}|NSA-[a-z]+(-[a-z]+)*|PSS-(baseline|restricted)-[a-z]+(-[a-z]+)*|MITRE-T\d{4}(\.\d{3})?)$"
    )
    for control_id, found in BUILTIN_CONTROLS.items():
        assert pattern.match(control_id), control_id
        assert found.id == control_id and found.title and found.url.startswith("https://") and found.section
        assert control_id.split("-", 1)[0] == found.framework


def test_an_unknown_id_names_close_matches() -> None:
    with pytest.raises(UnknownControlError, match=r"unknown control id 'CIS-5.2.22'; did you mean 'CIS-5.2.2'"):
        control("CIS-5.2.22")
    with pytest.raises(UnknownControlError, match=r"did you mean 'PSS-baseline-privileged-containers'"):
        control("pss-baseline-privileged-container")
    with pytest.raises(UnknownControlError, match=r"docs/controls.md lists the known ids"):
        control("nothing-like-it-at-all")
    with pytest.raises(UnknownControlError, match=r"General Policies 5.7, .* 5.6: did you mean 'CIS-5.6.4'"):
        control("CIS-5.7.4")
    # Callers that catch the package's root error or a ValueError both catch it.
    assert issubclass(UnknownControlError, K8sSecError) and issubclass(UnknownControlError, ValueError)


def test_expand_is_fnmatch_over_the_ids_in_catalog_order() -> None:
    assert expand("CIS-5.2.1*") == ["CIS-5.2.1", "CIS-5.2.10", "CIS-5.2.11", "CIS-5.2.12"]
    assert expand("CIS-5.3.?") == ["CIS-5.3.1", "CIS-5.3.2"]
    assert len(expand("NSA-*")) == len(controls_by_framework()["NSA"])
    assert expand("PSS-*-seccomp") == ["PSS-baseline-seccomp", "PSS-restricted-seccomp"]
    assert expand("cis-5.2.*") == []  # ids are case-sensitive, as the markers are
    assert expand("CIS-5.7.*") == []


def test_registered_controls_are_known_until_unregistered(team_control: Control) -> None:
    assert known("TEAM-7") and control("TEAM-7") is team_control
    assert expand("TEAM-*") == ["TEAM-7"]
    assert controls_by_framework()["extra"] == [team_control]
    register_control(Control("TEAM-7", "extra", "Every Deployment names an owner"))  # the same again: fine
    with pytest.raises(ValueError, match="already known"):
        register_control(Control("TEAM-7", "extra", "Something else"))
    with pytest.raises(ValueError, match="already known"):
        register_control(Control("CIS-5.2.2", "extra", "Our own privileged rule"))
    unregister_control("TEAM-7")
    assert not known("TEAM-7")
    unregister_control("CIS-5.2.2")  # built-ins cannot be removed
    assert known("CIS-5.2.2")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("TEAM-1 owners", "must read 'ID: title'"),
        ("TEAM-1:", "must read 'ID: title'"),
        ("TEAM *: wildcard", "no spaces or wildcards"),
    ],
)
def test_extra_control_lines_are_parsed_strictly(line: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        catalog.parse_extra(line, "k8s_extra_controls line 1")
    parsed = catalog.parse_extra("TEAM-1: Owners: named on every object", "x")
    assert (parsed.id, parsed.framework, parsed.title) == ("TEAM-1", "extra", "Owners: named on every object")


# --- the registry's mapping -----------------------------------------------------------------------


def test_every_builtin_control_id_is_in_the_catalog() -> None:
    for check in builtin_registry():
        for control_id in check.controls:
            assert control_id in BUILTIN_CONTROLS, (check.id, control_id)
        assert len(check.controls) == len(set(check.controls)), check.id


# The checks that claim no control, and why: a control is claimed only where the catalog has one
# that each finding violates (none is invented to fill the column).
WITHOUT_CONTROL = {
    # It judges whether the checks can read an object at all: no framework asks that.
    "malformed-object",
    # CVE-2020-8554 (traffic interception): neither CIS section 5, NSA/CISA nor the ATT&CK
    # Containers matrix names external IPs or adversary-in-the-middle.
    "service-external-ip-not-allowed",
    # Plain-HTTP Ingress hosts: no control of the catalog asks for TLS on workload traffic
    # (Kubescape's equivalent, C-0263, is in none of its frameworks either).
    "ingress-tls-missing",
    # The workload details the scanners report (low ports, port 22, hostAliases, a shared process
    # namespace) are in none of CIS section 5, NSA/CISA, PSS or the ATT&CK techniques catalogued.
    "privileged-port",
    "ssh-port-exposed",
    "host-aliases-set",
    "process-namespace-shared",
    # Opt-in policies of the scanners, not of any framework (their modules say so).
    "run-as-low-id",
    "liveness-probe-missing",
    "readiness-probe-missing",
    # A workload's reference to an absent account: a broken pod, not a framework's control.
    "service-account-missing",
    # Tiller and an unauthenticated Dashboard: named by no framework of the catalog.
    "dangerous-component",
    # A required connection that is blocked is an outage, not a weakness: no framework asks that
    # traffic gets through (its module says so).
    "in-pod-connection-blocked",
}


def test_only_the_listed_checks_implement_no_control() -> None:
    assert {check.id for check in builtin_registry() if not check.controls} == WITHOUT_CONTROL


def test_every_pss_check_maps_to_exactly_its_pss_control() -> None:
    pss_checks = [check for check in builtin_registry() if check.pss is not None]
    assert len(pss_checks) == len(PSS_UPSTREAM)
    for check in pss_checks:
        assert check.pss is not None
        claimed = [c for c in check.controls if c.startswith("PSS-")]
        assert claimed == [PSS_UPSTREAM[check.pss.control]], check.id
        assert control(claimed[0]).section == check.pss.level


def test_a_pss_check_cannot_claim_a_second_pss_control() -> None:
    privileged = importlib.import_module(module_name("pss.check_privileged"))
    with pytest.raises(ValueError, match="claims its own PSS control"):
        make_check(
            privileged.CONTROL,
            title="t",
            summary="s",
            remediation="r.",
            category=Category.PRIVILEGES,
            severity=Severity.HIGH,
            controls=("PSS-baseline-capabilities",),
        )


def test_opinionated_checks_claim_the_pss_control_they_build_on() -> None:
    registry = builtin_registry()
    for check in registry:
        if check.pss is not None:
            continue
        for control_id in (c for c in check.controls if c.startswith("PSS-")):
            # Another check claims it as its own: the pss-* check of that upstream control.
            owners = [c.id for c in registry if c.pss is not None and PSS_UPSTREAM[c.pss.control] == control_id]
            assert len(owners) == 1, (check.id, control_id)


@pytest.mark.parametrize(
    ("check_id", "cis"),
    [
        # The privilege checks, as the CIS v1.12 section 5.2 table of the research maps them.
        ("privileged-container", {"CIS-5.2.2"}),
        ("pss-privileged", {"CIS-5.2.2"}),
        ("host-namespaces", {"CIS-5.2.3", "CIS-5.2.4", "CIS-5.2.5"}),
        ("pss-host-namespaces", {"CIS-5.2.3", "CIS-5.2.4", "CIS-5.2.5"}),
        ("privilege-escalation-allowed", {"CIS-5.2.6"}),
        ("pss-allow-privilege-escalation", {"CIS-5.2.6"}),
        ("run-as-root-allowed", {"CIS-5.2.7"}),
        ("run-as-user-root", {"CIS-5.2.7"}),
        ("capabilities-not-dropped", {"CIS-5.2.8", "CIS-5.2.9"}),
        ("capabilities-added", {"CIS-5.2.9"}),
        ("windows-host-process", {"CIS-5.2.10"}),
        ("host-path-volume", {"CIS-5.2.11"}),
        ("sensitive-host-path", {"CIS-5.2.11"}),
        ("host-port", {"CIS-5.2.12"}),
        ("namespace-pod-security-too-weak", {"CIS-5.2.1"}),
        ("seccomp-unconfined", {"CIS-5.6.2"}),
        ("rbac-wildcard", {"CIS-5.1.3"}),
        ("service-account-token-automount", {"CIS-5.1.6"}),
        ("default-service-account", {"CIS-5.1.5"}),
        ("secret-env-var", {"CIS-5.4.1"}),
        ("network-default-deny-missing", {"CIS-5.3.2"}),
        # v1.12 dropped "added capabilities" (v1.11's 5.2.9) and 5.5.1 (ImagePolicyWebhook) is an
        # API server setting no manifest shows.
        ("image-registry-not-allowed", set()),
        ("pss-restricted-volumes", set()),
    ],
)
def test_cis_mapping(check_id: str, cis: set[str]) -> None:
    check = builtin_registry().get(check_id)
    assert {c for c in check.controls if c.startswith("CIS-")} == cis


def test_checks_that_differ_from_pss_claim_no_pss_control() -> None:
    for check_id in ("run-as-root-allowed", "seccomp-unconfined", "run-as-group-root", "writable-root-filesystem"):
        assert not [c for c in builtin_registry().get(check_id).controls if c.startswith("PSS-")], check_id


def test_a_check_with_an_unknown_control_id_is_refused() -> None:
    check = builtin_registry().get("privileged-container")
    with pytest.raises(ValueError, match=r"check privileged-container: unknown control id 'CIS v1.12 5.2.2'"):
        dataclasses.replace(check, controls=("CIS v1.12 5.2.2",))
    with pytest.raises(ValueError, match=r"did you mean 'CIS-5.6.1'"):
        Check("team-check", "t", "s", "r.", Category.RBAC, Severity.LOW, controls=("CIS-5.6.1.",))


def test_a_check_may_claim_a_registered_control(team_control: Control) -> None:
    check = Check(
        "team-check", "t", "s", "r.", Category.RBAC, Severity.LOW, evaluate=lambda obj: [], controls=(team_control.id,)
    )
    assert check.controls == ("TEAM-7",)


def test_every_registry_module_passes_controls_as_catalog_ids_not_text() -> None:
    # Free text (CWE, OWASP, "good practices") belongs in references, which are links.
    for entry in BUILTIN_CHECK_MODULES:
        check: Check = importlib.import_module(module_name(entry)).CHECK
        assert all(ref.startswith("https://") for ref in check.references), check.id
    assert "https://cwe.mitre.org/data/definitions/798.html" in builtin_registry().get("secret-in-manifest").references


# --- the generated pages --------------------------------------------------------------------------


def test_docs_controls_md_is_generated_from_the_catalog() -> None:
    committed = (ROOT / "docs" / "controls.md").read_text(encoding="utf-8")
    assert committed == _docs.render_controls(builtin_registry()), (
        "docs/controls.md is stale: run `python -m pytest_k8ssec.checks._docs docs/checks.md docs/controls.md`"
    )


def test_the_controls_page_lists_every_control_with_its_checks_or_says_it_is_not_covered() -> None:
    text = _docs.render_controls(builtin_registry())
    rows = {
        m.group(1): m.group(2) for m in re.finditer(r"^\| <a id=\"[^\"]+\"></a>`([^`]+)` \| .* \| (.*) \|$", text, re.M)
    }
    assert set(rows) == set(BUILTIN_CONTROLS)
    assert rows["CIS-5.1.7"] == "*not covered by a check*"
    assert "[`privileged-container`](checks.md#privileged-container)" in rows["CIS-5.2.2"]
    assert "[`pss-privileged`](checks.md#pss-privileged)" in rows["PSS-baseline-privileged-containers"]
    assert "(upstream `privileged`)" in text


def test_the_checks_page_names_each_control_with_its_title() -> None:
    text = _docs.render(builtin_registry())
    assert "[`CIS-5.2.2`](controls.md#cis-522) (Minimize the admission of privileged containers)" in text
    assert "[`MITRE-T1552.001`](controls.md#mitre-t1552001) (Unsecured Credentials: Credentials In Files)" in text
