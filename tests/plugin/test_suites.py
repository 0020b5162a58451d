"""The ready suites (pytest --pyargs pytest_k8ssec.suites.<name>) run as a user runs them.

Each suite runs on the demo shop's manifests, insecure and hardened, with the demo profile; its
pass/fail/skip counts per control, read from the JUnit XML (each test's ``k8ssec.test`` property
names its controls), are pinned below, so a change in any verdict shows up here. The hardened
shop fails nothing; what skips is live-only or organisational, and says so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

# Imported before any in-process run: the package caches each public name on first use, and
# pytester drops the modules a run imported first, so a name cached during one run would hold a
# class the next run imports anew (isinstance checks then fail between the two).
import pytest_k8ssec.suites.cis
import pytest_k8ssec.suites.images
import pytest_k8ssec.suites.network
import pytest_k8ssec.suites.nsa
import pytest_k8ssec.suites.pss
import pytest_k8ssec.suites.rbac  # noqa: F401
from pytest_k8ssec.sources.profile import DEFAULT_SYSTEM_NAMESPACES, ProfileError, parse_profile

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "example_suites"
PROFILE = EXAMPLES / "shop-profile.yaml"
CHART = ROOT / "tests" / "data" / "charts" / "web"
SUITES = ("pss", "cis", "nsa", "images", "rbac", "network")

PSS_BASELINE = (
    "PSS-baseline-apparmor",
    "PSS-baseline-capabilities",
    "PSS-baseline-host-namespaces",
    "PSS-baseline-host-ports",
    "PSS-baseline-hostpath-volumes",
    "PSS-baseline-hostprocess",
    "PSS-baseline-privileged-containers",
    "PSS-baseline-host-probes-lifecycle-hooks",
    "PSS-baseline-proc-mount-type",
    "PSS-baseline-seccomp",
    "PSS-baseline-selinux",
    "PSS-baseline-sysctls",
)
PSS_RESTRICTED = (
    "PSS-restricted-capabilities",
    "PSS-restricted-privilege-escalation",
    "PSS-restricted-proc-mount-type",
    "PSS-restricted-running-as-non-root",
    "PSS-restricted-running-as-non-root-user",
    "PSS-restricted-seccomp",
    "PSS-restricted-volume-types",
)


def _c(passed: int = 0, failed: int = 0, skipped: int = 0) -> dict[str, int]:
    return {name: n for name, n in (("failed", failed), ("passed", passed), ("skipped", skipped)) if n}


# (suite, demo variant) -> control -> outcome counts of the tests marked with it. Insecure: every
# planted mistake (see example_suites/manifests/insecure) fails the controls it breaks. The pss
# baseline tests fail api (hostNetwork), web (hostPort) and worker (privileged, SYS_ADMIN, hostPath,
# seccomp Unconfined); restricted is not required in the unlabelled namespace, so it skips.
EXPECTED: dict[tuple[str, str], dict[str, dict[str, int]]] = {
    ("pss", "insecure"): {
        "CIS-5.2.1": _c(failed=1),
        "NSA-pod-security-enforcement": _c(failed=1),
        **{control: _c(failed=3, passed=2) for control in PSS_BASELINE},
        **{control: _c(skipped=5) for control in PSS_RESTRICTED},
    },
    ("pss", "hardened"): {
        "CIS-5.2.1": _c(passed=1),
        "NSA-pod-security-enforcement": _c(passed=1),
        **{control: _c(passed=5) for control in PSS_BASELINE + PSS_RESTRICTED},
    },
    ("cis", "insecure"): {
        "CIS-5.1.1": _c(failed=1),
        "CIS-5.1.10": _c(failed=1),
        "CIS-5.1.11": _c(failed=1),
        "CIS-5.1.12": _c(failed=1),
        "CIS-5.1.13": _c(failed=1),
        "CIS-5.1.2": _c(failed=1),
        "CIS-5.1.3": _c(passed=1),
        "CIS-5.1.4": _c(failed=1),
        "CIS-5.1.5": _c(failed=1),
        "CIS-5.1.6": _c(failed=1),
        "CIS-5.1.7": _c(passed=1),
        "CIS-5.1.8": _c(failed=1),
        "CIS-5.1.9": _c(failed=1),
        "CIS-5.2.1": _c(failed=1, skipped=1),
        "CIS-5.2.10": _c(passed=1),
        "CIS-5.2.11": _c(failed=1),
        "CIS-5.2.12": _c(failed=1),
        "CIS-5.2.2": _c(failed=1),
        "CIS-5.2.3": _c(failed=1),
        "CIS-5.2.4": _c(failed=1),
        "CIS-5.2.5": _c(failed=1),
        "CIS-5.2.6": _c(failed=1),
        "CIS-5.2.7": _c(failed=1),
        "CIS-5.2.8": _c(failed=1),
        "CIS-5.2.9": _c(failed=1),
        "CIS-5.3.1": _c(skipped=1),
        "CIS-5.3.2": _c(failed=1),
        "CIS-5.4.1": _c(failed=1),
        "CIS-5.4.2": _c(skipped=1),
        "CIS-5.5.1": _c(skipped=1),
        "CIS-5.6.1": _c(skipped=1),
        "CIS-5.6.2": _c(failed=1),
        "CIS-5.6.3": _c(failed=1),
        "CIS-5.6.4": _c(passed=1),
    },
    ("cis", "hardened"): {
        "CIS-5.1.1": _c(passed=1),
        "CIS-5.1.10": _c(passed=1),
        "CIS-5.1.11": _c(passed=1),
        "CIS-5.1.12": _c(passed=1),
        "CIS-5.1.13": _c(passed=1),
        "CIS-5.1.2": _c(passed=1),
        "CIS-5.1.3": _c(passed=1),
        "CIS-5.1.4": _c(passed=1),
        "CIS-5.1.5": _c(passed=1),
        "CIS-5.1.6": _c(passed=1),
        "CIS-5.1.7": _c(passed=1),
        "CIS-5.1.8": _c(passed=1),
        "CIS-5.1.9": _c(passed=1),
        "CIS-5.2.1": _c(passed=1, skipped=1),
        "CIS-5.2.10": _c(passed=1),
        "CIS-5.2.11": _c(passed=1),
        "CIS-5.2.12": _c(passed=1),
        "CIS-5.2.2": _c(passed=1),
        "CIS-5.2.3": _c(passed=1),
        "CIS-5.2.4": _c(passed=1),
        "CIS-5.2.5": _c(passed=1),
        "CIS-5.2.6": _c(passed=1),
        "CIS-5.2.7": _c(passed=1),
        "CIS-5.2.8": _c(passed=1),
        "CIS-5.2.9": _c(passed=1),
        "CIS-5.3.1": _c(skipped=1),
        "CIS-5.3.2": _c(passed=1),
        "CIS-5.4.1": _c(passed=1),
        "CIS-5.4.2": _c(skipped=1),
        "CIS-5.5.1": _c(skipped=1),
        "CIS-5.6.1": _c(skipped=1),
        "CIS-5.6.2": _c(passed=1),
        "CIS-5.6.3": _c(passed=1),
        "CIS-5.6.4": _c(passed=1),
    },
    ("nsa", "insecure"): {
        "MITRE-T1611": _c(failed=2),
        "NSA-audit-logging": _c(skipped=1),
        "NSA-authz-rbac": _c(failed=1),
        "NSA-net-namespaces": _c(passed=1),
        "NSA-net-policies": _c(failed=1),
        "NSA-net-resource-policies": _c(failed=1),
        "NSA-net-secrets": _c(failed=3),
        "NSA-pod-hardening": _c(failed=4),
        "NSA-pod-immutable-fs": _c(failed=1),
        "NSA-pod-non-root": _c(failed=1),
        "NSA-pod-sa-tokens": _c(failed=1),
        "NSA-pod-secure-images": _c(failed=1),
        "NSA-pod-security-enforcement": _c(failed=1),
        "NSA-upgrades": _c(skipped=1),
    },
    ("nsa", "hardened"): {
        "MITRE-T1611": _c(passed=2),
        "NSA-audit-logging": _c(skipped=1),
        "NSA-authz-rbac": _c(passed=1),
        "NSA-net-namespaces": _c(passed=1),
        "NSA-net-policies": _c(passed=1),
        "NSA-net-resource-policies": _c(passed=1),
        "NSA-net-secrets": _c(passed=3),
        "NSA-pod-hardening": _c(passed=4),
        "NSA-pod-immutable-fs": _c(passed=1),
        "NSA-pod-non-root": _c(passed=1),
        "NSA-pod-sa-tokens": _c(passed=1),
        "NSA-pod-secure-images": _c(passed=1),
        "NSA-pod-security-enforcement": _c(passed=1),
        "NSA-upgrades": _c(skipped=1),
    },
    ("images", "insecure"): {
        "MITRE-T1204.003": _c(failed=1, passed=4),
        "MITRE-T1525": _c(failed=6, passed=4),
        "MITRE-T1552.001": _c(failed=1, passed=5),
        "NSA-net-secrets": _c(failed=1, passed=5),
        "NSA-pod-secure-images": _c(failed=12, passed=8),
    },
    ("images", "hardened"): {
        "MITRE-T1204.003": _c(passed=5),
        "MITRE-T1525": _c(passed=10),
        "MITRE-T1552.001": _c(passed=6),
        "NSA-net-secrets": _c(passed=6),
        "NSA-pod-secure-images": _c(passed=20),
    },
    ("rbac", "insecure"): {
        "CIS-5.1.1": _c(failed=2, passed=4),
        "CIS-5.1.10": _c(failed=1),
        "CIS-5.1.11": _c(failed=1),
        "CIS-5.1.12": _c(failed=1),
        "CIS-5.1.13": _c(failed=1),
        "CIS-5.1.2": _c(failed=1),
        "CIS-5.1.3": _c(passed=1),
        "CIS-5.1.4": _c(failed=1),
        "CIS-5.1.5": _c(failed=1, passed=4),
        "CIS-5.1.8": _c(failed=1),
        "CIS-5.1.9": _c(failed=1),
        "MITRE-T1078.001": _c(failed=2, passed=8),
        "NSA-authz-rbac": _c(failed=3, passed=6),
    },
    ("rbac", "hardened"): {
        "CIS-5.1.1": _c(passed=6),
        "CIS-5.1.10": _c(passed=1),
        "CIS-5.1.11": _c(passed=1),
        "CIS-5.1.12": _c(passed=1),
        "CIS-5.1.13": _c(passed=1),
        "CIS-5.1.2": _c(passed=1),
        "CIS-5.1.3": _c(passed=1),
        "CIS-5.1.4": _c(passed=1),
        "CIS-5.1.5": _c(passed=5),
        "CIS-5.1.8": _c(passed=1),
        "CIS-5.1.9": _c(passed=1),
        "MITRE-T1078.001": _c(passed=10),
        "NSA-authz-rbac": _c(passed=9),
    },
    ("network", "insecure"): {
        "CIS-5.3.2": _c(failed=1),
        "MITRE-T1046": _c(failed=1),
        "NSA-net-policies": _c(failed=12, passed=1, skipped=1),
    },
    ("network", "hardened"): {
        "CIS-5.3.2": _c(passed=1),
        "MITRE-T1046": _c(passed=1),
        "NSA-net-policies": _c(passed=13, skipped=1),
    },
}

_OUTCOMES = ("failure", "error", "skipped")


def _run_suite(pytester: pytest.Pytester, suite: str, *args: str) -> tuple[pytest.RunResult, list[ET.Element]]:
    xml = pytester.path / f"{suite}.xml"
    result = pytester.runpytest(
        "-p", "no:randomly", "--pyargs", f"pytest_k8ssec.suites.{suite}", f"--junitxml={xml}", "-rs", *args
    )
    return result, list(ET.parse(xml).getroot().iter("testcase"))


def _outcome(case: ET.Element) -> str:
    for tag, name in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        if case.find(tag) is not None:
            return name
    return "passed"


def _controls(case: ET.Element) -> list[str]:
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert "k8ssec.test" in props, f"{case.get('name')} carries no k8s_control marker"
    controls = json.loads(str(props["k8ssec.test"]))["controls"]
    assert controls, case.get("name")
    return list(controls)


def per_control(cases: list[ET.Element]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {}
    for case in cases:
        for control in _controls(case):
            counts.setdefault(control, Counter())[_outcome(case)] += 1
    return {control: dict(sorted(c.items())) for control, c in sorted(counts.items())}


@pytest.mark.parametrize("variant", ["insecure", "hardened"])
@pytest.mark.parametrize("suite", SUITES)
def test_suite_on_the_demo_shop_pins_its_counts_per_control(
    pytester: pytest.Pytester, suite: str, variant: str
) -> None:
    result, cases = _run_suite(
        pytester, suite, f"--k8s-manifests={EXAMPLES / 'manifests' / variant}", f"--k8s-profile={PROFILE}"
    )
    expected = dict(sorted(EXPECTED[(suite, variant)].items()))
    assert per_control(cases) == expected
    outcomes = Counter(_outcome(case) for case in cases)
    assert outcomes["error"] == 0
    if variant == "hardened":
        assert outcomes["failed"] == 0
        assert result.ret == pytest.ExitCode.OK
    else:
        assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_skips_say_what_would_make_them_run(pytester: pytest.Pytester) -> None:
    _, cases = _run_suite(
        pytester, "cis", f"--k8s-manifests={EXAMPLES / 'manifests' / 'hardened'}", f"--k8s-profile={PROFILE}"
    )
    reasons = {
        str(case.get("name")): str(skip.get("message")) for case in cases if (skip := case.find("skipped")) is not None
    }
    assert set(reasons) == {
        "test_5_2_1_admission_refuses_what_the_level_forbids[shop]",
        "test_5_3_1_cni_supports_network_policies",
        "test_5_4_2_external_secret_storage",
        "test_5_5_1_image_provenance_admission",
        "test_5_6_1_namespaces_as_boundaries",
    }
    for name in (
        "test_5_2_1_admission_refuses_what_the_level_forbids[shop]",
        "test_5_3_1_cni_supports_network_policies",
    ):
        assert "live-only" in reasons[name] and "--k8s-context" in reasons[name]
    assert "organisational" in reasons["test_5_4_2_external_secret_storage"]
    assert "organisational" in reasons["test_5_6_1_namespaces_as_boundaries"]


def test_an_unconfigured_requirement_skips_naming_its_profile_key(pytester: pytest.Pytester) -> None:
    hardened = f"--k8s-manifests={EXAMPLES / 'manifests' / 'hardened'}"
    result, cases = _run_suite(pytester, "images", hardened)
    skipped = [case for case in cases if _outcome(case) == "skipped"]
    assert {str(case.get("name")).split("[")[0] for case in skipped} == {"test_from_allowed_registries"}
    assert len(skipped) == 5
    assert "allowed_registries" in result.stdout.str()
    # The same requirement from the command line, no profile: judged, and the demo images pass.
    result, cases = _run_suite(pytester, "images", hardened, "--k8s-allowed-registry=registry.example.com/")
    assert Counter(_outcome(case) for case in cases) == {"passed": 26}
    # A registry the shop does not use fails every workload.
    result, cases = _run_suite(pytester, "images", hardened, "--k8s-allowed-registry=quay.io/")
    failed = sorted(str(case.get("name")) for case in cases if _outcome(case) == "failed")
    assert failed == sorted(
        f"test_from_allowed_registries[{ref}]"
        for ref in (
            "Deployment/shop/api",
            "CronJob/shop/report",
            "StatefulSet/shop/db",
            "Deployment/shop/web",
            "Deployment/shop/worker",
        )
    )
    result, cases = _run_suite(pytester, "network", hardened)
    skipped_names = {str(case.get("name")).split("[")[0] for case in cases if _outcome(case) == "skipped"}
    assert skipped_names == {
        "test_expected_flows_allowed",
        "test_expected_flows_denied",
        "test_no_ingress_from_internet",
    }
    out = result.stdout.str()
    assert "expected_flows.allowed" in out and "expected_flows.denied" in out and "ingress_allowed" in out


def test_a_broken_expected_flow_fails_the_hardened_shop(pytester: pytest.Pytester) -> None:
    profile = pytester.path / "profile.yaml"
    profile.write_text(
        "expected_flows:\n  allowed:\n    - {src: Deployment/shop/web, dst: StatefulSet/shop/db, port: 5432}\n"
        "  denied:\n    - {src: Deployment/shop/web, dst: Deployment/shop/api, port: 8080}\n"
    )
    result, cases = _run_suite(
        pytester, "network", f"--k8s-manifests={EXAMPLES / 'manifests' / 'hardened'}", f"--k8s-profile={profile}"
    )
    outcomes = {str(case.get("name")): _outcome(case) for case in cases}
    assert outcomes["test_expected_flows_allowed"] == "failed"
    assert outcomes["test_expected_flows_denied"] == "failed"
    assert "Deployment/shop/web" in result.stdout.str()


# --- Pod Security level per namespace ---------------------------------------------------------------

_POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: app, namespace: {ns}}}
spec:
  containers:
    - name: app
      image: registry.example.com/app@sha256:{digest}
      securityContext: {{allowPrivilegeEscalation: false}}
"""
_DIGEST = "a" * 64


