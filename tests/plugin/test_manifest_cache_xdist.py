"""The parse cache under pytest-xdist: the controller parses every file once, before its workers
start, and the workers read the cache; they judge the same objects a serial run judges. When the
cache already serves every file, the controller loads nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plugin.test_manifest_sources_plugin import DEPLOYMENT

# Logs, per process, every file libyaml parses (the cache serves the others); the controller's
# lines say whether xdist had started the workers by then (a race the controller must not run).
COUNTING_CONFTEST = """\
import os

import pytest_k8ssec.fixtures.targets as targets
import pytest_k8ssec.sources.manifests as manifests

_parse = manifests._yaml_documents
_load = targets.load
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


def _loaded(*args, **kwargs):
    with open(os.environ["K8SSEC_TEST_LOAD_LOG"], "a") as log:
        log.write(f"{_who()}\\n")
    return _load(*args, **kwargs)


manifests._yaml_documents = _counted
targets.load = _loaded
"""

TEST_FILE = """\
from pytest_k8ssec import assert_not_privileged

def test_not_privileged(k8s_workload):
    assert k8s_workload.provenance.line == 1
    assert_not_privileged(k8s_workload)
"""


def write_workloads(pytester: pytest.Pytester, count: int, *, privileged_every: int) -> None:
    """deploy/w0.yaml ... one Deployment each; w0 and every ``privileged_every``-th after it privileged."""
    deploy = pytester.mkdir("deploy")
    for index in range(count):
        privileged = "true" if index % privileged_every == 0 else "false"
        (deploy / f"w{index}.yaml").write_text(DEPLOYMENT.format(name=f"w{index}", privileged=privileged))


@pytest.fixture
def project(pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "key-home"))
    monkeypatch.setenv("K8SSEC_TEST_PARSE_LOG", str(tmp_path / "parsed.log"))
    monkeypatch.setenv("K8SSEC_TEST_LOAD_LOG", str(tmp_path / "loaded.log"))
    write_workloads(pytester, 6, privileged_every=3)
    pytester.makeconftest(COUNTING_CONFTEST)
    pytester.makepyfile(test_cached=TEST_FILE)
    return pytester


def _parsed(tmp_path: Path) -> list[str]:
    log = tmp_path / "parsed.log"
    return sorted(log.read_text().splitlines()) if log.exists() else []


def _loads(tmp_path: Path) -> list[str]:
    log = tmp_path / "loaded.log"
    lines = sorted(log.read_text().splitlines()) if log.exists() else []
    log.unlink(missing_ok=True)
    return lines


def test_a_cold_xdist_run_parses_each_file_once_in_the_controller(project: pytest.Pytester, tmp_path: Path) -> None:
    result = project.runpytest_subprocess("--k8s-manifests=deploy", "-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=4, failed=2)
    # Once each, by the controller before the workers started: they found every file in the cache.
    assert _parsed(tmp_path) == sorted(f"controller deploy/w{index}.yaml" for index in range(6))
    assert _loads(tmp_path) == ["controller", "gw0", "gw1"]

    # Warm: nobody parses, the controller loads nothing (its workers do not wait for it), and the
    # verdicts are the same.
    again = project.runpytest_subprocess("--k8s-manifests=deploy", "-p", "xdist", "-n", "2")
    again.assert_outcomes(passed=4, failed=2)
    assert len(_parsed(tmp_path)) == 6
    assert _loads(tmp_path) == ["gw0", "gw1"]

    # One file changed: the controller loads again before its workers start, and parses that file only.
    (project.path / "deploy" / "w1.yaml").write_text(DEPLOYMENT.format(name="w1", privileged="true"))
    changed = project.runpytest_subprocess("--k8s-manifests=deploy", "-p", "xdist", "-n", "2")
    changed.assert_outcomes(passed=3, failed=3)
    assert len(_parsed(tmp_path)) == 7
    assert _parsed(tmp_path).count("controller deploy/w1.yaml") == 2
    assert _loads(tmp_path) == ["controller", "gw0", "gw1"]


@pytest.mark.parametrize("no_cache", [("-p", "no:cacheprovider"), ("--cache-clear",)], ids=["off", "cleared"])
def test_workers_parse_what_the_cache_cannot_serve(
    project: pytest.Pytester, tmp_path: Path, no_cache: tuple[str, ...]
) -> None:
    # Without pytest's cache there is nothing to share, and with --cache-clear every worker empties
    # it as it starts: each worker parses, at the same time. The controller, which runs no test,
    # neither made them wait for a load they could not use nor loaded alongside them.
    result = project.runpytest_subprocess("--k8s-manifests=deploy", "-p", "xdist", "-n", "2", *no_cache)
    result.assert_outcomes(passed=4, failed=2)
    parsers = {line.split()[0] for line in _parsed(tmp_path)}
    if "no:cacheprovider" in no_cache:
        assert parsers == {"gw0", "gw1"}
    else:
        # A worker that clears the cache after the other filled it finds entries again.
        assert parsers and parsers <= {"gw0", "gw1"}
    assert _loads(tmp_path) == ["gw0", "gw1"]


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
    # Entries that exist but do not open do not count as cached: the controller loaded first.
    assert "controller" in _loads(tmp_path)


def test_notes_of_an_early_load_are_warned_where_pytest_records_them(project: pytest.Pytester) -> None:
    (project.path / "deploy" / "values.yaml").write_text("replicas: 3\n")
    result = project.runpytest_subprocess("--k8s-manifests=deploy", "-p", "xdist", "-n", "2")
    # Once by each worker (xdist passes theirs on); the controller, which loaded only to fill the
    # cache, judges nothing and warns nothing.
    result.assert_outcomes(passed=4, failed=2, warnings=2)
    result.stdout.fnmatch_lines(["*K8sSecWarning: deploy/values.yaml:1: not a Kubernetes object*skipped*"])
    assert "K8sSecWarning" not in result.stderr.str()


@pytest.mark.parametrize("options", [("--dist", "load"), ("-n", "0"), ("--collect-only",)])
def test_a_run_that_distributes_nothing_loads_and_judges_itself(
    project: pytest.Pytester, tmp_path: Path, options: tuple[str, ...]
) -> None:
    # No workers start (no -n, or -n 0), or none runs anything: this process is no controller.
    result = project.runpytest_subprocess("--k8s-manifests=deploy", "-p", "xdist", *options)
    if "--collect-only" in options:
        result.stdout.fnmatch_lines(["*6 tests collected*"])
    else:
        result.assert_outcomes(passed=4, failed=2)
    assert _loads(tmp_path) == ["controller"]
