"""What a run imports: a manifests-only run never imports the kubernetes client (about a second
of start-up, in every xdist worker too), a run without pytest's cache never imports the cipher
that seals it, and a run that never asks for k8s_rbac never compiles the RBAC helpers."""

from __future__ import annotations

import pytest

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
      - name: app
        image: registry.example.com/web:1.0
"""

# Written by each process (controller and workers) at the end of its run.
CONFTEST = """\
import os
import sys


def pytest_unconfigure(config):
    who = os.environ.get("PYTEST_XDIST_WORKER", "controller")
    names = ("kubernetes", "cryptography", "pytest_k8ssec.asserts.rbac")
    loaded = sorted(name for name in names if name in sys.modules)
    with open(os.environ["K8SSEC_TEST_MODULES_LOG"], "a") as log:
        log.write(f"{who} {','.join(loaded) or '-'}\\n")
"""

TEST_FILE = """\
from pytest_k8ssec import assert_not_privileged

def test_not_privileged(k8s_workload):
    assert_not_privileged(k8s_workload)

def test_rbac_and_network(k8s_rbac, k8s_network):
    assert not k8s_rbac.can("system:serviceaccount:shop:default", "get", "secrets", namespace="shop")
"""


@pytest.fixture
def project(pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("start-up")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "key-home"))
    monkeypatch.setenv("K8SSEC_TEST_MODULES_LOG", str(home / "modules.log"))
    (pytester.mkdir("deploy") / "web.yaml").write_text(DEPLOYMENT)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_start=TEST_FILE)
    return pytester, home / "modules.log"


@pytest.mark.parametrize("xdist", [(), ("-p", "xdist", "-n", "2")], ids=["serial", "xdist"])
def test_a_manifests_run_never_imports_the_kubernetes_client(project, xdist: tuple[str, ...]) -> None:
    pytester, log = project
    pytester.runpytest_subprocess("--k8s-manifests=deploy", *xdist).assert_outcomes(passed=2)
    lines = log.read_text().splitlines()
    assert len(lines) == (3 if xdist else 1)
    # The parse cache is on (pytest's cache): its cipher is loaded, the kubernetes client is not.
    loaded = [set(line.split()[1].split(",")) for line in lines]
    assert all("cryptography" in names and "kubernetes" not in names for names in loaded), lines


def test_a_run_without_the_cache_never_imports_the_cipher(project) -> None:
    pytester, log = project
    pytester.runpytest_subprocess("--k8s-manifests=deploy", "-p", "no:cacheprovider").assert_outcomes(passed=2)
    # (k8s_rbac was used: its helpers are loaded.)
    assert log.read_text().split() == ["controller", "pytest_k8ssec.asserts.rbac"]


def test_a_run_without_k8s_rbac_never_imports_the_rbac_helpers(project) -> None:
    pytester, log = project
    pytester.runpytest_subprocess("--k8s-manifests=deploy", "-k", "not_privileged").assert_outcomes(passed=1)
    assert log.read_text().split() == ["controller", "cryptography"]
