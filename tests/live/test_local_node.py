"""The local node (``--k8s-local-node``): real pods on kubelet + containerd + runc, tests inside them.

Each test here runs against the real node of ``LocalControlPlane.start(node=True)``: pods are
scheduled by kube-scheduler, started by the kubelet through containerd and runc from the images
built locally (``local_images``), and reached through the API server with ``kubectl exec``.
"""

from __future__ import annotations

import ipaddress
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_k8ssec import SecurityAssertionError, assert_runs_as_non_root
from pytest_k8ssec.model.objects import K8sObject, Provenance
from pytest_k8ssec.sources.cluster import ClusterSource
from pytest_k8ssec.sources.local_control_plane import LocalControlPlane
from pytest_k8ssec.sources.local_node import POD_CIDR, tool
from tests.live.waits import wait_for

NAMESPACE = "inpod"


def _pod(
    name: str, image: str, *, security: dict[str, Any] | None = None, pod_security: dict[str, Any] | None = None
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": f"k8ssec.local/{image}:1", "imagePullPolicy": "Never"}
    if security is not None:
        container["securityContext"] = security
    spec: dict[str, Any] = {
        "containers": [container],
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": 1,
    }
    if pod_security is not None:
        spec["securityContext"] = pod_security
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": name}},
        "spec": spec,
    }


HARDENED = {
    "runAsNonRoot": True,
    "runAsUser": 65534,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}
PODS = {
    # Passes every in-pod helper: non-root, read-only /, no package manager, no shell but sh.
    "good": _pod("good", "probe", security=HARDENED),
    # Runs as uid 0 (the image's user, nothing asks otherwise).
    "root": _pod("root", "probe-root"),
    # Writable root filesystem (the runtime's default).
    "writable": _pod("writable", "probe", security={"runAsNonRoot": True}),
    "pkg": _pod("pkg", "probe-pkg", security=HARDENED),
    "shell": _pod("shell", "probe-shell", security=HARDENED),
    "distroless": _pod("distroless", "distroless", security={**HARDENED, "runAsUser": 65532}),
    # runAsNonRoot with an image whose user is root: the kubelet refuses to start it.
    "refused": _pod("refused", "probe-root", pod_security={"runAsNonRoot": True}),
}


