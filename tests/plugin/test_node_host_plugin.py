"""--k8s-hosts / k8s_node_host and the cis_nodes suite, run as a user runs them (pytester)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import pytest_k8ssec.suites.cis_nodes  # noqa: F401  (imported before the in-process runs; see test_suites.py)

TEST_HOSTS = """
def test_host(k8s_node_host):
    assert k8s_node_host.host.run("true").rc == 0
    print("HOST", k8s_node_host.spec, k8s_node_host.root)
"""


def test_every_host_is_a_test_case(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(TEST_HOSTS)
    result = pytester.runpytest("-s", "-v", "--k8s-hosts", "local://,local://", f"--k8s-host-root={tmp_path}")
    result.assert_outcomes(passed=1)  # the same spec twice is one host
    result.stdout.fnmatch_lines([f"*test_host[[]local://[]] HOST local:// {tmp_path}"])


def test_hosts_come_from_the_ini_key_and_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(TEST_HOSTS)
    pytester.makeini("[pytest]\nk8s_hosts =\n    local://\n")
    pytester.runpytest().assert_outcomes(passed=1)
    (pytester.path / "tox.ini").unlink()
    monkeypatch.setenv("K8SSEC_HOSTS", "local://")
    pytester.runpytest().assert_outcomes(passed=1)


def test_without_hosts_the_case_skips_saying_how_to_give_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TEST_HOSTS)
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no node hosts: pass --k8s-hosts local://*"])


def test_a_spec_that_is_not_one_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TEST_HOSTS)
    result = pytester.runpytest("--k8s-hosts", "node-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--k8s-hosts 'node-1' is not a testinfra host spec*"])
    result = pytester.runpytest("--k8s-hosts", "local://", "--k8s-host-root", "relative/dir")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_an_unreachable_host_errors_the_test_it_was_asked_for(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TEST_HOSTS)
    result = pytester.runpytest("--k8s-hosts", "docker://no-such-container-k8ssec")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*k8s_node_host: *no-such-container-k8ssec*"])


def _plant(root: Path, node_path: str, mode: int) -> None:
    path = root / node_path.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    path.chmod(mode)


def test_the_suite_judges_a_nodes_files_item_by_item(pytester: pytest.Pytester, tmp_path: Path) -> None:
    # A worker node: kubelet files only, one of them too open. The control-plane items skip (their
    # files are absent), the kubelet ones pass or fail; processes are the machine's own, so only
    # the file tests are pinned here (tests/live runs the flag tests on a real control plane).
    _plant(tmp_path, "/var/lib/kubelet/config.yaml", 0o644)
    _plant(tmp_path, "/etc/kubernetes/kubelet.conf", 0o600)
    _plant(tmp_path, "/etc/kubernetes/pki/ca.crt", 0o644)
    _plant(tmp_path, "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf", 0o600)
    xml = tmp_path / "junit.xml"
    pytester.runpytest(
        "-p",
        "no:randomly",
        "--pyargs",
        "pytest_k8ssec.suites.cis_nodes",
        "-k",
        "test_node_files",
        "--k8s-hosts=local://",
        f"--k8s-host-root={tmp_path}",
        f"--junitxml={xml}",
    )
    outcomes: dict[str, str] = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        control = str(case.get("name")).split("[", 1)[1].rstrip("]").split("-", 1)[1]
        failed = case.find("failure") is not None
        outcomes[control] = "failed" if failed else "skipped" if case.find("skipped") is not None else "passed"
    # Owners are root:root when the test runs as root; planted by anyone else, each owner item fails.
    owner = "passed" if os.geteuid() == 0 else "failed"
    expected = {
        "CIS-4.1.1": "passed",
        "CIS-4.1.2": owner,
        "CIS-4.1.5": "passed",
        "CIS-4.1.6": owner,
        "CIS-4.1.7": "passed",
        "CIS-4.1.8": owner,
        "CIS-4.1.9": "failed",
        "CIS-4.1.10": owner,
        # The CA certificate makes /etc/kubernetes/pki exist: its owner and certificate items are
        # judged; it holds no key (1.1.21 skips), and no other control-plane file exists.
        "CIS-1.1.19": owner,
        "CIS-1.1.20": "passed",
        **{f"CIS-1.1.{n}": "skipped" for n in (*range(1, 19), 21)},
        # No kube-proxy kubeconfig on this node.
        "CIS-4.1.3": "skipped",
        "CIS-4.1.4": "skipped",
    }
    assert outcomes == expected


STATIC_PODS = """
from pytest_k8ssec import assert_passes

