"""pytest's side of the gate: its options and markers, and the Gate built once per run.

``--k8s-fail-on`` sets the severity below which findings are advisory; the markers
``k8s_severity`` and ``k8s_control`` put a team's own tests on the same footing as the registry's
checks (their failures get that severity and those controls). ``--k8s-waivers`` and
``--k8s-baseline`` load the waivers and the baseline; at the end of the run the controller (under
xdist too: it reads the merged results) lists stale waivers and writes the baseline.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from pytest_k8ssec.checks import _controls as controls_catalog
from pytest_k8ssec.checks import active_registry
from pytest_k8ssec.checks._check import Severity
from pytest_k8ssec.checks._controls import known, unknown_message
from pytest_k8ssec.policy.baseline import Baseline
from pytest_k8ssec.policy.gate import Gate
from pytest_k8ssec.policy.waivers import Waiver, WaiverSet, parse_date
from pytest_k8ssec.reporting.results import CaseRecord, RunResults
from pytest_k8ssec.sources.waiver_files import (
    WaiverFileError,
    baseline_entries,
    read_baseline,
    read_waivers,
    write_baseline,
)

GATE_KEY: Final = pytest.StashKey[Gate]()
SEVERITY_MARKER: Final = "k8s_severity"
CONTROL_MARKER: Final = "k8s_control"
SEVERITIES: Final = tuple(str(s) for s in Severity)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("k8ssec")
    group.addoption(
        "--k8s-fail-on",
        default=None,
        metavar="SEVERITY",
        choices=SEVERITIES,
        help=f"fail tests only on findings of this severity or above ({', '.join(SEVERITIES)}); "
        "findings below it are reported as advisory and do not fail the test. A test that cannot "
        "reach a verdict always fails. Default: info (every finding fails). ini: k8s_fail_on.",
    )
    parser.addini("k8s_fail_on", "lowest severity that fails a test (findings below it are advisory)", default="")
    group.addoption(
        "--k8s-waivers",
        default=None,
        metavar="FILE",
        help="YAML file of waivers (check or control, target, reason, expiry): a waived finding does not "
        "fail its test and stays visible as waived; an expired waiver fails the tests it touches. "
        "ini: k8s_waivers (relative to the ini file).",
    )
    parser.addini("k8s_waivers", "YAML waiver file (relative to the ini file)", default="")
    group.addoption(
        "--k8s-today",
        default=None,
        metavar="DATE",
        help="judge waiver expiry as of DATE (YYYY-MM-DD) instead of today, e.g. to reproduce a past "
        "day's audit. ini: k8s_today.",
    )
    parser.addini("k8s_today", "the date waiver expiry is judged on (YYYY-MM-DD; default: today)", default="")
    group.addoption(
        "--k8s-strict-waivers",
        action="store_true",
        default=False,
        help="fail the run when a waiver matched no finding (stale); for full runs only, since a "
        "selection (-k, --k8s-controls) may leave out the tests a waiver is for. ini: k8s_strict_waivers.",
    )
    parser.addini("k8s_strict_waivers", "fail the run when a waiver is stale", type="bool", default=False)
    group.addoption(
        "--k8s-annotation-waivers",
        action="store_true",
        default=False,
        help="honour waivers written on the objects themselves (annotation k8ssec.io/waive.<check-id>: "
        "'<reason>; expires=YYYY-MM-DD'); off by default, as manifest authors could waive their own "
        "findings. ini: k8s_annotation_waivers.",
    )
    parser.addini(
        "k8s_annotation_waivers", "honour k8ssec.io/waive.<check-id> annotations on objects", type="bool", default=False
    )
    group.addoption(
        "--k8s-baseline",
        default=None,
        metavar="FILE",
        help="JSON baseline of known findings: they are reported as baselined and do not fail; only new "
        "findings fail. ini: k8s_baseline (relative to the ini file).",
    )
    parser.addini("k8s_baseline", "JSON baseline file of known findings (relative to the ini file)", default="")
    group.addoption(
        "--k8s-baseline-update",
        action="store_true",
        default=False,
        help="write the --k8s-baseline file from this run's findings at the end of the run (waived findings "
        "left out). ini: k8s_baseline_update.",
    )
    parser.addini("k8s_baseline_update", "write the baseline file from this run's findings", type="bool", default=False)


def parse_severity(text: str, where: str) -> Severity:
    """``"high"`` -> ``Severity.HIGH``; anything else is a usage error naming ``where``."""
    try:
        return Severity[text.strip().upper()]
    except KeyError:
        raise pytest.UsageError(f"{where}: {text!r} is not a severity; use one of {', '.join(SEVERITIES)}") from None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{SEVERITY_MARKER}(level): the severity of this test's failures ({', '.join(SEVERITIES)}); "
        "--k8s-fail-on compares against it",
    )
    config.addinivalue_line(
        "markers",
        f"{CONTROL_MARKER}(*ids): the controls this test implements (e.g. 'CIS-5.2.2'); reports count the "
        "test under each, and --k8s-controls selects by them",
    )
    text = config.getoption("k8s_fail_on") or config.getini("k8s_fail_on") or "info"
    files = _files(config)
    config.stash[FILES_KEY] = files
    baseline = None
    if files.baseline is not None and not (files.update and not files.baseline[0].exists()):
        try:
            entries = read_baseline(*files.baseline)
        except WaiverFileError as exc:
            raise pytest.UsageError(f"k8s_baseline: {exc}") from None
        baseline = Baseline(str(e["fingerprint"]) for e in entries)
    if files.update and files.baseline is None:
        raise pytest.UsageError("--k8s-baseline-update: name the file to write with --k8s-baseline FILE")
    config.stash[GATE_KEY] = Gate(
        fail_on=parse_severity(text, "k8s_fail_on"),
        baseline=baseline,
        today=_today(config),
        annotation_waivers=bool(config.getoption("k8s_annotation_waivers") or config.getini("k8s_annotation_waivers")),
    )


FILES_KEY: Final = pytest.StashKey["_Files"]()
_STALE_KEY: Final = pytest.StashKey[list[Waiver]]()
_BASELINE_SUMMARY_KEY: Final = pytest.StashKey[list[str]]()


@dataclass(frozen=True)
class _Files:
    """The waiver and baseline files of the run: (path, how messages name it)."""

    waivers: tuple[Path, str] | None
    baseline: tuple[Path, str] | None
    update: bool
    strict: bool


def _path(config: pytest.Config, name: str) -> tuple[Path, str] | None:
    given: str | None = config.getoption(name)
    if given:
        return Path(given), given
    written: str = config.getini(name)
    if not written:
        return None
    if os.path.isabs(written):
        return Path(written), written
    # Relative ini paths are relative to the ini file, as pytest resolves its own paths.
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    return base / written, written


def _files(config: pytest.Config) -> _Files:
    return _Files(
        waivers=_path(config, "k8s_waivers"),
        baseline=_path(config, "k8s_baseline"),
        update=bool(config.getoption("k8s_baseline_update") or config.getini("k8s_baseline_update")),
        strict=bool(config.getoption("k8s_strict_waivers") or config.getini("k8s_strict_waivers")),
    )


def _today(config: pytest.Config) -> datetime.date:
    text: str = config.getoption("k8s_today") or config.getini("k8s_today") or ""
    if not text:
        return datetime.date.today()
    date = parse_date(text.strip())
    if date is None:
        raise pytest.UsageError(f"k8s_today: {text!r} is not a date (YYYY-MM-DD)")
    return date


def pytest_sessionstart(session: pytest.Session) -> None:
    # Waivers are read here, not at configure: a check id is validated against the run's registry,
    # which holds the checks that plugins register, and is complete only once configure is over.
    config = session.config
    files = config.stash.get(FILES_KEY, None)
    if files is None or files.waivers is None:
        return
    try:
        waivers = read_waivers(
            *files.waivers,
            known_checks={check.id for check in active_registry()},
            known_controls=list(controls_catalog.all_ids()),
        )
    except WaiverFileError as exc:
        raise pytest.UsageError(f"k8s_waivers: {exc}") from None
    config.stash[GATE_KEY] = dataclasses.replace(gate(config), waivers=WaiverSet(waivers))


def gate(config: pytest.Config) -> Gate:
    """The run's gate (the default gate, which fails every finding, before configure)."""
    return config.stash.get(GATE_KEY, None) or Gate()


