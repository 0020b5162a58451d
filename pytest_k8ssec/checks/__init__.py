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

from pytest_k8ssec import _deprecation
from pytest_k8ssec.checks._check import Category, Check, CheckKind, PssControl, Severity, Violation
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
    "image_registry_not_allowed",
    "mutable_image_not_pulled",
    "env_credential_literal",
    "configmap_credential",
    "secret_in_manifest",
    "secret_env_var",
    "default_service_account",
    "writable_host_path_mount",
    "privileged_port",
    "ssh_port_exposed",
    "host_aliases_set",
    "process_namespace_shared",
    "run_as_low_id",
    "default_namespace_used",
    "liveness_probe_missing",
    "readiness_probe_missing",
    "service_account_missing",
    "dangerous_component",
    "missing_ephemeral_storage_limit",
    # The Pod Security controls, in the order their own registry keeps.
    *(f"pss.{name}" for name in CONTROL_MODULES),
    "namespace_pod_security_too_weak",
    "image_vulnerable",
    "network_not_isolated",
    "network_default_deny_missing",
    "network_egress_unrestricted",
    "network_policy_ineffective",
    "network_egress_not_isolated",
    "service_externally_exposed",
    "service_external_ip_not_allowed",
    "ingress_tls_missing",
    "ingress_nginx_snippet_annotation",
    "network_reachability_unexpected",
    "network_ingress_from_allowed",
    "rbac_cluster_admin_subject",
    "rbac_risky_binding",
    "rbac_admin_edit_service_account",
    "rbac_role_ref_missing",
    "rbac_service_account_missing",
    "rbac_access_unexpected",
    "admission_decision_unexpected",
    "pod_security_not_enforced",
    "in_pod_process_root",
    "in_pod_root_filesystem_writable",
    "in_pod_package_manager_present",
    "in_pod_shell_present",
    "in_pod_connection_allowed",
    "in_pod_connection_blocked",
    # The control plane's and nodes' settings (CIS sections 1-4), on static pods and kubelet config files.
    "apiserver_flag_insecure",
    "controller_manager_flag_insecure",
    "scheduler_flag_insecure",
    "etcd_flag_insecure",
    "kubelet_config_insecure",
    "node_file_insecure",
)

#: Check ids renamed in 0.2.0 (old -> new): ``Registry.get`` resolves an old id to its check with a
#: DeprecationWarning for one release. Every rename adds its line here, nowhere else.
RENAMED_IDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        # Ids that named the rule instead of the fault.
        "capabilities-drop-all": "capabilities-not-dropped",
        "run-as-non-root": "run-as-root-allowed",
        "read-only-root-filesystem": "writable-root-filesystem",
        "seccomp-profile": "seccomp-unconfined",
        "selinux-options": "custom-selinux-options",
        "resource-requests": "missing-resource-requests",
        "resource-limits": "missing-resource-limits",
        "image-registry": "image-registry-not-allowed",
        "image-pull-policy": "mutable-image-not-pulled",
        # Checks that were built ad hoc by their helpers and now live in the registry.
        "namespace-pod-security": "namespace-pod-security-too-weak",
        "image-vulnerabilities": "image-vulnerable",
        "network-isolation": "network-not-isolated",
        "network-default-deny": "network-default-deny-missing",
        "network-egress-restricted": "network-egress-unrestricted",
        "network-policy-effective": "network-policy-ineffective",
        "network-reachability": "network-reachability-unexpected",
        "network-ingress-from": "network-ingress-from-allowed",
        "rbac-cluster-admin": "rbac-cluster-admin-subject",
        "rbac-access": "rbac-access-unexpected",
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

        An id renamed in ``RENAMED_IDS`` resolves to its new check with a DeprecationWarning
        (unless a check of the old id itself was added, e.g. by a plugin).
        """
        if check_id not in self._checks and check_id in RENAMED_IDS:
            new = RENAMED_IDS[check_id]
            _deprecation.warn(f"check id {check_id!r}", f"{new!r}")
            check_id = new
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
    "RENAMED_IDS",
    "Category",
    "Check",
    "CheckKind",
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
