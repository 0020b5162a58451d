"""Node files and running components through testinfra's local backend, with a temporary root for ``/``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import testinfra

from pytest_k8ssec import (
    NodeHost,
    SecurityAssertionError,
    assert_component_flags,
    assert_node_files,
    component_processes,
    node_files,
)
from pytest_k8ssec.model.node_files import FILE_RULES, judge_files

HOST = testinfra.get_host("local://")
ROOT = os.geteuid() == 0


def plant(root: Path, node_path: str, mode: int, text: str = "x") -> Path:
    path = root / node_path.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def kubeadm_node(tmp_path: Path) -> NodeHost:
    """A control-plane node's files as kubeadm leaves them (modes right; owner: whoever runs the test)."""
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"):
        plant(tmp_path, f"/etc/kubernetes/manifests/{name}.yaml", 0o600)
    for name in ("admin.conf", "super-admin.conf", "scheduler.conf", "controller-manager.conf", "kubelet.conf"):
        plant(tmp_path, f"/etc/kubernetes/{name}", 0o600)
    for name in ("ca.crt", "apiserver.crt", "etcd/ca.crt"):
        plant(tmp_path, f"/etc/kubernetes/pki/{name}", 0o644)
    for name in ("ca.key", "sa.key", "etcd/ca.key"):
        plant(tmp_path, f"/etc/kubernetes/pki/{name}", 0o600)
    plant(tmp_path, "/var/lib/kubelet/config.yaml", 0o600)
    plant(tmp_path, "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", 0o600)
    (tmp_path / "var/lib/etcd/member").mkdir(parents=True)
    (tmp_path / "var/lib/etcd").chmod(0o700)
    return NodeHost("local://", HOST, str(tmp_path))


def test_modes_wider_than_the_benchmark_are_found_with_their_path_and_fix(kubeadm_node: NodeHost) -> None:
    root = Path(kubeadm_node.root)
    (root / "etc/kubernetes/manifests/kube-apiserver.yaml").chmod(0o644)
    (root / "etc/kubernetes/pki/etcd/ca.key").chmod(0o640)
    (root / "etc/kubernetes/admin.conf").chmod(0o4600)  # setuid is a bit outside 0600
    (root / "var/lib/etcd").chmod(0o755)
    modes = [r.control for r in FILE_RULES if r.max_mode is not None]
    result = node_files(kubeadm_node, controls=modes)
    assert [(f.control, f.path) for f in result.findings] == [
        ("CIS-1.1.1", "/etc/kubernetes/manifests/kube-apiserver.yaml"),
        ("CIS-1.1.11", "/var/lib/etcd"),
        ("CIS-1.1.13", "/etc/kubernetes/admin.conf"),
        ("CIS-1.1.21", "/etc/kubernetes/pki/etcd/ca.key"),
    ]
    assert result.findings[0].fix == "chmod 600 /etc/kubernetes/manifests/kube-apiserver.yaml"
    assert "mode 0644, wider than 0600" in result.findings[0].message
    # Certificates may be 644; keys under pki/ at any depth are judged.
    assert "/etc/kubernetes/pki/etcd/ca.crt" in result.judged["CIS-1.1.20"]
    with pytest.raises(SecurityAssertionError, match="CIS 1.1.1: API server pod specification file"):
        assert_node_files(kubeadm_node, controls=modes)


def test_right_modes_pass_and_absent_files_are_no_finding(kubeadm_node: NodeHost) -> None:
    modes = [r.control for r in FILE_RULES if r.max_mode is not None]
    result = node_files(kubeadm_node, controls=modes)
    assert result.findings == []
    # No CNI configuration and no kube-proxy kubeconfig on this node: those items do not apply.
    assert result.judged["CIS-1.1.9"] == [] and result.absent["CIS-1.1.9"] == ["/etc/cni/net.d"]
    assert_node_files(kubeadm_node, controls=modes)


def test_owners_must_be_root_and_the_etcd_data_directory_etcd(kubeadm_node: NodeHost) -> None:
    owners = [r.control for r in FILE_RULES if r.owner is not None]
    result = node_files(kubeadm_node, controls=owners)
    if not ROOT:
        # Planted by an ordinary user: every file is someone else's, each one a finding.
        assert result.findings and all(
            "not root:root" in f.message or "not etcd:etcd" in f.message for f in result.findings
        )
        return
    # As root: kubeadm leaves /var/lib/etcd root-owned, which CIS 1.1.12 (etcd:etcd) reports.
    assert [(f.control, f.path) for f in result.findings] == [("CIS-1.1.12", "/var/lib/etcd")]
    os.chown(Path(kubeadm_node.root) / "etc/kubernetes/pki/sa.key", 65534, 65534)
    found = node_files(kubeadm_node, controls=["CIS-1.1.19"]).findings
    assert [f.path for f in found] == ["/etc/kubernetes/pki/sa.key"]
    assert found[0].fix == "chown root:root /etc/kubernetes/pki/sa.key"


