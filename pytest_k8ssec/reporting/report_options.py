"""pytest's side of the report files: ``--k8s-sarif`` and ``--k8s-report``, written at the end.

Reports are written once, by the process that saw every test report: the xdist controller, or
the only process of a serial run; a worker never writes one. Both are built from the run's
``RunResults`` (``pytest_reports`` collects them), so ``-n 2`` writes the files a serial run writes.
"""

from __future__ import annotations

import datetime
import json
from importlib import metadata
from pathlib import Path
from typing import Final

import pytest

from pytest_k8ssec.checks import active_registry
from pytest_k8ssec.reporting import gate as gate_plugin
from pytest_k8ssec.reporting.report_files import FORMATS, RunFacts, render, report_data
from pytest_k8ssec.reporting.results import RunResults
from pytest_k8ssec.reporting.sarif import sarif_log
from pytest_k8ssec.sources.manifests.field_lines import FieldLines

PATHS_KEY: Final = pytest.StashKey[dict[str, Path]]()
FIELD_LINES_KEY: Final = pytest.StashKey[FieldLines]()
_WRITTEN_KEY: Final = pytest.StashKey[list[str]]()
_SKIPPED_KEY: Final = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("k8ssec")
    group.addoption(
        "--k8s-sarif",
        default=None,
        metavar="PATH",
        help="write the findings as SARIF 2.1.0 (one run per target) for code scanning. ini: k8s_sarif.",
    )
    group.addoption(
        "--k8s-report",
        default=None,
        metavar="PATH",
        help="write a report per target, control and check: JSON (.json), Markdown (.md) or HTML (.html). "
        "ini: k8s_report.",
    )
    parser.addini("k8s_sarif", "write the findings as SARIF 2.1.0 to this path (relative to the ini file)")
    parser.addini(
        "k8s_report", "write a JSON / Markdown / HTML report (by suffix) to this path (relative to the ini file)"
    )


def _path(config: pytest.Config, name: str) -> Path | None:
    # Relative to where pytest was started on the command line, to the ini file's folder in the ini.
    given = config.getoption(name)
    if given:
        return config.invocation_params.dir / str(given)
    ini = config.getini(name)
    if not ini:
        return None
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    return base / str(ini)


def pytest_configure(config: pytest.Config) -> None:
    paths: dict[str, Path] = {}
    for name in ("k8s_sarif", "k8s_report"):
        path = _path(config, name)
        if path is None:
            continue
        if not path.parent.is_dir():
            raise pytest.UsageError(f"{name}: {path.parent} is not a directory (the report would be {path})")
        paths[name] = path
    report = paths.get("k8s_report")
    if report is not None and report.suffix.lower() not in FORMATS:
        raise pytest.UsageError(
            f"k8s_report: {report.name!r}: name the format by the suffix: {', '.join(FORMATS)} (JSON, Markdown, HTML)"
        )
    config.stash[PATHS_KEY] = paths


def field_lines(config: pytest.Config) -> FieldLines | None:
    """The run's field-line cache when a report shows field lines (JUnit XML, SARIF, report
    file); ``None`` otherwise, so a run without reports never composes a file twice."""
    wanted = getattr(config.option, "xmlpath", None) or config.stash.get(PATHS_KEY, None)
    if not wanted:
        return None
    found = config.stash.get(FIELD_LINES_KEY, None)
    if found is None:
        found = config.stash[FIELD_LINES_KEY] = FieldLines(config.invocation_params.dir)
    return found


def _version() -> str:
    try:
        return metadata.version("pytest-k8ssec")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0+unknown"


def repository_root(start: Path, fallback: Path) -> Path:
    """The git work tree ``start`` is in (SARIF URIs are relative to it), else ``fallback``."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return fallback


def _option_value(config: pytest.Config, name: str) -> str | None:
    # The waiver and baseline options belong to their own modules; a run without them says "none".
    value = config.getoption(name, None)
    if not value:
        try:
            value = config.getini(name)
        except ValueError:
            return None
    return str(value) if value else None


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    paths = config.stash.get(PATHS_KEY, {})
    if not paths or hasattr(config, "workerinput"):
        return
    status = session.exitstatus
    if status in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
        # A run that stopped before judging must not leave a report that reads "0 failures".
        config.stash[_WRITTEN_KEY] = []
        config.stash[_SKIPPED_KEY] = f"no report written: the run ended with {pytest.ExitCode(status).name}"
        return
    # pytest_reports' collector holds the run's results (it imports this module: no import back).
    collector = config.pluginmanager.get_plugin("k8ssec-results")
    results = getattr(collector, "results", None)
    if not isinstance(results, RunResults):
        raise RuntimeError("k8ssec: the run's results were not collected; no report written")
    registry = active_registry()
    gate = gate_plugin.gate(config)
    version = _version()
    written = config.stash.setdefault(_WRITTEN_KEY, [])
    if "k8s_sarif" in paths:
        here = config.invocation_params.dir
        log = sarif_log(
            results,
            registry,
            version=version,
            base=here,
            root=repository_root(here, config.rootpath),
            fail_on=gate.fail_on,
            baseline=gate.baseline is not None,
        )
        # Compact: code scanning caps uploads by size, and a large run's SARIF is mostly results.
        paths["k8s_sarif"].write_text(json.dumps(log, separators=(",", ":")) + "\n", encoding="utf-8")
        written.append(f"SARIF {paths['k8s_sarif']}")
    if "k8s_report" in paths:
        path = paths["k8s_report"]
        tests: dict[str, int] = {}
        for test in results.tests.values():
            tests[test.outcome] = tests.get(test.outcome, 0) + 1
        facts = RunFacts(
            date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            version=version,
            fail_on=str(gate.fail_on),
            waivers=_option_value(config, "k8s_waivers"),
            baseline=_option_value(config, "k8s_baseline"),
            tests=dict(sorted(tests.items())),
        )
        kind = FORMATS[path.suffix.lower()]
        path.write_text(render(report_data(results, registry, facts), kind), encoding="utf-8")
        written.append(f"{kind} report {path}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    for line in config.stash.get(_WRITTEN_KEY, []):
        terminalreporter.write_line(f"k8ssec: wrote {line}")
    if _SKIPPED_KEY in config.stash:
        terminalreporter.write_line(f"k8ssec: {config.stash[_SKIPPED_KEY]}")
