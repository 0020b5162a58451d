"""Hooks pytest-k8ssec offers to other plugins and conftest files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_k8ssec.checks import Registry


@pytest.hookspec
def pytest_k8ssec_register_checks(registry: Registry) -> None:
    """Add checks to the run's registry with ``registry.add(check)``.

    Called once at configure time, after the built-in checks are registered. Added checks can be
    used by id with ``assert_passes`` and appear in the terminal summary and reports.
    """
