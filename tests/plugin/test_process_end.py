"""How a process ends: at interpreter exit the plugin collects once, then freezes what is left, so
shutdown does not walk a big run's objects again and again (xdist's controller waits for every
worker to exit); garbage that needs a finalizer still gets it; xdist workers leave the folding of
records to the controller, which runs no test and keeps its collector paused while it folds."""

from __future__ import annotations

import atexit
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_k8ssec.fixtures import targets
from tests.plugin.test_manifest_cache_xdist import write_workloads
from tests.plugin.test_manifest_sources_plugin import TEST_FILE

# Registered at import, before the plugin's handler: atexit runs handlers last-in first-out, so
# this one runs after it and sees what it left.
CONFTEST = """\
import atexit
import gc
import os

LOG = os.environ["K8SSEC_TEST_EXIT_LOG"]


def _write(line):
    with open(LOG, "a") as log:
        log.write(line + "\\n")


atexit.register(lambda: _write(f"frozen-at-exit {gc.get_freeze_count() > 0}"))


class Finalized:
    def __del__(self):
        _write("finalized")


def _leave_garbage():
    # Garbage in a reference cycle, left for a collection: only a collection runs its finalizer.
    gc.disable()
    cycle = Finalized()
    cycle.me = cycle
    del cycle


def pytest_unconfigure(config):
    _write(f"frozen-at-unconfigure {gc.get_freeze_count() > 0}")
    # Registered after the plugin's handler (at configure), so it runs before it: after pytest's
    # own last collections.
    atexit.register(_leave_garbage)
"""


def test_a_process_ends_frozen_and_still_finalizes_its_garbage(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "exit.log"
    monkeypatch.setenv("K8SSEC_TEST_EXIT_LOG", str(log))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    # No manifests: nothing was frozen by a load, so a frozen collector at exit is the handler's.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert log.read_text().splitlines() == ["frozen-at-unconfigure False", "finalized", "frozen-at-exit True"]


def test_the_exit_handler_is_registered_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    registered: list[Callable[[], None]] = []
    monkeypatch.setattr(targets, "_exit_hook_registered", False)
    monkeypatch.setattr(atexit, "register", registered.append)
    # Every in-process pytest run configures the plugin again.
    targets._exit_without_sweeping()
    targets._exit_without_sweeping()
    assert registered == [targets._collect_then_freeze]


def _xdist_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, log: Path, conftest: str
) -> pytest.RunResult:
    """``-n 2`` over four workloads, two of them privileged, one test per workload; ``conftest``
    logs to ``log`` (``K8SSEC_TEST_LOG``)."""
    monkeypatch.setenv("K8SSEC_TEST_LOG", str(log))
    write_workloads(pytester, 4, privileged_every=2)
    pytester.makeconftest(conftest)
    pytester.makepyfile(test_workloads=TEST_FILE)
    result = pytester.runpytest_subprocess("--k8s-manifests=deploy", "-p", "xdist", "-n", "2")
    result.assert_outcomes(passed=2, failed=2)
    return result


FOLDING_CONFTEST = """\
import gc
import os

from pytest_k8ssec.reporting.pytest_reports import run_results

COLLECTING = set()


def pytest_runtest_logreport(report):
    COLLECTING.add(gc.isenabled())


def pytest_unconfigure(config):
    who = os.environ.get("PYTEST_XDIST_WORKER", "controller")
    folds = config.pluginmanager.get_plugin("k8ssec-results") is not None
    with open(os.environ["K8SSEC_TEST_LOG"], "a") as log:
        log.write(
            f"{who} folds={folds} findings={len(run_results(config).findings)} "
            f"collecting-while-folding={sorted(COLLECTING)} collecting-after={gc.isenabled()}\\n"
        )
"""


def test_xdist_workers_leave_folding_to_the_controller_which_pauses_its_collector(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "fold.log"
    result = _xdist_run(pytester, monkeypatch, log, FOLDING_CONFTEST)
    # The controller folded both workers' findings, its collector paused meanwhile; the summary
    # counts them. Workers, which run the tests, keep their collector on.
    result.stdout.fnmatch_lines(["2 finding(s) from 2 check(s): 2 fail, *"])
    assert sorted(log.read_text().splitlines()) == [
        "controller folds=True findings=2 collecting-while-folding=[False] collecting-after=True",
        "gw0 folds=False findings=0 collecting-while-folding=[True] collecting-after=True",
        "gw1 folds=False findings=0 collecting-while-folding=[True] collecting-after=True",
    ]
    # A serial run runs the tests too: its collector stays on.
    log.unlink()
    pytester.runpytest_subprocess("--k8s-manifests=deploy").assert_outcomes(passed=2, failed=2)
    assert log.read_text().splitlines() == [
        "controller folds=True findings=2 collecting-while-folding=[True] collecting-after=True"
    ]


ORDER_CONFTEST = """\\
import os

from xdist.workermanage import NodeManager

from pytest_k8ssec.reporting.results import RunResults

_states = RunResults._result_states
_teardown = NodeManager.teardown_nodes


def _log(what):
    with open(os.environ["K8SSEC_TEST_LOG"], "a") as log:
        log.write(what + "\\n")


def _logged_states(self):
    _log(f"states of {len(self.findings)} findings")
    return _states(self)


def _logged_teardown(self):
    _log("teardown workers")
    return _teardown(self)


RunResults._result_states = _logged_states
NodeManager.teardown_nodes = _logged_teardown
"""


def test_the_controller_works_out_result_states_while_its_workers_exit(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "order.log"
    result = _xdist_run(pytester, monkeypatch, log, ORDER_CONFTEST)
    result.stdout.fnmatch_lines(["privileged-container *4 *2 *2 *"])
    # Once, before the controller waits for its workers; the summary read them afterwards.
    assert log.read_text().splitlines() == ["states of 2 findings", "teardown workers"]
