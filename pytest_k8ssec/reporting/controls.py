"""pytest's side of the control catalog: a project's own control ids, and selection by control.

``--k8s-controls PATTERN`` keeps the tests whose ``k8s_control`` markers match a pattern
(fnmatch over the ids, ``CIS-5.2.*``) and deselects the rest, as ``-m`` does. A pattern that
matches no known id is a usage error: a typo must not select nothing and pass (Kubescape #3551
exited 0 that way). Valid patterns that select no test leave pytest's exit code 5, "no tests
collected", so the run never looks green. ``k8s_extra_controls`` (``ID: title`` per line) makes a
project's own ids known to the markers, the checks and the selection.
"""

from __future__ import annotations

import fnmatch
from typing import Final

import pytest

from pytest_k8ssec.checks._controls import (
    close_matches,
    expand,
    known,
    parse_extra,
    register_control,
    unregister_control,
)
from pytest_k8ssec.reporting.gate import CONTROL_MARKER, item_marks

PATTERNS_KEY: Final = pytest.StashKey[tuple[str, ...]]()
_REGISTERED_KEY: Final = pytest.StashKey[list[str]]()
_SELECTED_KEY: Final = pytest.StashKey[tuple[int, int]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("k8ssec")
    group.addoption(
        "--k8s-controls",
        action="append",
        default=[],
        metavar="PATTERN",
        help="run only the tests marked k8s_control with an id matching PATTERN (fnmatch, e.g. 'CIS-5.2.*'; "
        "repeatable); the rest are deselected. A pattern matching no known control id is a usage error. "
        "ini: k8s_controls.",
    )
    parser.addini("k8s_controls", "control id patterns selecting tests, one per line", type="linelist", default=[])
    group.addoption(
        "--k8s-extra-control",
        action="append",
        default=[],
        metavar="'ID: title'",
        help="make a project's own control id known (repeatable), as a line of the ini key k8s_extra_controls does",
    )
    parser.addini(
        "k8s_extra_controls",
        "a project's own control ids, 'ID: title' one per line (markers, checks and --k8s-controls accept them)",
        type="linelist",
        default=[],
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # tryfirst: before the plugin asks other plugins for their checks, which may claim these ids.
    registered: list[str] = []
    config.stash[_REGISTERED_KEY] = registered
    sources = (
        ("--k8s-extra-control", config.getoption("k8s_extra_control")),
        ("k8s_extra_controls", config.getini("k8s_extra_controls")),
    )
    for where, lines in sources:
        for number, line in enumerate(lines, 1):
            try:
                new = parse_extra(line, f"{where} entry {number}")
                if known(new.id) and new.id not in registered:
                    raise ValueError(f"{where} entry {number}: control id {new.id!r} is already known")
                register_control(new)
            except ValueError as error:
                _forget(registered)
                raise pytest.UsageError(str(error)) from None
            if new.id not in registered:
                registered.append(new.id)
    patterns = tuple(config.getoption("k8s_controls") or config.getini("k8s_controls"))
    for pattern in patterns:
        if not expand(pattern):
            _forget(registered)
            near = close_matches(pattern)
            hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
            raise pytest.UsageError(
                f"--k8s-controls {pattern!r} matches no known control id{hint} "
                "(ids are case-sensitive; docs/controls.md lists them; add a project's own with k8s_extra_controls)"
            )
    config.stash[PATTERNS_KEY] = patterns


def _forget(registered: list[str]) -> None:
    for control_id in registered:
        unregister_control(control_id)
    registered.clear()


def pytest_unconfigure(config: pytest.Config) -> None:
    # The catalog is process-wide: a run in the same process (pytester, an IDE) starts clean.
    _forget(config.stash.get(_REGISTERED_KEY, []))


def selected(ids: tuple[str, ...], patterns: tuple[str, ...]) -> bool:
    """True when one of ``ids`` matches one of ``patterns``."""
    return any(fnmatch.fnmatchcase(control_id, pattern) for control_id in ids for pattern in patterns)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    patterns = config.stash.get(PATTERNS_KEY, ())
    if not patterns:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        # item_marks validates every marker, so a typo on a deselected test is still an error.
        (keep if selected(item_marks(item)[1], patterns) else drop).append(item)
    config.stash[_SELECTED_KEY] = (len(keep), len(drop))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    counts = config.stash.get(_SELECTED_KEY, None)
    if counts is None:
        return []
    kept, dropped = counts
    patterns: tuple[str, ...] = config.stash[PATTERNS_KEY]
    line = f"k8ssec: --k8s-controls {', '.join(patterns)}: {kept} test(s) selected, {dropped} deselected"
    if not kept:
        line += f" (no test is marked @pytest.mark.{CONTROL_MARKER} with a matching id)"
    return [line]
