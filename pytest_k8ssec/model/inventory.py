"""Inventory: every object of a run, indexed for the queries tests make (kind, namespace, labels)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from pytest_k8ssec.model.objects import K8sObject
from pytest_k8ssec.model.workloads import WORKLOAD_KINDS, is_workload


def _controller(obj: K8sObject) -> Mapping[str, object] | None:
    """The owner reference marked ``controller: true``, as the API marks it (at most one is valid)."""
    owners = obj.metadata.get("ownerReferences")
    if not isinstance(owners, list):
        return None
    for owner in owners:
        if isinstance(owner, Mapping) and owner.get("controller") is True:
            return owner
    return None


def _group(api_version: object) -> str:
    return api_version.rpartition("/")[0] if isinstance(api_version, str) else ""


class _Owners:
    """The workloads of an inventory, found by the keys an owner reference can name.

    An object is left out of ``workloads()`` only when its controller is itself a workload here:
    then the owner's pod spec is judged, and judging the copy would repeat every finding. A
    controller that is absent, or is not a workload kind (a custom resource such as an Argo
    Rollout, or a forged reference in a manifest), judges nothing, so the object is judged itself.
    """

    def __init__(self, workloads: Iterable[K8sObject]) -> None:
        self._uids: set[str] = set()
        self._names: set[tuple[str, str, str, str | None]] = set()
        self._named_with_uid: set[tuple[str, str, str, str | None]] = set()
        for obj in workloads:
            key = (obj.api_group, obj.kind, obj.name, obj.namespace)
            uid = obj.metadata.get("uid")
            if isinstance(uid, str) and uid:
                self._uids.add(uid)
                self._named_with_uid.add(key)
            self._names.add(key)

    def covers(self, obj: K8sObject) -> bool:
        owner = _controller(obj)
        if owner is None:
            return False
        key = (_group(owner.get("apiVersion")), str(owner.get("kind")), str(owner.get("name")), obj.namespace)
        uid = owner.get("uid")
        if key in self._named_with_uid:
            # Objects read from a cluster carry uids: the reference must name this very object
            # (a same-named owner that was deleted and recreated is not the controller).
            return isinstance(uid, str) and uid in self._uids
        return key in self._names


def _as_set(value: str | Iterable[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset((value,))
    return frozenset(value)


@dataclass(frozen=True)
class Selection:
    """A query over objects: every given criterion must hold (kinds/namespaces/names are any-of)."""

    kind: str | Iterable[str] | None = None
    namespace: str | Iterable[str] | None = None
    name: str | Iterable[str] | None = None
    labels: Mapping[str, str] | None = None

    def describe(self) -> str:
        """``kind='Deployment', namespace='shop'`` for messages; ``everything`` when empty."""
        parts = []
        for key in ("kind", "namespace", "name", "labels"):
            value = getattr(self, key)
            if value is not None:
                shown = value if isinstance(value, (str, Mapping)) else sorted(value)
                parts.append(f"{key}={shown!r}")
        return ", ".join(parts) or "everything"

    def matches(self, obj: K8sObject) -> bool:
        """True when ``obj`` meets every criterion."""
        kinds, namespaces, names = _as_set(self.kind), _as_set(self.namespace), _as_set(self.name)
        if kinds is not None and obj.kind not in kinds:
            return False
        if namespaces is not None and obj.namespace not in namespaces:
            return False
        if names is not None and obj.name not in names:
            return False
        if self.labels:
            labels = obj.labels
            return all(labels.get(key) == value for key, value in self.labels.items())
        return True


class Inventory:
    """All objects of a run, in load order, with query methods.

    >>> inventory.select(kind="Deployment", namespace="shop")
    >>> inventory.workloads(labels={"tier": "web"})
    """

    def __init__(
        self,
        objects: Iterable[K8sObject] = (),
        *,
        fetch: Callable[[str], Sequence[K8sObject]] | None = None,
        kinds: Iterable[str] = (),
    ) -> None:
        """An inventory over ``objects`` (manifests), or over ``fetch(kind)`` for each of ``kinds``.

        With ``fetch`` (live clusters) nothing is read until a query needs a kind, and each kind
        is read once; whatever ``fetch`` raises (a 403, a timeout) reaches the caller.
        """
        self._fetch = fetch
        self._known = tuple(kinds)
        self._by_kind: dict[str, tuple[K8sObject, ...]] = {}
        self._all: tuple[K8sObject, ...] | None = None
        if fetch is None:
            self._all = tuple(objects)
            by_kind: dict[str, list[K8sObject]] = {}
            for obj in self._all:
                by_kind.setdefault(obj.kind, []).append(obj)
            self._by_kind = {kind: tuple(objs) for kind, objs in by_kind.items()}
            self._known = tuple(self._by_kind)
        self._workloads: tuple[K8sObject, ...] | None = None

    @property
    def objects(self) -> tuple[K8sObject, ...]:
        """Every object, in load order (live: every kind the source knows, kind by kind)."""
        if self._all is None:
            self._all = tuple(obj for kind in self._known for obj in self.by_kind(kind))
        return self._all

    def __iter__(self) -> Iterator[K8sObject]:
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    def kinds(self) -> list[str]:
        """The kinds present, sorted."""
        return sorted({obj.kind for obj in self.objects})

    def namespaces(self) -> list[str]:
        """Namespaces that objects live in or that Namespace objects declare, sorted."""
        names = {obj.namespace for obj in self.objects if obj.namespace is not None}
        names.update(obj.name for obj in self.by_kind("Namespace"))
        return sorted(names)

    def by_kind(self, kind: str) -> tuple[K8sObject, ...]:
        """Objects of exactly this kind."""
        found = self._by_kind.get(kind)
        if found is None:
            found = tuple(self._fetch(kind)) if self._fetch is not None else ()
            if self._fetch is not None:
                self._by_kind[kind] = found
        return found

    def select(
        self,
        kind: str | Iterable[str] | None = None,
        namespace: str | Iterable[str] | None = None,
        name: str | Iterable[str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> list[K8sObject]:
        """Objects matching every given criterion (labels: all key=value pairs must be present)."""
        return self._select(self._candidates(kind), Selection(kind, namespace, name, labels))

    def workloads(
        self,
        kind: str | Iterable[str] | None = None,
        namespace: str | Iterable[str] | None = None,
        name: str | Iterable[str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> list[K8sObject]:
        """Workloads matching every given criterion: objects with a pod spec whose controller is
        not itself a workload of this inventory.

        A live Deployment's ReplicaSets and Pods carry its pod spec again; judging them too would
        report each mistake three times. Their owner is judged; ``by_kind("Pod")`` still has them.
        An object whose controller is missing or is no workload (a custom resource) is judged.
        """
        if self._workloads is None:
            kinds = [k for k in self._known if k in WORKLOAD_KINDS] if self._fetch is not None else self._known
            candidates = [obj for k in kinds for obj in self.by_kind(k) if is_workload(obj)]
            owners = _Owners(candidates)
            self._workloads = tuple(obj for obj in candidates if not owners.covers(obj))
            if self._fetch is None:
                # Manifests keep their load order across kinds.
                order = {id(obj): index for index, obj in enumerate(self.objects)}
                self._workloads = tuple(sorted(self._workloads, key=lambda obj: order[id(obj)]))
        return self._select(self._workloads, Selection(kind, namespace, name, labels))

    def get(self, kind: str, name: str, namespace: str | None = None) -> K8sObject:
        """The one object with this kind, name (and namespace); ``KeyError`` if there is none."""
        found = [o for o in self.by_kind(kind) if o.name == name and (namespace is None or o.namespace == namespace)]
        if not found:
            where = f" in namespace {namespace!r}" if namespace else ""
            raise KeyError(f"no {kind} named {name!r}{where} among {len(self)} objects")
        if len(found) > 1:
            raise KeyError(f"{len(found)} objects match {kind} {name!r}: {', '.join(str(o.provenance) for o in found)}")
        return found[0]

    def _candidates(self, kind: str | Iterable[str] | None) -> Iterable[K8sObject]:
        kinds = _as_set(kind)
        if kinds is None:
            return self.objects
        if self._fetch is not None:
            return [obj for k in sorted(kinds) for obj in self.by_kind(k)]
        return [obj for obj in self.objects if obj.kind in kinds]

    @staticmethod
    def _select(objects: Iterable[K8sObject], selection: Selection) -> list[K8sObject]:
        return [obj for obj in objects if selection.matches(obj)]
