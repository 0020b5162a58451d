"""Assertion helpers for workloads: container privileges, host access, resources, and any check by id.

Each helper takes one object or an iterable of them (K8sObject, or a plain manifest dict), raises
``SecurityAssertionError`` naming object, provenance, field path, container and fix, and never
passes on nothing: no objects, or none the checks judge, is a failure. Images are in
``asserts/images.py``, the Pod Security Standards in ``asserts/pod_security.py``.
"""

from __future__ import annotations

from collections.abc import Iterable

from pytest_k8ssec._deprecation import keyword_only
from pytest_k8ssec.asserts._failure import CheckRef, Objects, _named, _resolve, _run
from pytest_k8ssec.checks import (
    builtin_registry,
    capabilities_added,
    host_path_volume,
    sensitive_host_path,
)


def assert_passes(checks: CheckRef | Iterable[CheckRef], objs: Objects) -> None:
    """Assert that ``objs`` pass the given checks (ids or Check objects).

    Args:
        checks: a check id such as ``"privileged-container"``, a Check, or several.
        objs: one object or an iterable of objects.

    Raises:
        SecurityAssertionError: a violation, no object given, or no object the checks judge.
        KeyError: an unknown check id (the message lists the known ones).
    """
    __tracebackhide__ = True
    resolved = _resolve(checks)
    title = ", ".join(c.id for c in resolved) if len(resolved) <= 3 else f"{len(resolved)} checks"
    _run(title, resolved, objs)


def assert_not_privileged(objs: Objects) -> None:
    """Assert no container runs privileged (``securityContext.privileged: true``)."""
    __tracebackhide__ = True
    _named(("privileged-container",), objs)


def assert_no_privilege_escalation(objs: Objects) -> None:
    """Assert every container sets ``allowPrivilegeEscalation: false`` explicitly."""
    __tracebackhide__ = True
    _named(("privilege-escalation-allowed",), objs)


def assert_runs_as_non_root(objs: Objects) -> None:
    """Assert every container must run as non-root (``runAsNonRoot: true``) and none sets ``runAsUser: 0``."""
    __tracebackhide__ = True
    _named(("run-as-root-allowed", "run-as-user-root"), objs)


def assert_read_only_root_filesystem(objs: Objects) -> None:
    """Assert every container sets ``readOnlyRootFilesystem: true``."""
    __tracebackhide__ = True
    _named(("writable-root-filesystem",), objs)


@keyword_only("drop_all", "allow", renamed={"allowed_add": "allow"})
def assert_capabilities(objs: Objects, *, drop_all: bool = True, allow: Iterable[str] = ()) -> None:
    """Assert containers add no capability outside ``allow`` and (by default) drop ``ALL``.

    Args:
        objs: one object or an iterable of objects.
        drop_all: require ``capabilities.drop`` to contain ``"ALL"``.
        allow: the capabilities a container may add (exact names, e.g. ``"NET_BIND_SERVICE"``).
    """
    __tracebackhide__ = True
    checks = [capabilities_added.configure(allow)]
    if drop_all:
        checks.append(builtin_registry().get("capabilities-not-dropped"))
    _run(", ".join(c.id for c in checks), checks, objs)


def assert_no_host_namespaces(objs: Objects) -> None:
    """Assert no pod shares the host's network, PID or IPC namespace."""
    __tracebackhide__ = True
    _named(("host-namespaces",), objs)


@keyword_only("allow", renamed={"allowed": "allow"})
def assert_no_host_path(objs: Objects, *, allow: Iterable[str] = ()) -> None:
    """Assert no pod mounts a hostPath volume, except paths under ``allow``.

    Sensitive host paths (``/``, the container runtime socket, ``/etc``, ...) are reported as
    such; listing one in ``allow`` is an explicit decision and exempts it too.
    """
    __tracebackhide__ = True
    allowed = tuple(allow)
    checks = [host_path_volume.configure(allowed), sensitive_host_path.configure(allowed)]
    _run("host-path-volume, sensitive-host-path", checks, objs)


def assert_no_host_ports(objs: Objects) -> None:
    """Assert no container binds a host port."""
    __tracebackhide__ = True
    _named(("host-port",), objs)


def assert_seccomp(objs: Objects) -> None:
    """Assert every container runs with a RuntimeDefault or Localhost seccomp profile, never Unconfined."""
    __tracebackhide__ = True
    _named(("seccomp-unconfined",), objs)


def assert_no_service_account_token_automount(objs: Objects) -> None:
    """Assert pods set ``automountServiceAccountToken: false``."""
    __tracebackhide__ = True
    _named(("service-account-token-automount",), objs)


@keyword_only("requests", "limits")
def assert_resources(objs: Objects, *, requests: bool = True, limits: bool = True) -> None:
    """Assert every container sets CPU and memory requests and/or limits."""
    __tracebackhide__ = True
    ids = [i for i, wanted in (("missing-resource-requests", requests), ("missing-resource-limits", limits)) if wanted]
    if not ids:
        raise ValueError("assert_resources: requests and limits are both False; nothing to assert")
    _named(ids, objs)
