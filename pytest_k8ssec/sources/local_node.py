"""A real node for the local control plane: kubelet, containerd, runc, CNI and kube-router's firewall.

``--k8s-local-node`` (with ``--k8s-local-control-plane``) starts one node so that pods really run:
``k8s_pod_host`` tests inside real containers, and NetworkPolicy verdicts are checked against what
a real enforcer does to real packets. Everything is official code built from pinned sources
(``controlplane/build.sh``, ``controlplane/build-node.sh``; runc from Debian), and nothing is faked.

Where things live, so that nothing touches the host's network or outlives the run:

* A **network namespace** of its own (``k8ssec-<pid>-<hex>``) holds the node: containerd, the
  kubelet and kube-router run in it, the CNI bridge and every pod's veth are made in it, and
  kube-router's iptables chains and ipsets are the namespace's own. Deleting the namespace at
  teardown deletes all of them with it.
* A **veth pair** joins it to the host on a private /30: the node's InternalIP is the far end,
  where only the kubelet listens (the API server reaches it there for exec and logs). Nothing
  listens on the host's end, and the host gets no route to the pod network.
* The API server still listens on 127.0.0.1 only: inside the namespace, ``socat`` listens on the
  namespace's own 127.0.0.1 at the same port and forwards through a Unix socket to the host's.
* A **mount namespace** of its own (held by one ``sleep`` process) takes every mount the
  runtime and the kubelet make (container root filesystems, volumes, pod network namespaces), so
  they vanish with its last process even after SIGKILL; ``/run/containerd`` (where containerd's
  shims put their sockets, a path upstream fixes) is a tmpfs inside it.
* The pods' **cgroups** live under ``/k8ssec-<pid>-<hex>`` in every hierarchy, removed at
  teardown (after every process in them is killed).

Images come from ``local_images`` (built here from Debian's busybox-static and the probe binary)
and are imported into containerd: pods use them with ``imagePullPolicy: Never``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import yaml

from pytest_k8ssec._processes import alive, owner
from pytest_k8ssec.errors import K8sSecError
from pytest_k8ssec.sources._local_common import check_interrupted, die_with_parent, kubeconfig

if TYPE_CHECKING:
    # The plane starts the node, so the node names it only for typing (no import cycle at run time).
    from pytest_k8ssec.sources.local_control_plane import LocalControlPlane, _Pki

NODE_NAME: Final = "local-node"
# The pod network exists only inside the node's namespace: any private range that the host does
# not route works, and every node (one per xdist worker) can use the same one.
POD_CIDR: Final = "10.244.0.0/24"
# The host-node link: a /30 out of the shared address space (RFC 6598), picked per node so that
# several nodes (one per xdist worker) never collide.
LINK_SPACE: Final = ipaddress.ip_network("100.64.0.0/10")
KUBELET_PORT: Final = 10250
NODE_BIN_DIR: Final = Path(__file__).resolve().parents[2] / "controlplane" / ".cache" / "bin" / "node"
NODE_BIN_ENV: Final = "K8SSEC_NODE_BIN"
PROBE_ENV: Final = "K8SSEC_PROBE_BIN"
STATE_FILE: Final = "node.json"
# The kubelet sets these machine-wide sysctls at start (setupKernelTunables) and never puts them
# back; no flag stops it short of refusing to start. The first node of the machine records their
# values, the last one to stop restores them (nodes of concurrent runs share the machine), as it
# removes the mount points of PRIVATE_DIRS the first one made.
KUBELET_SYSCTLS: Final = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
SYSCTL_DIR: Final = Path("/run/k8ssec-node")
# The cgroup hierarchies the kubelet and runc write (cgroup v1); with cgroup v2 the one tree.
CGROUP_MOUNT: Final = Path("/sys/fs/cgroup")
NETNS_DIR: Final = Path("/run/netns")
SHIM_RUN_DIR: Final = Path("/run/containerd")
# Paths upstream fixes that the node must not share with the host or another node: a tmpfs on
# each inside the node's mount namespace. containerd's shims put their sockets in
# /run/containerd; libcni (in containerd) caches each pod's network result in /var/lib/cni; the
# kubelet links container logs in /var/log/containers and opens its device-plugin socket under
# /var/lib/kubelet whatever its --root-dir.
PRIVATE_DIRS: Final = (SHIM_RUN_DIR, Path("/var/lib/cni"), Path("/var/log/containers"), Path("/var/lib/kubelet"))
BUILD_HINT: Final = (
    "build them with `bash controlplane/build.sh && bash controlplane/build-node.sh && "
    "bash controlplane/probe/build.sh` in a pytest-k8ssec checkout, and install Debian's runc, iptables, "
    "ipset, socat and busybox-static (`.ci/install` does all of it)"
)


#: How long one probe of a kernel feature may take before it counts as missing.
CHECK_TIMEOUT_S: Final = 10.0


#: Where system programs live; a CI's PATH often lacks root's sbin folders, which hold ip,
#: iptables, ipset and sysctl.
SYSTEM_DIRS: Final = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def tool(name: str) -> str | None:
    """The absolute path of system program ``name``: from PATH, else from the system folders."""
    return shutil.which(name) or shutil.which(name, path=SYSTEM_DIRS)


def _system(argv: Sequence[str]) -> list[str]:
    """``argv`` with its program, and the program of an ``ip netns exec NS`` command, made absolute."""
    resolved = list(argv)
    for index in [0, 4] if resolved[:3] == ["ip", "netns", "exec"] and len(resolved) > 4 else [0]:
        resolved[index] = tool(resolved[index]) or resolved[index]
    return resolved


class NodeUnavailable(K8sSecError):
    """This machine cannot run the local node; the message names the missing feature or binary."""


class MissingKernelFeature(NodeUnavailable):
    """What the node needs of the kernel or the sandbox is missing: nothing to install, a reason to skip."""


class LocalNodeError(K8sSecError):
    """The local node did not start; the message says which component and shows its log."""


# --- what the node needs ------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeBinaries:
    """Every program the node runs (absolute paths)."""

    multicall: str  # k8s-controlplane: kubelet, kube-scheduler
    containerd: str
    shim_dir: str  # holds containerd-shim-runc-v2 (containerd finds shims on PATH)
    ctr: str
    cni_dir: str
    kube_router: str
    probe: str
    busybox: str
    runc: str
    tools: dict[str, str] = field(default_factory=dict)  # ip, nsenter, unshare, socat, iptables, ipset, sleep

    @classmethod
    def find(cls, multicall: str, node_dir: str | None = None) -> NodeBinaries:
        """From ``node_dir`` (default ``$K8SSEC_NODE_BIN`` or the checkout's build cache) and PATH.

        Raises:
            NodeUnavailable: naming every missing program and how to get it.
        """
        folder = Path(node_dir or os.environ.get(NODE_BIN_ENV) or NODE_BIN_DIR)
        missing: list[str] = []

        def built(name: str, where: Path) -> str:
            path = where / name
            if not (path.is_file() and os.access(path, os.X_OK)):
                missing.append(str(path))
            return str(path)

        def on_path(name: str) -> str:
            found = tool(name)
            if found is None:
                missing.append(f"{name} (not on PATH)")
                return name
            return found

        # The probe is built beside the node's folder (controlplane/probe/build.sh); a node folder
        # given elsewhere without one falls back to the checkout's build.
        beside = folder.parent / "k8ssec-probe"
        probe = os.environ.get(PROBE_ENV) or str(beside if beside.exists() else NODE_BIN_DIR.parent / "k8ssec-probe")
        if not (Path(probe).is_file() and os.access(probe, os.X_OK)):
            missing.append(probe)
        binaries = cls(
            multicall=multicall,
            containerd=built("containerd", folder),
            shim_dir=str(Path(built("containerd-shim-runc-v2", folder)).parent),
            ctr=built("ctr", folder),
            cni_dir=str(Path(built("bridge", folder)).parent),
            kube_router=built("kube-router", folder),
            probe=probe,
            busybox=on_path("busybox"),
            runc=on_path("runc"),
            tools={name: on_path(name) for name in ("ip", "nsenter", "unshare", "socat", "iptables", "ipset", "sleep")},
        )
        for plugin in ("host-local", "loopback", "portmap"):
            built(plugin, folder)
        if missing:
            raise NodeUnavailable(
                f"the local node needs programs that are missing: {', '.join(missing)}. To get them, {BUILD_HINT}."
            )
        return binaries


def missing_features() -> list[str]:
    """What this machine lacks for the node, each named (empty when it has everything).

    Checked without side effects that outlive the call: a throwaway namespace is made and deleted.
    """
    problems: list[str] = []
    if os.geteuid() != 0:
        return ["root (network namespaces, cgroups and mounts need it; run as root or skip the node)"]
    if not Path("/proc/self/ns/net").exists():
        return ["network namespaces (/proc/self/ns/net)"]
    if tool("ip") is None:
        return ["iproute2's ip"]
    name = f"k8ssec-check-{os.getpid()}"
    try:
        made = subprocess.run(
            _system(["ip", "netns", "add", name]), capture_output=True, text=True, timeout=CHECK_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return [f"network namespaces (ip netns add did not answer in {CHECK_TIMEOUT_S:g} s)"]
    if made.returncode != 0:
        return [f"network namespaces (ip netns add: {made.stderr.strip()})"]
    try:

        def inside(*argv: str) -> subprocess.CompletedProcess[str]:
            try:
                return subprocess.run(
                    _system(["ip", "netns", "exec", name, *argv]),
                    capture_output=True,
                    text=True,
                    timeout=CHECK_TIMEOUT_S,
                )
            except subprocess.TimeoutExpired:
                # A feature that hangs is as missing as one that fails: never a hang.
                return subprocess.CompletedProcess(argv, 1, "", f"no answer in {CHECK_TIMEOUT_S:g} s")

        # iptables waits for the machine-wide xtables lock (-w): another node's kube-router
        # holding it is no missing feature.
        checks = [
            ("veth pairs", ("ip", "link", "add", "k8ssec-va", "type", "veth", "peer", "name", "k8ssec-vb")),
            ("Linux bridges", ("ip", "link", "add", "k8ssec-br", "type", "bridge")),
            (
                "bridge netfilter (br_netfilter: NetworkPolicy between pods on one bridge)",
                ("sysctl", "-w", "net.bridge.bridge-nf-call-iptables=1"),
            ),
            ("ipset (CONFIG_IP_SET)", ("ipset", "create", "k8ssec-check", "hash:ip")),
            (
                "iptables set match (xt_set)",
                (
                    "iptables",
                    "-w",
                    "10",
                    "-A",
                    "INPUT",
                    "-m",
                    "set",
                    "--match-set",
                    "k8ssec-check",
                    "src",
                    "-j",
                    "ACCEPT",
                ),
            ),
            (
                "iptables conntrack match",
                ("iptables", "-w", "10", "-A", "INPUT", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP"),
            ),
            (
                "iptables comment match",
                ("iptables", "-w", "10", "-A", "INPUT", "-m", "comment", "--comment", "k8ssec", "-j", "ACCEPT"),
            ),
        ]
        for feature, argv in checks:
            if tool(argv[0]) is None:
                problems.append(f"{feature}: {argv[0]} is not installed")
                continue
            result = inside(*argv)
            if result.returncode != 0:
                problems.append(
                    f"{feature}: `{' '.join(argv)}` failed: {result.stderr.strip() or result.stdout.strip()}"
                )
    finally:
        subprocess.run(_system(["ip", "netns", "del", name]), capture_output=True, timeout=CHECK_TIMEOUT_S)
    for controller in ("cpu", "memory", "pids"):
        if not _cgroup_has(controller):
            problems.append(f"the {controller} cgroup controller")
    return problems


def _cgroup_has(controller: str) -> bool:
    if (CGROUP_MOUNT / "cgroup.controllers").exists():  # cgroup v2
        return controller in (CGROUP_MOUNT / "cgroup.controllers").read_text().split()
    return (CGROUP_MOUNT / controller).is_dir()


# --- the node -----------------------------------------------------------------------------------


@dataclass
class LocalNode:
    """A running node of a ``LocalControlPlane`` (started by it: ``LocalControlPlane.start(node=True)``).

    Attributes:
        name: the Node's name.
        netns: the node's network namespace (``ip netns exec <netns> ...`` sees the pod network).
        address: the node's InternalIP (the namespace's end of the host link).
        timings: seconds from the node's start to each stage.
        images: the local images imported into containerd (``k8ssec.local/...``).
    """

    workdir: Path
    netns: str
    cgroup_root: str
    host_link: str
    address: str
    name: str = NODE_NAME
    images: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    holder: subprocess.Popen[bytes] | None = None
    binaries: NodeBinaries | None = None

    @property
    def socket(self) -> Path:
        """containerd's socket (the kubelet's CRI endpoint, ctr's address)."""
        return self.workdir / "containerd" / "containerd.sock"

    # --- start ----------------------------------------------------------------------------------

    @classmethod
    def start(cls, plane: LocalControlPlane, pki: _Pki, binaries: NodeBinaries, deadline: float) -> LocalNode:
        """Build the node's namespaces, start its components and wait until the Node is Ready.

        Called by ``LocalControlPlane`` (which owns the processes and their teardown); the node's
        state file lets a later run clean up after one that was killed.
        """
        began = time.monotonic()
        tag = f"{os.getpid()}-{os.urandom(2).hex()}"
        workdir = plane.workdir / "node"
        workdir.mkdir(parents=True, exist_ok=True)
        host_address, node_address = _link_addresses()
        node = cls(
            workdir=workdir,
            netns=f"k8ssec-{tag}",
            cgroup_root=f"/k8ssec-{tag}",
            host_link=f"k8s{tag.replace('-', '')[-10:]}"[:15],
            address=str(node_address.ip),
            binaries=binaries,
        )
        # Written before anything exists: whatever is made from here on, a later run can find it.
        node._save_state()
        _claim_machine(node.netns)
        check_interrupted()
        node._network(binaries, host_address, node_address)
        node._hold_mounts(binaries)
        node._save_state()  # now with the holder
        node.timings["namespaces"] = time.monotonic() - began
        check_interrupted()
        files = node._write_files(plane, pki, binaries)
        api_port = int(plane.server.rsplit(":", 1)[1])
        node._forward_api(plane, binaries, api_port)
        containerd = node._run(
            plane, "containerd", [binaries.containerd, f"--config={files['containerd.toml']}"], binaries
        )
        plane._wait(node.socket.exists, deadline, containerd, "containerd's socket")
        node.timings["containerd"] = time.monotonic() - began
        check_interrupted()
        node.images = node._import_images(binaries)
        node.timings["images"] = time.monotonic() - began
        check_interrupted()
        node._make_cgroup_root()
        kubelet = node._run(
            plane,
            "kubelet",
            [
                binaries.multicall,
                "kubelet",
                f"--config={files['kubelet.yaml']}",
                f"--root-dir={node.workdir / 'kubelet'}",
                f"--cert-dir={node.workdir / 'kubelet' / 'pki'}",
                f"--kubeconfig={files['kubelet.kubeconfig']}",
                f"--hostname-override={node.name}",
                f"--node-ip={node.address}",
                "--v=1",
            ],
            binaries,
        )
        plane._wait(lambda: node._ready(plane), deadline, kubelet, f"Node {node.name} Ready")
        node.timings["node ready"] = time.monotonic() - began
        # kube-router finds its own Node object at start, so it waits for the kubelet to register.
        router = node._run(
            plane,
            "kube-router",
            [
                binaries.kube_router,
                "--run-firewall=true",
                "--run-router=false",
                "--run-service-proxy=false",
                f"--kubeconfig={files['kube-router.kubeconfig']}",
                f"--hostname-override={node.name}",
                "--health-port=0",
                "--metrics-port=0",
                "--v=1",
            ],
            binaries,
        )
        plane._wait(lambda: node._chains_present(binaries), deadline, router, "kube-router's firewall chains")
        node.timings["firewall"] = time.monotonic() - began
        return node

    def _save_state(self) -> None:
        state = {"netns": self.netns, "cgroup_root": self.cgroup_root, "host_link": self.host_link}
        if self.holder is not None:
            state["holder"] = owner(self.holder.pid)
        (self.workdir / STATE_FILE).write_text(json.dumps(state))

    def _network(self, binaries: NodeBinaries, host: ipaddress.IPv4Interface, node: ipaddress.IPv4Interface) -> None:
        ip, sysctl = binaries.tools["ip"], tool("sysctl") or "sysctl"
        inner = f"{self.host_link}n"[:15]
        steps = [
            [ip, "netns", "add", self.netns],
            [ip, "-n", self.netns, "link", "set", "lo", "up"],
            [ip, "link", "add", self.host_link, "type", "veth", "peer", "name", inner, "netns", self.netns],
            [ip, "addr", "add", str(host), "dev", self.host_link],
            [ip, "link", "set", self.host_link, "up"],
            [ip, "-n", self.netns, "link", "set", inner, "name", "eth0"],
            [ip, "-n", self.netns, "addr", "add", str(node), "dev", "eth0"],
            [ip, "-n", self.netns, "link", "set", "eth0", "up"],
            [ip, "-n", self.netns, "route", "add", "default", "via", str(host.ip)],
            # The bridge's pods reach each other through iptables (NetworkPolicy), and the gateway routes.
            [ip, "netns", "exec", self.netns, sysctl, "-q", "-w", "net.ipv4.ip_forward=1"],
            [ip, "netns", "exec", self.netns, sysctl, "-q", "-w", "net.bridge.bridge-nf-call-iptables=1"],
        ]
        for argv in steps:
            _check(argv, "set up the node's network")

    def _hold_mounts(self, binaries: NodeBinaries) -> None:
        # The holder: the first process in the node's mount namespace. Private propagation keeps
        # every mount the runtime makes out of the host's view; the tmpfs gives this node's
        # containerd shims a socket folder of their own (upstream fixes it at /run/containerd).
        script = " && ".join(
            [
                *(f"{tool('mount') or 'mount'} -t tmpfs -o mode=0711 tmpfs {folder}" for folder in PRIVATE_DIRS),
                f"exec {binaries.tools['sleep']} infinity",
            ]
        )
        argv = [
            binaries.tools["nsenter"],
            f"--net={NETNS_DIR / self.netns}",
            "--",
            binaries.tools["unshare"],
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            script,
        ]
        self.holder = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=die_with_parent
        )
        mounted = time.monotonic() + 10
        while time.monotonic() < mounted:
            if self.holder.poll() is not None:
                raise LocalNodeError(f"the node's mount namespace holder exited with {self.holder.returncode}")
            if _mount_ns(self.holder.pid) != _mount_ns(os.getpid()) and _holder_mounted(self.holder.pid):
                return
            check_interrupted()
            time.sleep(0.02)
        raise LocalNodeError("the node's mount namespace did not come up in 10 s")

    def _make_cgroup_root(self) -> None:
        # The kubelet refuses a cgroupRoot that is missing in any hierarchy; it makes what is below.
        for hierarchy in _hierarchies():
            if hierarchy.name == "unified":
                continue  # cgroup v1's empty v2 tree: no controllers, nothing runs there
            folder = hierarchy / self.cgroup_root.lstrip("/")
            folder.mkdir(exist_ok=True)
            if hierarchy.name == "cpuset":
                # A new cpuset is empty; copy the parent's CPUs and memory nodes so tasks may join.
                for name in ("cpuset.cpus", "cpuset.mems"):
                    (folder / name).write_text((hierarchy / name).read_text())

    def _inside(self, binaries: NodeBinaries) -> list[str]:
        """The argv prefix that runs a program in the node's network and mount namespaces."""
        assert self.holder is not None
        return [binaries.tools["nsenter"], f"--target={self.holder.pid}", "--net", "--mount", "--"]

    def _run(self, plane: LocalControlPlane, name: str, argv: list[str], binaries: NodeBinaries) -> Any:
        env = {
            "PATH": os.pathsep.join([binaries.shim_dir, str(Path(binaries.runc).parent), SYSTEM_DIRS]),
            "HOME": str(self.workdir),
        }
        return plane._spawn(name, [*self._inside(binaries), *argv], env=env)

    def _forward_api(self, plane: LocalControlPlane, binaries: NodeBinaries, port: int) -> None:
        socket_path = self.workdir / "api.sock"
        socat = binaries.tools["socat"]
        host_side = plane._spawn(
            "api-forward-host", [socat, f"UNIX-LISTEN:{socket_path},fork,mode=600", f"TCP:127.0.0.1:{port}"]
        )
        deadline = time.monotonic() + 10
        plane._wait(socket_path.exists, deadline, host_side, "the API server forwarder's socket")
        self._run(
            plane,
            "api-forward-node",
            [socat, f"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr", f"UNIX-CONNECT:{socket_path}"],
            binaries,
        )

    def _write_files(self, plane: LocalControlPlane, pki: _Pki, binaries: NodeBinaries) -> dict[str, Path]:
        files: dict[str, Path] = {}

        def write(name: str, data: str | bytes, mode: int = 0o600) -> Path:
            path = self.workdir / name
            path.write_bytes(data.encode() if isinstance(data, str) else data)
            path.chmod(mode)
            files[name] = path
            return path

        ca = write("ca.crt", pki.ca_pem)
        cert, key = pki.issue(f"system:node:{self.name}", ("system:nodes",))
        write("kubelet.kubeconfig", yaml.safe_dump(kubeconfig(plane.server, pki.ca_pem, {"kubelet": (cert, key)})))
        serving_cert, serving_key = pki.issue(self.name, server=True, addresses=[self.address])
        write("kubelet-serving.crt", serving_cert)
        write("kubelet-serving.key", serving_key)
        # kube-router's firewall reads pods, namespaces, NetworkPolicies and nodes cluster-wide; a
        # throwaway test component on loopback, given the admin group rather than a role to keep.
        router = pki.issue("kube-router", ("system:masters",))
        write("kube-router.kubeconfig", yaml.safe_dump(kubeconfig(plane.server, pki.ca_pem, {"kube-router": router})))
        for folder in ("containerd", "kubelet", "pod-logs", "cni/net.d", "cni/ipam", "images", "opt"):
            (self.workdir / folder).mkdir(parents=True, exist_ok=True)
        write("containerd.toml", _containerd_config(self.workdir, binaries), 0o644)
        write("cni/net.d/10-k8ssec.conflist", json.dumps(_cni_config(self.workdir), indent=2), 0o644)
        kubelet = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": self.address,
            "port": KUBELET_PORT,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(ca)},
            },
            "authorization": {"mode": "Webhook"},
            "tlsCertFile": str(files["kubelet-serving.crt"]),
            "tlsPrivateKeyFile": str(files["kubelet-serving.key"]),
            "containerRuntimeEndpoint": f"unix://{self.socket}",
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": self.cgroup_root,
            "failCgroupV1": False,  # this machine kind has cgroup v1; kubelet 1.37 still runs there when asked
            "failSwapOn": False,
            "podLogsDir": str(self.workdir / "pod-logs"),
            "resolvConf": "",
            "clusterDomain": "cluster.local",
            "registerNode": True,
            # Never garbage-collect the imported images: there is no registry to pull them again.
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "evictionHard": {"memory.available": "1Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
            "serializeImagePulls": False,
            "nodeStatusUpdateFrequency": "2s",
            "syncFrequency": "5s",
            "fileCheckFrequency": "5s",
            "staticPodPath": "",
            "makeIPTablesUtilChains": False,
        }
        write("kubelet.yaml", yaml.safe_dump(kubelet), 0o644)
        return files

    def _import_images(self, binaries: NodeBinaries) -> dict[str, str]:
        from pytest_k8ssec.sources.local_images import build_images, image_refs

        archives = self._import(
            "its images",
            lambda: build_images(Path(binaries.probe), Path(binaries.busybox), self.workdir / "images"),
            names=image_refs(),
        )
        return {name: ref for name, ref in image_refs().items() if name in archives}

    def import_standin_images(self, objects: Sequence[Any]) -> list[str]:
        """Import a stand-in (``local_images.standin_image``) for every image the workloads of
        ``objects`` name and no local image answers; returns the containerd names imported."""
        from pytest_k8ssec.sources.local_images import build_standins, standins_for

        assert self.binaries is not None
        specs = standins_for(objects)
        if not specs:
            return []
        probe = Path(self.binaries.probe)
        return sorted(
            self._import("stand-in images", lambda: build_standins(specs, probe, self.workdir / "images" / "standins"))
        )

    def _import(
        self, what: str, build: Callable[[], dict[str, Path]], names: dict[str, str] | None = None
    ) -> dict[str, Path]:
        """Build tarballs and import them into the node's containerd; ``names`` maps short names
        (``build_images``' keys) to image names, which stand-ins already are."""
        from pytest_k8ssec.sources.local_images import LocalImageError, import_named

        assert self.binaries is not None
        try:
            archives = build()
            import_named(
                {names[key] if names else key: path for key, path in archives.items()},
                ctr=[*self._inside(self.binaries), self.binaries.ctr],
                address=str(self.socket),
            )
        except LocalImageError as exc:
            raise LocalNodeError(f"cannot give the node {what}: {exc}") from None
        return archives

    def _ready(self, plane: LocalControlPlane) -> bool:
        status, body = plane._get(f"/api/v1/nodes/{self.name}")
        if status != 200:
            return False
        conditions = body.get("status", {}).get("conditions", [])
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        # The not-ready taint goes when the node lifecycle controller sees Ready; pods wait for that.
        taints = [t.get("key") for t in body.get("spec", {}).get("taints", []) or []]
        return ready and "node.kubernetes.io/not-ready" not in taints

    def _chains_present(self, binaries: NodeBinaries) -> bool:
        return "KUBE-ROUTER-FORWARD" in self.exec_in_netns(binaries.tools["iptables"], "-S").stdout

    # --- the firewall ---------------------------------------------------------------------------

    def firewall_syncs(self) -> tuple[int, int]:
        """How many iptables syncs kube-router has started and finished (from its log)."""
        try:
            text = (self.workdir.parent / "kube-router.log").read_text(errors="replace")
        except OSError:
            return 0, 0
        return text.count("Starting sync of iptables"), text.count("sync iptables took")

    def wait_firewall(self, since: int, *, quiet: float = 1.0, timeout: float = 60.0) -> None:
        """Wait until kube-router has applied what changed after it had finished ``since`` syncs.

        kube-router re-syncs its whole ruleset on every pod, namespace and policy event, a moment
        after the event reaches its informers; so: at least one sync finished after ``since``, none
        running, and none started for ``quiet`` seconds. Read ``since`` (the finished count of
        ``firewall_syncs()``) before changing the cluster.
        """
        deadline = time.monotonic() + timeout
        last = self.firewall_syncs()
        changed = time.monotonic()
        while True:
            now = self.firewall_syncs()
            if now != last:
                last, changed = now, time.monotonic()
            started, finished = now
            if finished > since and started == finished and time.monotonic() - changed >= quiet:
                return
            if time.monotonic() > deadline:
                raise LocalNodeError(
                    f"kube-router did not settle in {timeout:g} s (syncs started {started}, finished {finished}, before {since})"
                )
            time.sleep(0.05)

    # --- inside the node ------------------------------------------------------------------------

    def exec_in_netns(self, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a host program in the node's network namespace (e.g. ``iptables -S``)."""
        return subprocess.run(
            _system(["ip", "netns", "exec", self.netns, *argv]), capture_output=True, text=True, timeout=timeout
        )

    # --- stop -----------------------------------------------------------------------------------

    def stop(self) -> None:
        """Kill every process of the node, then remove its cgroups, mounts and namespace. Idempotent."""
        teardown(self.workdir)
        if self.holder is not None:
            try:
                self.holder.wait(5)
            except subprocess.TimeoutExpired:
                self.holder.kill()
                self.holder.wait(5)
            self.holder = None


def teardown(workdir: Path) -> list[str]:
    """Remove what the node whose state is in ``workdir`` made; returns what was removed (for tests and logs).

    Works from the state file alone, so a later run can clean up after a killed one.
    """
    try:
        state = json.loads((workdir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return []
    removed: list[str] = []
    netns, cgroup_root = state["netns"], state["cgroup_root"]
    holder_ns = _netns_inode(netns)
    # 1. Containers and the runtime: every process in the node's cgroups (the pods) or in its
    #    network namespace (the holder, containerd and its shims, the kubelet, kube-router).
    #    containerd's shims detach from their parent, so process groups alone do not find them.
    holder = state.get("holder")
    _kill_until_gone(
        lambda: {
            *_cgroup_pids(cgroup_root),
            *_pids_in_netns(holder_ns),
            # The holder by its own record too: the one process whose exit frees the mounts.
            *([int(holder.split()[0])] if holder and alive(holder) else []),
        },
        removed,
    )
    # 2. Cgroups, deepest first, in every hierarchy.
    for hierarchy in _hierarchies():
        top = hierarchy / cgroup_root.lstrip("/")
        if not top.is_dir():
            continue
        for folder in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()
            removed.append(f"cgroup {top}")
    # 3. The network namespace, and with it the bridge, the veths, iptables chains and ipsets.
    if (NETNS_DIR / netns).exists():
        result = subprocess.run(_system(["ip", "netns", "del", netns]), capture_output=True, text=True)
        if result.returncode == 0:
            removed.append(f"netns {netns}")
    # A process that was still starting in the namespace keeps it alive after the deletion:
    # find it by the namespace's inode, which outlives the name.
    _kill_until_gone(lambda: set(_pids_in_netns(holder_ns)), removed)
    link = state.get("host_link")
    if link and Path(f"/sys/class/net/{link}").exists():
        subprocess.run(_system(["ip", "link", "del", link]), capture_output=True)
        removed.append(f"link {link}")
    _release_machine(netns)
    with contextlib.suppress(OSError):
        (workdir / STATE_FILE).unlink()
    return removed


@contextlib.contextmanager
def _sysctl_lock() -> Iterator[None]:
    import fcntl

    SYSCTL_DIR.mkdir(parents=True, exist_ok=True)
    with (SYSCTL_DIR / "lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _claim_machine(netns: str) -> None:
    """Register this node; the machine's first records the kubelet's sysctls and makes the
    private folders' mount points (``PRIVATE_DIRS``) that do not exist yet."""
    with _sysctl_lock():
        record = SYSCTL_DIR / "machine.json"
        if record.exists():
            state = json.loads(record.read_text())
        else:
            sysctls = {name: (Path("/proc/sys") / name).read_text().strip() for name in KUBELET_SYSCTLS}
            state = {"sysctls": sysctls, "made_dirs": []}
        for folder in PRIVATE_DIRS:
            if not folder.exists():
                folder.mkdir(parents=True)
                state["made_dirs"].append(str(folder))
        record.write_text(json.dumps(state))
        (SYSCTL_DIR / "nodes").mkdir(exist_ok=True)
        (SYSCTL_DIR / "nodes" / netns).write_text("")


def _release_machine(netns: str) -> None:
    """Forget this node; when it was the machine's last, put the kubelet's sysctls back and
    remove the mount points the first node made.

    Only the last: a folder another node's mount namespace mounts over may not be removed while
    that node runs (Linux would detach its mount there).
    """
    if not SYSCTL_DIR.exists():
        return
    with _sysctl_lock():
        nodes = SYSCTL_DIR / "nodes"
        with contextlib.suppress(OSError):
            (nodes / netns).unlink()
        # A node whose namespace is gone was torn down or swept: it holds nothing any more.
        if nodes.exists() and any((NETNS_DIR / entry.name).exists() for entry in nodes.iterdir()):
            return
        record = SYSCTL_DIR / "machine.json"
        with contextlib.suppress(OSError, ValueError):
            state = json.loads(record.read_text())
            for name, value in state["sysctls"].items():
                with contextlib.suppress(OSError):
                    (Path("/proc/sys") / name).write_text(value)
            for folder in state["made_dirs"]:
                with contextlib.suppress(OSError):
                    Path(folder).rmdir()
        for leftover in [*(nodes.glob("*") if nodes.exists() else []), record, SYSCTL_DIR / "lock"]:
            with contextlib.suppress(OSError):
                leftover.unlink()
        for folder in (nodes, SYSCTL_DIR):
            with contextlib.suppress(OSError):
                folder.rmdir()


def _kill_until_gone(find: Callable[[], set[int]], removed: list[str], seconds: float = 10.0) -> None:
    """SIGKILL what ``find`` names until it names nothing (a loaded machine can take seconds)."""
    deadline = time.monotonic() + seconds
    while True:
        victims = find() - {os.getpid()}
        if not victims:
            return
        if time.monotonic() > deadline:
            removed.append(f"warning: processes still alive: {sorted(victims)}")
            return
        for pid in victims:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def _hierarchies() -> Iterator[Path]:
    if (CGROUP_MOUNT / "cgroup.controllers").exists():
        yield CGROUP_MOUNT
        return
    with contextlib.suppress(OSError):
        for entry in sorted(CGROUP_MOUNT.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                yield entry


def _cgroup_pids(root: str) -> Iterator[int]:
    for hierarchy in _hierarchies():
        top = hierarchy / root.lstrip("/")
        if not top.is_dir():
            continue
        for procs in top.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                yield from (int(line) for line in procs.read_text().split())


def _netns_inode(netns: str) -> int | None:
    try:
        return (NETNS_DIR / netns).stat().st_ino
    except OSError:
        return None


def _pids_in_netns(inode: int | None) -> Iterator[int]:
    if inode is None:
        return
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "ns" / "net").stat().st_ino == inode:
                    yield int(entry.name)


def _mount_ns(pid: int) -> int | None:
    try:
        return Path(f"/proc/{pid}/ns/mnt").stat().st_ino
    except OSError:
        return None


def _holder_mounted(pid: int) -> bool:
    try:
        mounts = Path(f"/proc/{pid}/mounts").read_text().replace("\n", " \n")
        return all(f" {folder} tmpfs " in mounts for folder in PRIVATE_DIRS)
    except OSError:
        return False


def _link_addresses() -> tuple[ipaddress.IPv4Interface, ipaddress.IPv4Interface]:
    used = subprocess.run(_system(["ip", "-4", "-o", "addr", "show"]), capture_output=True, text=True).stdout
    taken = [ipaddress.ip_interface(word).network for word in used.split() if "/" in word and word[0].isdigit()]
    for _ in range(100):
        offset = random.randrange(0, LINK_SPACE.num_addresses // 4) * 4
        network = ipaddress.ip_network(f"{LINK_SPACE.network_address + offset}/30")
        if not any(network.overlaps(other) for other in taken):
            hosts = list(network.hosts())
            return ipaddress.IPv4Interface(f"{hosts[0]}/30"), ipaddress.IPv4Interface(f"{hosts[1]}/30")
    raise LocalNodeError(f"no free /30 in {LINK_SPACE} for the host-node link")


def _check(argv: Sequence[str], what: str) -> None:
    result = subprocess.run(list(argv), capture_output=True, text=True)
    if result.returncode != 0:
        raise LocalNodeError(f"cannot {what}: `{' '.join(argv)}` exited {result.returncode}: {result.stderr.strip()}")


def _containerd_config(workdir: Path, binaries: NodeBinaries) -> str:
    base = workdir / "containerd"
    return f"""\
# containerd for pytest-k8ssec's local node: every path under the node's folder.
version = 3
root = "{base / "root"}"
state = "{base / "state"}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing", "io.containerd.nri.v1.nri"]

[grpc]
  address = "{base / "containerd.sock"}"

[ttrpc]
  address = "{base / "containerd.sock.ttrpc"}"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{workdir / "opt"}"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "k8ssec.local/pause:1"

[plugins."io.containerd.cri.v1.runtime"]
  enable_selinux = false
  # Pod network namespaces under containerd's state folder (inside the node's mount namespace),
  # not in the host's /run/netns.
  netns_mounts_under_state_dir = true
  # Without CAP_SYS_RESOURCE (this machine kind drops it) no process may lower its OOM score,
  # and the sandbox's -998 makes runc fail; clamp at containerd's own score instead.
  restrict_oom_score_adj = {"false" if _has_capability(CAP_SYS_RESOURCE) else "true"}
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["{binaries.cni_dir}"]
    conf_dir = "{workdir / "cni" / "net.d"}"
  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
      SystemdCgroup = false
      BinaryName = "{binaries.runc}"

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
"""


CAP_SYS_RESOURCE: Final = 24


def _has_capability(bit: int) -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> bit & 1)
    return False


def _cni_config(workdir: Path) -> dict[str, Any]:
    return {
        "cniVersion": "1.0.0",
        "name": "k8ssec",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(workdir / "cni" / "ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
