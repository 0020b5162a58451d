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
