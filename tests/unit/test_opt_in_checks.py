"""Opt-in checks run only where a test names them.

The registry has no "run everything" entry: a check runs when a helper, a ready suite or
``assert_passes`` names it. An opt-in check (a scanner's policy or hygiene rule that no framework
asks for) is therefore off by default when no helper and no ready suite names it, and its summary
says it is opt-in, so the docs and every report show it. If a run-everything entry is ever added,
it must leave these out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import pytest_k8ssec
from pytest_k8ssec.checks import builtin_registry

OPT_IN = ("run-as-low-id", "liveness-probe-missing", "readiness-probe-missing")
PACKAGE = Path(pytest_k8ssec.__file__).parent


@pytest.mark.parametrize("check_id", OPT_IN)
def test_opt_in_checks_say_so_and_claim_no_control(check_id: str) -> None:
    check = builtin_registry().get(check_id)
    assert check.summary.startswith("Opt-in "), check.summary
    assert check.controls == () and check.pss is None


@pytest.mark.parametrize("check_id", OPT_IN)
def test_no_helper_or_ready_suite_runs_an_opt_in_check(check_id: str) -> None:
    for folder in ("asserts", "suites"):
        for path in sorted((PACKAGE / folder).glob("*.py")):
            assert check_id not in path.read_text(encoding="utf-8"), f"{path.relative_to(PACKAGE)} names {check_id}"
    assert not builtin_registry().get(check_id).helpers
