"""The local node's pieces that need no root: its configs, its link addresses, and what is missing."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from pytest_k8ssec.sources import local_node
from pytest_k8ssec.sources.local_node import LINK_SPACE, POD_CIDR, NodeBinaries, NodeUnavailable, teardown


def _binaries() -> NodeBinaries:
    return NodeBinaries(
        "mc", "containerd", "/shims", "ctr", "/cni", "kube-router", "probe", "busybox", "/usr/sbin/runc", {}
    )


def test_containerd_keeps_every_path_in_the_node_folder(tmp_path: Path) -> None:
    config = local_node._containerd_config(tmp_path, _binaries())
    for line in config.splitlines():
        if '= "/' in line:
            path = line.split('"')[1]
            assert path.startswith(str(tmp_path)) or path in ("/cni", "/usr/sbin/runc"), line
    assert 'sandbox = "k8ssec.local/pause:1"' in config
    assert "netns_mounts_under_state_dir = true" in config
    assert "SystemdCgroup = false" in config
    # Clamped only where the process may not lower OOM scores (CAP_SYS_RESOURCE).
    wanted = "false" if local_node._has_capability(local_node.CAP_SYS_RESOURCE) else "true"
    assert f"restrict_oom_score_adj = {wanted}" in config


def test_the_pod_network_is_a_bridge_with_its_leases_in_the_node_folder(tmp_path: Path) -> None:
    config = local_node._cni_config(tmp_path)
    bridge = config["plugins"][0]
    assert bridge["type"] == "bridge" and bridge["isGateway"] and not bridge["ipMasq"]
    assert bridge["ipam"]["ranges"] == [[{"subnet": POD_CIDR}]]
    assert bridge["ipam"]["dataDir"] == str(tmp_path / "cni" / "ipam")
    assert [p["type"] for p in config["plugins"]] == ["bridge", "portmap"]


def test_the_host_link_is_a_free_slash_30_of_the_shared_space(monkeypatch: pytest.MonkeyPatch) -> None:
    host, node = local_node._link_addresses()
    assert host.network == node.network and host.network.prefixlen == 30
    assert host.network.subnet_of(LINK_SPACE)  # type: ignore[arg-type]
    assert host.ip != node.ip

    taken = "2: eth0    inet 100.64.0.0/10 brd 100.127.255.255 scope global eth0\n"

    class Done:
        stdout = taken

    monkeypatch.setattr(local_node.subprocess, "run", lambda *a, **k: Done())
    with pytest.raises(local_node.LocalNodeError, match="no free /30"):
        local_node._link_addresses()


def test_teardown_without_a_state_file_touches_nothing(tmp_path: Path) -> None:
    assert teardown(tmp_path) == []
    assert teardown(tmp_path / "missing") == []


def test_missing_programs_are_named_with_the_way_to_build_them(tmp_path: Path) -> None:
    with pytest.raises(NodeUnavailable) as caught:
        NodeBinaries.find("/nowhere/k8s-controlplane", str(tmp_path))
    message = str(caught.value)
    for program in (
        "containerd",
        "containerd-shim-runc-v2",
        "ctr",
        "bridge",
        "host-local",
        "loopback",
        "portmap",
        "kube-router",
    ):
        assert f"{tmp_path}/{program}" in message
    assert "bash controlplane/build-node.sh" in message


def test_pod_addresses_are_private() -> None:
    assert ipaddress.ip_network(POD_CIDR).is_private


def test_a_missing_kernel_feature_is_named_and_a_hanging_one_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    real = subprocess.run

    def run(full: list[str], *args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        argv = [part.rsplit("/", 1)[-1] for part in full]  # programs come as absolute paths
        if argv[:2] == ["ip", "netns"] and argv[2] in ("add", "del"):
            return subprocess.CompletedProcess(argv, 0, "", "")
        if "ipset" in argv:
            return subprocess.CompletedProcess(
                argv, 1, "", "ipset v7.17: Kernel error received: Operation not supported"
            )
        if "--match-set" in argv:
            raise subprocess.TimeoutExpired(argv, 10)
        if argv[:3] == ["ip", "netns", "exec"]:
            return subprocess.CompletedProcess(argv, 0, "", "")
        return real(full, *args, **kwargs)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(local_node.os, "geteuid", lambda: 0)
    monkeypatch.setattr(local_node.subprocess, "run", run)
    monkeypatch.setattr(local_node.shutil, "which", lambda name, path=None: f"/usr/sbin/{name}")
    missing = local_node.missing_features()
    assert any(m.startswith("ipset (CONFIG_IP_SET)") and "Operation not supported" in m for m in missing), missing
    assert any(m.startswith("iptables set match (xt_set)") and "no answer in 10 s" in m for m in missing), missing
    assert not any("veth" in m or "bridge" in m for m in missing), missing