def test_paths_can_be_replaced_by_name(kubeadm_node: NodeHost) -> None:
    plant(Path(kubeadm_node.root), "/data/etcd/member/x", 0o600)
    (Path(kubeadm_node.root) / "data/etcd").chmod(0o750)
    result = node_files(kubeadm_node, controls=["CIS-1.1.11"], paths={"etcd-data-dir": "/data/etcd"})
    assert [f.path for f in result.findings] == ["/data/etcd"]


def test_a_host_with_none_of_the_files_errors_instead_of_passing(tmp_path: Path) -> None:
    with pytest.raises(SecurityAssertionError, match="none of the files exists under .*, so none was judged"):
        assert_node_files(NodeHost("local://", HOST, str(tmp_path)))


def test_a_plain_testinfra_host_takes_the_root_as_a_keyword(kubeadm_node: NodeHost) -> None:
    assert judge_files  # the pure core is what the helper runs
    assert node_files(HOST, root=kubeadm_node.root, controls=["CIS-1.1.1"]).judged["CIS-1.1.1"] == [
        "/etc/kubernetes/manifests/kube-apiserver.yaml"
    ]


# --- running components -----------------------------------------------------------------------------


@pytest.fixture
def fake_apiserver() -> Iterator[int]:
    """A process whose argv is a kube-apiserver command line (python sleeping under that name)."""
    argv = [
        "kube-apiserver",
        "-c",
        "import time; time.sleep(60)",
        "--profiling=true",
        "--authorization-mode",
        "Node,RBAC",
        "--anonymous-auth=false",
    ]
    proc = subprocess.Popen(argv, executable=sys.executable)
    try:
        for _ in range(100):
            if Path(f"/proc/{proc.pid}/cmdline").read_bytes().startswith(b"kube-apiserver\0"):
                break
            time.sleep(0.05)
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_running_processes_are_read_from_proc_cmdline(fake_apiserver: int) -> None:
    found = [p for p in component_processes(HOST, "kube-apiserver") if p.pid == fake_apiserver]
    assert len(found) == 1 and found[0].argv[3:] == (
        "--profiling=true",
        "--authorization-mode",
        "Node,RBAC",
        "--anonymous-auth=false",
    )
    assert_component_flags(HOST, component="kube-apiserver", pids=[fake_apiserver], controls=["CIS-1.2.1", "CIS-1.2.7"])
    with pytest.raises(SecurityAssertionError) as raised:
        assert_component_flags(HOST, component="kube-apiserver", pids=[fake_apiserver], controls=["CIS-1.2.15"])
    message = str(raised.value)
    assert f"kube-apiserver pid {fake_apiserver}: CIS 1.2.15: --profiling is true (set by --profiling=true)" in message
    assert "fix: set --profiling=false." in message


def test_no_process_of_the_component_is_an_error() -> None:
    with pytest.raises(SecurityAssertionError, match="no kube-scheduler process runs"):
        assert_component_flags(HOST, component="kube-scheduler", pids=[-1])
    with pytest.raises(ValueError, match="unknown component"):
        assert_component_flags(HOST, component="kube-proxy")


def test_a_kubelets_config_file_is_read_from_the_host_under_the_root(tmp_path: Path) -> None:
    from pytest_k8ssec.asserts.nodes import ComponentProcess, process_settings
    from pytest_k8ssec.checks._components import judge

    plant(tmp_path, "/var/lib/kubelet/config.yaml", 0o600, "authentication:\n  anonymous:\n    enabled: true\n")
    kubelet = ComponentProcess(1, "kubelet", ("kubelet", "--config=/var/lib/kubelet/config.yaml"))
    found = judge(process_settings(NodeHost("local://", HOST, str(tmp_path)), kubelet), ["CIS-4.2.1", "CIS-4.2.4"])
    assert [f.control for f in found] == ["CIS-4.2.1"]  # readOnlyPort: the file's default, 0
    assert "authentication.anonymous.enabled in /var/lib/kubelet/config.yaml" in found[0].message
    missing = judge(process_settings(NodeHost("local://", HOST, str(tmp_path / "nothing")), kubelet))
    assert any("does not exist" in f.message for f in missing)
