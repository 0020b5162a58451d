"""The plugin in real pytest runs (pytester): options, fixtures, ids, selection, reports."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}, labels: {{tier: {tier}}}}}
spec:
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: app
          image: registry.example.com/{name}:1.0
          securityContext: {{privileged: {privileged}}}
"""


def _deployment(name: str, ns: str = "shop", tier: str = "web", privileged: bool = False) -> str:
    return DEPLOYMENT.format(name=name, ns=ns, tier=tier, privileged=str(privileged).lower())


@pytest.fixture
def shop(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with three deployments (one privileged), a Service and a values.yaml."""
    manifests = pytester.mkdir("deploy")
    (manifests / "web.yaml").write_text(_deployment("web") + "---\n" + _deployment("api", tier="backend"))
    (manifests / "ops.yaml").write_text(
        "# the agent\n"
        + _deployment("agent", ns="ops", tier="infra", privileged=True)
        + "---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}]}\n"
    )
    (manifests / "values.yaml").write_text("replicaCount: 2\n")
    return pytester


def test_help_lists_the_k8ssec_group_and_its_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["k8ssec: Kubernetes security tests*", "*--k8s-manifests=PATH*", "*--k8s-non-k8s-yaml*"]
    )
    result.stdout.fnmatch_lines(["*k8s_manifests (linelist)*"])


def test_loading_the_plugin_warns_about_nothing(pytester: pytest.Pytester) -> None:
    # A plugin module imported by another before pytest registers it cannot be assert-rewritten,
    # and pytest then warns on every run of every user; only a fresh process imports it anew.
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("-W", "error::pytest.PytestAssertRewriteWarning")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    assert "PytestAssertRewriteWarning" not in result.stdout.str() + result.stderr.str()


def test_p_no_k8ssec_disables_the_plugin(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("-p", "no:k8ssec", "--help")
    assert result.ret == 0
    assert "--k8s-manifests" not in result.stdout.str()
    pytester.makepyfile("def test_x(k8s_inventory): pass")
    result = pytester.runpytest("-p", "no:k8ssec")
    result.stdout.fnmatch_lines(["*fixture 'k8s_inventory' not found*"])


def test_fixtures_skip_with_the_option_to_pass_when_nothing_is_configured(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_inventory(k8s_inventory): pass
        def test_workloads(k8s_workloads): pass
        def test_workload(k8s_workload): pass
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=3)
    result.stdout.fnmatch_lines(["*no Kubernetes objects to test: pass --k8s-manifests PATH*"])


def test_one_test_case_per_workload_with_kind_namespace_name_ids(shop: pytest.Pytester) -> None:
    shop.makepyfile("def test_w(k8s_workload): assert k8s_workload.kind == 'Deployment'")
    result = shop.runpytest("--k8s-manifests", "deploy", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines_random(
        [
            "*test_w?Deployment/shop/web? PASSED*",
            "*test_w?Deployment/shop/api? PASSED*",
            "*test_w?Deployment/ops/agent? PASSED*",
        ]
    )


def test_k8s_select_narrows_by_namespace_kind_and_labels(shop: pytest.Pytester) -> None:
    shop.makepyfile(
        """
        import pytest

        @pytest.mark.k8s_select(namespace="shop", labels={"tier": "backend"})
        def test_backend(k8s_workload):
            assert k8s_workload.name == "api"

        @pytest.mark.k8s_select(kind=["Deployment", "StatefulSet"], namespace="ops")
        def test_ops(k8s_workloads):
            assert [w.name for w in k8s_workloads] == ["agent"]
        """
    )
    result = shop.runpytest("--k8s-manifests", "deploy", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_backend?Deployment/shop/api? PASSED*"])


def test_a_selection_matching_nothing_fails_and_says_so(shop: pytest.Pytester) -> None:
    shop.makepyfile(
        """
        import pytest

        @pytest.mark.k8s_select(kind="CronJob")
        def test_each(k8s_workload): pass

        @pytest.mark.k8s_select(namespace="nowhere")
        def test_all(k8s_workloads): pass

        @pytest.mark.k8s_select(kind="CronJob", allow_empty=True)
        def test_optional(k8s_workload): pass

        @pytest.mark.k8s_select(kind="CronJob", allow_empty=True)
        def test_optional_list(k8s_workloads): assert k8s_workloads == []
        """
    )
    result = shop.runpytest("--k8s-manifests", "deploy", "-rA")
    result.assert_outcomes(errors=2, skipped=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*the selection (kind='CronJob') matched no workload among the 4 loaded objects (kinds: Deployment, Service)*",
        ]
    )
    assert "the selection (namespace='nowhere') matched no workload" in result.stdout.str()
    assert "test_each[no-workload-matched]" in result.stdout.str()


def test_inventory_queries(shop: pytest.Pytester) -> None:
    shop.makepyfile(
        """
        def test_inventory(k8s_inventory):
            assert len(k8s_inventory) == 4
            assert k8s_inventory.kinds() == ["Deployment", "Service"]
            assert k8s_inventory.namespaces() == ["ops", "shop"]
            assert [o.name for o in k8s_inventory.select(kind="Service")] == ["web"]
            web = k8s_inventory.get("Deployment", "web", namespace="shop")
            assert str(web.provenance).endswith("web.yaml:1")
            agent = k8s_inventory.get("Deployment", "agent")
            assert str(agent.provenance).endswith("ops.yaml:2")
        """
    )
    result = shop.runpytest("--k8s-manifests", "deploy")
    result.assert_outcomes(passed=1)


def test_non_kubernetes_yaml_in_a_scanned_dir_warns_and_can_be_made_an_error(shop: pytest.Pytester) -> None:
    shop.makepyfile("def test_x(k8s_inventory): assert len(k8s_inventory) == 4")
    result = shop.runpytest("--k8s-manifests", "deploy")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*K8sSecWarning: deploy/values.yaml:1: not a Kubernetes object*skipped*"])
    # As an error, the file is a failing item of its own; the objects still load and are judged.
    result = shop.runpytest("--k8s-manifests", "deploy", "--k8s-non-k8s-yaml", "error")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["deploy/values.yaml:1: not a Kubernetes object (a mapping without apiVersion and kind)"]
    )
    assert "FAILED k8ssec::manifests[deploy/values.yaml]" in result.stdout.str()
    shop.makeini("[pytest]\nk8s_non_k8s_yaml = ignore\nk8s_manifests = deploy\n")
    result = shop.runpytest()
    result.assert_outcomes(passed=1)


def test_broken_manifest_fails_as_its_own_item_and_a_missing_path_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.mkdir("deploy")
    (pytester.path / "deploy" / "bad.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [oops\n")
    pytester.makepyfile("def test_x(k8s_workload): pass")
    result = pytester.runpytest("--k8s-manifests", "deploy")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*deploy/bad.yaml:5: invalid YAML*"])
    result = pytester.runpytest("--k8s-manifests", "missing-dir")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*missing-dir: no such file or directory*"])


def test_ini_key_resolves_relative_to_the_ini_file_and_env_var_works(
    shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop.makepyfile("def test_x(k8s_inventory): assert len(k8s_inventory) == 4")
    shop.makeini("[pytest]\nk8s_manifests =\n    deploy/web.yaml\n    deploy/ops.yaml\n")
    # Run from a subdirectory: the ini paths still resolve against the ini file's folder.
    monkeypatch.chdir(shop.mkdir("sub"))
    result = shop.runpytest(str(shop.path), "--rootdir", str(shop.path))
    result.assert_outcomes(passed=1)
    (shop.path / "tox.ini").unlink()
    monkeypatch.setenv("K8SSEC_MANIFESTS", f"{shop.path / 'deploy' / 'web.yaml'}:{shop.path / 'deploy' / 'ops.yaml'}")
    result = shop.runpytest(str(shop.path))
    result.assert_outcomes(passed=1)


def test_command_line_manifests_win_over_ini(shop: pytest.Pytester) -> None:
    shop.makeini("[pytest]\nk8s_manifests = deploy/web.yaml\n")
    shop.makepyfile("def test_x(k8s_inventory): assert [o.name for o in k8s_inventory] == ['agent', 'web']")
    result = shop.runpytest("--k8s-manifests", "deploy/ops.yaml")
    result.assert_outcomes(passed=1)


def test_manifests_from_stdin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(k8s_workload): assert k8s_workload.name == 'web'")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--k8s-manifests", "-"],
        input=_deployment("web").encode(),
        cwd=pytester.path,
        capture_output=True,
        timeout=120,
    )
    out = proc.stdout.decode()
    assert proc.returncode == 0, out
    assert "1 passed" in out


def test_failures_name_object_provenance_path_container_and_fix(shop: pytest.Pytester) -> None:
    shop.makepyfile(
        """
        from pytest_k8ssec import assert_not_privileged

        def test_priv(k8s_workload):
            assert_not_privileged(k8s_workload)
        """
    )
    result = shop.runpytest("--k8s-manifests", "deploy")
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert "privileged-container: 1 violation in Deployment ops/agent (deploy/ops.yaml:2)" in out
    assert (
        '  - spec.template.spec.containers[0].securityContext.privileged: container "app" must not set '
        "securityContext.privileged=true" in out
    )
    assert "  fix: Remove securityContext.privileged or set it to false" in out


def test_junit_properties_and_terminal_summary_carry_the_findings(shop: pytest.Pytester) -> None:
    shop.makepyfile(
        """
        from pytest_k8ssec import assert_not_privileged

        def test_priv(k8s_workload):
            assert_not_privileged(k8s_workload)
        """
    )
    junit = shop.path / "junit.xml"
    result = shop.runpytest("--k8s-manifests", "deploy", f"--junitxml={junit}")
    result.stdout.fnmatch_lines(
        [
            "*= k8ssec =*",
            "check*severity*judged*pass*fail*advisory*waived*baselined",
            "privileged-container*critical*3*2*1*0*0*0",
            "malformed-object*high*3*3*0*0*0*0",
            "1 finding(s) from 2 check(s): 1 fail, 0 advisory, 0 baselined, 0 waived (gate: fail on info and above)",
        ]
    )
    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    failing = cases["test_priv[Deployment/ops/agent]"]
    props = [(p.get("name"), p.get("value")) for p in failing.iter("property")]
    assert ("k8ssec.check", "privileged-container=fail") in props
    findings = [value for name, value in props if name == "k8ssec.finding"]
    assert len(findings) == 1
    assert '"path": "spec.template.spec.containers[0].securityContext.privileged"' in findings[0]
    assert '"source": "deploy/ops.yaml:2"' in findings[0]
    passing = cases["test_priv[Deployment/shop/web]"]
    assert ("k8ssec.check", "privileged-container=pass") in [
        (p.get("name"), p.get("value")) for p in passing.iter("property")
    ]


def test_without_junit_a_test_carries_its_findings_as_one_property(shop: pytest.Pytester) -> None:
    # One property per test, not one per finding: the records themselves where the test ran
    # (nothing encoded), one JSON text from an xdist worker. JUnit XML (above) keeps a property
    # per finding.
    shop.makeconftest(
        """
        import json

        SEEN = []

        def pytest_runtest_logreport(report):
            if report.when == "call":
                SEEN.append((hasattr(report, "node"), [name for name, _ in report.user_properties]))
                for name, value in report.user_properties:
                    if name == "k8ssec.findings":
                        records = json.loads(value) if isinstance(value, str) else value
                        SEEN.append((type(value).__name__, [r["path"] for r in records]))

        def pytest_terminal_summary(terminalreporter):
            for entry in SEEN:
                terminalreporter.write_line(f"SEEN {entry}")
        """
    )
    shop.makepyfile(
        """
        from pytest_k8ssec import assert_not_privileged

        def test_priv(k8s_workloads):
            assert_not_privileged(k8s_workloads)
        """
    )
    for args, from_worker in (([], False), (["-p", "xdist", "-n", "2"], True)):
        result = shop.runpytest_subprocess("--k8s-manifests", "deploy", *args)
        result.assert_outcomes(failed=1)
        out = result.stdout.str()
        assert "'k8ssec.finding'" not in out
        assert (
            f"SEEN ({from_worker}, ['k8ssec.check', 'k8ssec.check', 'k8ssec.judged', 'k8ssec.judged', 'k8ssec.findings'])"
            in out
        )
        # The list itself where the test ran; JSON text from a worker.
        form = "str" if from_worker else "list"
        assert f"SEEN ('{form}', ['spec.template.spec.containers[0].securityContext.privileged'])" in out
        assert "1 finding(s) from 2 check(s): 1 fail" in out


def test_report_header_names_the_sources(shop: pytest.Pytester) -> None:
    shop.makepyfile("def test_x(): pass")
    result = shop.runpytest("--k8s-manifests", "deploy")
    result.stdout.fnmatch_lines(["k8ssec: manifests: deploy"])


def test_plugins_register_checks_through_the_hook(shop: pytest.Pytester) -> None:
    shop.makeconftest(
        """
        from pytest_k8ssec import Category, Check, Severity, Violation

        def _no_tier_label(obj):
            if "tier" not in obj.labels:
                yield Violation("metadata.labels", "has no tier label")

        def pytest_k8ssec_register_checks(registry):
            registry.add(Check(
                id="team-tier-label", title="Tier label", summary="Workloads carry a tier label.",
                remediation="Add metadata.labels.tier.", category=Category.SCHEMA,
                severity=Severity.LOW, evaluate=_no_tier_label, targets=frozenset({"Service"}),
            ))
        """
    )
    shop.makepyfile(
        """
        from pytest_k8ssec import assert_passes

        def test_tiers(k8s_inventory):
            assert_passes("team-tier-label", k8s_inventory.select(kind="Service"))
        """
    )
    result = shop.runpytest("--k8s-manifests", "deploy")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*team-tier-label: 1 violation in Service shop/web*", "*- metadata.labels: has no tier label*"]
    )
