"""Trivy and Grype JSON reports (model/scan_reports.py, sources/scan_reports.py), image matching, the vulnerability gate."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_k8ssec.asserts.vulnerabilities import assert_no_vulnerabilities, parse_ignore, parse_min_severity
from pytest_k8ssec.errors import K8sSecError, SecurityAssertionError
from pytest_k8ssec.model.images import parse_image
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.scan_reports import (
    SEVERITIES,
    ScanReport,
    ScanReportError,
    match_image,
    parse_report,
    parse_severity,
)
from pytest_k8ssec.sources.manifests import load_text
from pytest_k8ssec.sources.scan_reports import load_reports, read_report

DATA = Path(__file__).parents[1] / "data" / "scan-reports"
TRIVY = DATA / "trivy"
GRYPE = DATA / "grype"

WEB_DIGEST = "sha256:ac93aa569fdb10c4dd912deb0b8e7deda0c4a804cec001b020db243eca7f8658"
NGINX_DIGEST = "sha256:e1711d21e2f9892c95fe63e07a8064a36eb9f79b792e871977120fd1861a8a9b"
AGENT_INDEX = "sha256:9c2d22d3d208b55949db8af313cc021300f94c1fb8760754ffaa080929cfa744"
AGENT_MANIFEST = "sha256:1553efcc8494aa9cfbab4bf566686942db0ca57c408f15519f8446fff073bcec"
OTHER_DIGEST = "sha256:" + "0" * 64


def data(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def deployment(
    *images: str, name: str = "web", ns: str = "shop", init: str | None = None, debug: str | None = None
) -> str:
    lines = [
        "apiVersion: apps/v1",
        "kind: Deployment",
        f"metadata: {{name: {name}, namespace: {ns}}}",
        "spec:",
        "  template:",
        "    spec:",
    ]
    if init:
        lines += ["      initContainers:", f"        - {{name: migrate, image: '{init}'}}"]
    lines.append("      containers:")
    lines += [f"        - {{name: c{i}, image: '{image}'}}" for i, image in enumerate(images)]
    if debug:
        lines += ["      ephemeralContainers:", f"        - {{name: debug, image: '{debug}'}}"]
    return "\n".join(lines) + "\n"


def objects(*docs: str) -> list[K8sObject]:
    return load_text("---\n".join(docs), source="deploy/shop.yaml")


def failure(objs: list[K8sObject], report: Any = (TRIVY, GRYPE), **kwargs: Any) -> SecurityAssertionError:
    with pytest.raises(SecurityAssertionError) as info:
        assert_no_vulnerabilities(objs, report=list(report) if isinstance(report, tuple) else report, **kwargs)
    return info.value


# --- parsing ------------------------------------------------------------------------------------


def test_trivy_report_names_the_image_by_tag_and_digest_and_lists_every_vulnerability() -> None:
    report = read_report(TRIVY / "web-1.4.2.json")
    assert (report.scanner, report.artifact, report.scanned) == ("trivy", "registry.example.com/shop/web:1.4.2", True)
    assert [ref.docker_ref() for ref in report.references] == ["registry.example.com/shop/web:1.4.2"]
    assert report.digests == (WEB_DIGEST,)
    by_id = {v.id: v for v in report.vulnerabilities}
    assert sorted(by_id) == sorted(
        [
            "CVE-2024-37371",
            "CVE-2023-45853",
            "CVE-2023-44487",
            "CVE-2024-2511",
            "CVE-2011-3374",
            "CVE-2024-35195",
            "CVE-2024-37891",
        ]
    )
    krb = by_id["CVE-2024-37371"]
    assert (krb.package, krb.installed, krb.fixed, krb.severity, krb.status) == (
        "libkrb5-3",
        "1.20.1-2+deb12u1",
        "1.20.1-2+deb12u2",
        "CRITICAL",
        "fixed",
    )
    zlib = by_id["CVE-2023-45853"]
    assert (zlib.fixed, zlib.status) == ("", "will_not_fix")
    assert zlib.describe() == "CVE-2023-45853 CRITICAL in zlib1g 1:1.2.13.dfsg-1, no fix (will_not_fix)"
    assert by_id["CVE-2024-37891"].aliases == ("GHSA-34jh-p97f-mpxf",)


def test_trivy_docker_hub_names_are_normalized() -> None:
    report = read_report(TRIVY / "nginx-1.25.4.json")
    assert [ref.name for ref in report.references] == ["docker.io/library/nginx"]
    assert report.digests == (NGINX_DIGEST,)


def test_trivy_result_without_vulnerabilities_key_is_a_clean_scan() -> None:
    report = read_report(TRIVY / "api-2.0.0.json")
    assert report.scanned and report.vulnerabilities == ()


def test_trivy_report_without_vulnerability_results_is_not_a_scan() -> None:
    report = read_report(DATA / "trivy-secrets-only" / "worker-0.9.0.json")
    assert not report.scanned


def test_grype_report_reads_matches_fix_versions_and_related_ids() -> None:
    report = read_report(GRYPE / "agent-3.1.0.json")
    assert (report.scanner, report.artifact) == ("grype", "ghcr.io/acme/agent:3.1.0")
    assert [ref.docker_ref() for ref in report.references] == ["ghcr.io/acme/agent:3.1.0"]
    assert set(report.digests) == {AGENT_INDEX, AGENT_MANIFEST}
    by_id = {v.id: v for v in report.vulnerabilities}
    stdlib = by_id["CVE-2024-24790"]
    assert (stdlib.package, stdlib.installed, stdlib.fixed, stdlib.severity) == (
        "stdlib",
        "go1.21.6",
        "1.21.11, 1.22.4",
        "CRITICAL",
    )
    assert by_id["GHSA-8r3f-844c-mc37"].aliases == ("CVE-2024-24786",)
    assert (by_id["CVE-2011-3374"].severity, by_id["CVE-2011-3374"].status) == ("NEGLIGIBLE", "wont-fix")
    assert by_id["CVE-2023-50495"].severity == "UNKNOWN"
    assert by_id["CVE-2023-50495"].describe() == "CVE-2023-50495 UNKNOWN in libtinfo6 6.4-4, no fix (not-fixed)"


def test_grype_report_with_no_matches_is_clean() -> None:
    report = read_report(GRYPE / "busybox-1.36.1.json")
    assert report.vulnerabilities == () and report.scanned


MINIMAL_TRIVY: dict[str, Any] = {
    "SchemaVersion": 2,
    "ArtifactName": "alpine:3.20",
    "ArtifactType": "container_image",
    "Metadata": {"RepoTags": ["alpine:3.20"]},
    "Results": [
        {
            "Target": "alpine:3.20 (alpine 3.20.1)",
            "Class": "os-pkgs",
            "Type": "alpine",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2024-5535",
                    "PkgName": "libcrypto3",
                    "InstalledVersion": "3.3.1-r0",
                    "FixedVersion": "3.3.1-r1",
                    "Status": "fixed",
                    "Severity": "LOW",
                },
            ],
        },
    ],
}


def test_parsing_is_pure_on_decoded_json() -> None:
    report = parse_report(MINIMAL_TRIVY, "mem")
    assert report.source == "mem" and [v.id for v in report.vulnerabilities] == ["CVE-2024-5535"]
    assert report.digests == ()


def _broken(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(MINIMAL_TRIVY)
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "not a Trivy or Grype JSON report (list)"),
        (
            {"bomFormat": "CycloneDX", "components": []},
            "not a Trivy or Grype JSON report (an object with keys bomFormat",
        ),
        (_broken(lambda d: d.update(SchemaVersion=1)), "schema 1 is not supported"),
        (
            _broken(lambda d: d.update(ArtifactType="filesystem")),
            "Trivy report of a 'filesystem', not of a container image",
        ),
        ({"SchemaVersion": 2, "ClusterName": "prod", "Resources": []}, "a Trivy Kubernetes report"),
        (
            _broken(lambda d: d["Results"][0]["Vulnerabilities"][0].update(Severity="SEVERE")),
            "Results[0].Vulnerabilities[0].Severity: unknown severity 'SEVERE'",
        ),
        (
            _broken(lambda d: d["Results"][0]["Vulnerabilities"][0].pop("VulnerabilityID")),
            "Results[0].Vulnerabilities[0].VulnerabilityID: must be a non-empty string",
        ),
        (_broken(lambda d: d["Results"][0].update(Vulnerabilities={})), "Results[0].Vulnerabilities: must be a list"),
        (_broken(lambda d: d.update(ArtifactName="/tmp/scan/image.tar", Metadata={})), "names no image"),
        ({"matches": [], "source": {"type": "directory", "target": "./src"}}, "Grype report of a 'directory' source"),
        (
            {
                "matches": [{"vulnerability": {"id": "CVE-1"}, "artifact": {"name": "x"}}],
                "source": {"type": "image", "target": {"userInput": "x:1", "tags": ["x:1"]}},
            },
            None,
        ),
        (
            {
                "matches": [{"vulnerability": {"id": "CVE-1", "severity": "Bad"}, "artifact": {"name": "x"}}],
                "source": {"type": "image", "target": {"userInput": "x:1"}},
            },
            "matches[0].vulnerability.severity: unknown severity 'Bad'",
        ),
    ],
)
def test_reports_that_are_not_trivy_or_grype_image_reports_are_errors(doc: object, message: str | None) -> None:
    if message is None:
        assert parse_report(doc, "r.json").vulnerabilities[0].severity == "UNKNOWN"
        return
    with pytest.raises(ScanReportError) as info:
        parse_report(doc, "r.json")
    assert str(info.value).startswith("r.json")
    assert message in str(info.value)
    assert isinstance(info.value, K8sSecError)


def test_severity_order_ranks_negligible_below_low() -> None:
    assert SEVERITIES == ("UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL")
    assert [parse_severity(s) for s in ("Negligible", "high", "CRITICAL", None, "")] == [
        "NEGLIGIBLE",
        "HIGH",
        "CRITICAL",
        "UNKNOWN",
        "UNKNOWN",
    ]
    assert parse_min_severity("medium") == "MEDIUM"
    for bad in ("SEVERE", "", None, 3):
        with pytest.raises(ValueError, match="min_severity must be one of UNKNOWN, NEGLIGIBLE, LOW"):
            parse_min_severity(bad)


# --- reading files ------------------------------------------------------------------------------


def test_load_reports_takes_a_file_a_directory_or_a_list_and_reads_each_file_once() -> None:
    assert [r.source for r in load_reports(TRIVY / "api-2.0.0.json")] == [str(TRIVY / "api-2.0.0.json")]
    assert sorted(Path(r.source).name for r in load_reports(TRIVY)) == [
        "api-2.0.0.json",
        "nginx-1.25.4.json",
        "web-1.4.2.json",
    ]
    both = load_reports([TRIVY, str(GRYPE), TRIVY / "web-1.4.2.json"])
    assert len(both) == 5 and {r.scanner for r in both} == {"trivy", "grype"}


def test_unreadable_or_foreign_report_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ScanReportError, match=r"truncated.json:\d+:\d+: not valid JSON"):
        load_reports(DATA / "malformed" / "truncated.json")
    with pytest.raises(ScanReportError, match="cyclonedx-sbom.json: not a Trivy or Grype JSON report"):
        load_reports(DATA / "malformed" / "cyclonedx-sbom.json")
    with pytest.raises(ScanReportError, match="not of a container image"):
        load_reports(DATA / "malformed" / "trivy-filesystem.json")
    with pytest.raises(ScanReportError, match="Grype report of a 'directory' source"):
        load_reports(DATA / "malformed" / "grype-directory.json")
    # A directory with one bad report is an error, not a directory with one report fewer.
    with pytest.raises(ScanReportError):
        load_reports(DATA / "malformed")
    with pytest.raises(ScanReportError, match="holds no .json report"):
        (tmp_path / "README.md").write_text("scans go here\n")
        load_reports(tmp_path)
    with pytest.raises(ScanReportError, match="does not exist"):
        load_reports(tmp_path / "missing.json")
    with pytest.raises(ScanReportError, match="no scan report given"):
        load_reports([])
    (tmp_path / "latin1.json").write_bytes(b'{"x": "\xe9"}')
    with pytest.raises(ScanReportError, match="cannot be read"):
        load_reports(tmp_path / "latin1.json")


# --- matching -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reports() -> tuple[ScanReport, ...]:
    return load_reports([TRIVY, GRYPE])


def covering(image: str, reports: tuple[ScanReport, ...]) -> list[str]:
    return [Path(r.source).name for r in match_image(parse_image(image), reports).reports]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("nginx:1.25.4", ["nginx-1.25.4.json"]),
        ("docker.io/library/nginx:1.25.4", ["nginx-1.25.4.json"]),
        ("index.docker.io/library/nginx:1.25.4", ["nginx-1.25.4.json"]),
        ("nginx", []),  # latest is not 1.25.4
        ("nginx:1.25", []),
        ("registry.example.com/shop/web:1.4.2", ["web-1.4.2.json"]),
        ("registry.example.com:443/shop/web:1.4.2", []),  # another registry host
        ("busybox:1.36.1", ["busybox-1.36.1.json"]),
        (f"registry.example.com/shop/web@{WEB_DIGEST}", ["web-1.4.2.json"]),
        (f"nginx@{NGINX_DIGEST}", ["nginx-1.25.4.json"]),
        (f"mirror.example.com/nginx:1.25.4@{NGINX_DIGEST}", ["nginx-1.25.4.json"]),  # the digest names the content
        (f"ghcr.io/acme/agent:3.1.0@{AGENT_INDEX}", ["agent-3.1.0.json"]),
        (f"ghcr.io/acme/agent@{AGENT_MANIFEST}", ["agent-3.1.0.json"]),
        (f"nginx:1.25.4@{OTHER_DIGEST}", []),  # tag matches, digest does not: not the same image
    ],
)
def test_images_match_reports_by_normalized_name_and_tag_or_by_digest(
    image: str, expected: list[str], reports: tuple[ScanReport, ...]
) -> None:
    assert covering(image, reports) == expected


def test_a_digest_pinned_image_names_reports_for_its_repository_with_other_digests(
    reports: tuple[ScanReport, ...],
) -> None:
    found = match_image(parse_image(f"nginx:1.25.4@{OTHER_DIGEST}"), reports)
    assert found.reports == () and [Path(r.source).name for r in found.other_digests] == ["nginx-1.25.4.json"]


# --- the assertion ------------------------------------------------------------------------------


def test_failure_names_workload_provenance_container_cve_package_versions_and_fix() -> None:
    objs = objects(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}]}\n",
        deployment("registry.example.com/shop/web:1.4.2"),
    )
    error = failure(objs)
    text = str(error)
    first = text.splitlines()[0]
    assert first == "image-vulnerabilities HIGH or above: 4 violations in Deployment shop/web (deploy/shop.yaml:6)"
    path = "spec.template.spec.containers[0].image"
    for line in (
        f'{path}: container "c0" image registry.example.com/shop/web:1.4.2: CVE-2023-45853 CRITICAL in zlib1g 1:1.2.13.dfsg-1, no fix (will_not_fix)',
        f'{path}: container "c0" image registry.example.com/shop/web:1.4.2: CVE-2024-37371 CRITICAL in libkrb5-3 1.20.1-2+deb12u1, fixed in 1.20.1-2+deb12u2',
        f'{path}: container "c0" image registry.example.com/shop/web:1.4.2: CVE-2023-44487 HIGH in libnghttp2-14 1.52.0-1, fixed in 1.52.0-1+deb12u1',
        f'{path}: container "c0" image registry.example.com/shop/web:1.4.2: CVE-2024-37891 HIGH in urllib3 2.0.7, fixed in 1.26.19, 2.2.2',
    ):
        assert f"  - {line}" in text.splitlines()
    assert "MEDIUM" not in text and "CVE-2011-3374" not in text
    assert "fix: Rebuild or upgrade the image" in text
    assert {f.check.id for f in error.findings} == {"image-vulnerabilities"}
    assert [f.container for f in error.findings] == ["c0"] * 4


@pytest.mark.parametrize(
    ("min_severity", "ids"),
    [
        ("CRITICAL", {"CVE-2024-24790"}),
        ("HIGH", {"CVE-2024-24790", "CVE-2024-33599"}),
        ("medium", {"CVE-2024-24790", "CVE-2024-33599", "GHSA-8r3f-844c-mc37"}),
        ("LOW", {"CVE-2024-24790", "CVE-2024-33599", "GHSA-8r3f-844c-mc37"}),  # Negligible ranks below LOW
        ("Negligible", {"CVE-2024-24790", "CVE-2024-33599", "GHSA-8r3f-844c-mc37", "CVE-2011-3374"}),
        ("UNKNOWN", {"CVE-2024-24790", "CVE-2024-33599", "GHSA-8r3f-844c-mc37", "CVE-2011-3374", "CVE-2023-50495"}),
    ],
)
def test_min_severity_is_a_threshold(min_severity: str, ids: set[str]) -> None:
    error = failure(objects(deployment(f"ghcr.io/acme/agent@{AGENT_INDEX}")), report=GRYPE, min_severity=min_severity)
    assert {f.message.split(": ")[1].split(" ")[0] for f in error.findings} == ids


def test_clean_images_pass_and_init_and_ephemeral_images_are_judged() -> None:
    clean = objects(deployment("registry.example.com/shop/api:2.0.0", "busybox:1.36.1"))
    assert_no_vulnerabilities(clean, report=[TRIVY, GRYPE])
    error = failure(
        objects(deployment("busybox:1.36.1", init="nginx:1.25.4", debug="ghcr.io/acme/agent:3.1.0")),
        min_severity="CRITICAL",
    )
    assert [(f.path, f.container) for f in error.findings] == [
        ("spec.template.spec.initContainers[0].image", "migrate"),
        ("spec.template.spec.ephemeralContainers[0].image", "debug"),
    ]
    assert "CVE-2024-45490 CRITICAL in libexpat1 2.5.0-1, fixed in 2.5.0-1+deb12u1" in str(error)
    assert "CVE-2024-24790 CRITICAL in stdlib go1.21.6, fixed in 1.21.11, 1.22.4" in str(error)


def test_an_image_without_report_fails_naming_image_and_workload() -> None:
    error = failure(objects(deployment("busybox:1.36.1", "registry.example.com/shop/cart:1.0", name="cart")))
    text = str(error)
    assert (
        text.splitlines()[0]
        == "image-vulnerabilities HIGH or above: 1 violation in Deployment shop/cart (deploy/shop.yaml:1)"
    )
    assert (
        'container "c1" image registry.example.com/shop/cart:1.0: no scan report covers '
        "registry.example.com/shop/cart:1.0" in text
    )
    assert "no report is not a pass" in text


def test_a_digest_pinned_image_with_a_report_for_another_digest_fails_and_says_so() -> None:
    error = failure(objects(deployment(f"nginx:1.25.4@{OTHER_DIGEST}")))
    text = str(error)
    assert f"no scan report has digest {OTHER_DIGEST}" in text
    assert f"nginx-1.25.4.json (nginx:1.25.4) has {NGINX_DIGEST}: not the same image" in text


def test_a_report_that_holds_no_vulnerability_scan_fails_the_image() -> None:
    error = failure(objects(deployment("registry.example.com/shop/worker:0.9.0")), report=DATA / "trivy-secrets-only")
    assert "holds no vulnerability scan result" in str(error)


def test_an_invalid_image_reference_fails_naming_it() -> None:
    error = failure(objects(deployment("busybox:1.36.1", "Registry.Example.com/UPPER/case:1")))
    assert "container \"c1\" image 'Registry.Example.com/UPPER/case:1' is not a valid image reference" in str(error)


def test_ignored_vulnerabilities_need_reasons_and_are_listed_when_something_else_fails() -> None:
    objs = objects(deployment("ghcr.io/acme/agent:3.1.0"))
    reasons = {"CVE-2024-24790": "the agent never parses IPv6 zone ids", "cve-2024-33599": "nscd is not installed"}
    assert_no_vulnerabilities(objs, report=GRYPE, ignore=reasons)
    # A GHSA finding is ignored by the CVE it aliases; a list of (id, reason) pairs works too.
    assert_no_vulnerabilities(
        objs,
        report=GRYPE,
        min_severity="MEDIUM",
        ignore=[*reasons.items(), ("CVE-2024-24786", "no untrusted protobuf input")],
    )
    error = failure(
        objects(deployment("ghcr.io/acme/agent:3.1.0", "nginx:1.25.4")), ignore={**reasons, "CVE-2099-0001": "stale"}
    )
    text = str(error)
    assert "CVE-2024-24790" not in "\n".join(f.message for f in error.findings)
    assert "ignored (2, with reasons):" in text
    assert (
        "  - CVE-2024-24790 CRITICAL in stdlib go1.21.6, fixed in 1.21.11, 1.22.4 (image ghcr.io/acme/agent:3.1.0, "
        'Deployment shop/web container "c0"): the agent never parses IPv6 zone ids' in text
    )
    assert "ignore entries that matched no finding at HIGH or above: CVE-2099-0001" in text


@pytest.mark.parametrize(
    ("ignore", "message"),
    [
        ({"CVE-2024-24790": ""}, "'CVE-2024-24790' has no reason"),
        ({"CVE-2024-24790": "   "}, "has no reason"),
        ({"CVE-2024-24790": None}, "has no reason"),
        ("CVE-2024-24790", "give each ignored id with its reason"),
        (["CVE-2024-24790"], "want (vulnerability id, reason)"),
        ([("CVE-2024-24790",)], "want (vulnerability id, reason)"),
        ({"": "why"}, "must be a non-empty string"),
    ],
)
def test_an_ignore_without_a_reason_is_a_usage_error(ignore: Any, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_ignore(ignore)
    assert message in str(info.value)
    with pytest.raises(ValueError):
        assert_no_vulnerabilities(objects(deployment("busybox:1.36.1")), report=GRYPE, ignore=ignore)


def test_usage_errors_come_before_reading_reports() -> None:
    with pytest.raises(ValueError, match="min_severity must be one of"):
        assert_no_vulnerabilities(objects(deployment("busybox:1.36.1")), report=DATA / "missing", min_severity="SEVERE")


def test_bad_report_is_an_error_not_a_pass() -> None:
    with pytest.raises(ScanReportError, match="not valid JSON"):
        assert_no_vulnerabilities(
            objects(deployment("busybox:1.36.1")), report=[GRYPE, DATA / "malformed" / "truncated.json"]
        )


def test_selections_without_workloads_or_images_fail_closed() -> None:
    service = objects("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n")
    with pytest.raises(
        SecurityAssertionError, match=r"no workload among the 1 given objects \(kinds: Service\); no image was checked"
    ):
        assert_no_vulnerabilities(service, report=GRYPE)
    with pytest.raises(SecurityAssertionError, match="no workload among the 0 given objects"):
        assert_no_vulnerabilities([], report=GRYPE)
    empty = objects("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n")
    with pytest.raises(SecurityAssertionError, match="have no containers, so no image was checked"):
        assert_no_vulnerabilities(empty, report=GRYPE)


def test_a_container_without_image_fails() -> None:
    pod = objects(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {containers: [{name: app}]}\n"
    )
    error = failure(pod, report=GRYPE)
    assert 'spec.containers[0].image: container "app" sets no image; there is nothing to scan' in str(error)
