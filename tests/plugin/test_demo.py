"""The shipped demo: example_suites/workload_hardening run on the demo shop's manifests.

The hardened shop must pass every test; the insecure shop must fail exactly the mistakes planted
in it, with messages that name the field and the fix. The expected matrix below is the demo's
contract: a check that stops reporting (or starts over-reporting) changes it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

# Imported before the in-process runs (see tests/plugin/test_suites.py): names the package caches
# during one run must not point at classes a later run imports anew.
import pytest_k8ssec.suites.pss  # noqa: F401

EXAMPLES = Path(__file__).parents[2] / "example_suites"

WORKLOADS = (
    "Deployment/shop/api",
    "CronJob/shop/report",
    "StatefulSet/shop/db",
    "Deployment/shop/web",
    "Deployment/shop/worker",
)
PER_WORKLOAD_TESTS = (
    "test_not_privileged",
    "test_no_privilege_escalation",
    "test_runs_as_non_root",
    "test_read_only_root_filesystem",
    "test_capabilities",
    "test_no_host_namespaces",
    "test_no_host_path",
    "test_no_host_ports",
    "test_seccomp",
    "test_service_account_token_not_automounted",
    "test_resources",
)
LIST_TEST = "test_no_node_takeover"

# Per-workload test -> the workloads of the insecure shop that fail it (every other case passes).
INSECURE_FAILURES: dict[str, set[str]] = {
    "test_not_privileged": {"worker"},  # the log-forwarder sidecar
    "test_no_privilege_escalation": {"db", "web", "worker"},
    "test_runs_as_non_root": {"db", "web", "worker"},
    "test_read_only_root_filesystem": {"api", "db", "web", "worker"},  # api: its init container only
    "test_capabilities": {"db", "web", "worker"},  # web adds only NET_BIND_SERVICE, but drops nothing
    "test_no_host_namespaces": {"api"},
    "test_no_host_path": {"worker"},
    "test_no_host_ports": {"api", "web"},  # api: hostNetwork makes its containerPort a host port
    "test_seccomp": {"db", "web", "worker"},
    "test_service_account_token_not_automounted": {"api", "db", "report", "worker"},
    "test_resources": {"api", "db", "report", "worker"},
}

_OUTCOME = re.compile(r"::(\w+(?:\[[^\]]*\])?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b")
_HEADER = re.compile(r"^_{3,} (\S+) _{3,}$")


def _workload(name: str) -> str:
    return next(ref for ref in WORKLOADS if ref.endswith(f"/{name}"))


def _run(pytester: pytest.Pytester, variant: str) -> pytest.RunResult:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(EXAMPLES / "workload_hardening", pytester.path / "workload_hardening", ignore=ignore)
    shutil.copytree(EXAMPLES / "manifests" / variant, pytester.path / "manifests" / variant)
    return pytester.runpytest("workload_hardening", "--k8s-manifests", f"manifests/{variant}", "-v")


def _outcomes(result: pytest.RunResult) -> dict[str, str]:
    """Test id (``test_x[Kind/ns/name]``) -> outcome, from the verbose lines."""
    outcomes: dict[str, str] = {}
    for line in result.outlines:
        match = _OUTCOME.search(line)
        if match:
            assert match.group(1) not in outcomes, f"{match.group(1)} reported twice"
            outcomes[match.group(1)] = match.group(2)
    return outcomes


def _failure_texts(result: pytest.RunResult) -> dict[str, str]:
    """Test id -> the error message of its FAILURES section (the ``E`` lines, prefix removed)."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in result.outlines:
        header = _HEADER.match(line)
        if header:
            current = sections.setdefault(header.group(1), [])
        elif line.startswith("="):
            current = None  # the next report section (k8ssec table, short summary) begins
        elif current is not None and line.startswith("E "):
            current.append(line[2:].strip())
    return {test_id: "\n".join(lines) for test_id, lines in sections.items()}


def _line_of(path: Path, kind: str) -> int:
    """The 1-based line where the document holding ``kind: <kind>`` starts (its apiVersion line)."""
    kind_index = path.read_text().splitlines().index(f"kind: {kind}")
    return kind_index  # 0-based index of kind: is the 1-based number of the apiVersion line above it


def test_hardened_shop_passes_every_test(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "hardened")
    expected = {f"{test}[{ref}]": "PASSED" for test in PER_WORKLOAD_TESTS for ref in WORKLOADS}
    expected[LIST_TEST] = "PASSED"
    assert _outcomes(result) == expected
    result.assert_outcomes(passed=len(WORKLOADS) * len(PER_WORKLOAD_TESTS) + 1)
    assert result.ret == pytest.ExitCode.OK