def _namespace(name: str, labels: dict[str, str]) -> str:
    shown = ", ".join(f"{k}: {v}" for k, v in labels.items())
    return f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{{shown}}}}}\n"


def test_pss_level_per_namespace_as_admission_applies_it(pytester: pytest.Pytester) -> None:
    enforce = "pod-security.kubernetes.io/enforce"
    docs = [
        _namespace("strict", {enforce: "restricted"}),
        _namespace("loose", {enforce: "baseline"}),
        _namespace("open", {enforce: "privileged"}),
        _namespace("typo", {enforce: "restrictd"}),  # invalid: the admission falls back to restricted
        _namespace("plain", {}),
    ]
    docs += [_POD.format(ns=ns, digest=_DIGEST) for ns in ("strict", "loose", "open", "typo", "plain")]
    (pytester.path / "objects.yaml").write_text("---\n".join(docs))
    _, cases = _run_suite(pytester, "pss", f"--k8s-manifests={pytester.path / 'objects.yaml'}")
    outcomes = {str(case.get("name")): _outcome(case) for case in cases}
    # The pod runs as root without seccomp and keeps its capabilities: baseline passes, restricted does not.
    assert outcomes == {
        "test_namespace_enforces[loose]": "passed",
        "test_namespace_enforces[open]": "failed",
        "test_namespace_enforces[plain]": "failed",
        "test_namespace_enforces[strict]": "passed",
        "test_namespace_enforces[typo]": "failed",
        "test_baseline[Pod/strict/app]": "passed",
        "test_baseline[Pod/loose/app]": "passed",
        "test_baseline[Pod/open/app]": "skipped",
        "test_baseline[Pod/typo/app]": "passed",
        "test_baseline[Pod/plain/app]": "passed",
        "test_restricted[Pod/strict/app]": "failed",
        "test_restricted[Pod/loose/app]": "skipped",
        "test_restricted[Pod/open/app]": "skipped",
        "test_restricted[Pod/typo/app]": "failed",
        "test_restricted[Pod/plain/app]": "skipped",
    }
    # The profile's default level applies where no label says otherwise.
    _, cases = _run_suite(
        pytester, "pss", f"--k8s-manifests={pytester.path / 'objects.yaml'}", "--k8s-pss-default-level=restricted"
    )
    outcomes = {str(case.get("name")): _outcome(case) for case in cases}
    assert outcomes["test_restricted[Pod/plain/app]"] == "failed"
    assert outcomes["test_restricted[Pod/loose/app]"] == "skipped"


