"""Targets on the real local control plane: a namespace stuck in Terminating, several targets, xdist."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s_client

from pytest_k8ssec.sources.cluster import ClusterSource

FINALIZER = "k8ssec.test/never-removed"


def _wait_gone(admin: ClusterSource, namespace: str, timeout: float = 120.0) -> None:
    # A wait for the state, not a fixed sleep: a loaded machine may take its time.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _ = admin.request("GET", f"/api/v1/namespaces/{namespace}")
        if status == 404:
            return
        time.sleep(0.25)
    pytest.fail(f"namespace {namespace} still exists {timeout:g} s after its finalizer was removed")


def test_a_namespace_stuck_in_terminating_gets_a_warning_naming_the_cause(
    pytester: pytest.Pytester, admin: ClusterSource, live_args: list[str]
) -> None:
    record = pytester.path / "ns.txt"
    pytester.makepyfile(
        f"""
        def test_leaves_a_finalizer(k8s_namespace, k8s_cluster):
            open({str(record)!r}, "w").write(k8s_namespace.name)
            body = {{"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {{"name": "held", "finalizers": [{FINALIZER!r}]}}, "data": {{"k": "v"}}}}
            status, answer = k8s_cluster.source.request(
                "POST", f"/api/v1/namespaces/{{k8s_namespace.name}}/configmaps", body=body)
            assert status == 201, answer
        """
    )
    started = time.monotonic()
    try:
        result = pytester.runpytest(*live_args, "--k8s-context", "admin", "--k8s-namespace-delete-timeout", "8")
        elapsed = time.monotonic() - started
        name = record.read_text()
        result.assert_outcomes(passed=1)
        out = result.stdout.str()
        assert (
            f"namespace '{name}' (context 'admin') is not gone 8 s after this run deleted it (phase Terminating)" in out
        ), out
        assert FINALIZER in out and "NamespaceFinalizersRemaining" in out, out
        assert elapsed < 60, f"the run took {elapsed:.0f} s: the wait must be bounded by the option"
    finally:
        if record.exists():
            name = record.read_text()
            # Clean up after ourselves: drop the finalizer nothing else will drop, then the
            # namespace controller finishes the deletion.
            try:
                k8s_client.CoreV1Api(admin.api_client).patch_namespaced_config_map(
                    "held", name, {"metadata": {"finalizers": None}}
                )
            except k8s_client.ApiException as exc:
                assert exc.status == 404, exc
            _wait_gone(admin, name)


def test_a_namespace_deleted_in_time_gives_no_warning(
    pytester: pytest.Pytester, admin: ClusterSource, live_args: list[str]
) -> None:
    record = pytester.path / "ns.txt"
    pytester.makepyfile(f"def test_x(k8s_namespace): open({str(record)!r}, 'w').write(k8s_namespace.name)")
    result = pytester.runpytest(*live_args, "--k8s-context", "admin")
    result.assert_outcomes(passed=1)
    assert "is not gone" not in result.stdout.str()
    # The run waited for it: it is gone when the run ends.
    status, _ = admin.request("GET", f"/api/v1/namespaces/{record.read_text()}")
    assert status == 404


POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: tshop}
spec:
  containers: [{name: app, image: registry.example.com/app:1.0}]
---
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: elsewhere}
spec:
  containers: [{name: app, image: registry.example.com/app:1.0}]
"""


@pytest.fixture
def shop_namespace(admin: ClusterSource) -> Iterator[None]:
    """Namespace ``tshop`` (a name no other live test uses) on the control plane with one Pod (no node runs it; it is listed all the same)."""
    admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tshop", "labels": {"team": "web"}}})
    admin.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "live-web", "namespace": "tshop"},
                 "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1.0"}]}})  # fmt: skip
    yield
    admin.request("DELETE", "/api/v1/namespaces/tshop")
    _wait_gone(admin, "tshop")


