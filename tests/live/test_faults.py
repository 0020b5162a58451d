"""No false pass under live faults: the real API server behind a fault-injecting proxy (faultproxy.py).

Every case runs a small suite (pytester) through the proxy with a short --k8s-request-timeout.
The namespace ``fault-demo`` holds a privileged Deployment: whatever the proxy does to
Deployments, the tests that need them must fail or error with the cause, never pass, and the run
must end in bounded time; tests that need other kinds are unaffected.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from faultproxy import Fault, FaultProxy
from waits import wait_for

from pytest_k8ssec.sources.cluster import KINDS, ClusterSource
from pytest_k8ssec.sources.cluster_options import ClusterOptions
from pytest_k8ssec.sources.local_control_plane import LocalControlPlane
from tests.builders import container, deployment_manifest

NS = "fault-demo"
TIMEOUT = 2  # --k8s-request-timeout of the runs below
SUITE = """
from pytest_k8ssec import assert_not_privileged

def test_not_privileged(k8s_workload):
    assert_not_privileged(k8s_workload)

def test_not_privileged_all(k8s_workloads):
    assert_not_privileged(k8s_workloads)

def test_root_ca_published(k8s_inventory):
    assert [c.name for c in k8s_inventory.by_kind("ConfigMap")] == ["kube-root-ca.crt"]
