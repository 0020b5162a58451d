"""Live mode against the real local control plane: targets, contexts, RBAC, pagination, namespaces."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from waits import wait_for

from pytest_k8ssec.checks import builtin_registry
from pytest_k8ssec.engine import evaluate
from pytest_k8ssec.fixtures.local_control_plane import apply_in_order
from pytest_k8ssec.sources.cluster import ClusterSource
from pytest_k8ssec.sources.cluster_options import ClusterOptions
from pytest_k8ssec.sources.local_control_plane import LocalControlPlane
from pytest_k8ssec.sources.manifests import load
from tests.builders import container, deployment_manifest

MANIFESTS = Path(__file__).resolve().parents[2] / "example_suites" / "manifests"


def manifests_dir() -> Path:
    return MANIFESTS


def _deployment(name: str, namespace: str, privileged: bool = False) -> dict[str, Any]:
    container_ = container(image="registry.example.com/app:1.0", privileged=privileged)
    return deployment_manifest({"containers": [container_]}, name=name, namespace=namespace, labels={"app": name})


def _namespace(admin: ClusterSource, name: str) -> None:
    admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def _bind(admin: ClusterSource, user: str, namespace: str, kind: str, role: str) -> None:
    """A RoleBinding of ``user`` to a Role or ClusterRole in ``namespace``."""
    admin.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"{user}-{role}", "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }
    )


def _source(plane: LocalControlPlane, context: str, **options: object) -> ClusterSource:
    return ClusterSource.from_kubeconfig(context, ClusterOptions(kubeconfig=str(plane.kubeconfig), **options))  # type: ignore[arg-type]


def _wait_gone(admin: ClusterSource, namespace: str, timeout: float = 300.0) -> None:
    wait_for(
        lambda: admin.request("GET", f"/api/v1/namespaces/{namespace}")[0] == 404,
        f"namespace {namespace} still exists after its test ended",
        timeout,
    )


def _ended(proc: subprocess.Popen[bytes], what: str, timeout: float = 300.0) -> str:
    """The output of ``proc`` once it has exited; fail naming ``what`` if it does not, on a slow machine too."""
    try:
        return proc.communicate(timeout=timeout)[0].decode()
    except subprocess.TimeoutExpired:
        proc.kill()
        out = proc.communicate()[0].decode()
        pytest.fail(f"{what}: the run had not ended {timeout:g} s after the signal; its output:\n{out[-3000:]}")


def test_the_control_plane_is_real_secure_and_ready(control_plane: LocalControlPlane, admin: ClusterSource) -> None:
    assert admin.server_version() == "v1.37.2"
    assert admin.whoami() == "admin"
    # Aggregation ran (kube-controller-manager): view has rules, not the empty shell the apiserver creates.
    status, view = admin.request("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/view")
    assert status == 200 and view["rules"]
    alice = _source(control_plane, "alice")
    assert alice.whoami() == "alice"
    assert admin.can_i("list", "secrets") is True
    assert alice.can_i("list", "pods", namespace="default") is False
    # PodSecurity admission is on: a privileged pod is rejected in a restricted namespace (dry-run).
    admin.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "psa-restricted", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
        }
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "psa-restricted"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}]},
    }
    status, body = admin.request("POST", "/api/v1/namespaces/psa-restricted/pods", [("dryRun", "All")], body=pod)
    assert status == 403, body
    assert 'violates PodSecurity "restricted:latest"' in body["message"]


def test_every_context_is_a_target_and_403_fails_naming_the_permission(
    pytester: pytest.Pytester, control_plane: LocalControlPlane, admin: ClusterSource, live_args: list[str]
) -> None:
    _namespace(admin, "team-a")
    admin.apply(_deployment("web", "team-a", privileged=True))
    admin.apply(_deployment("api", "team-a"))
    pytester.makepyfile(
        """
        from pytest_k8ssec import assert_not_privileged

        def test_priv(k8s_workload):
            assert_not_privileged(k8s_workload)
        """
    )
    args = [*live_args, "--k8s-context", "admin", "--k8s-context", "alice", "--k8s-namespace", "team-a", "-v"]
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1, failed=1, errors=1)
    out = result.stdout.str()
    assert "test_priv[admin:Deployment/team-a/api] PASSED" in out
    assert "test_priv[admin:Deployment/team-a/web] FAILED" in out
    assert "test_priv[alice:no-workload-matched] ERROR" in out
    assert (
        'context \'alice\': forbidden: alice cannot list pods (API group "") in namespace "team-a"; '
        "grant it with a Role/ClusterRole allowing verb 'list' on 'pods'" in out
    )
    assert "privileged-container: 1 violation in Deployment team-a/web (cluster admin)" in out
    # RBAC granted: alice now sees the same objects and gets the same verdicts.
    _bind(admin, "alice", "team-a", "ClusterRole", "view")
    # The aggregated view role does not cover podtemplates (upstream's choice): listing stays
    # incomplete, so the run still fails closed, now naming the one permission missing.
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=1, failed=1, errors=1)
    assert 'alice cannot list podtemplates (API group "") in namespace "team-a"' in result.stdout.str()
    admin.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "podtemplates-reader", "namespace": "team-a"},
            "rules": [{"apiGroups": [""], "resources": ["podtemplates"], "verbs": ["list"]}],
        }
    )
    _bind(admin, "alice", "team-a", "Role", "podtemplates-reader")
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=2, failed=2)
    assert "test_priv[alice:Deployment/team-a/web] FAILED" in result.stdout.str()


def test_pagination_lists_everything_with_one_request_per_page(
    control_plane: LocalControlPlane, admin: ClusterSource
) -> None:
    _namespace(admin, "paged")
    for index in range(23):
        admin.apply(_deployment(f"d{index:02d}", "paged"))
    source = _source(control_plane, "admin", page_size=5, namespaces=("paged",))
    deployments = source.objects("Deployment")
    assert sorted(d.name for d in deployments) == [f"d{i:02d}" for i in range(23)]
    assert source.requests == 5  # 23 objects in pages of 5
    assert source.objects("Deployment") is deployments  # cached: listed once per run
    assert source.requests == 5
    first = deployments[0]
    assert "managedFields" not in first.raw["metadata"]
    assert first.raw["kind"] == "Deployment" and first.raw["apiVersion"] == "apps/v1"
    assert str(first.provenance) == "cluster admin"


def test_api_requests_do_not_grow_with_the_number_of_tests(
    pytester: pytest.Pytester, admin: ClusterSource, live_args: list[str]
) -> None:
    _namespace(admin, "paged")
    for index in range(23):
        admin.apply(_deployment(f"d{index:02d}", "paged"))
    pytester.makepyfile(
        """
        def test_each(k8s_workload):
            assert k8s_workload.namespace == "paged"

        def test_all(k8s_workloads, k8s_inventory):
            assert len(k8s_workloads) == 23
            assert len(k8s_inventory.by_kind("Deployment")) == 23
        """
    )
    result = pytester.runpytest(
        *live_args, "--k8s-context", "admin", "--k8s-namespace", "paged", "--k8s-page-size", "10"
    )
    result.assert_outcomes(passed=24)
    # Workload kinds (9) listed once each, Deployments in 3 pages: 11 requests however many tests.
    result.stdout.fnmatch_lines(["k8ssec: target admin: 11 API requests"])


def test_namespaces_are_created_labelled_and_deleted_even_after_failures(
    pytester: pytest.Pytester, admin: ClusterSource, live_args: list[str]
) -> None:
    record = pytester.path / "namespaces.txt"
    pytester.makepyfile(
        f"""
        def _note(ns):
            with open({str(record)!r}, "a") as handle:
                handle.write(ns.name + "\\n")

        def test_ok(k8s_namespace, k8s_cluster):
            _note(k8s_namespace)
            assert k8s_namespace.labels["app.kubernetes.io/managed-by"] == "pytest-k8ssec"
            assert k8s_cluster.can_i("create", "pods", namespace=k8s_namespace.name)

        def test_fails(k8s_namespace):
            _note(k8s_namespace)
            assert False, "deliberate"
        """
    )
    result = pytester.runpytest(*live_args, "--k8s-context", "admin")
    result.assert_outcomes(passed=1, failed=1)
    names = record.read_text().split()
    assert len(names) == 2 and all(n.startswith("k8ssec-") for n in names)
    for name in names:
        _wait_gone(admin, name)
    record.unlink()
    result = pytester.runpytest(*live_args, "--k8s-context", "admin", "--k8s-keep-namespaces")
    kept = record.read_text().split()
    for name in kept:
        status, body = admin.request("GET", f"/api/v1/namespaces/{name}")
        assert status == 200 and body["status"]["phase"] == "Active"
        admin.request("DELETE", f"/api/v1/namespaces/{name}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_runs_delete_the_namespaces_of_the_run(
    pytester: pytest.Pytester, admin: ClusterSource, live_args: list[str], signum: int
) -> None:
    record = pytester.path / "ns.txt"
    pytester.makepyfile(
        f"""
        import time

        def test_slow(k8s_namespace):
            with open({str(record)!r}, "w") as handle:
                handle.write(k8s_namespace.name)
            time.sleep(600)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *live_args, "--k8s-context", "admin"],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    wait_for(
        lambda: (record.exists() and record.read_text()) or proc.poll() is not None, "the run created its namespace"
    )
    assert proc.poll() is None, _ended(proc, "the run ended by itself")
    proc.send_signal(signum)
    out = _ended(proc, f"signal {signum}")
    assert "KeyboardInterrupt" in out
    _wait_gone(admin, record.read_text())


