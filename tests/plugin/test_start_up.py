"""What a run imports: a manifests-only run never imports the kubernetes client (about a second
of start-up, in every xdist worker too), and a run without pytest's cache never imports the
cipher that seals it."""

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
    loaded = sorted(name for name in ("kubernetes", "cryptography") if name in sys.modules)
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
    assert all(line.split()[1] == "cryptography" for line in lines), lines


def test_a_run_without_the_cache_never_imports_the_cipher(project) -> None:
    pytester, log = project
    pytester.runpytest_subprocess("--k8s-manifests=deploy", "-p", "no:cacheprovider").assert_outcomes(passed=2)
    assert log.read_text().split() == ["controller", "-"]
