"""CIS sections 1-2 on the project's own control plane: its real command lines are a configuration.

The local control plane runs etcd, kube-apiserver and kube-controller-manager as processes of
this machine; read through testinfra's local backend (``/proc/<pid>/cmdline``), its flags give the
findings pinned here, each for the reason the plane is built that way (loopback only, plain-HTTP
etcd, profiling off, audit log only when asked for). Only this plane's pids are judged: other
processes of the machine are not this test's configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import testinfra

from pytest_k8ssec import SecurityAssertionError, assert_component_flags, component_processes
from pytest_k8ssec.asserts.nodes import process_settings
from pytest_k8ssec.checks._components import judge
from pytest_k8ssec.sources.local_control_plane import Binaries, LocalControlPlane

HOST = testinfra.get_host("local://")

# What the plane's kube-apiserver misses, and why the plane is built that way.
APISERVER_FINDINGS = {
    "CIS-1.2.1": "anonymous auth is left at its default (true)",
    "CIS-1.2.3": "DenyServiceExternalIPs is off by default",
    "CIS-1.2.4": "no kubelets: no kubelet client certificate",
    "CIS-1.2.5": "no kubelets: no kubelet CA",
    "CIS-1.2.9": "EventRateLimit is off by default",
    "CIS-1.2.11": "AlwaysPullImages is off by default",
    "CIS-1.2.14": "NodeRestriction is off by default and the plane does not enable it",
    "CIS-1.2.23": "etcd is plain HTTP on loopback: no etcd client certificate",
    "CIS-1.2.26": "etcd is plain HTTP on loopback: no etcd CA",
    "CIS-1.2.27": "no encryption at rest for a throwaway store",
    "CIS-1.2.29": "Go's default cipher suites",
    "CIS-1.2.30": "token expiration extension left at its default (true)",
}
AUDIT = {"CIS-1.2.16", "CIS-1.2.17", "CIS-1.2.18", "CIS-1.2.19"}
# etcd listens on plain HTTP on loopback: every TLS item of section 2 but the auto-TLS ones.
ETCD_FINDINGS = {"CIS-2.1", "CIS-2.2", "CIS-2.4", "CIS-2.5"}
# The controller manager: bound to 127.0.0.1 with serving off, service account credentials on,
# keys given; profiling stays at its default (true).
CONTROLLER_MANAGER_FINDINGS = {"CIS-1.3.2"}


def _findings(plane: LocalControlPlane) -> dict[str, set[str | None]]:
    found: dict[str, set[str | None]] = {}
    for process in component_processes(HOST):
        if process.pid in plane.pids:
            found[process.component] = {f.control for f in judge(process_settings(HOST, process))}
    return found


def test_the_planes_flags_give_its_real_findings(control_plane: LocalControlPlane) -> None:
    found = _findings(control_plane)
    assert set(found) == {"etcd", "kube-apiserver", "kube-controller-manager"}
    # Profiling is set false on the API server: as set, no finding (1.2.15); no audit log here.
    assert found["kube-apiserver"] == set(APISERVER_FINDINGS) | AUDIT
    assert found["etcd"] == ETCD_FINDINGS
    assert found["kube-controller-manager"] == CONTROLLER_MANAGER_FINDINGS


def test_the_helper_reports_a_finding_with_its_flag_and_passes_an_item_met(control_plane: LocalControlPlane) -> None:
    assert_component_flags(
        HOST,
        component="kube-apiserver",
        pids=control_plane.pids,
        controls=["CIS-1.2.6", "CIS-1.2.7", "CIS-1.2.8", "CIS-1.2.15"],
    )
    with pytest.raises(SecurityAssertionError) as raised:
        assert_component_flags(HOST, component="kube-controller-manager", pids=control_plane.pids)
    assert "CIS 1.3.2: --profiling is true (unset, kube-controller-manager's default)" in str(raised.value)
    assert "fix: set --profiling=false." in str(raised.value)


@pytest.fixture(scope="module")
def audited_plane(binaries: Binaries, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalControlPlane]:
    log = Path(tmp_path_factory.mktemp("audit")) / "audit.log"
    with LocalControlPlane.start(binaries, audit_log=log) as plane:
        yield plane


def test_an_audit_log_as_the_plane_sets_it(audited_plane: LocalControlPlane) -> None:
    # --k8s-local-audit-log: a path (1.2.16 met), --audit-log-maxbackup=0 and no maxage/maxsize
    # (a run's whole log in one file): the rotation items stay findings.
    found = _findings(audited_plane)["kube-apiserver"]
    assert found & AUDIT == {"CIS-1.2.17", "CIS-1.2.18", "CIS-1.2.19"}
    with pytest.raises(
        SecurityAssertionError, match=r"CIS 1\.2\.18: --audit-log-maxbackup is 0 \(set by --audit-log-maxbackup=0\)"
    ):
        assert_component_flags(HOST, component="kube-apiserver", pids=audited_plane.pids, controls=["CIS-1.2.18"])