def test_static_checks_give_identical_findings_from_disk_and_from_the_cluster(
    control_plane: LocalControlPlane, admin: ClusterSource
) -> None:
    on_disk = load([str(manifests_dir() / "insecure")]).objects
    apply_in_order(admin, on_disk)
    live = _source(control_plane, "admin", namespaces=("shop",))
    workloads = [obj for kind in ("Deployment", "StatefulSet", "CronJob") for obj in live.objects(kind)]
    disk_workloads = [obj for obj in on_disk if obj.kind in ("Deployment", "StatefulSet", "CronJob")]
    assert sorted(o.ref for o in workloads) == sorted(o.ref for o in disk_workloads)
    checks = list(builtin_registry())

    def findings(objects: list) -> list[tuple[str, str, str, str]]:  # type: ignore[type-arg]
        return sorted((f.check.id, f.obj.ref, f.path, f.message) for f in evaluate(checks, objects))

    from_disk, from_cluster = findings(disk_workloads), findings(workloads)
    assert len(from_disk) > 40
    assert from_cluster == from_disk


def test_unreachable_cluster_fails_with_the_cause_never_passes(
    pytester: pytest.Pytester, control_plane: LocalControlPlane
) -> None:
    closed = _closed_port()
    text = control_plane.kubeconfig.read_text().replace(control_plane.server, f"https://127.0.0.1:{closed}")
    broken = pytester.path / "broken-kubeconfig"
    broken.write_text(text)
    pytester.makepyfile(
        """
        def test_each(k8s_workload): pass
        def test_all(k8s_workloads): pass
        def test_version(k8s_cluster): assert k8s_cluster.server_version
        """
    )
    result = pytester.runpytest(
        "--k8ssec-kubeconfig", str(broken), "--k8s-context", "admin", "--k8s-request-timeout", "2"
    )
    # Setup of the workload fixtures errors, the version call fails: none passes.
    result.assert_outcomes(failed=1, errors=2)
    assert f"cannot reach https://127.0.0.1:{closed} within 2 s" in result.stdout.str()


