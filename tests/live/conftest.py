"""Live tests run against a real local control plane (etcd, kube-apiserver, kube-controller-manager),
started once for the session from the binaries ``controlplane/build.sh`` builds (CI builds them).

Without binaries these tests fail with the way to get them: a live test that skipped itself would
turn a missing control plane into a green run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_k8ssec.sources.cluster import ClusterSource
from pytest_k8ssec.sources.cluster_options import ClusterOptions
from pytest_k8ssec.sources.local_control_plane import Binaries, LocalClusterError, LocalControlPlane
from pytest_k8ssec.sources.local_node import NodeBinaries


@pytest.fixture(scope="session")
def binaries() -> Binaries:
    try:
        return Binaries.find()
    except LocalClusterError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def control_plane(binaries: Binaries) -> Iterator[LocalControlPlane]:
    with LocalControlPlane.start(binaries) as plane:
        yield plane


@pytest.fixture(scope="session")
def admin(control_plane: LocalControlPlane) -> ClusterSource:
    """The admin context (system:masters), for setting up what the tests look at."""
    return ClusterSource.from_kubeconfig("admin", ClusterOptions(kubeconfig=str(control_plane.kubeconfig)))


@pytest.fixture
def live_args(control_plane: LocalControlPlane) -> list[str]:
    """Arguments that point a pytester run at the control plane's kubeconfig."""
    return [f"--k8ssec-kubeconfig={control_plane.kubeconfig}", "-p", "no:cacheprovider"]


@pytest.fixture(scope="session")
def node_binaries(binaries: Binaries) -> NodeBinaries:
    """The local node's programs; a missing one fails the test with the way to get it."""
    from pytest_k8ssec.sources.local_control_plane import _node_binaries
    from pytest_k8ssec.sources.local_node import MissingKernelFeature, NodeUnavailable

    try:
        return _node_binaries(binaries, None)
    except MissingKernelFeature as exc:
        # What the kernel or the sandbox lacks cannot be installed by the suite: skip, naming it.
        pytest.skip(str(exc))
    except NodeUnavailable as exc:
        # A missing program is an install step left out, never a reason to skip.
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def node_plane(binaries: Binaries, node_binaries: NodeBinaries) -> Iterator[LocalControlPlane]:
    """A control plane with one real node (kubelet, containerd, kube-router), for the session."""
    with LocalControlPlane.start(binaries, node=True) as plane:
        yield plane


@pytest.fixture(scope="session")
def node_admin(node_plane: LocalControlPlane) -> ClusterSource:
    return ClusterSource.from_kubeconfig("admin", ClusterOptions(kubeconfig=str(node_plane.kubeconfig)))
