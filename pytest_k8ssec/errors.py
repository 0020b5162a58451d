"""Exceptions and warnings of pytest-k8ssec, under one root.

Every exception class of the package derives from ``K8sSecError`` and every warning from
``K8sSecWarning`` (tests/unit/test_errors.py). This module imports nothing of the package at run
time (the engine only for type checking), so the pure core raises these without an import cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_k8ssec.engine import Finding


class K8sSecError(Exception):
    """Root of every error this plugin raises on purpose."""


class ManifestError(K8sSecError):
    """A manifest could not be read: the message names the file and line at fault."""


class ClusterError(K8sSecError):
    """A cluster could not be reached or refused a request."""


class K8sSecWarning(UserWarning):
    """Something was skipped that the user may want to know about (e.g. non-Kubernetes YAML)."""


class SecurityAssertionError(K8sSecError, AssertionError):
    """A security requirement does not hold; ``findings`` lists every violation.

    Still an ``AssertionError``: pytest reports it as a failed assertion, not as an error.
    """

    def __init__(self, message: str, findings: Sequence[Finding] = ()) -> None:
        super().__init__(message)
        self.findings: tuple[Finding, ...] = tuple(findings)