def test_insecure_shop_fails_exactly_the_planted_mistakes(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "insecure")
    expected: dict[str, str] = {}
    for test in PER_WORKLOAD_TESTS:
        failing = {_workload(name) for name in INSECURE_FAILURES[test]}
        for ref in WORKLOADS:
            expected[f"{test}[{ref}]"] = "FAILED" if ref in failing else "PASSED"
    expected[LIST_TEST] = "FAILED"
    assert _outcomes(result) == expected
    failed = sum(len(names) for names in INSECURE_FAILURES.values()) + 1
    result.assert_outcomes(failed=failed, passed=len(expected) - failed)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # Spot checks that read as the matrix does: the near-compliant CronJob and the partly fixed api.
    outcomes = _outcomes(result)
    assert outcomes["test_capabilities[Deployment/shop/api]"] == "PASSED"
    assert outcomes["test_seccomp[CronJob/shop/report]"] == "PASSED"
    assert outcomes["test_runs_as_non_root[Deployment/shop/api]"] == "PASSED"
    assert outcomes["test_service_account_token_not_automounted[Deployment/shop/web]"] == "PASSED"
    assert outcomes["test_resources[Deployment/shop/web]"] == "PASSED"


def test_insecure_shop_failures_name_the_field_and_the_fix(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "insecure")
    texts = _failure_texts(result)
    worker_line = _line_of(pytester.path / "manifests/insecure/worker.yaml", "Deployment")

    privileged = texts["test_not_privileged[Deployment/shop/worker]"]
    assert (
        f"privileged-container: 1 violation in Deployment shop/worker (manifests/insecure/worker.yaml:{worker_line})"
        in privileged
    )
    assert 'spec.template.spec.containers[1].securityContext.privileged: container "log-forwarder"' in privileged
    assert privileged.count("fix: ") == 1
    assert "fix: Remove securityContext.privileged" in privileged

    host_path = texts["test_no_host_path[Deployment/shop/worker]"]
    assert '[host-path-volume] - spec.template.spec.volumes[0].hostPath: volume "docker-sock"' in host_path
    assert '[sensitive-host-path] - spec.template.spec.volumes[0].hostPath: volume "docker-sock"' in host_path
    assert '"/var/run/docker.sock"' in host_path
    assert host_path.count("fix: ") == 2  # one per check

    seccomp = texts["test_seccomp[Deployment/shop/worker]"]
    assert "spec.template.spec.securityContext.seccompProfile.type" in seccomp
    assert '"Unconfined"' in seccomp
    assert "fix: " in seccomp

    root = texts["test_runs_as_non_root[StatefulSet/shop/db]"]
    assert "run-as-root-allowed, run-as-user-root: 3 violations in StatefulSet shop/db" in root
    assert (
        '[run-as-user-root] - spec.template.spec.initContainers[0].securityContext.runAsUser: container "init-permissions"'
        in root
    )
    assert (
        '[run-as-root-allowed] - spec.template.spec.containers[0].securityContext.runAsNonRoot: pod or container "postgres"'
        in root
    )

    host_network = texts["test_no_host_namespaces[Deployment/shop/api]"]
    assert "- spec.template.spec.hostNetwork: " in host_network
    assert "fix: " in host_network

    host_port = texts["test_no_host_ports[Deployment/shop/web]"]
    assert "- spec.template.spec.containers[0].ports[0].hostPort: " in host_port
    assert "hostPort 80" in host_port

    # The api's main container is hardened: only the init container is reported.
    read_only = texts["test_read_only_root_filesystem[Deployment/shop/api]"]
    assert "1 violation in Deployment shop/api" in read_only
    assert (
        'spec.template.spec.initContainers[0].securityContext.readOnlyRootFilesystem: container "migrate"' in read_only
    )

    # web adds NET_BIND_SERVICE, which the suite allows; only the missing drop is reported.
    capabilities = texts["test_capabilities[Deployment/shop/web]"]
    assert "1 violation in Deployment shop/web" in capabilities
    assert 'spec.template.spec.containers[0].securityContext.capabilities.drop: container "nginx"' in capabilities
    assert "NET_BIND_SERVICE" not in capabilities.split("fix: ")[0]
    assert "[capabilities-added]" not in capabilities

    resources = texts["test_resources[CronJob/shop/report]"]
    assert "4 violations in CronJob shop/report" in resources
    assert "spec.jobTemplate.spec.template.spec.containers[0].resources.limits.memory" in resources

    takeover = texts[LIST_TEST]
    assert "dangerous-capabilities, sensitive-host-path: 3 violations in Deployment shop/worker" in takeover
    assert "capabilities.add[0]: " in takeover and '"SYS_ADMIN"' in takeover
    assert "capabilities.add[1]: " in takeover and '"NET_ADMIN"' in takeover
    assert '"/var/run/docker.sock"' in takeover
    assert takeover.count("fix: ") == 2

    # Passing cases print nothing, and every failing case carries a fix.
    assert set(texts) == {test for test, outcome in _outcomes(result).items() if outcome == "FAILED"}
    assert all("fix: " in text for text in texts.values())


# example_suites/supply_chain on the demo shop: test id -> outcome on the insecure shop (every test
# not listed passes). The hardened shop pins every image by digest and commits no credential.
SUPPLY_CHAIN_INSECURE_FAILURES = {
    "test_no_latest_tag[StatefulSet/shop/db]",  # init container "busybox": no registry, no tag
    "test_images_from_allowed_registries[StatefulSet/shop/db]",
    *(f"test_images_pinned_by_digest[{ref}]" for ref in WORKLOADS),
    *(f"test_mutable_images_always_pulled[{ref}]" for ref in WORKLOADS),
    "test_dedicated_service_account[CronJob/shop/report]",
    "test_no_credential_literals",  # DATABASE_URL with a password in a ConfigMap
    "test_no_secrets_committed",  # db-credentials with data
}