def test_cluster_fixture_and_pods(pytester: pytest.Pytester, admin: ClusterSource, live_args: list[str]) -> None:
    _namespace(admin, "pods")
    _wait_default_service_account(admin, "pods")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "lonely", "namespace": "pods", "labels": {"app": "lonely"}},
        "spec": {"containers": [{"name": "app", "image": "registry.example.com/app:1.0"}]},
    }
    admin.apply(pod)
    pytester.makepyfile(
        """
        import pytest

        def test_cluster(k8s_cluster):
            assert k8s_cluster.server_version == "v1.37.2"
            assert k8s_cluster.context == "admin" and k8s_cluster.user == "admin"
            assert k8s_cluster.can_i("delete", "nodes")

        @pytest.mark.k8s_select(namespace="pods")
        def test_pods(k8s_pods):
            assert [p.name for p in k8s_pods] == ["lonely"]

        def test_host(k8s_pod_host, k8s_inventory):
            pod = k8s_inventory.get("Pod", "lonely", namespace="pods")
            k8s_pod_host(pod)
        """
    )
    result = pytester.runpytest(*live_args, "--k8s-context", "admin", "-rs")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["*pod pods/lonely is Pending on no node: nothing runs to look inside*"])


def _wait_default_service_account(admin: ClusterSource, namespace: str) -> None:
    wait_for(
        lambda: admin.request("GET", f"/api/v1/namespaces/{namespace}/serviceaccounts/default")[0] == 200,
        "the serviceaccount controller creates default",
    )


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_local_control_plane_option_applies_manifests_and_leaves_no_process(
    pytester: pytest.Pytester, binaries: object
) -> None:
    tmp = pytester.mkdir("tmp")
    pytester.makepyfile(
        """
        from pytest_k8ssec import assert_not_privileged

        def test_applied(k8s_cluster):
            status, body = k8s_cluster.source.request("GET", "/apis/apps/v1/namespaces/shop/deployments")
            assert status == 200
            assert sorted(d["metadata"]["name"] for d in body["items"]) == ["api", "web", "worker"]

        def test_priv(k8s_workload):
            assert_not_privileged(k8s_workload)
        """
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-v",
            "--k8s-local-control-plane",
            f"--k8s-manifests={manifests_dir() / 'insecure'}",
        ],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=300,
        env=_run_env(tmp),
    )
    out = proc.stdout
    assert "test_applied PASSED" in out, out[-3000:]
    assert "test_priv[Deployment/shop/worker] FAILED" in out
    assert "test_priv[Deployment/shop/web] PASSED" in out
    assert "insecure/worker.yaml:" in out  # findings keep the manifest's file:line
    assert _control_plane_pids(tmp) == set()
    assert list(tmp.iterdir()) == [], "the plane's working folder is removed"


