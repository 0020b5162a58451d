"""Broken manifest sources in real pytest runs: one failing item each, never deselected, alike
under xdist, in JUnit XML; --k8s-exclude and its header line; a glob over a folder the user
cannot read (run without root's privileges)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: shop}}
spec:
  template:
    spec:
      containers:
      - name: app
        image: registry.example.com/{name}:1.0
        securityContext: {{privileged: {privileged}}}
"""

TEST_FILE = """\
from pytest_k8ssec import assert_not_privileged

def test_not_privileged(k8s_workload):
    assert_not_privileged(k8s_workload)
"""

BAD = "deploy/bad.yaml"
BAD_ID = f"k8ssec::manifests[{BAD}]"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """deploy/: a clean Deployment, a privileged one, and a Helm template left in the tree."""
    deploy = pytester.mkdir("deploy")
    (deploy / "web.yaml").write_text(DEPLOYMENT.format(name="web", privileged="false"))
    (deploy / "agent.yaml").write_text(DEPLOYMENT.format(name="agent", privileged="true"))
    (deploy / "bad.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n")
    pytester.makepyfile(test_sources_run=TEST_FILE)
    return pytester


def _failure_section(output: str, nodeid: str) -> str:
    start = output.index(f" {nodeid} ")
    end = output.find("\n_", start + 1)
    following = output.find("\n=", start + 1)
    ends = [pos for pos in (end, following) if pos != -1]
    return output[start : min(ends)]


