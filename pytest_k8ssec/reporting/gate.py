"""pytest's side of the gate: its options and markers, and the Gate built once per run.

``--k8s-fail-on`` sets the severity below which findings are advisory; the markers
``k8s_severity`` and ``k8s_control`` put a team's own tests on the same footing as the registry's
checks (their failures get that severity and those controls).
"""

from __future__ import annotations

from typing import Final

import pytest

from pytest_k8ssec.checks._check import Severity
from pytest_k8ssec.checks._controls import known, unknown_message
from pytest_k8ssec.policy.gate import Gate

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
    config.stash[GATE_KEY] = Gate(fail_on=parse_severity(text, "k8s_fail_on"))


def gate(config: pytest.Config) -> Gate:
    """The run's gate (the default gate, which fails every finding, before configure)."""
    return config.stash.get(GATE_KEY, None) or Gate()


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
        marked_severity(item)
        marked_controls(item)