def test_system_namespaces_are_left_out_unless_the_profile_names_others(pytester: pytest.Pytester) -> None:
    pod = _POD.format(ns="kube-system", digest=_DIGEST).replace("name: app", "name: proxy")
    (pytester.path / "objects.yaml").write_text(pod + "---\n" + _POD.format(ns="shop", digest=_DIGEST))
    manifests = f"--k8s-manifests={pytester.path / 'objects.yaml'}"
    result, cases = _run_suite(pytester, "images", manifests)
    outcomes = {str(case.get("name")): _outcome(case) for case in cases}
    assert outcomes["test_pinned_by_digest[Pod/kube-system/proxy]"] == "skipped"
    assert outcomes["test_pinned_by_digest[Pod/shop/app]"] == "passed"
    assert "system namespace" in result.stdout.str()
    result, cases = _run_suite(pytester, "images", manifests, "--k8s-system-namespace=other")
    outcomes = {str(case.get("name")): _outcome(case) for case in cases}
    assert outcomes["test_pinned_by_digest[Pod/kube-system/proxy]"] == "passed"
    # A list test over nothing but system workloads fails: an empty selection never passes.
    (pytester.path / "objects.yaml").write_text(pod)
    result, cases = _run_suite(pytester, "cis", manifests, "-k", "5_2_2")
    assert [_outcome(case) for case in cases] == ["failed"]
    assert "outside the system namespaces" in result.stdout.str()