#: (parent node, ids of the item's own markers) -> (severity, controls), with the markers kept alive
#: so that their ids stay theirs. Every test case of one parametrized function shares one entry.
_MARKS_KEY: Final = pytest.StashKey[dict[tuple[object, ...], tuple[Severity | None, tuple[str, ...], object]]]()


def item_marks(item: pytest.Item) -> tuple[Severity | None, tuple[str, ...]]:
    """``(marked_severity(item), marked_controls(item))``, read once per test function.

    A run of 12 tests over 5,000 workloads has 60,000 items but 12 distinct marker sets: an item's
    markers are its own (the function's, plus a ``pytest.param``'s) and its parents', so the parent
    and the identity of its own markers decide them.
    """
    cache = item.config.stash.get(_MARKS_KEY, None)
    if cache is None:
        cache = item.config.stash[_MARKS_KEY] = {}
    own = item.own_markers
    key = (item.parent, *map(id, own))
    found = cache.get(key)
    if found is None:
        found = cache[key] = (marked_severity(item), marked_controls(item), tuple(own))
    return found[0], found[1]


def marked_severity(item: pytest.Item) -> Severity | None:
    """The ``k8s_severity`` marker's level (the closest marker wins), validated."""
    marker = item.get_closest_marker(SEVERITY_MARKER)
    if marker is None:
        return None
    if len(marker.args) != 1 or marker.kwargs or not isinstance(marker.args[0], str):
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{SEVERITY_MARKER} takes one severity, e.g. 'high'")
    return parse_severity(marker.args[0], f"{item.nodeid}: @pytest.mark.{SEVERITY_MARKER}")


