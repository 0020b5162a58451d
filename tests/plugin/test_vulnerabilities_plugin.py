"""assert_no_vulnerabilities in real pytest runs (pytester): manifests from --k8s-manifests, scan reports on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPORTS = Path(__file__).parents[1] / "data" / "scan-reports"
NGINX_DIGEST = "sha256:e1711d21e2f9892c95fe63e07a8064a36eb9f79b792e871977120fd1861a8a9b"

MANIFESTS = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  template:
    spec:
      initContainers:
        - {{name: proxy-init, image: "nginx:1.25.4@{NGINX_DIGEST}"}}
      containers:
        - {{name: app, image: registry.example.com/shop/web:1.4.2}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api, namespace: shop}}
spec:
  template:
    spec:
      containers:
        - {{name: app, image: registry.example.com/shop/api:2.0.0}}
        - {{name: sidecar, image: busybox:1.36.1}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: report, namespace: ops}}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - {{name: job, image: registry.example.com/ops/report:7}}
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.mkdir("deploy") / "shop.yaml").write_text(MANIFESTS)
    scans = pytester.mkdir("scans")
    shutil.copytree(REPORTS / "trivy", scans / "trivy")
    shutil.copytree(REPORTS / "grype", scans / "grype")
    return pytester


def test_per_workload_gate_passes_clean_images_and_fails_vulnerable_and_unscanned_ones(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        from pytest_k8ssec.asserts.vulnerabilities import assert_no_vulnerabilities

        def test_images(k8s_workload):
            assert_no_vulnerabilities(k8s_workload, report=["scans/trivy", "scans/grype"], min_severity="CRITICAL")
        """
    )
    result = project.runpytest("--k8s-manifests", "deploy", "-v")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "*test_images?Deployment/shop/api? PASSED*",
            "*test_images?Deployment/shop/web? FAILED*",
            "*test_images?CronJob/ops/report? FAILED*",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*image-vulnerable CRITICAL or above: 3 violations in Deployment shop/web (deploy/shop.yaml:1)"]
    )
    text = result.stdout.str()
    assert (
        f'spec.template.spec.initContainers[0].image: container "proxy-init" image nginx:1.25.4@{NGINX_DIGEST}: '
        "CVE-2024-45490 CRITICAL in libexpat1 2.5.0-1, fixed in 2.5.0-1+deb12u1" in text
    )
    assert (
        'container "app" image registry.example.com/shop/web:1.4.2: CVE-2023-45853 CRITICAL in zlib1g '
        "1:1.2.13.dfsg-1, no fix (will_not_fix)" in text
    )
    assert "image-vulnerable CRITICAL or above: 1 violation in CronJob ops/report (deploy/shop.yaml:22)" in text
    assert "no scan report covers registry.example.com/ops/report:7" in text


def test_one_gate_over_all_workloads_lists_allowed_findings_with_their_reasons(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        from pytest_k8ssec.asserts.vulnerabilities import assert_no_vulnerabilities

        ALLOW = {"CVE-2023-45853": "MiniZip is not built into zlib1g", "CVE-2024-37371": "no Kerberos in use"}

        def test_all_images(k8s_workloads):
            assert_no_vulnerabilities(k8s_workloads, report=["scans/trivy", "scans/grype"], min_severity="critical", allow=ALLOW)
        """
    )
    result = project.runpytest("--k8s-manifests", "deploy")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*image-vulnerable CRITICAL or above: 2 violations in 2 objects",
            "*Deployment shop/web (deploy/shop.yaml:1)",
            "*CVE-2024-45490 CRITICAL in libexpat1*",
            "*CronJob ops/report (deploy/shop.yaml:22)",
            "*no scan report covers registry.example.com/ops/report:7*",
            "*allowed (2, with reasons):",
            "*CVE-2023-45853 CRITICAL in zlib1g 1:1.2.13.dfsg-1, no fix (will_not_fix) (image registry.example.com/shop/web:1.4.2, "
            'Deployment shop/web container "app"): MiniZip is not built into zlib1g',
        ]
    )


def test_a_broken_report_errors_the_test_instead_of_passing(project: pytest.Pytester) -> None:
    shutil.copy(REPORTS / "malformed" / "truncated.json", project.path / "scans" / "trivy" / "truncated.json")
    project.makepyfile(
        """
        from pytest_k8ssec.asserts.vulnerabilities import assert_no_vulnerabilities

        def test_all_images(k8s_workloads):
            assert_no_vulnerabilities(k8s_workloads, report="scans/trivy")

        def test_missing_dir(k8s_workloads):
            assert_no_vulnerabilities(k8s_workloads, report="scans/none")
        """
    )
    result = project.runpytest("--k8s-manifests", "deploy")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "*ScanReportError: scans/trivy/truncated.json:*: not valid JSON*",
            "*ScanReportError: report scans/none does not exist*",
        ]
    )