def _control_plane_pids(workdir: Path) -> set[int]:
    """Live control plane processes whose command line names a path under ``workdir``."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(workdir).encode() in cmdline and not _zombie(int(entry.name)):
            pids.add(int(entry.name))
    return pids


def _run_env(tmp: Path) -> dict[str, str]:
    # The plane's working folder goes under TMPDIR: its processes are then recognisable by path.
    return {**os.environ, "TMPDIR": str(tmp)}


def test_stop_leaves_no_process_also_after_an_exception(binaries: object) -> None:
    from pytest_k8ssec.sources.local_control_plane import LocalControlPlane

    with pytest.raises(RuntimeError, match="boom"):
        with LocalControlPlane.start(binaries) as plane:  # type: ignore[arg-type]
            pids = plane.pids
            workdir = plane.workdir
            assert len(pids) == 3
            raise RuntimeError("boom")
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"process {pid} outlived the control plane"
    assert not workdir.exists()


def _zombie(pid: int) -> bool:
    try:
        return " Z " in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_ctrl_c_of_a_run_with_a_local_control_plane_leaves_no_process(
    pytester: pytest.Pytester, binaries: object, signum: int
) -> None:
    """SIGKILL runs no handler: the components die with pytest (PR_SET_PDEATHSIG)."""
    tmp = pytester.mkdir("tmp")
    proc, marker = _start_waiting_run(pytester, tmp)
    wait_for(lambda: marker.exists() or proc.poll() is not None, "the run with a local control plane reached its test")
    assert proc.poll() is None, _ended(proc, "the run ended by itself")
    assert len(_control_plane_pids(tmp)) == 3, "the run's etcd, kube-apiserver and kube-controller-manager run"
    os.kill(proc.pid, signum)
    _ended(proc, f"signal {signum}")
    wait_for(lambda: not _control_plane_pids(tmp), f"no control plane process is left after signal {signum}")


_LOCAL_RUN: list[str] = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--k8s-local-control-plane"]


def _start_waiting_run(
    pytester: pytest.Pytester, tmp: Path, stdout: int = subprocess.PIPE
) -> tuple[subprocess.Popen[bytes], Path]:
    """A run with a local control plane whose one test touches a marker file, then waits 10 minutes."""
    marker = pytester.path / "started"
    pytester.makepyfile(
        f"""
        import time

        def test_wait(k8s_cluster):
            open({str(marker)!r}, "w").close()
            time.sleep(600)
        """
    )
    proc = subprocess.Popen(
        _LOCAL_RUN,
        cwd=pytester.path,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        env=_run_env(tmp),
        preexec_fn=_default_hangup,
    )
    return proc, marker


def _default_hangup() -> None:
    # The run these tests stand for starts from a terminal, where SIGHUP has its default action.
    # Under nohup (or a CI runner that ignores SIGHUP) the ignored disposition is inherited, and the
    # plugin rightly leaves an ignored signal ignored; the child gets the terminal's disposition.
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _workdirs(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("k8ssec-cp-*"))


@pytest.mark.parametrize(
    ("signum", "when"),
    [(signal.SIGTERM, "start-up"), (signal.SIGHUP, "start-up"), (signal.SIGHUP, "test")],
    ids=["sigterm-start-up", "sighup-start-up", "sighup-test"],
)
def test_a_signal_during_start_up_or_the_run_leaves_no_process_and_no_working_folder(
    pytester: pytest.Pytester, binaries: object, signum: int, when: str
) -> None:
    """Issue 12 item 18: the working folder holds etcd's data (applied Secrets) and private keys."""
    tmp = pytester.mkdir("tmp")
    proc, marker = _start_waiting_run(pytester, tmp)
    if when == "start-up":
        # As soon as the working folder exists: etcd is not even running yet.
        wait_for(lambda: _workdirs(tmp) or proc.poll() is not None, "the control plane's working folder appears")
        assert not marker.exists()
    else:
        wait_for(lambda: marker.exists() or proc.poll() is not None, "the run reached its test")
    assert proc.poll() is None, _ended(proc, "the run ended by itself")
    os.kill(proc.pid, signum)
    out = _ended(proc, f"signal {signum}")
    wait_for(lambda: not _control_plane_pids(tmp), f"no control plane process is left after signal {signum}")
    assert _workdirs(tmp) == [], out[-3000:]