# --- A Helm chart, as charts are: no Namespace, no ServiceAccount, no RBAC, no policies ------------

# suite -> outcome totals on tests/data/charts/web (one Deployment, nothing hardened).
CHART_TOTALS = {
    "pss": {"failed": 1, "passed": 1, "skipped": 1},
    "cis": {"failed": 10, "passed": 18, "skipped": 5},
    "nsa": {"failed": 11, "passed": 4, "skipped": 3},
    "images": {"failed": 2, "passed": 2, "skipped": 2},
    "rbac": {"failed": 1, "passed": 3, "skipped": 2},
    "network": {"failed": 3, "skipped": 3},
}


@pytest.mark.parametrize("suite", SUITES)
def test_suite_on_a_helm_chart(pytester: pytest.Pytester, suite: str) -> None:
    if shutil.which("helm") is None:
        pytest.fail("helm is not installed (.ci/install installs it)")
    result, cases = _run_suite(pytester, suite, f"--k8s-manifests={CHART}")
    totals = dict(sorted(Counter(_outcome(case) for case in cases).items()))
    assert totals == CHART_TOTALS[suite], result.stdout.str()[-3000:]
    per_control(cases)  # every test carries its controls


# --- The profile ------------------------------------------------------------------------------------


def test_the_profile_is_read_with_its_defaults() -> None:
    profile = parse_profile(PROFILE.read_text(), str(PROFILE))
    assert profile.allowed_registries == ("registry.example.com/",)
    assert profile.system_namespaces == DEFAULT_SYSTEM_NAMESPACES
    assert profile.ingress_allowed == ("Deployment/shop/web",)
    assert str(profile.allowed_flows[0]) == "Deployment/shop/web -> Deployment/shop/api (port 8080/TCP)"
    assert str(profile.denied_flows[0]) == "Deployment/shop/web -> StatefulSet/shop/db (any port)"
    empty = parse_profile("", "empty.yaml")
    assert empty.ingress_allowed is None and empty.pss_default_level == "baseline" and not empty.allowed_flows


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ("allowed_registries: [a/]\nregistries: [b/]\n", "p.yaml:2", "unknown profile key 'registries'"),
        ("pss_default_level: strict\n", "p.yaml:1", "pss_default_level must be one of baseline, restricted"),
        ("system_namespaces: kube-system\n", "p.yaml:1", "system_namespaces must be a list of strings"),
        ("expected_flows:\n  allowed:\n    - {src: a, dst: b}\n", "p.yaml:3", "the flow has no 'port'"),
        ("expected_flows:\n  allowed:\n    - {src: a, dst: b, port: 0}\n", "p.yaml:3", "port must be 1-65535"),
        ("expected_flows:\n  denied:\n    - {src: a, dst: b, proto: TCP}\n", "p.yaml:3", "unknown flow key 'proto'"),
        ("expected_flows:\n  maybe: []\n", "p.yaml:2", "unknown expected_flows key 'maybe'"),
        ("a: [\n", "p.yaml:", "not valid YAML"),
        ("- allowed_registries\n", "p.yaml:1", "a profile is a mapping"),
        ("ingress_allowed: [1]\n", "p.yaml:1", "an endpoint is"),
        ("pss_default_level: baseline\n---\npss_default_level: baseline\n", "p.yaml:", "one YAML document"),
        ("pss_default_level: baseline\npss_default_level: restricted\n", "p.yaml:", "set twice"),
    ],
)
def test_a_malformed_profile_names_file_and_line(text: str, where: str, says: str) -> None:
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "p.yaml")
    assert str(info.value).startswith(where), str(info.value)
    assert says in str(info.value)


