"""K8sObject: a read-only view over one Kubernetes object (a camelCase dict) and where it came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

# Kinds whose objects have no namespace. Everything else that is built in is namespaced, and an
# unset namespace means "default", as kubectl applies it. Unknown kinds (CRDs) keep what they declare.
CLUSTER_SCOPED_KINDS: Final = frozenset(
    {
        "APIService",
        "CSIDriver",
        "CSINode",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ComponentStatus",
        "CustomResourceDefinition",
        "FlowSchema",
        "IngressClass",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "SelfSubjectAccessReview",
        "SelfSubjectReview",
        "SelfSubjectRulesReview",
        "StorageClass",
        "SubjectAccessReview",
        "TokenReview",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)

# Groups whose kinds we know; a kind outside them is a CRD and never assumed namespaced.
_BUILTIN_GROUPS: Final = frozenset(
    {
        "",
        "apps",
        "batch",
        "extensions",
        "policy",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "autoscaling",
        "scheduling.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "node.k8s.io",
        "certificates.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "authorization.k8s.io",
        "authentication.k8s.io",
        "events.k8s.io",
        "resource.k8s.io",
    }
)

#: The API groups whose kinds' scope this module knows (placement of manifests reads it too).
BUILTIN_GROUPS: Final = _BUILTIN_GROUPS

_EMPTY: Final[Mapping[str, Any]] = {}
_MISSING: Final = object()


def as_mapping(value: object) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one (malformed input is reported elsewhere)."""
    # Loaded manifests are plain dicts: the exact-type test spares abc's __instancecheck__, which
    # the checks would otherwise pay on every field they read.
    if type(value) is dict:
        return value
    if value is None:  # an unset field, the other common case
        return _EMPTY
    return value if isinstance(value, Mapping) else _EMPTY


def as_list(value: object) -> list[Any]:
    """``value`` if it is a list, else an empty list (a string is not a list of containers)."""
    return value if isinstance(value, list) else []


_CLUSTER_PREFIX: Final = "cluster "
#: The target name of objects read from manifests (a live object's target is its cluster context).
MANIFESTS_TARGET: Final = "manifests"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where an object came from: a file and line, stdin, a renderer, or a cluster context."""

    source: str
    line: int | None = None
    doc: int | None = None
    via: str | None = None

    @classmethod
    def of_cluster(cls, context: str) -> Provenance:
        """The provenance of an object listed from the cluster of kubeconfig ``context``."""
        return cls(f"{_CLUSTER_PREFIX}{context}")

    @property
    def from_cluster(self) -> bool:
        """True for an object listed from a live cluster (not read from a manifest)."""
        return self.source.startswith(_CLUSTER_PREFIX)

    @property
    def context(self) -> str | None:
        """The kubeconfig context of an object listed from a live cluster, else ``None``."""
        return self.source[len(_CLUSTER_PREFIX) :] if self.from_cluster else None

    def __str__(self) -> str:
        text = self.source
        if self.line is not None:
            text = f"{text}:{self.line}"
        elif self.doc is not None:
            text = f"{text}#doc{self.doc}"
        if self.via:
            text = f"{text} ({self.via})"
        return text


def api_group(api_version: str) -> str:
    """The API group of an apiVersion: ``apps/v1`` -> ``apps``, ``v1`` -> ``""`` (core)."""
    group, sep, _ = api_version.rpartition("/")
    return group if sep else ""


class K8sObject:
    """One Kubernetes object as the API would serve it: camelCase ``raw`` dict plus provenance.

    The view never copies or changes ``raw``; treat it as read-only. ``namespace`` is the
    effective namespace: what the object declares, else ``"default"`` for built-in namespaced
    kinds (as kubectl applies it), else ``None`` (cluster-scoped kinds, and CRDs that set none).
    """

    __slots__ = ("_cache", "api_version", "kind", "name", "namespace", "provenance", "raw")

    raw: Mapping[str, Any]
    provenance: Provenance
    kind: str
    api_version: str
    name: str
    namespace: str | None
    _cache: dict[str, Any]

    def __init__(self, raw: Mapping[str, Any], provenance: Provenance) -> None:
        metadata = as_mapping(raw.get("metadata"))
        kind = str(raw.get("kind", ""))
        api_version = str(raw.get("apiVersion", ""))
        declared = metadata.get("namespace")
        namespace: str | None
        if isinstance(declared, str) and declared:
            namespace = declared
        elif kind in CLUSTER_SCOPED_KINDS or api_group(api_version) not in _BUILTIN_GROUPS:
            namespace = None
        else:
            namespace = "default"
        setter = object.__setattr__
        setter(self, "raw", raw)
        setter(self, "provenance", provenance)
        setter(self, "kind", kind)
        setter(self, "api_version", api_version)
        # An object that only sets generateName (Jobs, Pods made by tools) is named by its prefix.
        setter(self, "name", str(metadata.get("name") or metadata.get("generateName") or ""))
        setter(self, "namespace", namespace)
        setter(self, "_cache", {})

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"K8sObject is read-only (tried to set {name!r})")

    @property
    def api_group(self) -> str:
        """The API group (``""`` for the core group)."""
        return api_group(self.api_version)

    @property
    def metadata(self) -> Mapping[str, Any]:
        """``metadata`` of the object (empty if missing or malformed)."""
        return as_mapping(self.raw.get("metadata"))

    @property
    def labels(self) -> Mapping[str, str]:
        """``metadata.labels`` (empty if missing or malformed)."""
        return as_mapping(self.metadata.get("labels"))

    @property
    def annotations(self) -> Mapping[str, str]:
        """``metadata.annotations`` (empty if missing or malformed)."""
        return as_mapping(self.metadata.get("annotations"))

    @property
    def ref(self) -> str:
        """``Kind/namespace/name``, or ``Kind/name`` without a namespace: the test id."""
        if self.namespace is None:
            return f"{self.kind}/{self.name}"
        return f"{self.kind}/{self.namespace}/{self.name}"

    @property
    def display(self) -> str:
        """``Kind namespace/name`` as failure messages show it."""
        if self.namespace is None:
            return f"{self.kind} {self.name}"
        return f"{self.kind} {self.namespace}/{self.name}"

    def memo(self, key: str, factory: Any) -> Any:
        """Cache a value derived from ``raw`` (the object is immutable, so it never goes stale)."""
        # get, not try/except KeyError: every key misses once per object, and on thousands of
        # objects the raised KeyErrors cost more than the lookups they would spare.
        value = self._cache.get(key, _MISSING)
        if value is _MISSING:
            value = self._cache[key] = factory(self)
        return value

    def __repr__(self) -> str:
        return f"<K8sObject {self.ref} from {self.provenance}>"
