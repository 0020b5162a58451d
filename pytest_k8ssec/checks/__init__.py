"""Built-in checks: one module per check, listed here in report order.

Nothing registers itself on import: this tuple is the registry's order, and a registry meta-test
keeps it and the modules in step. A dotted entry names a module of a subpackage: the Pod Security Standards controls live in
``checks/pss/``, one per upstream check, in the order ``checks/pss/_registry.py`` keeps (its
``CONTROL_MODULES``; it is not repeated here). Third-party checks come in through the
``pytest_k8ssec_register_checks`` hook.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator

from pytest_k8ssec.checks._check import Category, Check, PssControl, Severity, Violation
from pytest_k8ssec.checks.pss._registry import CONTROL_MODULES

BUILTIN_CHECK_MODULES: tuple[str, ...] = (
    "malformed_object",
    "privileged_container",
    "privilege_escalation",
    "capabilities_added",
    "dangerous_capabilities",
    "capabilities_drop_all",
    "run_as_non_root",
    "run_as_user_root",
    "run_as_group_root",
    "read_only_root_filesystem",
    "host_namespaces",
    "host_path_volume",
    "sensitive_host_path",
    "host_port",
    "windows_host_process",
    "seccomp_profile",
    "apparmor_profile",
    "selinux_options",
    "proc_mount",
    "unsafe_sysctls",
    "service_account_token",
    "resource_requests",
    "resource_limits",
    "rbac_wildcard",
    "rbac_cluster_admin_binding",
    "rbac_anonymous_binding",
    "rbac_risky_rules",
    "image_latest_tag",
    "image_not_pinned",
    "image_registry",
    "image_pull_policy",
    "env_credential_literal",
    "configmap_credential",
    "secret_in_manifest",
    "secret_env_var",
    "default_service_account",
    # The Pod Security controls, in the order their own registry keeps.
    *(f"pss.{name}" for name in CONTROL_MODULES),
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
        """The check with this id; ``KeyError`` names the known ids when there is none."""
        try:
            return self._checks[check_id]
        except KeyError:
            known = ", ".join(self._checks)
            raise KeyError(f"unknown check id {check_id!r}; known ids: {known}") from None

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
