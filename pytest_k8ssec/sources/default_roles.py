"""The default (bootstrap) RBAC objects shipped in pytest_k8ssec/data/rbac/, read as the API server reads YAML.

``default-clusterroles-<major>.<minor>.yaml`` and ``default-clusterrolebindings-<major>.<minor>.yaml``
are generated from a real kube-apiserver by scripts/gen_default_clusterroles.py. They are read
through the manifest loader (``sources.manifests.load_text``), the project's one YAML path, and
judged by ``pytest_k8ssec.model.rbac.default_roles``. ``--k8s-rbac-defaults`` picks the version a
manifest target's bindings resolve to.
"""

from __future__ import annotations

import functools
import re
import sys
from typing import TYPE_CHECKING, Final

from pytest_k8ssec.errors import ManifestError
from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.rbac import DefaultRoles, PolicyRule, RbacBinding, RbacError
from pytest_k8ssec.model.rbac.default_roles import chosen_version, defaults_file

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

_DEFAULTS_PACKAGE: Final = "pytest_k8ssec"
_DEFAULTS_DIR: Final = ("data", "rbac")
_DEFAULTS_FILE: Final = re.compile(r"^default-clusterroles-(\d+)\.(\d+)\.yaml$")


def _defaults_dir() -> Traversable:
    # Imported here: importlib.resources costs ~20 ms, and config.py loads this module on every pytest run.
    from importlib import resources

    return resources.files(_DEFAULTS_PACKAGE).joinpath(_DEFAULTS_DIR[0]).joinpath(_DEFAULTS_DIR[1])


def default_versions() -> list[str]:
    """Kubernetes versions whose default ClusterRoles are shipped, oldest first."""
    directory = _defaults_dir()
    found: list[tuple[int, int]] = []
    if directory.is_dir():
        for entry in directory.iterdir():
            match = _DEFAULTS_FILE.match(entry.name)
            if match:
                found.append((int(match[1]), int(match[2])))
    return [f"{major}.{minor}" for major, minor in sorted(found)]


def load_default_roles_text(text: str | bytes, source: str) -> tuple[K8sObject, ...]:
    """Objects of a defaults file (a YAML list, a ``kind: List``, or a stream of documents)."""
    # Imported here: the manifest loader is not needed by runs that never build an RBAC model.
    from pytest_k8ssec.sources.manifests import load_text

    try:
        objects = load_text(text, source)
    except ManifestError as exc:
        raise RbacError(str(exc)) from None
    return defaults_file(objects, source)


def _read(name: str) -> tuple[K8sObject, ...]:
    return load_default_roles_text(
        _defaults_dir().joinpath(name).read_bytes(), f"{_DEFAULTS_PACKAGE}/{'/'.join(_DEFAULTS_DIR)}/{name}"
    )


@functools.lru_cache(maxsize=8)
def default_roles(version: str = "latest") -> tuple[K8sObject, ...]:
    """The default (bootstrap) RBAC objects of a Kubernetes version (``"1.37"``, or ``"latest"``)."""
    return _read(f"default-clusterroles-{chosen_version(version, default_versions())}.yaml")


@functools.lru_cache(maxsize=8)
def default_bindings(version: str = "latest") -> tuple[K8sObject, ...]:
    """The default (bootstrap) ClusterRoleBindings of a shipped version (reference data; ``()`` if not shipped).

    ``RbacModel`` never adds them: a manifest target binds subjects itself, and a live target lists
    its own. Helpers use them to tell the cluster's own bindings from widened or added ones.
    """
    versions = default_versions()
    chosen = (versions[-1] if versions else "") if version == "latest" else version.removeprefix("v")
    name = f"default-clusterrolebindings-{chosen}.yaml"
    if not chosen or not _defaults_dir().joinpath(name).is_file():
        return ()
    return _read(name)


@functools.lru_cache(maxsize=1)
def shipped() -> DefaultRoles:
    """The default roles and bindings of every shipped version, united."""
    versions = default_versions()
    return DefaultRoles(
        (obj for version in versions for obj in default_roles(version)),
        (obj for version in versions for obj in default_bindings(version)),
    )


def is_default_rule(role_kind: str, role_name: str, rule: PolicyRule) -> bool:
    """A rule that a default (bootstrap) ClusterRole of a shipped Kubernetes version has, verbatim."""
    return shipped().is_default_rule(role_kind, role_name, rule)


def is_default_binding(binding: RbacBinding | K8sObject) -> bool:
    """A binding the cluster ships, not widened (see ``DefaultRoles.is_default_binding``)."""
    return shipped().is_default_binding(binding)