IDS = ["apiserver-flag-insecure", "controller-manager-flag-insecure", "scheduler-flag-insecure",
       "etcd-flag-insecure", "kubelet-config-insecure"]

def test_node_files_on_disk(k8s_inventory):
    assert_passes(IDS, k8s_inventory)
"""


def test_static_pod_manifests_and_the_kubelet_config_on_disk_are_judged_as_manifests(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    # As checkov reads a node: /etc/kubernetes/manifests/*.yaml and /var/lib/kubelet/config.yaml,
    # loaded with --k8s-manifests; the kubelet's file has no metadata and is named by its file.
    data = Path(__file__).parents[1] / "data" / "checks"
    manifests = tmp_path / "etc" / "kubernetes" / "manifests"
    manifests.mkdir(parents=True)
    (manifests / "kube-apiserver.yaml").write_text(
        (data / "apiserver-flag-insecure" / "pass-hardened.yaml").read_text()
    )
    (manifests / "etcd.yaml").write_text((data / "etcd-flag-insecure" / "pass-kubeadm.yaml").read_text())
    config = tmp_path / "var" / "lib" / "kubelet" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text((data / "kubelet-config-insecure" / "fail-kubeadm-defaults.yaml").read_text())
    pytester.makepyfile(STATIC_PODS)
    result = pytester.runpytest(f"--k8s-manifests={manifests}", f"--k8s-manifests={config}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*5 checks: 1 violation in KubeletConfiguration config.yaml (*/var/lib/kubelet/config.yaml:*)",
            "*[[]kubelet-config-insecure[]] - protectKernelDefaults: no CIS item: protectKernelDefaults is false*",
        ]
    )
    # The hardened static pods were judged (two objects each) and passed.
    result.stdout.fnmatch_lines(["apiserver-flag-insecure * 2 * 2 * 0 *", "etcd-flag-insecure * 2 * 2 * 0 *"])


def test_a_host_with_nothing_of_kubernetes_fails_the_suite(pytester: pytest.Pytester, tmp_path: Path) -> None:
    # Processes are the machine's own whatever the root, and CI runs a local control plane beside
    # this test: the host's process listing is pinned to none, so the case is the same everywhere
    # (tests/unit/test_nodes.py reads real and planted process listings).
    pytester.makeconftest(
        """
        import pytest
        import pytest_k8ssec.suites.cis_nodes as cis_nodes

        @pytest.fixture(autouse=True)
        def _no_processes(monkeypatch):
            monkeypatch.setattr(cis_nodes, "component_processes", lambda node, component=None: [])
        """
    )
    result = pytester.runpytest(
        "--pyargs",
        "pytest_k8ssec.suites.cis_nodes",
        "-k",
        "test_host_runs_kubernetes",
        "--k8s-hosts=local://",
        f"--k8s-host-root={tmp_path}",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no Kubernetes component runs and none of the CIS files exists under*"])


def test_a_node_helpers_failure_carries_the_items_it_missed_as_controls(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    # One kubelet config too open (CIS 4.1.9), the others fine: the failure's record names 4.1.9
    # beside the check's own control, and no item it did not miss.
    _plant(tmp_path, "/var/lib/kubelet/config.yaml", 0o644)
    _plant(tmp_path, "/etc/kubernetes/kubelet.conf", 0o600)
    pytester.makepyfile(
        """
        from pytest_k8ssec import assert_node_files

        def test_files(k8s_node_host):
            assert_node_files(k8s_node_host, controls=["CIS-4.1.5", "CIS-4.1.9"])
        """
    )
    xml = tmp_path / "junit.xml"
    result = pytester.runpytest(
        "-p", "no:randomly", "--k8s-hosts=local://", f"--k8s-host-root={tmp_path}", f"--junitxml={xml}"
    )
    result.assert_outcomes(failed=1)
    records = [
        json.loads(str(p.get("value")))
        for p in ET.parse(xml).getroot().iter("property")
        if p.get("name") == "k8ssec.finding"
    ]
    assert [record["controls"] for record in records] == [["NSA-net-control-plane", "CIS-4.1.9"]]
