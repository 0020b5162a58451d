"""CIS Kubernetes Benchmark v1.12 sections 1-4: the control plane and nodes, one test per item and host.

    pytest --pyargs pytest_k8ssec.suites.cis_nodes --k8s-hosts local://
    pytest --pyargs pytest_k8ssec.suites.cis_nodes --k8s-hosts ssh://admin@cp-1,ssh://admin@worker-1

Every test runs once per host of ``--k8s-hosts`` (testinfra specs: ``local://``, ``ssh://``,
``docker://``, ``kubectl://`` of a privileged debug pod with ``hostPID`` and the node's root at
``/host``, with ``--k8s-host-root /host``). Flag items
(1.2 API server, 1.3 controller manager, 1.4 scheduler, 2 etcd, 4.2 kubelet) judge the running
processes' command lines (``/proc/<pid>/cmdline``), the kubelet's with its ``--config`` file; file
items (1.1, 4.1) judge modes and owners. A host that runs no such component, or has no such file,
skips the item saying so (a worker has no kube-apiserver): a skip is never a pass, and a host where
nothing at all was found errors in ``test_host_runs_kubernetes``.

Items a command line or a file mode cannot decide are not here: 1.2.20 request timeout, 1.2.28
encryption providers, 1.3.1 pod GC threshold, 2.7 etcd's own CA, 3.x (authentication and audit
policy, organisational), 4.2.7-4.2.9 and 4.2.11-4.2.14 (as appropriate per site), 4.3.1 kube-proxy
(configured by a ConfigMap). Static-pod manifests and kubelet config files on disk are judged by the
registry checks instead: ``pytest --k8s-manifests /etc/kubernetes/manifests`` with ``assert_passes``.
"""

from __future__ import annotations

import pytest

from pytest_k8ssec import NodeHost, assert_component_flags, assert_node_files, component_processes, node_files

APISERVER = (
    *(f"CIS-1.2.{n}" for n in range(1, 20)),
    *(f"CIS-1.2.{n}" for n in (21, 22, 23, 24, 25, 26, 27, 29, 30)),
)
COMPONENTS = {
    "kube-apiserver": APISERVER,
    "kube-controller-manager": ("CIS-1.3.2", "CIS-1.3.3", "CIS-1.3.4", "CIS-1.3.5", "CIS-1.3.6", "CIS-1.3.7"),
    "kube-scheduler": ("CIS-1.4.1", "CIS-1.4.2"),
    "etcd": ("CIS-2.1", "CIS-2.2", "CIS-2.3", "CIS-2.4", "CIS-2.5", "CIS-2.6"),
    "kubelet": ("CIS-4.2.1", "CIS-4.2.2", "CIS-4.2.3", "CIS-4.2.4", "CIS-4.2.5", "CIS-4.2.6", "CIS-4.2.10"),
}
FILES = (
    *(f"CIS-1.1.{n}" for n in range(1, 22)),
    *(f"CIS-4.1.{n}" for n in range(1, 11)),
)


def _flag_cases() -> list[object]:
    return [
        pytest.param(component, control, marks=pytest.mark.k8s_control(control), id=f"{control}-{component}")
        for component, controls in COMPONENTS.items()
        for control in controls
    ]


@pytest.mark.parametrize(("component", "control"), _flag_cases())
def test_component_flags(k8s_node_host: NodeHost, component: str, control: str) -> None:
    if not component_processes(k8s_node_host, component):
        pytest.skip(f"no {component} process runs on {k8s_node_host.spec}: {control} does not apply to this host")
    assert_component_flags(k8s_node_host, component=component, controls=[control])


@pytest.mark.parametrize("control", [pytest.param(c, marks=pytest.mark.k8s_control(c), id=c) for c in FILES])
def test_node_files(k8s_node_host: NodeHost, control: str) -> None:
    if not any(node_files(k8s_node_host, controls=[control]).judged.values()):
        pytest.skip(f"no file of {control} exists on {k8s_node_host.spec} (root {k8s_node_host.root})")
    assert_node_files(k8s_node_host, controls=[control])


def test_host_runs_kubernetes(k8s_node_host: NodeHost) -> None:
    # Every item skipping would read as "nothing wrong": a host with no component and no file is
    # a wrong --k8s-hosts or --k8s-host-root, and says so.
    running = [c for c in COMPONENTS if component_processes(k8s_node_host, c)]
    present = any(node_files(k8s_node_host).judged.values())
    assert running or present, (
        f"{k8s_node_host.spec}: no Kubernetes component runs and none of the CIS files exists under "
        f"{k8s_node_host.root}, so nothing was judged: are --k8s-hosts and --k8s-host-root right?"
    )