def marked_controls(item: pytest.Item) -> tuple[str, ...]:
    """The control ids of every ``k8s_control`` marker on the test (module, class and function)."""
    ids: list[str] = []
    for marker in item.iter_markers(CONTROL_MARKER):
        if marker.kwargs or not marker.args or not all(isinstance(a, str) for a in marker.args):
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{CONTROL_MARKER} takes control ids, e.g. 'CIS-5.2.2'")
        ids.extend(marker.args)
    for control_id in ids:
        if not known(control_id):
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{CONTROL_MARKER}: {unknown_message(control_id)}")
    return tuple(dict.fromkeys(ids))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Validate markers once, at collection: a typo is a usage error before anything runs.
    for item in items:
        item_marks(item)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def stale_waivers(gate: Gate, findings: list[dict[str, Any]], tests: Iterable[CaseRecord] = ()) -> list[Waiver]:
    """The file's waivers that no finding of the run matched (expired matches count as matches),
    nor a marked test's own failed assertion."""
    used = {str(f["waiver"]["source"]) for f in findings if f.get("waiver")}
    used.update(str(t.waiver["source"]) for t in tests if t.waiver)
    return [waiver for waiver in gate.waivers.waivers if waiver.source not in used]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    files = config.stash.get(FILES_KEY, None)
    # Workers see a part of the run; the controller folds every worker's findings.
    if files is None or _is_worker(config):
        return
    # The results plugin (reporting.pytest_reports, which imports this module) folds the reports.
    results = getattr(config.pluginmanager.get_plugin("k8ssec-results"), "results", None)
    findings = results.findings if isinstance(results, RunResults) else []
    tests = results.tests.values() if isinstance(results, RunResults) else []
    stale = stale_waivers(gate(config), findings, tests)
    config.stash[_STALE_KEY] = stale
    if stale and files.strict and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if files.baseline is not None:
        config.stash[_BASELINE_SUMMARY_KEY] = _baseline_summary(config, session, files.baseline, findings, files.update)


def _baseline_summary(
    config: pytest.Config,
    session: pytest.Session,
    baseline_file: tuple[Path, str],
    findings: list[dict[str, Any]],
    update: bool,
) -> list[str]:
    path, shown = baseline_file
    lines: list[str] = []
    # A waived finding is covered by its waiver, which expires; in the baseline it would outlive it.
    kept = [f for f in findings if not f.get("waiver")]
    seen = {str(f["fingerprint"]) for f in kept}
    baseline = gate(config).baseline
    if baseline is not None:
        fixed = len(baseline.fingerprints - seen)
        new = len(seen - baseline.fingerprints)
        lines.append(
            f"baseline {shown}: {len(baseline) - fixed} of {len(baseline)} known finding(s) seen, "
            f"{fixed} not seen (fixed), {new} new finding(s)"
        )
    if update:
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            entries = baseline_entries(kept)
            try:
                write_baseline(path, entries)
            except OSError as exc:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
                lines.append(f"baseline {shown}: NOT written: {exc}")
            else:
                lines.append(f"baseline {shown}: written with {len(entries)} finding(s)")
        else:
            # An interrupted or broken run saw only part of the findings: its baseline would forget the rest.
            lines.append(
                f"baseline {shown}: NOT written (the run did not complete: exit status {int(session.exitstatus)})"
            )
    return lines


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for line in config.stash.get(_BASELINE_SUMMARY_KEY, []):
        terminalreporter.write_line(f"k8ssec: {line}", bold=True)
    stale = config.stash.get(_STALE_KEY, [])
    if not stale:
        return
    files = config.stash[FILES_KEY]
    terminalreporter.write_line(
        f"k8ssec: {len(stale)} stale waiver(s): matched no finding in this run",
        yellow=not files.strict,
        red=files.strict,
    )
    for waiver in stale:
        covers = f"check {waiver.check}" if waiver.check else f"control {waiver.control}"
        if waiver.check and waiver.control:
            covers += f", control {waiver.control}"
        container = f", container {waiver.container}" if waiver.container else ""
        terminalreporter.write_line(
            f"  {waiver.source}: {covers}, target {waiver.target}, context {waiver.context}{container}"
        )
    if files.strict:
        terminalreporter.write_line(
            "k8ssec: --k8s-strict-waivers: the run fails because a waiver is stale (remove it, or fix its target)",
            red=True,
        )
