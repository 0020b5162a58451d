"""host-path-volume.

Pod Security Standards, Baseline, "HostPath Volumes": "HostPath volumes must be forbidden."
Restricted field: ``spec.volumes[*].hostPath``; allowed value: undefined/nil
(k8s.io/pod-security-admission ``policy/check_hostPathVolumes.go``, control ``hostPathVolumes``, v1.0).

Builds on the upstream control (``checks/pss/check_host_path_volumes.py``, reported once per pod as
``pss-host-path-volumes``): the volumes it forbids are reported one by one, with their host path.

``configure(allowed)`` returns a variant (same id) that tolerates hostPath volumes on the given host
directories, for teams whose policy is "no hostPath except /var/log for the log shipper".
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Iterable, Iterator, Mapping

from pytest_k8ssec.checks._check import Category, Check, Evaluate, Severity, Violation, one_variant_per_argument
from pytest_k8ssec.checks.pss import check_host_path_volumes
from pytest_k8ssec.checks.pss._helpers import Outcome
from pytest_k8ssec.checks.pss._registry import outcome
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.workloads import pod_spec


def normalize_host_path(path: str) -> str:
    """``path`` with ``.``, ``..``, repeated and trailing slashes resolved, as the host would read it.

    The API server rejects a hostPath with ``..`` components, but a manifest that was never
    applied can hold one, and an allowlist must not be walked out of with it. Symlinks on the host cannot be seen from a manifest and are not resolved. POSIX lets a path
    start with exactly two slashes mean something else, so ``normpath`` keeps ``//etc``; Linux
    treats it as ``/etc``, and so do we.
    """
    normalized = posixpath.normpath(path)
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    return normalized


def is_within(path: str, directory: str) -> bool:
    """True if normalized ``path`` is ``directory`` or lies under it, compared component by component.

    ``/var/logs`` is not within ``/var/log``: a plain prefix test would say it is.
    """
    if directory == "/":
        return path.startswith("/")
    return path == directory or path.startswith(directory + "/")


def host_path_volumes(obj: K8sObject) -> Iterator[tuple[str, str, str | None]]:
    """``(field path, volume name, hostPath.path or None)`` for each hostPath volume of a workload.

    The path is ``None`` when it is missing, empty or not a string.

    A ``hostPath`` key with any non-null value counts: a malformed ``hostPath: /etc`` is still
    someone asking for the host's filesystem (malformed-object reports the type error).
    """
    ref = pod_spec(obj)
    if ref is None:
        return
    for index, volume in enumerate(as_list(ref.spec.get("volumes"))):
        if not isinstance(volume, Mapping) or volume.get("hostPath") is None:
            continue
        name = volume.get("name")
        path = as_mapping(volume.get("hostPath")).get("path")
        yield (
            f"{ref.path}.volumes[{index}].hostPath",
            name if isinstance(name, str) else "",
            path if isinstance(path, str) and path else None,
        )


def shown_path(path: str, read_relative_from_root: bool = False) -> str:
    """``path`` quoted, plus what it resolves to when that differs (``..`` must not hide ``/etc``)."""
    if not path.startswith("/"):
        if read_relative_from_root:
            return f'"{path}" (relative, read as {normalize_host_path("/" + path)})'
        return f'"{path}" (a relative path)'
    normalized = normalize_host_path(path)
    return f'"{path}"' if normalized == path else f'"{path}" (resolves to {normalized})'


def _message(name: str, path: str | None) -> str:
    if path is None:
        return f'volume "{name}" is a hostPath volume without a valid path'
    return f'volume "{name}" mounts host path {shown_path(path)}'


def allowed_directories(allowed: Iterable[str]) -> tuple[str, ...]:
    """``allowed`` host paths, validated and normalized, for ``is_allowed``.

    Raises ``ValueError`` for an entry that is not an absolute path and ``TypeError`` for a bare
    string (a lone string is iterable too: "/var/log" must not become "/", "v", "a", ...).
    """
    if isinstance(allowed, str):
        raise TypeError("allowed must be a collection of host paths, not a single string")
    directories: list[str] = []
    for entry in allowed:
        if not isinstance(entry, str) or not entry.startswith("/"):
            raise ValueError(f"allowed host path {entry!r} must be an absolute path")
        directories.append(normalize_host_path(entry))
    return tuple(directories)


def is_allowed(path: str | None, directories: tuple[str, ...]) -> bool:
    """True if host ``path`` is one of ``directories`` or lies under one, after normalizing it.

    A missing or relative path is never allowed: where it lands on the host is not known.
    """
    if path is None or not path.startswith("/"):
        return False
    normalized = normalize_host_path(path)
    return any(is_within(normalized, directory) for directory in directories)


def _make_evaluate(allowed: tuple[str, ...]) -> Evaluate:
    def evaluate(obj: K8sObject) -> Iterable[Violation]:
        found = outcome(check_host_path_volumes.CONTROL, obj)
        # The common answer (nothing to report) without building a generator.
        return () if found.allowed else violations(obj, found)

    def violations(obj: K8sObject, found: Outcome) -> Iterator[Violation]:
        for field_path, name, path in host_path_volumes(obj):
            if field_path in found.paths and not is_allowed(path, allowed):
                yield Violation(field_path, _message(name, path))

    return evaluate


CHECK = Check(
    id="host-path-volume",
    title="HostPath volume",
    summary="Pods must not use hostPath volumes: they expose the node's filesystem to the container.",
    remediation="Replace the hostPath volume with an emptyDir, configMap, secret, projected or persistentVolumeClaim volume.",
    category=Category.HOST,
    severity=Severity.HIGH,
    evaluate=_make_evaluate(()),
    controls=("PSS-baseline-hostpath-volumes", "CIS-5.2.11", "NSA-pod-security-enforcement", "MITRE-T1611"),
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",),
)


def configure(allowed: Iterable[str]) -> Check:
    """``host-path-volume`` that does not report volumes on (or under) the ``allowed`` host paths.

    Entries are normalized like the volume paths, so ``/var/log/`` allows ``/var/log/pods`` while
    ``/var/log/../../etc`` (which is ``/etc``) stays reported. Raises ``ValueError`` for an entry
    that is not an absolute path and ``TypeError`` for a bare string.
    """
    return _configured(allowed_directories(allowed))


@one_variant_per_argument
def _configured(directories: tuple[str, ...]) -> Check:
    return dataclasses.replace(CHECK, evaluate=_make_evaluate(directories))