def test_a_broken_file_is_a_failing_item_of_its_own_and_the_rest_is_judged(project: pytest.Pytester) -> None:
    result = project.runpytest("--k8s-manifests", "deploy", "-rf")
    result.assert_outcomes(passed=1, failed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "collected 3 items" in output
    section = _failure_section(output, BAD_ID)
    # File, line and cause, and nothing else: no traceback into the plugin.
    assert section.splitlines()[1:] == [
        f"{BAD}:4: invalid YAML in document 0: a mapping or a sequence cannot be a key (Kubernetes refuses the document)"
    ]
    assert "FAILED test_sources_run.py::test_not_privileged[Deployment/shop/agent]" in output
    assert f"FAILED {BAD_ID}" in output


def test_deselection_never_removes_the_error_items(project: pytest.Pytester) -> None:
    by_keyword = project.runpytest("--k8s-manifests", "deploy", "-k", "web")
    by_keyword.assert_outcomes(passed=1, failed=1, deselected=1)
    by_mark = project.runpytest("--k8s-manifests", "deploy", "-m", "slow")
    by_mark.assert_outcomes(failed=1, deselected=2)
    assert by_mark.ret == pytest.ExitCode.TESTS_FAILED
    by_id = project.runpytest("--k8s-manifests", "deploy", "--deselect", BAD_ID, "-k", "web")
    by_id.assert_outcomes(passed=1, failed=1, deselected=1)
    # A test path that holds no k8s test still fails on the broken manifest.
    project.makepyfile(test_other="def test_unrelated(): pass")
    other = project.runpytest("--k8s-manifests", "deploy", "test_other.py")
    other.assert_outcomes(passed=1, failed=1)


def test_last_failed_reruns_still_carry_a_newly_broken_file(project: pytest.Pytester) -> None:
    (project.path / "deploy" / "bad.yaml").rename(project.path / "bad.yaml.off")
    first = project.runpytest("--k8s-manifests", "deploy")
    first.assert_outcomes(passed=1, failed=1)
    (project.path / "bad.yaml.off").rename(project.path / "deploy" / "bad.yaml")
    # --lf reruns only what failed last time; the broken file is new and must fail the run anyway.
    rerun = project.runpytest("--k8s-manifests", "deploy", "--lf")
    outcomes = rerun.parseoutcomes()
    assert (outcomes.get("failed"), outcomes.get("passed")) == (2, None)
    assert BAD_ID in rerun.stdout.str()


def test_error_items_are_collected_alike_on_xdist_workers(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("--k8s-manifests", "deploy", "-n", "2", "-p", "no:cacheprovider", "-rf")
    result.assert_outcomes(passed=1, failed=2)
    assert f"FAILED {BAD_ID}" in result.stdout.str()
    assert "Different tests were collected" not in result.stdout.str() + result.stderr.str()


def test_error_items_appear_in_junit_xml(project: pytest.Pytester) -> None:
    project.runpytest("--k8s-manifests", "deploy", "--junitxml=report.xml")
    cases = {
        (case.get("classname"), case.get("name")): case
        for case in ET.parse(project.path / "report.xml").iter("testcase")
    }
    case = cases[("k8ssec", f"manifests[{BAD}]")]
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith(f"Failed: {BAD}:4: invalid YAML")
    assert ("test_sources_run", "test_not_privileged[Deployment/shop/web]") in cases


def test_collect_only_lists_the_error_items(project: pytest.Pytester) -> None:
    result = project.runpytest("--k8s-manifests", "deploy", "--collect-only", "-q")
    result.stdout.fnmatch_lines([f"{BAD_ID.replace('[', '[[]')}", "*3 tests collected*"])


def test_exclude_leaves_the_broken_file_out_and_the_header_counts_it(project: pytest.Pytester) -> None:
    result = project.runpytest("--k8s-manifests", "deploy", "--k8s-exclude", "bad.yaml", "--k8s-exclude", "legacy/**")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["k8ssec: excluded 1 path from the manifests: 1 by 'bad.yaml', 0 by 'legacy/**'"])
    assert "k8ssec:   deploy/bad.yaml" not in result.stdout.str()
    verbose = project.runpytest("--k8s-manifests", "deploy", "--k8s-exclude", "bad.yaml", "-v")
    verbose.stdout.fnmatch_lines(
        ["k8ssec: excluded 1 path from the manifests: 1 by 'bad.yaml'", "k8ssec:   deploy/bad.yaml (by 'bad.yaml')"]
    )
    project.makeini("[pytest]\nk8s_manifests = deploy\nk8s_exclude =\n    deploy/bad.*\n")
    from_ini = project.runpytest()
    from_ini.assert_outcomes(passed=1, failed=1)
    from_ini.stdout.fnmatch_lines(["k8ssec: excluded 1 path from the manifests: 1 by 'deploy/bad.*'"])


def test_exclude_applies_to_globs(project: pytest.Pytester) -> None:
    result = project.runpytest("--k8s-manifests", "deploy/*.yaml", "--k8s-exclude", "bad.yaml")
    result.assert_outcomes(passed=1, failed=1)


def test_a_non_kubernetes_document_named_explicitly_is_an_error_item(project: pytest.Pytester) -> None:
    (project.path / "values.yaml").write_text("replicaCount: 2\n")
    result = project.runpytest("--k8s-manifests", "values.yaml", "--k8s-manifests", "deploy/web.yaml")
    result.assert_outcomes(passed=1, failed=1)
    assert "values.yaml:1: not a Kubernetes object (a mapping without apiVersion and kind)" in result.stdout.str()


def test_an_invalid_helm_release_name_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest("--k8s-manifests", "deploy/web.yaml", "--k8s-helm-release", "My_Release")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*k8s_helm_release: 'My_Release' is not a release name Helm accepts*"])


# --- a glob over a folder the user cannot read ----------------------------------------------------

NOBODY = 65534


@pytest.fixture
def shared_tree() -> Iterator[Path]:
    """A tree outside pytest's root-only tmp folder, so an unprivileged user can reach it."""
    root = Path(tempfile.mkdtemp(prefix="k8ssec-unreadable-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        for folder, dirs, _ in os.walk(root):
            for name in dirs:
                os.chmod(os.path.join(folder, name), 0o755)
        shutil.rmtree(root)


def test_a_glob_over_an_unreadable_folder_or_file_fails_for_a_user_without_root_privileges(shared_tree: Path) -> None:
    # Root reads any folder (CAP_DAC_OVERRIDE), so the run drops to user nobody with setpriv:
    # the only honest way to have Python's glob skip d/sub as it does for a CI user.
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.geteuid() != 0:
        pytest.skip("needs root and util-linux's setpriv to run pytest as an unprivileged user")
    (shared_tree / "d" / "sub").mkdir(parents=True)
    (shared_tree / "d" / "ok.yaml").write_text(DEPLOYMENT.format(name="web", privileged="false"))
    (shared_tree / "d" / "sub" / "h.yaml").write_text(DEPLOYMENT.format(name="agent", privileged="true"))
    (shared_tree / "test_sources_run.py").write_text(TEST_FILE)
    for path in shared_tree.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (shared_tree / "d" / "sub").chmod(0)
    (shared_tree / "d" / "secret.yaml").write_text(DEPLOYMENT.format(name="secret", privileged="true"))
    (shared_tree / "d" / "secret.yaml").chmod(0)
    drop = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    env = {**os.environ, "HOME": str(shared_tree), "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "300"}
    probe = subprocess.run(
        [*drop, sys.executable, "-c", "import os; os.listdir('d/sub')"],
        cwd=shared_tree,
        env=env,
        capture_output=True,
        text=True,
    )
    assert probe.returncode != 0 and "PermissionError" in probe.stderr, "the unprivileged user can list d/sub"
    run = subprocess.run(
        [
            *drop,
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rf",
            "--k8s-manifests",
            "d/**/*.yaml",
            "test_sources_run.py",
        ],
        cwd=shared_tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "FAILED k8ssec::manifests[d/sub] - Failed: d/sub: cannot read the folder: Permission denied" in run.stdout
    assert (
        "FAILED k8ssec::manifests[d/secret.yaml] - Failed: d/secret.yaml: cannot read: Permission denied" in run.stdout
    )
    assert "2 failed, 1 passed" in run.stdout
    named = subprocess.run(
        [
            *drop,
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--k8s-manifests=d/sub/h.yaml",
            "test_sources_run.py",
        ],
        cwd=shared_tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert named.returncode == pytest.ExitCode.USAGE_ERROR, named.stdout + named.stderr
    assert "d/sub/h.yaml: cannot read: Permission denied" in named.stderr
