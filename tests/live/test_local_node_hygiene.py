"""The local node leaves nothing behind: after a clean stop, Ctrl-C, SIGTERM, a failure mid-start and SIGKILL.

Each case starts a control plane with a node in a child Python process (the way a pytest run
holds it), interrupts it at a chosen point, and compares what the host has before and after:
processes, network namespaces, links, the host's iptables rules and ipsets, cgroups, mounts, and
the folders the node makes private. A case that interrupted nothing would prove nothing, so each
first asserts that the node's things existed while it ran.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_k8ssec.sources.local_control_plane import Binaries, sweep_dead_workdirs
from pytest_k8ssec.sources.local_node import KUBELET_SYSCTLS, NETNS_DIR, PRIVATE_DIRS, SYSCTL_DIR, NodeBinaries, tool
from tests.live.waits import wait_for

CHILD = textwrap.dedent(
    """
    import sys, time
    from pytest_k8ssec.sources.cluster import ClusterSource
    from pytest_k8ssec.sources.cluster_options import ClusterOptions
    from pytest_k8ssec.sources._local_common import check_interrupted
    from pytest_k8ssec.sources.local_control_plane import LocalControlPlane

    plane = LocalControlPlane.start(node=True, timeout=180)
    print("WORKDIR", plane.workdir, flush=True)
    admin = ClusterSource.from_kubeconfig("admin", ClusterOptions(kubeconfig=str(plane.kubeconfig)))
    while admin.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] != 200:
        time.sleep(0.1)
    admin.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
                 "spec": {"containers": [{"name": "c", "image": "k8ssec.local/probe:1", "imagePullPolicy": "Never"}],
                          "automountServiceAccountToken": False}})
    while admin.request("GET", "/api/v1/namespaces/default/pods/p")[1].get("status", {}).get("phase") != "Running":
        time.sleep(0.1)
    print("READY", flush=True)
    if "--stop" in sys.argv:
        plane.stop()
        print("STOPPED", flush=True)
        sys.exit(0)
    for _ in range(600):
        time.sleep(1)
        check_interrupted()
    """
)


@dataclass(frozen=True)
class HostState:
    netns: frozenset[str]
    links: frozenset[str]
    iptables: str
    ipsets: str
    cgroups: frozenset[str]
    mounts: frozenset[str]
    private_dirs: frozenset[str]
    sysctls: tuple[tuple[str, str], ...]
    sysctl_record: bool

    @classmethod
    def read(cls) -> HostState:
        def run(program: str, *args: str) -> str:
            # ip, iptables-save and ipset live in root's sbin folders, often not on a CI's PATH.
            return subprocess.run([tool(program) or program, *args], capture_output=True, text=True).stdout

        links = run("ip", "-o", "link", "show").splitlines()
        cgroups = {
            str(path)
            for hierarchy in Path("/sys/fs/cgroup").iterdir()
            if hierarchy.is_dir()
            for path in hierarchy.glob("k8ssec-*")
        }
        return cls(
            netns=frozenset(p.name for p in NETNS_DIR.glob("*")) if NETNS_DIR.exists() else frozenset(),
            links=frozenset(line.split(":")[1].strip().split("@")[0] for line in links if ": k8s" in line),
            # Rules only: counters move on their own.
            iptables="\n".join(line for line in run("iptables-save").splitlines() if not line.startswith(("#", ":"))),
            ipsets=run("ipset", "list", "-n"),
            cgroups=frozenset(cgroups),
            mounts=frozenset(
                line
                for line in Path("/proc/self/mounts").read_text().splitlines()
                if "k8ssec" in line or "containerd" in line
            ),
            private_dirs=frozenset(str(folder) for folder in PRIVATE_DIRS if folder.exists()),
            # Machine-wide values the kubelet changes at start: put back by the last node to stop.
            sysctls=tuple((name, (Path("/proc/sys") / name).read_text().strip()) for name in KUBELET_SYSCTLS),
            # Kept while any node of the machine runs (another run's, or this session's own).
            sysctl_record=SYSCTL_DIR.exists(),
        )


def _node_processes(tag: str, workdir: str, netns_inodes: set[int]) -> list[str]:
    """Processes of the node: by cgroup (containers), working folder in argv, or network namespace."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cgroup = (entry / "cgroup").read_text()
            netns = (entry / "ns" / "net").stat().st_ino
        except OSError:
            continue
        if f"/{tag}" in cgroup or (workdir and workdir in argv) or netns in netns_inodes:
            found.append(f"{entry.name}: {argv[:120]}")
    return found