def test_the_working_folder_of_a_killed_run_is_swept_at_the_next_start(
    pytester: pytest.Pytester, binaries: object
) -> None:
    tmp = pytester.mkdir("tmp")
    proc, marker = _start_waiting_run(pytester, tmp, stdout=subprocess.DEVNULL)
    wait_for(lambda: marker.exists() or proc.poll() is not None, "the run reached its test")
    proc.kill()
    proc.wait()
    wait_for(lambda: not _control_plane_pids(tmp), "no control plane process is left after SIGKILL")
    (killed,) = _workdirs(tmp)  # SIGKILL runs no handler: the folder stays, with etcd's data
    assert (killed / "etcd").is_dir()
    pytester.makepyfile("def test_quick(k8s_cluster):\n    assert k8s_cluster.user == 'admin'\n")
    done = subprocess.run(_LOCAL_RUN, cwd=pytester.path, capture_output=True, text=True, timeout=300, env=_run_env(tmp))
    assert "1 passed" in done.stdout, done.stdout[-3000:]
    assert _workdirs(tmp) == []


def test_in_cluster_configuration_uses_the_service_account_token(
    control_plane: LocalControlPlane, admin: ClusterSource, tmp_path: Path
) -> None:
    import base64

    import yaml

    _namespace(admin, "incluster")
    admin.apply(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "scanner", "namespace": "incluster"}}
    )
    status, review = admin.request(
        "POST",
        "/api/v1/namespaces/incluster/serviceaccounts/scanner/token",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}},
    )
    assert status == 201, review
    (tmp_path / "token").write_text(review["status"]["token"])
    kubeconfig = yaml.safe_load(control_plane.kubeconfig.read_text())
    (tmp_path / "ca.crt").write_bytes(
        base64.b64decode(kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"])
    )
    port = control_plane.server.rsplit(":", 1)[1]
    source = ClusterSource.in_cluster(
        ClusterOptions(),
        token_file=str(tmp_path / "token"),
        ca_file=str(tmp_path / "ca.crt"),
        environ={"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": port},
    )
    assert source.context == "in-cluster"
    assert source.whoami() == "system:serviceaccount:incluster:scanner"
    with pytest.raises(Exception, match="forbidden: system:serviceaccount:incluster:scanner cannot list pods"):
        source.objects("Pod")


def test_excluded_namespaces_are_left_out(control_plane: LocalControlPlane, admin: ClusterSource) -> None:
    for name in ("keep-me", "skip-me"):
        _namespace(admin, name)
        admin.apply(_deployment("app", name))
    source = _source(control_plane, "admin", exclude_namespaces=("skip-me",))
    namespaces = {d.namespace for d in source.objects("Deployment")}
    assert "keep-me" in namespaces and "skip-me" not in namespaces
    assert "skip-me" not in {n.name for n in source.objects("Namespace")}


def test_envtest_layout_in_kubebuilder_assets_works(
    binaries: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_k8ssec.sources.local_control_plane import Binaries

    multicall = Path(binaries.etcd[0])  # type: ignore[attr-defined]
    for name in ("etcd", "kube-apiserver", "kube-controller-manager"):
        # The multi-call binary picks its component from argv[0], like separate envtest binaries.
        (tmp_path / name).symlink_to(multicall)
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path))
    monkeypatch.delenv("K8SSEC_CONTROL_PLANE_BIN", raising=False)  # it wins over KUBEBUILDER_ASSETS
    found = Binaries.find()
    assert found.apiserver == (str(tmp_path / "kube-apiserver"),)
    with LocalControlPlane.start(found) as plane:
        source = _source(plane, "admin")
        assert source.server_version() == "v1.37.2"


