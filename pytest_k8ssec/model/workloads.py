"""The pod spec inside every workload kind, found in one place.

Kubernetes nests the pod template differently per kind; PSA's ``ExtractPodSpec`` lists the same
kinds. Matching is by API group and kind, so a CRD that happens to be called ``Deployment`` is
not mistaken for one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pytest_k8ssec.model.objects import K8sObject, api_group, as_mapping

# (group, kind) -> path of the pod template's metadata/spec parent, from the object root.
_TEMPLATE_PATHS: Final[dict[tuple[str, str], tuple[str, ...]]] = {
    ("", "Pod"): (),
    ("", "PodTemplate"): ("template",),
    ("", "ReplicationController"): ("spec", "template"),
    ("apps", "Deployment"): ("spec", "template"),
    ("apps", "StatefulSet"): ("spec", "template"),
    ("apps", "DaemonSet"): ("spec", "template"),
    ("apps", "ReplicaSet"): ("spec", "template"),
    # Old manifests still carry these groups; the pod template sits in the same place.
    ("extensions", "Deployment"): ("spec", "template"),
    ("extensions", "DaemonSet"): ("spec", "template"),
    ("extensions", "ReplicaSet"): ("spec", "template"),
    ("batch", "Job"): ("spec", "template"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template"),
}

WORKLOAD_KINDS: Final = frozenset(kind for _, kind in _TEMPLATE_PATHS)


@dataclass(frozen=True, slots=True)
class PodSpecRef:
    """The pod spec of a workload, its pod (template) metadata, and their field paths."""

    spec: Mapping[str, Any]
    path: str
    metadata: Mapping[str, Any]
    metadata_path: str
    # True when the spec or its parents are missing or not mappings (reported by malformed-object).
    malformed: bool
    #: ``spec.securityContext`` (empty if missing or malformed), and whether ``spec.os.name`` is
    #: ``windows``: found once, since most checks of the pod ask one or the other (see
    #: ``model.security``).
    security_context: Mapping[str, Any] = dataclasses.field(init=False, repr=False, compare=False)
    windows: bool = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spec = self.spec
        object.__setattr__(self, "security_context", as_mapping(spec.get("securityContext")))
        os = spec.get("os")
        object.__setattr__(self, "windows", os is not None and as_mapping(os).get("name") == "windows")


# (apiVersion, kind) -> is a workload. Checks ask it of every object (hundreds of thousands of
# times per run); the pairs seen are few (one per kind and version), and the answer needs no
# apiVersion parsing once known.
_WORKLOAD_BY_VERSION: dict[tuple[str, str], bool] = {}


def is_workload(obj: K8sObject) -> bool:
    """True for the kinds that carry a pod spec (Pod, Deployment, ..., CronJob, PodTemplate)."""
    key = (obj.api_version, obj.kind)
    known = _WORKLOAD_BY_VERSION.get(key)
    if known is None:
        known = (api_group(obj.api_version), obj.kind) in _TEMPLATE_PATHS
        if len(_WORKLOAD_BY_VERSION) < 4096:  # bounded: apiVersions are free text in manifests
            _WORKLOAD_BY_VERSION[key] = known
    return known


def _paths(parents: tuple[str, ...]) -> tuple[str, str]:
    prefix = ".".join(parents)
    return (f"{prefix}.spec", f"{prefix}.metadata") if prefix else ("spec", "metadata")


# The field paths of each kind's pod spec and metadata, formatted once rather than per object.
_SPEC_PATHS: Final = {key: _paths(parents) for key, parents in _TEMPLATE_PATHS.items()}


def _is_mapping(value: object) -> bool:
    # Loaded manifests hold plain dicts: the exact-type test spares abc's __instancecheck__.
    return type(value) is dict or isinstance(value, Mapping)


def _extract(obj: K8sObject) -> PodSpecRef | None:
    key = (obj.api_group, obj.kind)
    parents = _TEMPLATE_PATHS.get(key)
    if parents is None:
        return None
    node: object = obj.raw
    malformed = False
    for name in parents:
        node = node.get(name) if _is_mapping(node) else None  # type: ignore[attr-defined]
        if not _is_mapping(node):
            malformed = True
            break
    parent = as_mapping(node)
    spec = parent.get("spec")
    metadata = parent.get("metadata")
    malformed = malformed or not _is_mapping(spec)
    malformed = malformed or (metadata is not None and not _is_mapping(metadata))
    spec_path, metadata_path = _SPEC_PATHS[key]
    return PodSpecRef(
        spec=as_mapping(spec),
        path=spec_path,
        metadata=as_mapping(metadata),
        metadata_path=metadata_path,
        malformed=malformed,
    )


def pod_spec(obj: K8sObject) -> PodSpecRef | None:
    """The pod spec of a workload object, or ``None`` for kinds without one."""
    # Every workload check asks this first, so it reads the object's cache itself rather than
    # through K8sObject.memo (one call less, on about a hundred thousand calls per 5k workloads).
    cache = obj._cache
    if "pod_spec" in cache:
        found: PodSpecRef | None = cache["pod_spec"]
        return found
    return obj.memo("pod_spec", _extract)  # type: ignore[no-any-return]