class Child:
    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **env},
            # As a terminal's foreground job has it: a run started in the background inherits
            # SIGINT ignored, and Python then installs no KeyboardInterrupt for it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.tag = f"k8ssec-{self.popen.pid}-"
        self.workdir = ""
        self.lines: list[str] = []

    def read_until(self, marker: str, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        assert self.popen.stdout is not None
        while time.monotonic() < deadline:
            line = self.popen.stdout.readline()
            if not line:
                raise AssertionError(
                    f"child exited ({self.popen.wait()}) before {marker}:\n{''.join(self.lines[-40:])}"
                )
            self.lines.append(line)
            if line.startswith("WORKDIR "):
                self.workdir = line.split(" ", 1)[1].strip()
            if line.startswith(marker):
                return
        raise AssertionError(f"no {marker} in {timeout} s")

    def own_workdir(self, holding: str) -> str | None:
        """The child's working folder (its owner file names the child) once it holds ``holding``."""
        for folder in Path(tempfile.gettempdir()).glob("k8ssec-cp-*"):
            try:
                owner = (folder / "owner").read_text()
            except OSError:
                continue
            if owner.split()[0] == str(self.popen.pid) and (folder / holding).exists():
                return str(folder)
        return None

    def netns(self) -> list[str]:
        return [p.name for p in NETNS_DIR.glob(f"{self.tag}*")] if NETNS_DIR.exists() else []

    def netns_inodes(self) -> set[int]:
        return {(NETNS_DIR / name).stat().st_ino for name in self.netns()}

    def finish(self, timeout: float = 120) -> int:
        try:
            return self.popen.wait(timeout)
        finally:
            if self.popen.poll() is None:
                self.popen.kill()


@pytest.fixture
def host_before(node_binaries: NodeBinaries) -> tuple[HostState, bool]:
    return HostState.read(), _others_running()


def _others_running() -> bool:
    """Whether a node other than the child's runs on the machine (this session's, another run's)."""
    nodes = SYSCTL_DIR / "nodes"
    return nodes.exists() and any((NETNS_DIR / entry.name).exists() for entry in nodes.iterdir())


def _assert_clean(before: HostState, child: Child, inodes: set[int], others_before: bool) -> None:
    after = HostState.read()
    # The host's own firewall is never the node's to touch, whoever else runs.
    assert (after.iptables, after.ipsets) == (before.iptables, before.ipsets)
    # What the child made, named by its tag, pid or folder, is gone; what other runs' nodes hold
    # may come and go meanwhile, so only the child's own things are compared.
    pid = str(child.popen.pid)

    def own(entries: frozenset[str]) -> set[str]:
        return {e for e in entries if child.tag in e or pid in e or (child.workdir and child.workdir in e)}

    for field in ("netns", "links", "cgroups", "mounts"):
        assert own(getattr(after, field)) == own(getattr(before, field)) == set(), field
    if not others_before and not _others_running():
        # Nothing else held them: the machine-wide things are as before the child started.
        assert after == before
    assert not child.netns()
    # SIGKILLed processes take a moment to exit on a loaded machine (the last one of a mount
    # namespace unmounts everything on its way out); a process teardown missed never does.
    wait_for(
        lambda: not _node_processes(child.tag, child.workdir, inodes),
        f"the node's processes gone: {_node_processes(child.tag, child.workdir, inodes)}",
        timeout=15,
    )
    if child.workdir:
        assert not Path(child.workdir).exists()


def _assert_running(child: Child) -> set[int]:
    """What the node made exists while it runs: the check afterwards looks at real things."""
    inodes = child.netns_inodes()
    assert inodes, f"no network namespace {child.tag}* while the node runs"
    assert any(Path("/sys/fs/cgroup/pids").glob(f"{child.tag}*")) or any(Path("/sys/fs/cgroup").glob(f"{child.tag}*"))
    assert _node_processes(child.tag, child.workdir, inodes), "no node process found while the node runs"
    # The kubelet has set its sysctls by now (on this machine kind all six differ from its wants).
    assert (Path("/proc/sys") / "kernel/panic").read_text().strip() == "10"
    return inodes


def test_a_stopped_node_leaves_nothing(host_before: tuple[HostState, bool]) -> None:
    child = Child({}, "--stop")
    child.read_until("READY")
    inodes = _assert_running(child)
    child.read_until("STOPPED")
    assert child.finish() == 0
    _assert_clean(host_before[0], child, inodes, host_before[1])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_node_leaves_nothing(host_before: tuple[HostState, bool], signum: int) -> None:
    child = Child({})
    child.read_until("READY")
    inodes = _assert_running(child)
    child.popen.send_signal(signum)
    assert child.finish() != 0
    _assert_clean(host_before[0], child, inodes, host_before[1])


def test_sigterm_mid_start_leaves_nothing(host_before: tuple[HostState, bool]) -> None:
    child = Child({})
    # containerd is up, the kubelet not yet Ready: the middle of the node's start.
    wait_for(child.netns, "the node's network namespace", timeout=120, interval=0.05)
    child.workdir = wait_for(
        lambda: child.own_workdir("node/containerd.toml"), "the node's containerd config", timeout=60, interval=0.02
    )
    inodes = child.netns_inodes()
    child.popen.send_signal(signal.SIGTERM)
    assert child.finish() != 0
    _assert_clean(host_before[0], child, inodes, host_before[1])


def test_a_failure_mid_start_leaves_nothing(
    host_before: tuple[HostState, bool], node_binaries: NodeBinaries, tmp_path: Path
) -> None:
    # A node folder whose kube-router fails at once: the start fails after containerd, the
    # images and the kubelet are up, and must take all of them down.
    folder = tmp_path / "node"
    folder.mkdir()
    for program in Path(node_binaries.containerd).parent.iterdir():
        (folder / program.name).symlink_to(program)
    (folder / "kube-router").unlink()
    (folder / "kube-router").write_text("#!/bin/sh\necho 'kube-router: refusing to start (test)' >&2\nexit 3\n")
    (folder / "kube-router").chmod(0o755)
    child = Child({"K8SSEC_NODE_BIN": str(folder)})
    wait_for(child.netns, "the node's network namespace", timeout=120, interval=0.05)
    inodes = child.netns_inodes()
    assert child.finish(240) != 0
    output = child.popen.stdout.read() if child.popen.stdout else ""
    assert "kube-router exited with code 3" in output, output[-3000:]
    assert "refusing to start (test)" in output
    _assert_clean(host_before[0], child, inodes, host_before[1])


def test_a_killed_run_is_swept_by_the_next(host_before: tuple[HostState, bool], binaries: Binaries) -> None:
    child = Child({})
    child.read_until("READY")
    inodes = _assert_running(child)
    child.popen.kill()
    child.finish()
    # SIGKILL runs no cleanup: the components die with their parent, but containerd's shims and
    # the containers do not, and the namespace, cgroups and folder stay. The next run sweeps them.
    assert child.netns() and Path(child.workdir).exists()
    removed = sweep_dead_workdirs()
    assert Path(child.workdir) in removed
    wait_for(
        lambda: not _node_processes(child.tag, child.workdir, inodes), "the killed node's processes gone", timeout=30
    )
    _assert_clean(host_before[0], child, inodes, host_before[1])
