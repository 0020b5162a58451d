"""The bad-input corpus through pytest: one tree mixing every broken input with a privileged Pod
must fail, report the privileged Pod, and give each broken input its own failing item; empty
stdin never passes. (The corpus itself is in tests/unit/test_bad_input.py.)"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_bad_input_corpus", REPO / "tests" / "unit" / "test_bad_input.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TEST_FILE = """\
from pytest_k8ssec import assert_not_privileged

def test_not_privileged(k8s_workload):
    assert_not_privileged(k8s_workload)

def test_none_privileged(k8s_workloads):
    assert_not_privileged(k8s_workloads)
"""


def _with_go_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    # helm and kustomize may sit in ~/go/bin; without them the chart and the overlay still fail
    # (tool missing), only with another message.
    go_bin = Path.home() / "go" / "bin"
    if go_bin.is_dir():
        monkeypatch.setenv("PATH", f"{os.environ.get('PATH', '')}{os.pathsep}{go_bin}")


def test_a_tree_of_every_bad_input_fails_reports_the_privileged_pod_and_each_bad_input(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _corpus()
    deploy = pytester.mkdir("deploy")
    for name, (content, _, _) in corpus.BROKEN.items():
        target = deploy / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    (deploy / "zz-privileged.yaml").write_text(corpus.PRIVILEGED_POD)
    (deploy / "loop-a.yaml").symlink_to(deploy / "loop-b.yaml")
    (deploy / "loop-b.yaml").symlink_to(deploy / "loop-a.yaml")
    (deploy / "dir-loop").symlink_to(deploy)
    os.mkfifo(deploy / "pipe.yaml")
    chart = deploy / "chart"
    shutil.copytree(REPO / "tests" / "data" / "charts" / "web", chart)
    (chart / "templates" / "bad.yaml").write_text("kind: {{ .Values.missing.deeper }\n")
    overlay = deploy / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources:\n- missing.yaml\n")
    pytester.makepyfile(test_bad_input_run=TEST_FILE)
    _with_go_tools(monkeypatch)

    result = pytester.runpytest_subprocess(
        "--k8s-manifests", "deploy", "-p", "no:cacheprovider", "-rf", "--tb=no", timeout=300
    )

    output = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output[-3000:]
    assert "INTERNALERROR" not in output + result.stderr.str()
    assert "FAILED test_bad_input_run.py::test_not_privileged[Pod/shop/root]" in output
    assert "FAILED test_bad_input_run.py::test_none_privileged" in output
    expected = [*corpus.BROKEN, "loop-a.yaml", "loop-b.yaml", "pipe.yaml", "chart", "overlay"]
    missing = [name for name in expected if f"FAILED k8ssec::manifests[deploy/{name}]" not in output]
    assert missing == []


def test_empty_stdin_never_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bad_input_run=TEST_FILE)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--k8s-manifests",
            "-",
            "-rf",
            "test_bad_input_run.py",
        ],
        cwd=pytester.path,
        input=b"",
        capture_output=True,
        timeout=300,
    )
    output = run.stdout.decode()
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, output[-3000:]
    last = output.splitlines()[-1]
    assert "passed" not in last and ("2 failed" in last or "2 errors" in last), last
