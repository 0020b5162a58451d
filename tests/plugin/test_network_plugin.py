"""k8s_network in real pytest runs (pytester): verdicts, failure text, the report option."""

from __future__ import annotations

from pathlib import Path

import pytest

MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: web}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: nginx, ports: [{containerPort: 8080, name: http}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: postgres, namespace: db}
spec:
  selector: {matchLabels: {app: postgres}}
  template:
    metadata: {labels: {app: postgres}}
    spec:
      containers: [{name: pg, image: postgres, ports: [{containerPort: 5432, name: pg}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: db}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: db}
spec:
  podSelector: {matchLabels: {app: postgres}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: web}}, podSelector: {matchLabels: {app: web}}}]
    ports: [{port: pg}]
"""

TESTS = """\
from pytest_k8ssec.asserts.network import assert_default_deny, assert_not_reachable, assert_reachable

def test_db_locked_down(k8s_network):
    assert_default_deny(k8s_network, "db", direction="both")
    assert_reachable(k8s_network, "Deployment/shop/web", "Deployment/db/postgres", "pg")
    assert_not_reachable(k8s_network, "internet", "Deployment/db/postgres")
    assert k8s_network.reachable("Deployment/shop/web", "Deployment/db/postgres", 5432).allowed

def test_shop_default_deny(k8s_network):
    assert_default_deny(k8s_network, "shop")

def test_workloads_are_endpoints(k8s_network, k8s_workloads):
    assert sorted(k8s_network.endpoint(w).ref for w in k8s_workloads) == ["Deployment/db/postgres", "Deployment/shop/web"]
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.mkdir("deploy") / "net.yaml").write_text(MANIFESTS)
    pytester.makepyfile(test_team_network=TESTS)
    return pytester


def test_verdicts_failure_text_and_report(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "--k8s-manifests", "deploy", "-p", "no:cacheprovider", "--k8s-network-report", "out/net.html"
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*SecurityAssertionError: network-default-deny-missing: namespace shop has no default-deny Ingress policy",
        "*Ingress: no NetworkPolicy in namespace shop has podSelector {}, policyType Ingress and no ingress rules",
        "*not isolated for Ingress now: Deployment/shop/web (deploy/net.yaml:5)",
    ])  # fmt: skip
    report = project.path / "out" / "net.html"
    result.stdout.fnmatch_lines([f"k8ssec: network report for target manifests: {report}"])
    page = report.read_text(encoding="utf-8")
    assert '<th class="row" scope="row">Deployment/db/postgres</th>' in page and "TCP 5432 (pg)" in page


def test_report_from_ini_alone_and_broken_policy_fails_closed(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nk8s_manifests = deploy\nk8s_network_report = reports/reach.html\n")
    project.makepyfile(test_team_network="def test_nothing():\n    pass\n")
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert (project.path / "reports" / "reach.html").is_file()
    broken = (
        MANIFESTS
        + "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad, namespace: db}\nspec: {policyTypes: [Ingres]}\n"
    )
    (project.path / "deploy" / "net.yaml").write_text(broken)
    project.makepyfile(test_team_network=TESTS)
    result = project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        [
            "*k8s_network (manifests): invalid NetworkPolicy db/bad (*deploy/net.yaml:41): spec.policyTypes?0?: unsupported value 'Ingres'*"
        ]
    )
    result.stdout.fnmatch_lines(
        ["k8ssec: network report for target manifests NOT written to *reach.html: invalid NetworkPolicy db/bad*"]
    )
    assert result.ret != 0


def test_the_deprecated_model_method_still_works_on_k8s_network(project: pytest.Pytester) -> None:
    # A subprocess: in-process, an earlier test may already have imported the reporting module
    # that attaches the method, and the run would prove nothing about the fixture.
    project.makepyfile(
        test_team_network="""
import pytest

def test_page(k8s_network):
    with pytest.warns(DeprecationWarning, match=r"use pytest_k8ssec.network_report_html"):
        page = k8s_network.html_report(title="T")
    assert page.startswith("<!DOCTYPE html>") and "Deployment/db/postgres" in page
"""
    )
    result = project.runpytest_subprocess("--k8s-manifests", "deploy", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_not_configured_skips_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_net(k8s_network):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no Kubernetes objects to test: pass --k8s-manifests*"])


def test_report_names_one_file_per_target() -> None:
    from pytest_k8ssec.fixtures.network import report_path

    assert report_path("out/net.html", "manifests", False) == Path("out/net.html")
    assert report_path("out/net.html", "kind-prod", True) == Path("out/net-kind-prod.html")
    assert report_path("out/net", "a/b c", True) == Path("out/net-a_b_c.html")
