"""The parse cache under pytest-xdist: the controller parses every file once, before its workers
start, and the workers read the cache; they judge the same objects a serial run judges."""

from __future__ import annotations

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

# Logs, per process, every file libyaml parses (the cache serves the others); the controller's
# lines say whether xdist had started the workers by then (a race the controller must not run).
COUNTING_CONFTEST = """\
import os

import pytest_k8ssec.sources.manifests as manifests

_parse = manifests._yaml_documents
_config = []


def pytest_configure(config):
    _config.append(config)


def _who():
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        return worker
    dsession = _config[0].pluginmanager.getplugin("dsession") if _config else None
    started = getattr(dsession, "nodemanager", None) is not None
    return "controller-after-workers-started" if started else "controller"


def _counted(text, where):
    with open(os.environ["K8SSEC_TEST_PARSE_LOG"], "a") as log:
        log.write(f"{_who()} {where.source}\\n")
    return _parse(text, where)


manifests._yaml_documents = _counted
"""

TEST_FILE = """\
from pytest_k8ssec import assert_not_privileged

def test_not_privileged(k8s_workload):
    assert k8s_workload.provenance.line == 1
    assert_not_privileged(k8s_workload)
"""


@pytest.fixture
def project(pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "key-home"))
    monkeypatch.setenv("K8SSEC_TEST_PARSE_LOG", str(tmp_path / "parsed.log"))
    deploy = pytester.mkdir("deploy")
    for index in range(6):
        privileged = "true" if index % 3 == 0 else "false"
        (deploy / f"w{index}.yaml").write_text(DEPLOYMENT.format(name=f"w{index}", privileged=privileged))
    pytester.makeconftest(COUNTING_CONFTEST)
    pytester.makepyfile(test_cached=TEST_FILE)
    return pytester


def _parsed(tmp_path: Path) -> list[str]:
    log = tmp_path / "parsed.log"
    return sorted(log.read_text().splitlines()) if log.exists() else []


def test_a_cold_xdist_run_parses_each_file_once_in_the_controller(project: pytest.Pytester, tmp_path: Path) -> None:
    result = project.runpytest_subprocess("--k8s-manifests=deploy", "-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=4, failed=2)
    # Once each, by the controller before the workers started: they found every file in the cache.
    assert _parsed(tmp_path) == sorted(f"controller deploy/w{index}.yaml" for index in range(6))

    # Warm: nobody parses, and the verdicts are the same.
    again = project.runpytest_subprocess("--k8s-manifests=deploy", "-p", "xdist", "-n", "2")
    again.assert_outcomes(passed=4, failed=2)
    assert len(_parsed(tmp_path)) == 6


@pytest.mark.parametrize("no_cache", [("-p", "no:cacheprovider"), ("--cache-clear",)], ids=["off", "cleared"])
def test_workers_parse_what_the_cache_cannot_serve(
    project: pytest.Pytester, tmp_path: Path, no_cache: tuple[str, ...]
) -> None:
    # Without pytest's cache there is nothing to share, and with --cache-clear every worker empties
    # it as it starts: every process parses, at the same time (as before).
    result = project.runpytest_subprocess("--k8s-manifests=deploy", "-p", "xdist", "-n", "2", *no_cache)
    result.assert_outcomes(passed=4, failed=2)
    parsers = {line.split()[0] for line in _parsed(tmp_path)}
    # The controller did not make the workers wait for a load they could not use.
    assert "controller" not in parsers
    assert "controller-after-workers-started" in parsers
    if "no:cacheprovider" in no_cache:
        assert parsers == {"controller-after-workers-started", "gw0", "gw1"}


def test_forged_cache_entries_are_parsed_again_once_under_xdist(project: pytest.Pytester, tmp_path: Path) -> None:
    project.runpytest_subprocess("--k8s-manifests=deploy").assert_outcomes(passed=4, failed=2)
    entries = list((project.path / ".pytest_cache" / "d" / "k8ssec-parsed-manifests").iterdir())
    assert len(entries) == 6
    for entry in entries:
        entry.write_bytes(b"\0" * 64)  # no longer sealed with this user's key
    (tmp_path / "parsed.log").unlink()
    result = project.runpytest_subprocess("--k8s-manifests=deploy", "-p", "xdist", "-n", "2")
    # The controller parses again (and seals new entries); the privileged workloads still fail.
    result.assert_outcomes(passed=4, failed=2)
    assert {line.split()[0] for line in _parsed(tmp_path)} == {"controller"}
    assert len(_parsed(tmp_path)) == 6


def test_notes_of_an_early_load_are_warned_where_pytest_records_them(project: pytest.Pytester) -> None:
    (project.path / "deploy" / "values.yaml").write_text("replicas: 3\n")
    result = project.runpytest_subprocess("--k8s-manifests=deploy", "-p", "xdist", "-n", "2")
    # Once by the controller, once by each worker (xdist passes theirs on), as before the early load.
    result.assert_outcomes(passed=4, failed=2, warnings=3)
    result.stdout.fnmatch_lines(["*K8sSecWarning: deploy/values.yaml:1: not a Kubernetes object*skipped*"])
    assert "K8sSecWarning" not in result.stderr.str()
