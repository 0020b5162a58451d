"""pytest entry point (``-p no:k8ssec`` disables it): wiring only."""

from __future__ import annotations

import pytest

from pytest_k8ssec import hookspec
from pytest_k8ssec.checks import Registry, builtin_registry, set_active_registry

pytest_plugins = (
    "pytest_k8ssec.fixtures.inventory",
    "pytest_k8ssec.reporting",
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
    from pytest_k8ssec.fixtures.inventory import STATE_KEY

    state = config.stash.get(STATE_KEY, None)
    if state is None:
        return []
    sources = ", ".join(state.settings.manifests) if state.settings.manifests else "none (pass --k8s-manifests)"
    return [f"k8ssec: manifests: {sources}"]