def test_kubeconfig_files_in_KUBECONFIG_are_merged_and_the_global_client_config_is_untouched(
    pytester: pytest.Pytester, control_plane: LocalControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml
    from kubernetes import client

    full = yaml.safe_load(control_plane.kubeconfig.read_text())
    paths = []
    for context in ("admin", "alice"):
        part = {
            **full,
            "users": [u for u in full["users"] if u["name"] == context],
            "contexts": [c for c in full["contexts"] if c["name"] == context],
            "current-context": context,
        }
        path = pytester.path / f"{context}.kubeconfig"
        path.write_text(yaml.safe_dump(part))
        paths.append(str(path))
    monkeypatch.setenv("KUBECONFIG", ":".join(paths))
    pytester.makepyfile(
        """
        from kubernetes import client

        def test_who(k8s_cluster):
            assert k8s_cluster.user == k8s_cluster.context
            # Our clients have their own configuration; the library default stays as it was.
            assert client.Configuration.get_default_copy().host == client.Configuration().host
        """
    )
    result = pytester.runpytest("--k8s-context", "admin", "--k8s-context", "alice", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines_random(["*test_who?admin? PASSED*", "*test_who?alice? PASSED*"])
    assert client.Configuration.get_default_copy().host == client.Configuration().host