def test_a_malformed_profile_is_a_usage_error(pytester: pytest.Pytester) -> None:
    (pytester.path / "profile.yaml").write_text("allowed_registries: [a/]\nsystem_namespace: [x]\n")
    result = pytester.runpytest("--pyargs", "pytest_k8ssec.suites.images", "--k8s-profile=profile.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*k8s_profile*profile.yaml:2: unknown profile key 'system_namespace'*"])
    result = pytester.runpytest("--pyargs", "pytest_k8ssec.suites.images", "--k8s-profile=missing.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*missing.yaml: cannot read the profile*"])


def test_the_ini_profile_is_relative_to_the_ini_file_and_options_win(pytester: pytest.Pytester) -> None:
    (pytester.path / "conf").mkdir()
    (pytester.path / "conf" / "profile.yaml").write_text("allowed_registries: [quay.io/]\nsystem_namespaces: [shop]\n")
    (pytester.path / "conf" / "pytest.ini").write_text(
        "[pytest]\nk8s_profile = profile.yaml\nk8s_pss_default_level = restricted\n"
    )
    pytester.makepyfile(
        test_show="""
        def test_show(k8s_profile):
            print("PROFILE", k8s_profile.allowed_registries, k8s_profile.system_namespaces, k8s_profile.pss_default_level)
        """
    )
    result = pytester.runpytest("-c", "conf/pytest.ini", "--rootdir=.", "-s", "test_show.py")
    result.stdout.fnmatch_lines(["*PROFILE ('quay.io/',) ('shop',) restricted"])
    result = pytester.runpytest(
        "-c",
        "conf/pytest.ini",
        "--rootdir=.",
        "-s",
        "test_show.py",
        "--k8s-allowed-registry=a/",
        "--k8s-allowed-registry=b/",
    )
    result.stdout.fnmatch_lines(["*PROFILE ('a/', 'b/') ('shop',) restricted"])