def _run_supply_chain(pytester: pytest.Pytester, variant: str) -> pytest.RunResult:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(EXAMPLES / "supply_chain", pytester.path / "supply_chain", ignore=ignore)
    shutil.copytree(EXAMPLES / "manifests" / variant, pytester.path / "manifests" / variant)
    return pytester.runpytest("supply_chain", "--k8s-manifests", f"manifests/{variant}", "-v")


@pytest.mark.parametrize("variant", ["hardened", "insecure"])
def test_supply_chain_suite_on_the_demo_shop(pytester: pytest.Pytester, variant: str) -> None:
    result = _run_supply_chain(pytester, variant)
    outcomes = _outcomes(result)
    assert len(outcomes) == 5 * len(WORKLOADS) + 2
    failed = {test_id for test_id, outcome in outcomes.items() if outcome != "PASSED"}
    expected = SUPPLY_CHAIN_INSECURE_FAILURES if variant == "insecure" else set()
    assert failed == expected
    assert all(outcomes[test_id] == "FAILED" for test_id in failed)
    # The planted password is named by key, never shown.
    assert "demo-not-a-real-password" not in result.stdout.str()


# example_suites/access_and_network on the demo shop: the insecure shop binds edit to the worker
# and cluster-admin to the api, and has no NetworkPolicy; the hardened one passes everything.
ACCESS_AND_NETWORK_INSECURE_FAILURES = {
    "test_workload_cannot_read_secrets[Deployment/shop/api]",
    "test_workload_cannot_read_secrets[Deployment/shop/worker]",
    "test_workload_cannot_exec_into_pods[Deployment/shop/api]",
    "test_workload_cannot_exec_into_pods[Deployment/shop/worker]",
    "test_workload_is_not_cluster_admin[Deployment/shop/api]",
    "test_no_risky_permissions",
    "test_namespace_is_default_deny",
    "test_database_only_from_its_clients",
    "test_egress_restricted",
    "test_policies_select_what_they_name",
}


@pytest.mark.parametrize("variant", ["hardened", "insecure"])
def test_access_and_network_suite_on_the_demo_shop(pytester: pytest.Pytester, variant: str) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(EXAMPLES / "access_and_network", pytester.path / "access_and_network", ignore=ignore)
    shutil.copytree(EXAMPLES / "manifests" / variant, pytester.path / "manifests" / variant)
    result = pytester.runpytest("access_and_network", "--k8s-manifests", f"manifests/{variant}", "-v")
    outcomes = _outcomes(result)
    assert len(outcomes) == 3 * len(WORKLOADS) + 5
    failed = {test_id for test_id, outcome in outcomes.items() if outcome != "PASSED"}
    assert failed == (ACCESS_AND_NETWORK_INSECURE_FAILURES if variant == "insecure" else set())


# The README's demo command (command 1): the ready Pod Security suite, hardened then insecure.
README_DEMO = (Path(__file__).parents[2] / "README.md").read_text().split("```bash", 1)[1].split("\n", 2)[2]


def test_the_readme_demo_passes_the_hardened_shop_and_fails_the_insecure_one_with_reasons(
    pytester: pytest.Pytester,
) -> None:
    command = README_DEMO.splitlines()[0]
    runs = [part.strip().split() for part in command.split("&&")[1:]]
    assert [run[:3] for run in runs] == [["pytest", "--pyargs", "pytest_k8ssec.suites.pss"]] * 2
    results = []
    for run in runs:
        manifests = run[3].replace("example_suites/", f"{EXAMPLES}/")
        results.append(pytester.runpytest("-p", "no:randomly", *run[1:3], manifests, "-v"))
    hardened, insecure = results
    assert hardened.ret == pytest.ExitCode.OK
    hardened.assert_outcomes(passed=1 + 2 * len(WORKLOADS))
    assert insecure.ret == pytest.ExitCode.TESTS_FAILED
    outcomes = _outcomes(insecure)
    assert {test for test, outcome in outcomes.items() if outcome == "FAILED"} == {
        "test_namespace_enforces[shop]",
        "test_baseline[Deployment/shop/api]",
        "test_baseline[Deployment/shop/web]",
        "test_baseline[Deployment/shop/worker]",
    }
    texts = _failure_texts(insecure)
    assert "spec.template.spec.hostNetwork" in texts["test_baseline[Deployment/shop/api]"]
    assert "hostPort" in texts["test_baseline[Deployment/shop/web]"]
    assert "pod-security.kubernetes.io/enforce" in texts["test_namespace_enforces[shop]"]
    assert all("fix: " in text for text in texts.values())
    # restricted is not asked of a namespace without a label: skipped, saying why, never passed.
    assert {test for test, outcome in outcomes.items() if outcome == "SKIPPED"} == {
        f"test_restricted[{ref}]" for ref in WORKLOADS
    }
