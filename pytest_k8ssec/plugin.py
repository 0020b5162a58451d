"""pytest entry point (``-p no:k8ssec`` disables it): wiring only."""

from __future__ import annotations

import pytest

from pytest_k8ssec import hookspec
from pytest_k8ssec.checks import Registry, builtin_registry, set_active_registry

pytest_plugins = (
    "pytest_k8ssec.fixtures.targets",
    "pytest_k8ssec.fixtures.manifest_errors",
    "pytest_k8ssec.fixtures.inventory",
    "pytest_k8ssec.fixtures.rbac",
    # Before network, which imports it: a plugin module imported before pytest registers it
    # cannot be assert-rewritten, and pytest warns about that on every run.
    "pytest_k8ssec.fixtures.local_control_plane",
    "pytest_k8ssec.fixtures.network",
    "pytest_k8ssec.fixtures.cluster",
    "pytest_k8ssec.fixtures.pod_host",
    "pytest_k8ssec.fixtures.node_host",
    "pytest_k8ssec.fixtures.profile",
    "pytest_k8ssec.reporting.gate",
    "pytest_k8ssec.reporting.controls",
    # Before pytest_reports, which imports it (see above).
    "pytest_k8ssec.reporting.report_options",
    "pytest_k8ssec.reporting.pytest_reports",
)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspec)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    registry = Registry(builtin_registry())
    config.hook.pytest_k8ssec_register_checks(registry=registry)
    set_active_registry(registry)


def pytest_unconfigure(config: pytest.Config) -> None:
    set_active_registry(None)


def pytest_report_header(config: pytest.Config) -> list[str]:
    from pytest_k8ssec.fixtures.manifest_errors import header_lines
    from pytest_k8ssec.fixtures.targets import STATE_KEY

    state = config.stash.get(STATE_KEY, None)
    if state is None:
        return []
    settings = state.settings
    lines = []
    if settings.manifests:
        lines.append(f"k8ssec: manifests: {', '.join(settings.manifests)}")
        lines.extend(header_lines(config))
    if settings.contexts:
        kubeconfig = settings.cluster.kubeconfig or "$KUBECONFIG / ~/.kube/config"
        lines.append(f"k8ssec: contexts: {', '.join(settings.contexts)} (kubeconfig {kubeconfig})")
    if settings.in_cluster:
        lines.append("k8ssec: in-cluster configuration")
    return lines or ["k8ssec: no targets (pass --k8s-manifests or --k8s-context)"]