# --- Shipped in the wheel ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_suites_ship_in_the_wheel_and_run_from_another_folder(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    shutil.copytree(ROOT / "pytest_k8ssec", source / "pytest_k8ssec", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(source), "-w", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert sorted(p.name for p in (target / "pytest_k8ssec" / "suites").glob("*.py")) == sorted(
        # cis_nodes judges machines, not the demo shop's manifests: tests/plugin/test_node_host_plugin.py runs it.
        ["__init__.py", "_common.py", "cis_nodes.py", *(f"{suite}.py" for suite in SUITES)]
    )
    # The installed copy, not this checkout: a folder holding neither, with the wheel first on the path.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    where = subprocess.run(
        [sys.executable, "-c", "import pytest_k8ssec.suites.pss as m; print(m.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=elsewhere,
        timeout=120,
    )
    assert where.stdout.strip().startswith(str(target)), where
    for variant, code in (("hardened", 0), ("insecure", 1)):
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "--pyargs",
                "pytest_k8ssec.suites.pss",
                f"--k8s-manifests={EXAMPLES / 'manifests' / variant}",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=elsewhere,
            timeout=300,
        )
        assert run.returncode == code, run.stdout[-3000:] + run.stderr[-3000:]
    assert "pod-security baseline:latest" in run.stdout  # the insecure shop fails with its reasons
