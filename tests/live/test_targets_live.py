"""Targets on the real local control plane: a namespace stuck in Terminating, several targets, xdist."""

from __future__ import annotations

import time

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
        assert f"namespace '{name}' (context 'admin') is not gone 8 s after this run deleted it (phase Terminating)" in out, out
        assert FINALIZER in out and "NamespaceFinalizersRemaining" in out, out
        assert elapsed < 60, f"the run took {elapsed:.0f} s: the wait must be bounded by the option"
    finally:
        if record.exists():
            name = record.read_text()
            # Clean up after ourselves: drop the finalizer nothing else will drop, then the
            # namespace controller finishes the deletion.
            try:
                k8s_client.CoreV1Api(admin.api_client).patch_namespaced_config_map("held", name, {"metadata": {"finalizers": None}})
            except k8s_client.ApiException as exc:
                assert exc.status == 404, exc
            _wait_gone(admin, name)


def test_a_namespace_deleted_in_time_gives_no_warning(pytester: pytest.Pytester, admin: ClusterSource, live_args: list[str]) -> None:
    record = pytester.path / "ns.txt"
    pytester.makepyfile(f"def test_x(k8s_namespace): open({str(record)!r}, 'w').write(k8s_namespace.name)")
    result = pytester.runpytest(*live_args, "--k8s-context", "admin")
    result.assert_outcomes(passed=1)
    assert "is not gone" not in result.stdout.str()
    # The run waited for it: it is gone when the run ends.
    status, _ = admin.request("GET", f"/api/v1/namespaces/{record.read_text()}")
    assert status == 404
