"""The README's NetworkPolicy example, unchanged, on the bundled hardened manifests running on the local node.

``--k8s-local-control-plane --k8s-local-node --k8s-manifests=example_suites/manifests/hardened``:
the manifests are applied, the stand-ins they need are supplied (their images, the Secrets kept
out of git, the database's volume), every pod runs, and the network model takes the pods with
their real IPs from the cluster.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pytest_k8ssec.sources.local_node import POD_CIDR, NodeBinaries
from tests.plugin.test_readme_networkpolicy import HARDENED, readme_networkpolicy_example

RUNNING = """
import ipaddress


def test_every_pod_runs_and_the_model_has_their_ips(k8s_network, k8s_cluster):
    status, body = k8s_cluster.source.request("GET", "/api/v1/namespaces/shop/pods")
    assert status == 200
    phases = {p["metadata"]["name"]: p["status"]["phase"] for p in body["items"]}
    assert len(phases) == 8 and set(phases.values()) == {"Running"}, phases
    ips = {p["status"]["podIP"] for p in body["items"]}
    endpoints = [pod for pod in k8s_network.resolve("shop")]
    assert {pod.kind for pod in endpoints} == {"Pod"}
    assert {ip for pod in endpoints for ip in pod.ips} == ips
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("POD_CIDR") for ip in ips)
    assert len(k8s_network.resolve("Deployment/shop/api")) == 2
"""


def _pytest(tmp_path: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """A pytest run of the files in ``tmp_path`` on the hardened manifests, with ``args``."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            f"--rootdir={tmp_path}",
            "-v",
            f"--k8s-manifests={HARDENED}",
            *args,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_readme_networkpolicy_example_on_running_pods(node_binaries: NodeBinaries, tmp_path: Path) -> None:
    (tmp_path / "test_network.py").write_text(readme_networkpolicy_example())
    (tmp_path / "test_running.py").write_text(RUNNING.replace("POD_CIDR", POD_CIDR))
    done = _pytest(tmp_path, "--k8s-local-control-plane", "--k8s-local-node", timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "3 passed" in done.stdout, done.stdout[-2000:]


def test_the_readme_networkpolicy_example_on_a_local_api_server_without_a_node(
    binaries: object, tmp_path: Path
) -> None:
    # No node: no pod runs, and the applied manifests' pod templates are the endpoints (before,
    # the target found no endpoint at all: "namespace 'shop' has no pods or workloads").
    (tmp_path / "test_network.py").write_text(readme_networkpolicy_example())
    done = _pytest(tmp_path, "--k8s-local-control-plane", timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout, done.stdout[-2000:]