@pytest.fixture(scope="module")
def pods(node_plane: LocalControlPlane, node_admin: ClusterSource) -> Iterator[dict[str, dict[str, Any]]]:
    node_admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    wait_for(
        lambda: node_admin.request("GET", f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/default")[0] == 200,
        "the default ServiceAccount of the test namespace",
    )
    for manifest in PODS.values():
        node_admin.apply(manifest)

    def settled() -> dict[str, dict[str, Any]] | None:
        found = {name: _get_pod(node_admin, name) for name in PODS}
        running = all(found[name].get("status", {}).get("phase") == "Running" for name in PODS if name != "refused")
        return found if running and _waiting_reason(found["refused"]) == "CreateContainerConfigError" else None

    yield wait_for(settled, "every test pod Running, and 'refused' refused by the kubelet", timeout=120)


def _get_pod(admin: ClusterSource, name: str) -> dict[str, Any]:
    status, body = admin.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods/{name}")
    assert status == 200, body
    return dict(body)


def _waiting_reason(pod: dict[str, Any]) -> str | None:
    statuses = pod.get("status", {}).get("containerStatuses") or [{}]
    return statuses[0].get("state", {}).get("waiting", {}).get("reason")


def test_pods_run_on_the_node_with_addresses_only_in_its_namespace(
    node_plane: LocalControlPlane, pods: dict[str, dict[str, Any]]
) -> None:
    node = node_plane.node
    assert node is not None
    network = ipaddress.ip_network(POD_CIDR)
    ips = {name: pod["status"].get("podIP") for name, pod in pods.items()}
    assert all(ip and ipaddress.ip_address(ip) in network for ip in ips.values()), ips
    assert {pod["spec"]["nodeName"] for pod in pods.values()} == {node.name}
    # The host holds no pod address and has no route to the pod network: pods live only on the
    # bridge inside the node's namespace.
    ip = tool("ip") or "ip"  # root's sbin folders are often not on a CI's PATH
    host_addresses = subprocess.run([ip, "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True).stdout
    assert not any(ip in host_addresses for ip in ips.values())
    route = subprocess.run([ip, "route", "get", str(ips["good"])], capture_output=True, text=True)
    assert node.host_link not in route.stdout, route.stdout
    inside = node.exec_in_netns("ip", "-4", "-o", "addr", "show", "dev", "cni0")
    assert "10.244.0.1/24" in inside.stdout, inside
    # The Node reports the namespace's end of the host link as its InternalIP.
    _, body = node_plane._get(f"/api/v1/nodes/{node.name}")
    addresses = {a["type"]: a["address"] for a in body["status"]["addresses"]}
    assert addresses["InternalIP"] == node.address


def test_the_node_listens_on_the_host_only_on_loopback(node_plane: LocalControlPlane) -> None:
    node = node_plane.node
    assert node is not None
    pids = set(node_plane.pids)
    inodes = _socket_inodes(pids)
    listening = [addr for addr, inode in _host_listeners() if inode in inodes]
    assert listening, "no listener of the node's processes found on the host: the check looks at nothing"
    assert all(addr.startswith("127.0.0.1:") for addr in listening), listening


def _socket_inodes(pids: set[int]) -> set[str]:
    inodes: set[str] = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = fd.readlink()
            except OSError:
                continue
            if str(target).startswith("socket:["):
                inodes.add(str(target)[8:-1])
    return inodes


def _host_listeners() -> list[tuple[str, str]]:
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            address, port = fields[1].split(":")
            if len(address) == 8:
                ip = str(ipaddress.IPv4Address(bytes.fromhex(address)[::-1]))
            else:
                ip = "ipv6:" + address
            found.append((f"{ip}:{int(port, 16)}", fields[9]))
    return found


def test_start_to_first_running_pod_is_measured(node_plane: LocalControlPlane, node_admin: ClusterSource) -> None:
    node = node_plane.node
    assert node is not None
    assert node_plane.timings["node ready"] > node_plane.timings["ready"]
    assert set(node.timings) >= {"namespaces", "containerd", "images", "node ready", "firewall"}
    started = time.monotonic()
    pod = _pod("first", "probe", security=HARDENED)
    node_admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    wait_for(
        lambda: node_admin.request("GET", f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/default")[0] == 200,
        "the default ServiceAccount",
    )
    node_admin.apply(pod)
    wait_for(lambda: _get_pod(node_admin, "first")["status"].get("phase") == "Running", "pod first Running", timeout=60)
    print(
        f"node start: plane {node_plane.timings['ready']:.1f} s, node Ready {node_plane.timings['node ready']:.1f} s, "
        f"pod created -> Running {time.monotonic() - started:.1f} s"
    )


def test_kubelet_refuses_a_root_image_under_run_as_non_root_as_the_static_verdict_says(
    pods: dict[str, dict[str, Any]],
) -> None:
    refused = pods["refused"]
    statuses = refused["status"]["containerStatuses"]
    assert statuses[0]["state"]["waiting"]["reason"] == "CreateContainerConfigError"
    assert "runAsNonRoot and image will run as root" in statuses[0]["state"]["waiting"]["message"]
    # The static helper passes this pod: runAsNonRoot is what it asks for, and the kubelet keeps
    # the promise at run time by refusing the container. The pod without it fails statically, and
    # really runs as root (test_in_pod_helpers_pass_and_fail_on_purpose_built_pods).
    assert_runs_as_non_root([K8sObject(PODS["refused"], Provenance("test_local_node.py"))])
    with pytest.raises(SecurityAssertionError):
        assert_runs_as_non_root([K8sObject(PODS["root"], Provenance("test_local_node.py"))])


IN_POD_SUITE = """
import pytest
from pytest_k8ssec import (
    assert_in_pod_no_package_manager,
    assert_in_pod_no_shell,
    assert_in_pod_read_only_root_filesystem,
    assert_in_pod_runs_as_non_root,
)

HELPERS = {
    "non_root": assert_in_pod_runs_as_non_root,
    "read_only": assert_in_pod_read_only_root_filesystem,
    "no_package_manager": assert_in_pod_no_package_manager,
    "no_shell": assert_in_pod_no_shell,
}


@pytest.mark.parametrize("pod", ["good", "root", "writable", "pkg", "shell", "distroless"])
@pytest.mark.parametrize("helper", sorted(HELPERS))
def test_in_pod(k8s_pod_host, pod, helper):
    HELPERS[helper](k8s_pod_host(f"inpod/{pod}"))
"""


def test_in_pod_helpers_pass_and_fail_on_purpose_built_pods(
    pytester: pytest.Pytester, node_plane: LocalControlPlane, pods: dict[str, dict[str, Any]]
) -> None:
    # A module name of its own: the in-process run shares sys.modules with tests/unit/test_inpod.py.
    pytester.makepyfile(test_node_inpod_suite=IN_POD_SUITE)
    result = pytester.runpytest(
        f"--k8ssec-kubeconfig={node_plane.kubeconfig}",
        "--k8s-context=admin",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "-rs",
        f"--junitxml={pytester.path / 'junit.xml'}",
        "-o",
        "junit_family=xunit2",
    )
    outcomes = _outcomes(pytester.path / "junit.xml")
    expected = {("good", helper): "passed" for helper in ("non_root", "read_only", "no_package_manager", "no_shell")}
    # No securityContext at all: root, and the runtime's default writable root filesystem.
    expected.update({("root", h): "passed" for h in ("no_package_manager", "no_shell")})
    expected.update({("root", h): "failed" for h in ("non_root", "read_only")})
    expected.update({("writable", h): "passed" for h in ("non_root", "no_package_manager", "no_shell")})
    expected[("writable", "read_only")] = "failed"
    expected.update({("pkg", h): "passed" for h in ("non_root", "read_only", "no_shell")})
    expected[("pkg", "no_package_manager")] = "failed"
    expected.update({("shell", h): "passed" for h in ("non_root", "read_only", "no_package_manager")})
    expected[("shell", "no_shell")] = "failed"
    # Distroless: no /bin/sh for kubectl exec, so the fixture skips and says to test from outside.
    expected.update({("distroless", h): "skipped" for h in ("non_root", "read_only", "no_package_manager", "no_shell")})
    assert outcomes == expected, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(["*inpod/distroless has no /bin/sh (distroless?)*"])
    result.stdout.fnmatch_lines(["*inpod/root*runs as root (real/effective UID 0/0)*"])
    result.stdout.fnmatch_lines(["*package managers present: dpkg (/bin/dpkg)*"])
    result.stdout.fnmatch_lines(["*shells present: ash (/bin/ash)*"])


def _outcomes(junit: Path) -> dict[tuple[str, str], str]:
    import xml.etree.ElementTree as ET

    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        helper, pod = case.attrib["name"].split("[", 1)[1].rstrip("]").split("-")
        kinds = {child.tag for child in case}
        outcome = "failed" if kinds & {"failure", "error"} else "skipped" if "skipped" in kinds else "passed"
        outcomes[(pod, helper)] = outcome
    return outcomes


def test_exec_reaches_the_container_through_the_kubelet(
    node_plane: LocalControlPlane, pods: dict[str, dict[str, Any]]
) -> None:
    done = subprocess.run(
        [
            "kubectl",
            f"--kubeconfig={node_plane.kubeconfig}",
            "--context=admin",
            "-n",
            NAMESPACE,
            "exec",
            "good",
            "--",
            "id",
            "-u",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "65534"
    logs = subprocess.run(
        ["kubectl", f"--kubeconfig={node_plane.kubeconfig}", "--context=admin", "-n", NAMESPACE, "logs", "good"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "tcp listening on" in logs.stdout, logs


def test_traffic_helpers_see_what_the_enforcer_does(
    node_plane: LocalControlPlane, node_admin: ClusterSource, pods: dict[str, dict[str, Any]]
) -> None:
    import testinfra

    from pytest_k8ssec import assert_in_pod_cannot_connect, assert_in_pod_connects, probe_connection

    node = node_plane.node
    assert node is not None

    def host(name: str) -> Any:
        return testinfra.get_host(
            f"kubectl://{name}?namespace={NAMESPACE}&context=admin&kubeconfig={node_plane.kubeconfig}"
        )

    target = K8sObject(_get_pod(node_admin, "writable"), Provenance.of_cluster("admin"))
    # Before any policy: both protocols get through (the probe image serves 8080 on TCP and UDP).
    assert_in_pod_connects(host("good"), target, 8080)
    assert_in_pod_connects(host("good"), target, 8080, protocol="UDP")
    since = node.firewall_syncs()[1]
    node_admin.apply(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "writable-from-good-tcp", "namespace": NAMESPACE},
            "spec": {
                "podSelector": {"matchLabels": {"app": "writable"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "good"}}}], "ports": [{"port": 8080}]}],
            },
        }
    )
    try:
        node.wait_firewall(since)
        assert_in_pod_connects(host("good"), target, 8080)
        assert_in_pod_cannot_connect(host("good"), target, 8080, protocol="UDP")
        assert_in_pod_cannot_connect(host("pkg"), target, 8080)
        # kube-router rejects (an ICMP port-unreachable): the probe sees "refused", not a timeout.
        seen = probe_connection(host("pkg"), target, 8080)
        assert seen.blocked and seen.outcome == "refused", seen
        with pytest.raises(SecurityAssertionError, match="in-pod-connection-blocked|blocked|refused"):
            assert_in_pod_connects(host("shell"), target, 8080)
    finally:
        since = node.firewall_syncs()[1]
        node_admin.request(
            "DELETE", f"/apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/networkpolicies/writable-from-good-tcp"
        )
        node.wait_firewall(since)


def test_a_node_without_its_programs_is_a_usage_error_naming_them(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    empty = tmp_path / "no-node"
    empty.mkdir()
    result = pytester.runpytest_subprocess("--k8s-local-control-plane", "--k8s-local-node", f"--k8s-node-bin={empty}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"*--k8s-local-node: the local node needs programs that are missing: {empty}/containerd*bash controlplane/build-node.sh*"
        ]
    )
    # Refused before anything started: no control plane folder was made for it.
    assert not list(Path(tempfile.gettempdir()).glob("k8ssec-cp-*/owner")) or all(
        _alive_owner(path) for path in Path(tempfile.gettempdir()).glob("k8ssec-cp-*/owner")
    )


def _alive_owner(owner: Path) -> bool:
    from pytest_k8ssec._processes import alive

    try:
        return alive(owner.read_text())
    except OSError:
        return True