def test_manifests_and_a_live_context_give_every_target_fixture_and_narrow_alike(
    pytester: pytest.Pytester, live_args: list[str], shop_namespace: object
) -> None:
    (pytester.path / "deploy.yaml").write_text(POD)
    pytester.makepyfile(
        """
        def test_inventory(k8s_inventory, k8s_target):
            pods = sorted(o.name for o in k8s_inventory.by_kind("Pod"))
            assert pods == (["web"] if k8s_target.name == "manifests" else ["live-web"])
        def test_workloads(k8s_workloads): assert len(k8s_workloads) == 1
        def test_workload(k8s_workload): assert k8s_workload.namespace == "tshop"
        def test_workload_namespace(k8s_workload_namespace, k8s_target):
            assert k8s_workload_namespace.name == "tshop"
            assert k8s_workload_namespace.labels["kubernetes.io/metadata.name"] == "tshop"
            assert (k8s_workload_namespace.labels.get("team") == "web") is (k8s_target.name == "admin")
        def test_cluster(k8s_cluster): assert k8s_cluster.context == "admin"
        """
    )
    result = pytester.runpytest(
        *live_args, "--k8s-manifests=deploy.yaml", "--k8s-context", "admin", "--k8s-namespace", "tshop", "-v"
    )
    result.assert_outcomes(passed=9, skipped=1)
    result.stdout.fnmatch_lines_random(
        [
            "*test_inventory[[]admin[]] PASSED*",
            "*test_workload[[]admin:Pod/tshop/live-web[]] PASSED*",
            "*test_workload[[]manifests:Pod/tshop/web[]] PASSED*",
            "*test_workload_namespace[[]admin:tshop[]] PASSED*",
            "*test_workload_namespace[[]manifests:tshop[]] PASSED*",
            "k8ssec: manifests: 1 object(s) outside the namespaces read were left out",
        ]
    )


def test_api_requests_are_summed_over_xdist_workers_live(
    pytester: pytest.Pytester, live_args: list[str], shop_namespace: object
) -> None:
    pytester.makeconftest(
        """
        from pathlib import Path
        from pytest_k8ssec.fixtures.targets import run_state

        def pytest_sessionfinish(session):
            worker = getattr(session.config, "workerinput", {}).get("workerid")
            if worker:
                counted = sum(t.cluster.requests for t in run_state(session.config).targets if t.cluster)
                Path(session.config.invocation_params.dir, f"requests-{worker}").write_text(str(counted))
        """
    )
    pytester.makepyfile("\n".join(f"def test_{i}(k8s_workloads, k8s_rbac): pass" for i in range(8)))
    result = pytester.runpytest_subprocess(
        *live_args, "--k8s-context", "admin", "--k8s-namespace", "tshop", "-p", "xdist", "-n", "2"
    )
    result.assert_outcomes(passed=8)
    counts = [int(path.read_text()) for path in pytester.path.glob("requests-gw*")]
    assert len(counts) == 2 and all(counts), counts
    result.stdout.fnmatch_lines([f"k8ssec: target admin: {sum(counts)} API requests"])


def test_a_local_control_plane_under_xdist_starts_one_per_worker_and_none_in_the_controller(
    pytester: pytest.Pytester, binaries: object
) -> None:
    pytester.makeconftest(
        """
        from pathlib import Path
        from pytest_k8ssec.fixtures.local_control_plane import PLANE_KEY

        def pytest_unconfigure(config):
            worker = getattr(config, "workerinput", {}).get("workerid", "controller")
            plane = config.stash.get(PLANE_KEY, None)
            Path(config.invocation_params.dir, f"plane-{worker}").write_text(plane.server if plane else "none")
        """
    )
    pytester.makepyfile(
        "\n".join(f"def test_{i}(k8s_cluster): assert k8s_cluster.context == 'admin'" for i in range(4))
    )
    (pytester.path / "deploy.yaml").write_text(POD)
    result = pytester.runpytest_subprocess(
        "--k8s-local-control-plane", "--k8s-manifests=deploy.yaml", "--k8s-network-report=net.html",
        "-p", "no:cacheprovider", "-p", "xdist", "-n", "2", timeout=600,
    )  # fmt: skip
    result.assert_outcomes(passed=4)
    # The page is written by a worker (the control plane lives there), for target "local" as in a
    # serial run, and the controller says so.
    result.stdout.fnmatch_lines([f"k8ssec: network report for target local: {pytester.path / 'net.html'}"])
    assert "Network reachability: local" in (pytester.path / "net.html").read_text()
    planes = {path.name: path.read_text() for path in pytester.path.glob("plane-*")}
    assert planes["plane-controller"] == "none", planes
    assert sorted(planes) == ["plane-controller", "plane-gw0", "plane-gw1"], planes
    assert len({planes["plane-gw0"], planes["plane-gw1"]} - {"none"}) == 2, planes
