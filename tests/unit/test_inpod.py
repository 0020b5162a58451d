"""In-pod assertion helpers, run against testinfra's local backend (this machine as the "container")."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import testinfra

from pytest_k8ssec import (
    SecurityAssertionError,
    assert_in_pod_no_package_manager,
    assert_in_pod_no_shell,
    assert_in_pod_read_only_root_filesystem,
    assert_in_pod_runs_as_non_root,
)

HOST = testinfra.get_host("local://")


def _uid_line(pid: int) -> str:
    with open(f"/proc/{pid}/status") as handle:
        return next((line for line in handle if line.startswith("Uid:")), "")


@pytest.fixture
def nobody_process() -> Iterator[int]:
    """A process running as nobody (UID 65534)."""
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is needed to start a non-root process", pytrace=False)
    proc = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "60"])
    try:
        # Until setpriv has switched user the child still runs as root; wait for the switch, or the
        # test races it (it did, once in a full run).
        deadline = time.monotonic() + 10
        while "\t65534\t" not in _uid_line(proc.pid):
            assert time.monotonic() < deadline, f"process {proc.pid} never became UID 65534"
            time.sleep(0.01)
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_root_process_is_reported_with_its_uid() -> None:
    assert os.getuid() == 0, "these tests run as root, as CI does"
    with pytest.raises(SecurityAssertionError, match=r"runs as root \(real/effective UID 0/0\)"):
        assert_in_pod_runs_as_non_root(HOST, pid=os.getpid())


def test_non_root_process_passes(nobody_process: int) -> None:
    assert_in_pod_runs_as_non_root(HOST, pid=nobody_process)


def test_missing_process_fails_closed() -> None:
    with pytest.raises(SecurityAssertionError, match="not readable; cannot tell the user"):
        assert_in_pod_runs_as_non_root(HOST, pid=2**22 + 7)


def test_writable_root_filesystem_is_reported() -> None:
    assert "rw" in HOST.mount_point("/").options
    with pytest.raises(SecurityAssertionError, match=r"/ is mounted rw.*\(not ro\)"):
        assert_in_pod_read_only_root_filesystem(HOST)


def test_package_managers_and_shells_on_this_machine_are_found() -> None:
    with pytest.raises(SecurityAssertionError) as info:
        assert_in_pod_no_package_manager(HOST)
    assert "package managers present: " in str(info.value)
    assert "dpkg (" in str(info.value)
    with pytest.raises(SecurityAssertionError, match=r"shells present: bash \(/.*bash\)"):
        assert_in_pod_no_shell(HOST)


def test_absent_tools_pass() -> None:
    assert_in_pod_no_package_manager(HOST, tools=("no-such-package-manager-k8ssec",))
    assert_in_pod_no_shell(HOST, shells=("no-such-shell-k8ssec",))


def test_in_pod_results_reach_the_terminal_summary_and_junit_properties(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import os

        import testinfra

        from pytest_k8ssec import assert_in_pod_no_package_manager, assert_in_pod_runs_as_non_root

        HOST = testinfra.get_host("local://")

        def test_root():
            assert_in_pod_runs_as_non_root(HOST, pid=os.getpid())

        def test_no_tools():
            assert_in_pod_no_package_manager(HOST, tools=["k8ssec-no-such-tool"])
        """
    )
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest(f"--junitxml={junit}", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*= k8ssec =*",
            "check*severity*judged*pass*fail*advisory*waived*baselined",
            "in-pod-process-root*high*1*0*1*0*0*0",
            "in-pod-package-manager-present*low*1*1*0*0*0*0",
            "1 finding(s) from 2 check(s): 1 fail, 0 advisory, 0 baselined, 0 waived*",
        ]
    )
    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    assert ("k8ssec.check", "in-pod-process-root=fail") in _properties(cases["test_root"])
    assert ("k8ssec.check", "in-pod-package-manager-present=pass") in _properties(cases["test_no_tools"])


def _properties(case: ET.Element) -> list[tuple[str | None, str | None]]:
    return [(p.get("name"), p.get("value")) for p in case.iter("property")]