"""
# Healthy: the privileged Deployment fails both workload tests; the plain one and a CronJob pass.
BASELINE = {"passed": 3, "failed": 2}
# Deployments unreadable: both workload tests error (nothing to judge), the ConfigMap test passes.
BROKEN = {"passed": 1, "errors": 2}


def _deployment(name: str, privileged: bool) -> dict[str, Any]:
    return deployment_manifest(
        {"containers": [container(image="registry.example.com/app:1.0", privileged=privileged)]},
        name=name,
        namespace=NS,
    )


def _token(admin: ClusterSource, name: str) -> str:
    status, review = admin.request(
        "POST",
        f"/api/v1/namespaces/{NS}/serviceaccounts/{name}/token",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}},
    )
    assert status == 201, review
    return str(review["status"]["token"])


@pytest.fixture(scope="module")
def scanner_token(admin: ClusterSource) -> str:
    """A ServiceAccount that may read the kinds the plugin lists and manage namespaces, and its token."""
    admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    admin.apply(_deployment("priv", True))
    admin.apply(_deployment("plain", False))
    # Another workload: with Deployments hidden, the selection is not empty and could pass.
    admin.apply(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "nightly", "namespace": NS},
            "spec": {
                "schedule": "0 3 * * *",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [{"name": "job", "image": "registry.example.com/job:1.0"}],
                            }
                        }
                    }
                },
            },
        }
    )
    admin.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "scanner", "namespace": NS}})
    groups: dict[str, list[str]] = {}
    for info in KINDS.values():
        groups.setdefault(info.group, []).append(info.resource)
    rules = [
        {"apiGroups": [group], "resources": resources, "verbs": ["get", "list"]} for group, resources in groups.items()
    ]
    rules.append({"apiGroups": [""], "resources": ["namespaces"], "verbs": ["create", "delete"]})
    admin.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "fault-scanner"},
            "rules": rules,
        }
    )
    admin.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "fault-scanner"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "fault-scanner"},
            "subjects": [{"kind": "ServiceAccount", "name": "scanner", "namespace": NS}],
        }
    )
    wait_for(
        lambda: admin.request("GET", f"/api/v1/namespaces/{NS}/configmaps/kube-root-ca.crt")[0] == 200,
        "kube-root-ca.crt published",
    )
    return _token(admin, "scanner")


def _ca(plane: LocalControlPlane) -> bytes:
    config = yaml.safe_load(plane.kubeconfig.read_text())
    return base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])


@pytest.fixture
def proxy(control_plane: LocalControlPlane) -> Iterator[FaultProxy]:
    with FaultProxy(control_plane.server, _ca(control_plane)) as running:
        yield running


def _args(kubeconfig: Path, cache: bool = False) -> list[str]:
    return [
        f"--k8ssec-kubeconfig={kubeconfig}",
        "--k8s-context",
        "proxied",
        "--k8s-namespace",
        NS,
        "--k8s-request-timeout",
        str(TIMEOUT),
        "-v",
        *([] if cache else ["-p", "no:cacheprovider"]),
    ]


def _run(
    pytester: pytest.Pytester, kubeconfig: Path, *extra: str, cache: bool = False
) -> tuple[pytest.RunResult, float]:
    began = time.monotonic()
    result = pytester.runpytest(*_args(kubeconfig, cache), *extra)
    return result, time.monotonic() - began


def test_through_the_proxy_the_verdicts_are_the_servers(
    pytester: pytest.Pytester, proxy: FaultProxy, scanner_token: str
) -> None:
    pytester.makepyfile(SUITE)
    result, _ = _run(pytester, proxy.kubeconfig(pytester.path / "kc", scanner_token))
    result.assert_outcomes(**BASELINE)
    assert f"test_not_privileged[Deployment/{NS}/priv] FAILED" in result.stdout.str()
    assert ("GET", f"/apis/apps/v1/namespaces/{NS}/deployments") in proxy.seen


DEPLOYMENTS = rf"^/apis/apps/v1/namespaces/{NS}/deployments$"
URL = f"/apis/apps/v1/namespaces/{NS}/deployments"


@pytest.mark.parametrize(
    ("fault", "cause", "requests"),
    [
        pytest.param(
            Fault(DEPLOYMENTS, "status", 403),
            'forbidden: system:serviceaccount:fault-demo:scanner cannot list deployments (API group "apps") in namespace',
            1,
            id="403",
        ),
        pytest.param(
            Fault(DEPLOYMENTS, "status", 500),
            f"failed with HTTP 500 (GET https://127.0.0.1:*{URL}, after 3 attempts)",
            3,
            id="500",
        ),
        pytest.param(Fault(DEPLOYMENTS, "status", 503), "failed with HTTP 503 (GET *, after 3 attempts)", 3, id="503"),
        pytest.param(Fault(DEPLOYMENTS, "status", 429), "failed with HTTP 429 (GET *, after 3 attempts)", 3, id="429"),
        pytest.param(
            Fault(DEPLOYMENTS, "html"),
            f"GET https://127.0.0.1:*{URL} answered HTTP 200 with a body that is not JSON (text/html, * bytes: *), not a DeploymentList",
            1,
            id="html-200",
        ),
        pytest.param(
            Fault(DEPLOYMENTS, "truncate"),
            f"GET https://127.0.0.1:*{URL} answered HTTP 200 with a body that is not JSON (application/json, * bytes: *), not a DeploymentList",
            1,
            id="truncated-200",
        ),
        pytest.param(
            Fault(DEPLOYMENTS, "trickle-body"),
            f"GET https://127.0.0.1:*{URL}: no complete answer within {TIMEOUT} s*a bound on the whole request*",
            1,
            id="trickle-body",
        ),
        pytest.param(
            Fault(DEPLOYMENTS, "trickle"),
            f"GET https://127.0.0.1:*{URL}: no complete answer within {TIMEOUT} s*",
            1,
            id="trickle-status-line",
        ),
        pytest.param(
            Fault(DEPLOYMENTS, "same-continue"),
            "listing deployments (*): the server sent the same continue token twice*",
            2,
            id="same-continue",
        ),
        pytest.param(
            Fault(DEPLOYMENTS, "fresh-continue"),
            "listing deployments (*) returned uid * twice across pages*",
            2,
            id="fresh-continue",
        ),
    ],
)
def test_a_fault_on_one_kind_fails_the_tests_that_need_it_and_only_them(
    pytester: pytest.Pytester, proxy: FaultProxy, scanner_token: str, fault: Fault, cause: str, requests: int
) -> None:
    proxy.faults.append(fault)
    pytester.makepyfile(SUITE)
    result, wall = _run(pytester, proxy.kubeconfig(pytester.path / "kc", scanner_token))
    result.assert_outcomes(**BROKEN)
    result.stdout.fnmatch_lines([f"*{cause}*"])
    result.stdout.fnmatch_lines(["*test_not_privileged?no-workload-matched? ERROR*", "*test_root_ca_published PASSED*"])
    assert fault.hits == requests  # retried as documented, listed once per run however many tests
    # Bounded: retries wait at most 1 s (Retry-After) then 0.5 + 1 s; a trickle is cut at the timeout.
    assert wall < 30, f"the run took {wall:.1f} s"


@pytest.mark.parametrize("status", [429, 500])
def test_a_passing_retry_gives_the_servers_verdicts(
    pytester: pytest.Pytester, proxy: FaultProxy, scanner_token: str, status: int
) -> None:
    fault = Fault(DEPLOYMENTS, "status", status, times=2)
    proxy.faults.append(fault)
    pytester.makepyfile(SUITE)
    result, _ = _run(pytester, proxy.kubeconfig(pytester.path / "kc", scanner_token))
    result.assert_outcomes(**BASELINE)
    assert fault.hits == 2


def test_a_refused_identity_lookup_does_not_hide_the_403(
    pytester: pytest.Pytester, proxy: FaultProxy, scanner_token: str
) -> None:
    # Clusters older than 1.28 answer 404 to SelfSubjectReview; its Status has "status": "Failure".
    proxy.faults += [Fault("selfsubjectreviews$", "status", 404, method="POST"), Fault(DEPLOYMENTS, "status", 403)]
    pytester.makepyfile(SUITE)
    result, _ = _run(pytester, proxy.kubeconfig(pytester.path / "kc", scanner_token))
    result.assert_outcomes(**BROKEN)
    result.stdout.fnmatch_lines(["*forbidden: unknown user cannot list deployments*"])


def test_whoami_refused_by_rbac_names_the_user_from_the_servers_403(
    pytester: pytest.Pytester, admin: ClusterSource, control_plane: LocalControlPlane, scanner_token: str
) -> None:
    """Issue 12 item 9, as reported: without system:basic-user, alice's SelfSubjectReview is refused too."""
    path = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:basic-user"
    status, saved = admin.request("GET", path)
    assert status == 200, saved
    assert admin.request("DELETE", path)[0] == 200
    try:
        alice = ClusterSource.from_kubeconfig("alice", ClusterOptions(kubeconfig=str(control_plane.kubeconfig)))
        wait_for(
            lambda: (
                alice.request(
                    "POST",
                    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                    body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                )[0]
                == 403
            ),
            "the SelfSubjectReview is refused",
        )
        pytester.makepyfile(SUITE)
        result = pytester.runpytest(
            f"--k8ssec-kubeconfig={control_plane.kubeconfig}",
            "--k8s-context",
            "alice",
            "--k8s-namespace",
            NS,
            "-p",
            "no:cacheprovider",
            "-v",
        )
        result.assert_outcomes(errors=2, failed=1)
        result.stdout.fnmatch_lines(['*forbidden: alice cannot list * in namespace "fault-demo"*'])
        assert "AttributeError" not in result.stdout.str()
    finally:
        metadata = {k: v for k, v in saved["metadata"].items() if k in ("name", "labels", "annotations")}
        admin.apply({**saved, "metadata": metadata})


