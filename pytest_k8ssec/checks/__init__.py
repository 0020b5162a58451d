"""Built-in checks: one module per check, listed here in report order.

Nothing registers itself on import: this tuple is the registry's order, and a registry meta-test
keeps it and the modules in step. A dotted entry names a module of a subpackage: the Pod Security Standards controls live in
``checks/pss/``, one per upstream check, in the order ``checks/pss/_registry.py`` keeps (its
``CONTROL_MODULES``; it is not repeated here). Third-party checks come in through the
``pytest_k8ssec_register_checks`` hook.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Final

from pytest_k8ssec._deprecation import warn
from pytest_k8ssec.checks._check import Category, Check, PssControl, Severity, Violation
from pytest_k8ssec.checks.pss._registry import CONTROL_MODULES

BUILTIN_CHECK_MODULES: tuple[str, ...] = (
    "malformed_object",
    "privileged_container",
    "privilege_escalation_allowed",
    "capabilities_added",
    "dangerous_capabilities",
    "capabilities_not_dropped",
    "run_as_root_allowed",
    "run_as_user_root",
    "run_as_group_root",
    "writable_root_filesystem",
    "host_namespaces",
    "host_path_volume",
    "sensitive_host_path",
    "host_port",
    "windows_host_process",
    "seccomp_unconfined",
    "apparmor_unconfined",
    "custom_selinux_options",
    "unmasked_proc_mount",
    "unsafe_sysctls",
    "service_account_token_automount",
    "missing_resource_requests",
    "missing_resource_limits",
    "rbac_wildcard",
    "rbac_cluster_admin_binding",
    "rbac_anonymous_binding",
    "rbac_risky_rules",
    "image_latest_tag",
    "image_not_pinned",
    "image_registry",
    "mutable_image_not_pulled",
    "env_credential_literal",
    "configmap_credential",
    "secret_in_manifest",
    "secret_env_var",
    "default_service_account",
    # The Pod Security controls, in the order their own registry keeps.
    *(f"pss.{name}" for name in CONTROL_MODULES),
)


# Every id names the fault it finds (``pss-*`` ids name the upstream control instead). These ids
# named the rule; they resolve to the renamed check, with a DeprecationWarning, until 0.3.0.
RENAMED_IDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "capabilities-drop-all": "capabilities-not-dropped",
        "run-as-non-root": "run-as-root-allowed",
        "read-only-root-filesystem": "writable-root-filesystem",
        "seccomp-profile": "seccomp-unconfined",
        "selinux-options": "custom-selinux-options",
        "resource-requests": "missing-resource-requests",
        "resource-limits": "missing-resource-limits",
        "image-registry": "image-registry-not-allowed",
        "image-pull-policy": "mutable-image-not-pulled",
    }
)


def module_name(entry: str) -> str:
    """The importable name of a registry entry (``host_port``, ``pss.check_privileged``)."""
    return f"{__name__}.{entry}"


def load_builtin_checks() -> tuple[Check, ...]:
    """Import every built-in check module in registry order and return their ``CHECK``s."""
    checks = []
    for name in BUILTIN_CHECK_MODULES:
        module = importlib.import_module(module_name(name))
        checks.append(module.CHECK)
    return tuple(checks)


class Registry:
    """An ordered set of checks addressable by id (built-ins first, then plugins' checks)."""

    def __init__(self, checks: Iterable[Check] = ()) -> None:
        self._checks: dict[str, Check] = {}
        for check in checks:
            self.add(check)

    def add(self, check: Check) -> None:
        """Add a check; a second check with the same id is an error, not an override."""
        if check.id in self._checks:
            raise ValueError(f"duplicate check id {check.id!r}")
        self._checks[check.id] = check

    def get(self, check_id: str) -> Check:
        """The check with this id; ``KeyError`` names the known ids when there is none.

        A renamed id (``RENAMED_IDS``) still finds its check, with a ``DeprecationWarning``.
        """
        check = self._checks.get(check_id)
        if check is not None:
            return check
        new = RENAMED_IDS.get(check_id)
        if new is not None and new in self._checks:
            warn(f"check id {check_id!r}", f"{new!r}")
            return self._checks[new]
        known = ", ".join(self._checks)
        raise KeyError(f"unknown check id {check_id!r}; known ids: {known}")

    def __contains__(self, check_id: object) -> bool:
        return check_id in self._checks

    def __iter__(self) -> Iterator[Check]:
        return iter(self._checks.values())

    def __len__(self) -> int:
        return len(self._checks)


_builtin: Registry | None = None
_active: Registry | None = None


def builtin_registry() -> Registry:
    """The registry of built-in checks (loaded once)."""
    global _builtin
    if _builtin is None:
        _builtin = Registry(load_builtin_checks())
    return _builtin


def active_registry() -> Registry:
    """The registry helpers resolve ids against: the plugin's (with hook-added checks) or the built-ins."""
    return _active if _active is not None else builtin_registry()


def set_active_registry(registry: Registry | None) -> None:
    """Install the run's registry (the plugin does this at configure time; ``None`` resets)."""
    global _active
    _active = registry


__all__ = (
    "BUILTIN_CHECK_MODULES",
    "RENAMED_IDS",
    "Category",
    "Check",
    "PssControl",
    "Registry",
    "Severity",
    "Violation",
    "active_registry",
    "builtin_registry",
    "load_builtin_checks",
    "module_name",
    "set_active_registry",
)
