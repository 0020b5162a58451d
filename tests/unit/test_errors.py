"""One root error: every exception class the package defines derives from K8sSecError, every warning
from K8sSecWarning, so ``except K8sSecError`` catches whatever the plugin raises on purpose.

Private classes (a leading underscore) are signals a module raises and catches itself; they are
listed here so that a new one is a decision, not an accident.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import pytest_k8ssec
from pytest_k8ssec.errors import K8sSecError, K8sSecWarning, SecurityAssertionError
from pytest_k8ssec.model.images import ImageReferenceError, parse_image
from pytest_k8ssec.model.rbac import PolicyRule, RbacError


def _modules() -> list[str]:
    names = [pytest_k8ssec.__name__]
    names.extend(info.name for info in pkgutil.walk_packages(pytest_k8ssec.__path__, f"{pytest_k8ssec.__name__}."))
    return names


def _exception_classes() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for name in _modules():
        module = importlib.import_module(name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if value.__module__ == name and issubclass(value, BaseException):
                found.append(value)
    return found


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_the_walk_finds_the_package_exceptions() -> None:
    # The walk must reach subpackages, or the rule below would pass by finding nothing.
    names = {_name(cls) for cls in _exception_classes()}
    for expected in (
        "pytest_k8ssec.errors.ManifestError",
        "pytest_k8ssec.model.images.ImageReferenceError",
        "pytest_k8ssec.model.rbac.rules.RbacError",
        "pytest_k8ssec.model.scan_reports.ScanReportError",
        "pytest_k8ssec.sources.local_control_plane.LocalClusterError",
    ):
        assert expected in names


def test_every_public_exception_derives_from_the_root() -> None:
    wrong = []
    for cls in _exception_classes():
        if cls.__name__.startswith("_") or cls in (K8sSecError, K8sSecWarning):
            continue
        root = K8sSecWarning if issubclass(cls, Warning) else K8sSecError
        if not issubclass(cls, root):
            wrong.append(f"{_name(cls)} does not derive from {root.__name__}")
    assert wrong == []


def test_the_warning_root_is_a_user_warning_and_not_an_error() -> None:
    assert issubclass(K8sSecWarning, UserWarning)
    assert not issubclass(K8sSecWarning, K8sSecError)


def test_errors_users_caught_by_builtin_type_still_are_that_type() -> None:
    # Users may catch these by the built-in type they had before the root was added.
    assert issubclass(ImageReferenceError, ValueError)
    assert issubclass(RbacError, ValueError)
    # pytest shows a failed security requirement as a failed assertion.
    assert issubclass(SecurityAssertionError, AssertionError)
    with pytest.raises(K8sSecError):
        parse_image("nginx:bad tag")
    # A rule the API server would reject raises the package's error, still a ValueError.
    with pytest.raises(RbacError):
        PolicyRule.from_raw({"verbs": "get"})


def test_private_exception_classes_are_the_known_internal_signals() -> None:
    # Each is raised and caught inside its own module (RBAC's is an RbacError besides); by name, so
    # that moving a module does not break the rule, and a new one is added here on purpose.
    private = {cls.__name__ for cls in _exception_classes() if cls.__name__.startswith("_")}
    assert private <= {"_Invalid", "_JSONNumberError", "_JSONDuplicateKey", "_Deferred", "_Unsure"}
    assert issubclass(importlib.import_module("pytest_k8ssec.model.rbac.rules")._Invalid, RbacError)
