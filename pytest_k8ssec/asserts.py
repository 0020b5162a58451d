"""Assertion helpers: thin wrappers that run checks through the engine and fail with a readable message.

Each helper takes one object or an iterable of them (K8sObject, or a plain manifest dict), raises
``SecurityAssertionError`` naming object, provenance, field path, container and fix, and never
passes on nothing: no objects, or none the checks judge, is a failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Union

from pytest_k8ssec import _recording
from pytest_k8ssec.checks import active_registry, builtin_registry
from pytest_k8ssec.checks import capabilities_added, host_path_volume, sensitive_host_path
from pytest_k8ssec.checks._check import Check
from pytest_k8ssec.engine import Finding, evaluate
from pytest_k8ssec.errors import SecurityAssertionError
from pytest_k8ssec.model.objects import K8sObject, Provenance

Objects = Union[K8sObject, Mapping[str, Any], Iterable[Union[K8sObject, Mapping[str, Any]]]]
CheckRef = Union[str, Check]

# Keep failure output linear in the number of findings and bounded for huge selections
# (pytest-dev/pytest#13360: long failure texts times many tests make the summary quadratic).
MAX_OBJECTS_SHOWN = 25
MAX_VIOLATIONS_SHOWN = 20


def _objects(objs: Objects) -> list[K8sObject]:
    if isinstance(objs, K8sObject):
        return [objs]
    if isinstance(objs, Mapping):
        return [K8sObject(objs, Provenance("<dict>"))]
    result = []
    for obj in objs:
        if isinstance(obj, K8sObject):
            result.append(obj)
        elif isinstance(obj, Mapping):
            result.append(K8sObject(obj, Provenance("<dict>")))
        else:
            raise TypeError(f"expected K8sObject or a manifest dict, got {type(obj).__name__}")
    return result


def _resolve(checks: CheckRef | Iterable[CheckRef]) -> list[Check]:
    refs = [checks] if isinstance(checks, (str, Check)) else list(checks)
    registry = active_registry()
    return [ref if isinstance(ref, Check) else registry.get(ref) for ref in refs]


def format_findings(title: str, findings: Sequence[Finding]) -> str:
    """The failure text: a one-line summary, then per object its violations and the fix."""
    by_object: dict[int, list[Finding]] = {}
    order: list[K8sObject] = []
    for finding in findings:
        key = id(finding.obj)
        if key not in by_object:
            by_object[key] = []
            order.append(finding.obj)
        by_object[key].append(finding)
    count = len(findings)
    noun = "violation" if count == 1 else "violations"
    lines: list[str]
    if len(order) == 1:
        obj = order[0]
        lines = [f"{title}: {count} {noun} in {obj.display} ({obj.provenance})"]
    else:
        lines = [f"{title}: {count} {noun} in {len(order)} objects"]
    for obj in order[:MAX_OBJECTS_SHOWN]:
        if len(order) > 1:
            lines.append(f"{obj.display} ({obj.provenance})")
        own = by_object[id(obj)]
        checks = list(dict.fromkeys(f.check for f in own))
        for check in checks:
            mine = [f for f in own if f.check is check]
            prefix = f"  [{check.id}] " if len(checks) > 1 or check.id not in title else "  "
            for finding in mine[:MAX_VIOLATIONS_SHOWN]:
                where = f"{finding.path}: " if finding.path else ""
                lines.append(f"{prefix}- {where}{finding.message}")
            if len(mine) > MAX_VIOLATIONS_SHOWN:
                lines.append(f"{prefix}- ... and {len(mine) - MAX_VIOLATIONS_SHOWN} more")
            lines.append(f"  fix: {check.remediation}")
    if len(order) > MAX_OBJECTS_SHOWN:
        lines.append(
            f"... and {len(order) - MAX_OBJECTS_SHOWN} more objects (every finding is attached to the "
            "exception as .findings and to the test report)"
        )
    return "\n".join(lines)


def _run(title: str, checks: Sequence[Check], objs: Objects) -> None:
    __tracebackhide__ = True
    objects = _objects(objs)
    if not objects:
        raise SecurityAssertionError(f"{title}: no objects given; nothing was checked (an empty selection never passes)")
    if not any(check.applies_to(obj) for obj in objects for check in checks):
        kinds = sorted({obj.kind for obj in objects})
        raise SecurityAssertionError(
            f"{title}: none of the {len(objects)} given objects ({', '.join(kinds)}) is one these checks "
            "judge; nothing was checked"
        )
    # A malformed object must not pass a check that could not read it (fail closed).
    schema = builtin_registry().get("malformed-object")
    run = [schema, *(c for c in checks if c is not schema)]
    findings = evaluate(run, objects)
    _recording.record(title, run, len(objects), findings)
    if findings:
        raise SecurityAssertionError(format_findings(title, findings), findings)


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


def _named(check_ids: Sequence[str], objs: Objects) -> None:
    __tracebackhide__ = True
    checks = [builtin_registry().get(i) for i in check_ids]
    _run(", ".join(check_ids), checks, objs)


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
    _named(("run-as-non-root", "run-as-user-root"), objs)


def assert_read_only_root_filesystem(objs: Objects) -> None:
    """Assert every container sets ``readOnlyRootFilesystem: true``."""
    __tracebackhide__ = True
    _named(("read-only-root-filesystem",), objs)


def assert_capabilities(objs: Objects, drop_all: bool = True, allowed_add: Iterable[str] = ()) -> None:
    """Assert containers add no capability outside ``allowed_add`` and (by default) drop ``ALL``.

    Args:
        objs: one object or an iterable of objects.
        drop_all: require ``capabilities.drop`` to contain ``"ALL"``.
        allowed_add: capabilities a container may add (exact names, e.g. ``"NET_BIND_SERVICE"``).
    """
    __tracebackhide__ = True
    checks = [capabilities_added.configure(allowed_add)]
    if drop_all:
        checks.append(builtin_registry().get("capabilities-drop-all"))
    _run(", ".join(c.id for c in checks), checks, objs)


def assert_no_host_namespaces(objs: Objects) -> None:
    """Assert no pod shares the host's network, PID or IPC namespace."""
    __tracebackhide__ = True
    _named(("host-namespaces",), objs)


