"""pytest-k8ssec: Kubernetes security requirements as ordinary pytest tests.

The public API is exactly ``__all__``; everything else is internal.

pytest imports this package on every run through the plugin's entry point, also in projects that
never call a helper, so the names are imported on first use (PEP 562): a run pays only for the
modules it needs (eager imports of every helper module made each pytest run 0.25 s slower).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_k8ssec.asserts.admission import (
        AdmissionResult,
        assert_admission_allows,
        assert_admission_rejects,
        assert_pod_security_enforced,
    )
    from pytest_k8ssec.asserts.credentials import (
        assert_no_credential_literals,
        assert_no_secrets_in_manifests,
        assert_not_default_service_account,
        assert_secrets_as_files,
    )
    from pytest_k8ssec.asserts.images import (
        assert_images_from,
        assert_images_not_from,
        assert_images_pinned,
        assert_no_latest_tag,
        assert_pull_policy,
    )
    from pytest_k8ssec.asserts.inpod import (
        Connection,
        assert_in_pod_cannot_connect,
        assert_in_pod_connects,
        assert_in_pod_no_package_manager,
        assert_in_pod_no_shell,
        assert_in_pod_read_only_root_filesystem,
        assert_in_pod_runs_as_non_root,
        probe_connection,
    )
    from pytest_k8ssec.asserts.inpod import assert_main_process_not_root as assert_main_process_not_root
    from pytest_k8ssec.asserts.inpod import assert_no_package_manager as assert_no_package_manager
    from pytest_k8ssec.asserts.inpod import assert_no_shell as assert_no_shell
    from pytest_k8ssec.asserts.inpod import assert_root_filesystem_read_only as assert_root_filesystem_read_only
    from pytest_k8ssec.asserts.network import (
        DirectionName,
        assert_default_deny,
        assert_egress_restricted,
        assert_isolated,
        assert_network_policies_effective,
        assert_no_ingress_from,
        assert_not_reachable,
        assert_reachable,
    )
    from pytest_k8ssec.asserts.nodes import (
        ComponentProcess,
        NodeHost,
        assert_component_flags,
        assert_node_files,
        component_processes,
        node_files,
    )
    from pytest_k8ssec.asserts.pod_security import (
        assert_namespace_compliant,
        assert_namespace_pod_security,
        assert_pod_security,
    )
    from pytest_k8ssec.asserts.rbac import (
        AccessReview,
        RbacView,
        assert_can,
        assert_cannot,
        assert_no_anonymous_access,
        assert_no_risky_permissions,
        assert_no_wildcard_rules,
        assert_not_cluster_admin,
    )
    from pytest_k8ssec.asserts.vulnerabilities import assert_no_vulnerabilities
    from pytest_k8ssec.asserts.workloads import (
        assert_capabilities,
        assert_no_host_namespaces,
        assert_no_host_path,
        assert_no_host_ports,
        assert_no_privilege_escalation,
        assert_no_service_account_token_automount,
        assert_not_privileged,
        assert_passes,
        assert_read_only_root_filesystem,
        assert_resources,
        assert_runs_as_non_root,
        assert_seccomp,
    )
    from pytest_k8ssec.checks import Category, Check, CheckKind, PssControl, Registry, Severity, Violation
    from pytest_k8ssec.checks.pss import Level, Mode, evaluate_pod_security
    from pytest_k8ssec.engine import Finding, evaluate
    from pytest_k8ssec.errors import (
        ClusterError,
        K8sSecError,
        K8sSecWarning,
        ManifestError,
        SecurityAssertionError,
    )
    from pytest_k8ssec.fixtures.cluster import K8sCluster, K8sNamespace
    from pytest_k8ssec.fixtures.pod_host import PodHost
    from pytest_k8ssec.fixtures.targets import Target
    from pytest_k8ssec.model.containers import ContainerRef, containers
    from pytest_k8ssec.model.images import ImageRef, ImageReferenceError, parse_image
    from pytest_k8ssec.model.inventory import Inventory, WorkloadNamespace
    from pytest_k8ssec.model.netpol import (
        Cidr,
        EndpointSpec,
        NetworkModel,
        NetworkPolicy,
        NetworkPolicyError,
        Pod,
        PolicyProblem,
        ReachabilityMatrix,
        RuleMatch,
        SideVerdict,
        Verdict,
    )
    from pytest_k8ssec.model.objects import K8sObject, Provenance
    from pytest_k8ssec.model.rbac import (
        Grant,
        Permission,
        PolicyRule,
        RbacError,
        RbacModel,
        RbacSubject,
        UserInfo,
    )
    from pytest_k8ssec.model.scan_reports import ScanReport, ScanReportError, SeverityName, Vulnerability
    from pytest_k8ssec.model.workloads import PodSpecRef, is_workload, pod_spec
    from pytest_k8ssec.reporting.network_page import network_report_html, write_network_report
    from pytest_k8ssec.sources.default_roles import default_roles
    from pytest_k8ssec.sources.manifests import load, load_file, load_text
    from pytest_k8ssec.sources.profile import Flow, Profile

# Where each public name lives; tests/unit/test_registry.py keeps it equal to ``__all__``.
_MODULES: dict[str, tuple[str, ...]] = {
    "pytest_k8ssec.asserts.admission": (
        "AdmissionResult",
        "assert_admission_allows",
        "assert_admission_rejects",
        "assert_pod_security_enforced",
    ),
    "pytest_k8ssec.asserts.images": (
        "assert_images_from",
        "assert_images_not_from",
        "assert_images_pinned",
        "assert_no_latest_tag",
        "assert_pull_policy",
    ),
    "pytest_k8ssec.asserts.pod_security": (
        "assert_namespace_compliant",
        "assert_namespace_pod_security",
        "assert_pod_security",
    ),
    "pytest_k8ssec.asserts.workloads": (
        "assert_capabilities",
        "assert_no_host_namespaces",
        "assert_no_host_path",
        "assert_no_host_ports",
        "assert_no_privilege_escalation",
        "assert_no_service_account_token_automount",
        "assert_not_privileged",
        "assert_passes",
        "assert_read_only_root_filesystem",
        "assert_resources",
        "assert_runs_as_non_root",
        "assert_seccomp",
    ),
    "pytest_k8ssec.asserts.credentials": (
        "assert_no_credential_literals",
        "assert_no_secrets_in_manifests",
        "assert_not_default_service_account",
        "assert_secrets_as_files",
    ),
    "pytest_k8ssec.asserts.nodes": (
        "ComponentProcess",
        "NodeHost",
        "assert_component_flags",
        "assert_node_files",
        "component_processes",
        "node_files",
    ),
    "pytest_k8ssec.asserts.inpod": (
        "Connection",
        "assert_in_pod_cannot_connect",
        "assert_in_pod_connects",
        "assert_in_pod_no_package_manager",
        "assert_in_pod_no_shell",
        "assert_in_pod_read_only_root_filesystem",
        "assert_in_pod_runs_as_non_root",
        "probe_connection",
    ),
    "pytest_k8ssec.checks": (
        "Category",
        "Check",
        "CheckKind",
        "PssControl",
        "Registry",
        "Severity",
        "Violation",
    ),
    "pytest_k8ssec.engine": (
        "Finding",
        "evaluate",
    ),
    "pytest_k8ssec.errors": (
        "ClusterError",
        "K8sSecError",
        "K8sSecWarning",
        "ManifestError",
        "SecurityAssertionError",
    ),
    "pytest_k8ssec.model.containers": (
        "ContainerRef",
        "containers",
    ),
    "pytest_k8ssec.model.images": (
        "ImageRef",
        "ImageReferenceError",
        "parse_image",
    ),
    "pytest_k8ssec.fixtures.cluster": (
        "K8sCluster",
        "K8sNamespace",
    ),
    "pytest_k8ssec.fixtures.pod_host": ("PodHost",),
    "pytest_k8ssec.fixtures.targets": ("Target",),
    "pytest_k8ssec.model.inventory": (
        "Inventory",
        "WorkloadNamespace",
    ),
    "pytest_k8ssec.model.netpol": (
        "Cidr",
        "EndpointSpec",
        "NetworkModel",
        "NetworkPolicy",
        "NetworkPolicyError",
        "Pod",
        "PolicyProblem",
        "ReachabilityMatrix",
        "RuleMatch",
        "SideVerdict",
        "Verdict",
    ),
    "pytest_k8ssec.model.objects": (
        "K8sObject",
        "Provenance",
    ),
    "pytest_k8ssec.model.rbac": (
        "Grant",
        "Permission",
        "PolicyRule",
        "RbacError",
        "RbacModel",
        "RbacSubject",
        "UserInfo",
    ),
    "pytest_k8ssec.model.scan_reports": (
        "ScanReport",
        "ScanReportError",
        "SeverityName",
        "Vulnerability",
    ),
    "pytest_k8ssec.model.workloads": (
        "PodSpecRef",
        "is_workload",
        "pod_spec",
    ),
    "pytest_k8ssec.reporting.network_page": ("network_report_html", "write_network_report"),
    "pytest_k8ssec.asserts.network": (
        "DirectionName",
        "assert_default_deny",
        "assert_egress_restricted",
        "assert_isolated",
        "assert_network_policies_effective",
        "assert_no_ingress_from",
        "assert_not_reachable",
        "assert_reachable",
    ),
    "pytest_k8ssec.checks.pss": (
        "Level",
        "Mode",
        "evaluate_pod_security",
    ),
    "pytest_k8ssec.asserts.rbac": (
        "AccessReview",
        "RbacView",
        "assert_can",
        "assert_cannot",
        "assert_no_anonymous_access",
        "assert_no_risky_permissions",
        "assert_no_wildcard_rules",
        "assert_not_cluster_admin",
    ),
    "pytest_k8ssec.sources.default_roles": ("default_roles",),
    "pytest_k8ssec.sources.manifests": (
        "load",
        "load_file",
        "load_text",
    ),
    "pytest_k8ssec.asserts.vulnerabilities": ("assert_no_vulnerabilities",),
    "pytest_k8ssec.sources.profile": ("Flow", "Profile"),
}
# Old public names, importable until 0.3.0 (each warns when called, naming its replacement); not
# in ``__all__``, so neither ``import *`` nor docs/api.md offers them.
_DEPRECATED: dict[str, str] = {
    "assert_main_process_not_root": "pytest_k8ssec.asserts.inpod",
    "assert_no_package_manager": "pytest_k8ssec.asserts.inpod",
    "assert_no_shell": "pytest_k8ssec.asserts.inpod",
    "assert_root_filesystem_read_only": "pytest_k8ssec.asserts.inpod",
}
_HOME: dict[str, str] = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name) or _DEPRECATED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = (
    "AccessReview",
    "AdmissionResult",
    "Category",
    "Check",
    "CheckKind",
    "Cidr",
    "ClusterError",
    "ComponentProcess",
    "Connection",
    "ContainerRef",
    "DirectionName",
    "EndpointSpec",
    "Finding",
    "Flow",
    "Grant",
    "ImageRef",
    "ImageReferenceError",
    "Inventory",
    "K8sCluster",
    "K8sNamespace",
    "K8sObject",
    "K8sSecError",
    "K8sSecWarning",
    "Level",
    "ManifestError",
    "Mode",
    "NetworkModel",
    "NetworkPolicy",
    "NetworkPolicyError",
    "NodeHost",
    "Permission",
    "Pod",
    "PodHost",
    "PodSpecRef",
    "PolicyProblem",
    "PolicyRule",
    "Profile",
    "Provenance",
    "PssControl",
    "RbacError",
    "RbacModel",
    "RbacSubject",
    "RbacView",
    "ReachabilityMatrix",
    "Registry",
    "RuleMatch",
    "ScanReport",
    "ScanReportError",
    "SecurityAssertionError",
    "Severity",
    "SeverityName",
    "SideVerdict",
    "Target",
    "UserInfo",
    "Verdict",
    "Violation",
    "Vulnerability",
    "WorkloadNamespace",
    "assert_admission_allows",
    "assert_admission_rejects",
    "assert_can",
    "assert_cannot",
    "assert_capabilities",
    "assert_component_flags",
    "assert_default_deny",
    "assert_egress_restricted",
    "assert_images_from",
    "assert_images_not_from",
    "assert_images_pinned",
    "assert_in_pod_cannot_connect",
    "assert_in_pod_connects",
    "assert_in_pod_no_package_manager",
    "assert_in_pod_no_shell",
    "assert_in_pod_read_only_root_filesystem",
    "assert_in_pod_runs_as_non_root",
    "assert_isolated",
    "assert_namespace_compliant",
    "assert_namespace_pod_security",
    "assert_network_policies_effective",
    "assert_no_anonymous_access",
    "assert_no_credential_literals",
    "assert_no_host_namespaces",
    "assert_no_host_path",
    "assert_no_host_ports",
    "assert_no_ingress_from",
    "assert_no_latest_tag",
    "assert_no_privilege_escalation",
    "assert_no_risky_permissions",
    "assert_no_secrets_in_manifests",
    "assert_no_service_account_token_automount",
    "assert_no_vulnerabilities",
    "assert_no_wildcard_rules",
    "assert_node_files",
    "assert_not_cluster_admin",
    "assert_not_default_service_account",
    "assert_not_privileged",
    "assert_not_reachable",
    "assert_passes",
    "assert_pod_security",
    "assert_pod_security_enforced",
    "assert_pull_policy",
    "assert_reachable",
    "assert_read_only_root_filesystem",
    "assert_resources",
    "assert_runs_as_non_root",
    "assert_seccomp",
    "assert_secrets_as_files",
    "component_processes",
    "containers",
    "default_roles",
    "evaluate",
    "evaluate_pod_security",
    "is_workload",
    "load",
    "load_file",
    "load_text",
    "network_report_html",
    "node_files",
    "parse_image",
    "pod_spec",
    "probe_connection",
    "write_network_report",
)