def test_a_token_the_server_rejects_fails_every_test_with_401(
    pytester: pytest.Pytester, proxy: FaultProxy, admin: ClusterSource, scanner_token: str
) -> None:
    admin.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "revoked", "namespace": NS}})
    token = _token(admin, "revoked")
    assert admin.request("DELETE", f"/api/v1/namespaces/{NS}/serviceaccounts/revoked")[0] == 200
    kubeconfig = proxy.kubeconfig(pytester.path / "kc", token)
    probe = ClusterSource.from_kubeconfig("proxied", ClusterOptions(kubeconfig=str(kubeconfig)))
    wait_for(
        lambda: probe.request("GET", "/api/v1/namespaces")[0] == 401, "the deleted ServiceAccount's token is rejected"
    )
    pytester.makepyfile(SUITE)
    result, wall = _run(pytester, kubeconfig)
    result.assert_outcomes(errors=2, failed=1)
    result.stdout.fnmatch_lines(["*unauthorized (401): https://127.0.0.1:* did not accept the credentials*"])
    assert wall < 30


def test_a_cached_error_is_reported_once_per_test_in_a_few_lines(
    pytester: pytest.Pytester, proxy: FaultProxy, scanner_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12 item 10: re-raising one cached error grew its traceback (50 tests printed 2.7 MB)."""
    # On CI (CI or BUILD_NUMBER set) pytest prints each failure's message again, untruncated, in
    # the short summary: the counts below are those of a terminal run.
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
    proxy.faults.append(Fault(DEPLOYMENTS, "status", 403))
    kubeconfig = proxy.kubeconfig(pytester.path / "kc", scanner_token)
    sizes = {}
    for count in (50, 200):
        pytester.makepyfile(
            f"""
            import pytest

            @pytest.mark.parametrize("n", range({count}))
            def test_reads_deployments(k8s_inventory, n):
                assert k8s_inventory.by_kind("Deployment")
            """
        )
        result, _ = _run(pytester, kubeconfig)
        result.assert_outcomes(failed=count)
        out = result.stdout.str()
        assert out.count("forbidden: system:serviceaccount:fault-demo:scanner cannot list deployments") == count
        sizes[count] = len(out)
    per_test = sizes[200] / 200
    assert per_test < 1500, f"{per_test:.0f} bytes of output per failing test"
    assert sizes[200] < 4.5 * sizes[50], f"output grows faster than the number of tests: {sizes}"


def _gone(admin: ClusterSource, name: str) -> bool:
    return admin.request("GET", f"/api/v1/namespaces/{name}")[0] == 404


def _pending(pytester: pytest.Pytester) -> list[str]:
    return sorted(p.stem for p in (pytester.path / ".pytest_cache" / "d" / "k8ssec-namespaces").glob("*.json"))


NEXT_RUN = "def test_next_run(k8s_cluster):\n    assert k8s_cluster.user\n"


def test_api_server_stopped_mid_run_fails_the_rest_and_the_next_run_deletes_the_namespace(
    pytester: pytest.Pytester, proxy: FaultProxy, admin: ClusterSource, scanner_token: str
) -> None:
    record = pytester.path / "namespace.txt"
    # The API server answers the namespace's creation, then nothing more.
    proxy.faults.append(Fault(r"^/api/v1/namespaces$", "stop-after", method="POST"))
    pytester.makepyfile(
        test_run=f"""
        def test_creates_a_namespace(k8s_namespace):
            open({str(record)!r}, "w").write(k8s_namespace.name)

        def test_needs_workloads(k8s_workloads):
            pass
        """
    )
    kubeconfig = proxy.kubeconfig(pytester.path / "kc", scanner_token)
    began = time.monotonic()
    # In a process of its own, as a next run only sweeps records of runs that have ended.
    result = pytester.runpytest_subprocess(*_args(kubeconfig, cache=True))
    wall = time.monotonic() - began
    # The first test's body passed; its teardown (deleting the namespace) and the second test error.
    result.assert_outcomes(passed=1, errors=2)
    name = record.read_text()
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_creates_a_namespace*",
            "*ERROR at setup of test_needs_workloads*",
            f"*cannot reach https://127.0.0.1:* within {TIMEOUT} s*",
            f"*namespace '{name}' was not deleted: *; the next run with this context deletes it*",
        ]
    )
    assert wall < 60, f"the run took {wall:.1f} s"
    assert not _gone(admin, name) and _pending(pytester) == [name]
    proxy.down = False  # the server is back
    pytester.makepyfile(test_run=NEXT_RUN)
    result, _ = _run(pytester, kubeconfig, cache=True)
    result.assert_outcomes(passed=1)
    wait_for(lambda: _gone(admin, name), f"namespace {name} of the stopped run is deleted by the next run")
    assert _pending(pytester) == []


def test_sigkill_of_a_run_leaves_a_record_the_next_run_uses_to_delete_its_namespace(
    pytester: pytest.Pytester, proxy: FaultProxy, admin: ClusterSource, scanner_token: str
) -> None:
    record = pytester.path / "namespace.txt"
    pytester.makepyfile(
        test_run=f"""
        import time

        def test_waits(k8s_namespace):
            open({str(record)!r}, "w").write(k8s_namespace.name)
            time.sleep(600)
        """
    )
    kubeconfig = proxy.kubeconfig(pytester.path / "kc", scanner_token)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *_args(kubeconfig, cache=True)],
        cwd=pytester.path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: (record.exists() and record.read_text()) or proc.poll() is not None, "the run created its namespace"
        )
        assert proc.poll() is None, "the run ended before it was killed"
    finally:
        proc.kill()
        proc.wait()
    name = record.read_text()
    assert not _gone(admin, name) and _pending(pytester) == [name]
    pytester.makepyfile(test_run=NEXT_RUN)
    result, _ = _run(pytester, kubeconfig, cache=True)
    result.assert_outcomes(passed=1)
    wait_for(lambda: _gone(admin, name), f"namespace {name} of the killed run is deleted by the next run")
    assert _pending(pytester) == []


def test_the_next_run_deletes_only_namespaces_of_ended_runs_still_labelled_with_the_recorded_run(
    pytester: pytest.Pytester, proxy: FaultProxy, admin: ClusterSource, scanner_token: str
) -> None:
    """A record is no licence: a namespace that another run (or a person) owns stays, and so does
    one whose run is still going (another xdist worker, a parallel job on the same checkout)."""
    from pytest_k8ssec._processes import owner

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_owner = f"{ended.stdout.strip()} 1"
    pending = pytester.path / ".pytest_cache" / "d" / "k8ssec-namespaces"
    pending.mkdir(parents=True)
    labels = {"app.kubernetes.io/managed-by": "pytest-k8ssec", "k8ssec.io/run-id": "0123456789"}
    for name, namespace_labels, record_owner in [
        ("k8ssec-someone-elses", {"k8ssec.io/run-id": "other"}, dead_owner),
        ("k8ssec-still-running", labels, owner(os.getpid())),
    ]:
        admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": namespace_labels}})
        (pending / f"{name}.json").write_text(
            json.dumps(
                {
                    "context": "proxied",
                    "server": proxy.url,
                    "name": name,
                    "run_id": "0123456789",
                    "host": socket.gethostname(),
                    "owner": record_owner,
                }
            )
        )
    kubeconfig = proxy.kubeconfig(pytester.path / "kc", scanner_token)
    pytester.makepyfile(test_run=NEXT_RUN)
    result, _ = _run(pytester, kubeconfig, cache=True)
    result.assert_outcomes(passed=1)
    for name in ("k8ssec-someone-elses", "k8ssec-still-running"):
        status, body = admin.request("GET", f"/api/v1/namespaces/{name}")
        assert status == 200 and body["status"]["phase"] == "Active", name
        admin.request("DELETE", f"/api/v1/namespaces/{name}")
    assert _pending(pytester) == ["k8ssec-still-running"]  # the other one was not ours: forgotten


def test_a_server_that_accepts_and_never_answers_fails_every_test_in_bounded_time(
    pytester: pytest.Pytester, control_plane: LocalControlPlane
) -> None:
    """A kubeconfig pointing nowhere useful: the port is open (the kernel completes the handshake) but nothing answers."""
    with socket.socket() as black_hole:
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(64)
        port = black_hole.getsockname()[1]
        kubeconfig = pytester.path / "kc"
        kubeconfig.write_text(
            control_plane.kubeconfig.read_text().replace(control_plane.server, f"https://127.0.0.1:{port}")
        )
        pytester.makepyfile(SUITE)
        began = time.monotonic()
        result = pytester.runpytest(
            f"--k8ssec-kubeconfig={kubeconfig}",
            "--k8s-context",
            "admin",
            "--k8s-namespace",
            NS,
            "--k8s-request-timeout",
            str(TIMEOUT),
            "-p",
            "no:cacheprovider",
        )
        wall = time.monotonic() - began
    result.assert_outcomes(errors=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*context 'admin': GET https://127.0.0.1:{port}/api/v1/namespaces/{NS}/pods: no complete answer within {TIMEOUT} s*",
            f"*.py:*: ClusterError: context 'admin': GET https://127.0.0.1:{port}/api/v1/namespaces/{NS}/configmaps: no complete answer*",
        ]
    )
    # Each kind a test needs waits one timeout at most: bounded, never stuck.
    assert wall < 60, f"the run took {wall:.1f} s"


PRIVILEGED_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "probe"},
    "spec": {
        "containers": [{"name": "c", "image": "registry.example.com/app:1.0", "securityContext": {"privileged": True}}]
    },
}


@pytest.fixture(scope="module")
def guarded(admin: ClusterSource) -> str:
    """A namespace whose Pod Security admission really refuses a privileged pod."""
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "fault-guard", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
        }
    )
    return "fault-guard"


def _cluster(source: ClusterSource) -> object:
    from pytest_k8ssec.fixtures.cluster import K8sCluster
    from pytest_k8ssec.fixtures.targets import Target
    from pytest_k8ssec.model.inventory import Inventory

    return K8sCluster(Target(source.context, Inventory(), source), source)


def test_an_rbac_refusal_is_not_an_admission_decision(
    control_plane: LocalControlPlane, admin: ClusterSource, guarded: str
) -> None:
    from pytest_k8ssec import SecurityAssertionError, assert_admission_rejects

    assert_admission_rejects(guarded, PRIVILEGED_POD, cluster=_cluster(admin), reason="violates PodSecurity")  # type: ignore[arg-type]
    # alice may not create pods at all: RBAC answers 403 before admission runs, and says nothing of the policy.
    alice = ClusterSource.from_kubeconfig("alice", ClusterOptions(kubeconfig=str(control_plane.kubeconfig)))
    with pytest.raises(
        SecurityAssertionError, match=r"failed with HTTP 403 before admission could judge it .*cannot create resource"
    ):
        assert_admission_rejects(guarded, PRIVILEGED_POD, cluster=_cluster(alice))  # type: ignore[arg-type]


def test_a_proxys_html_403_is_not_an_admission_decision(
    proxy: FaultProxy, scanner_token: str, guarded: str, tmp_path: Path
) -> None:
    from pytest_k8ssec import SecurityAssertionError, assert_admission_rejects

    proxy.faults.append(Fault(rf"^/api/v1/namespaces/{guarded}/pods$", "html", 403, method="POST"))
    source = ClusterSource.from_kubeconfig(
        "proxied", ClusterOptions(kubeconfig=str(proxy.kubeconfig(tmp_path / "kc", scanner_token)))
    )
    with pytest.raises(
        SecurityAssertionError,
        match=r"HTTP 403 with a body that is not JSON \(text/html.*not an answer of the API server",
    ):
        assert_admission_rejects(guarded, PRIVILEGED_POD, cluster=_cluster(source))  # type: ignore[arg-type]