def assert_no_host_path(objs: Objects, allowed: Iterable[str] = ()) -> None:
    """Assert no pod mounts a hostPath volume, except paths under ``allowed``.

    Sensitive host paths (``/``, the container runtime socket, ``/etc``, ...) are reported as
    such; listing one in ``allowed`` is an explicit decision and exempts it too.
    """
    __tracebackhide__ = True
    allowed = tuple(allowed)
    checks = [host_path_volume.configure(allowed), sensitive_host_path.configure(allowed)]
    _run("host-path-volume, sensitive-host-path", checks, objs)


def assert_no_host_ports(objs: Objects) -> None:
    """Assert no container binds a host port."""
    __tracebackhide__ = True
    _named(("host-port",), objs)


def assert_seccomp(objs: Objects) -> None:
    """Assert every container runs with a RuntimeDefault or Localhost seccomp profile, never Unconfined."""
    __tracebackhide__ = True
    _named(("seccomp-profile",), objs)


def assert_no_service_account_token_automount(objs: Objects) -> None:
    """Assert pods set ``automountServiceAccountToken: false``."""
    __tracebackhide__ = True
    _named(("service-account-token-automount",), objs)


def assert_resources(objs: Objects, requests: bool = True, limits: bool = True) -> None:
    """Assert every container sets CPU and memory requests and/or limits."""
    __tracebackhide__ = True
    ids = [i for i, wanted in (("resource-requests", requests), ("resource-limits", limits)) if wanted]
    if not ids:
        raise ValueError("assert_resources: requests and limits are both False; nothing to assert")
    _named(ids, objs)
