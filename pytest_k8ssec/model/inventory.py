"""Inventory: every object of a run, indexed for the queries tests make (kind, namespace, labels)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from pytest_k8ssec.errors import K8sSecError
from pytest_k8ssec.model.objects import BUILTIN_GROUPS, CLUSTER_SCOPED_KINDS, K8sObject, as_mapping
from pytest_k8ssec.model.workloads import WORKLOAD_KINDS, is_workload, pod_spec


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


#: Kinds a controller fills with a copy of its own pod template (ReplicaSets of a Deployment, Jobs
#: of a CronJob): a copy still meant to run pods may hold a template its owner no longer has.
_TEMPLATE_COPIES: Final = frozenset({("apps", "ReplicaSet"), ("extensions", "ReplicaSet"), ("batch", "Job")})


def _runs_another_template(obj: K8sObject, owner: K8sObject) -> bool:
    """True when ``obj`` still runs pods from a template its controller no longer carries: the old
    ReplicaSet of a stuck rollout, still scaled up; a running Job of an earlier jobTemplate; a copy
    a manifest edited by hand. Judging the owner never sees those pods. Labels are not compared
    (controllers add pod-template-hash, job-name); the pod spec and annotations are."""
    if (obj.api_group, obj.kind) not in _TEMPLATE_COPIES:
        return False
    if obj.kind == "ReplicaSet":
        if as_mapping(obj.raw.get("spec")).get("replicas", 1) == 0:
            return False  # scaled down: runs nothing
    else:
        conditions = as_mapping(obj.raw.get("status")).get("conditions")
        if isinstance(conditions, list) and any(
            isinstance(each, Mapping) and each.get("type") in ("Complete", "Failed") and each.get("status") == "True"
            for each in conditions
        ):
            return False  # finished: runs nothing
    mine, theirs = pod_spec(obj), pod_spec(owner)
    if mine is None or theirs is None:
        return True
    return mine.spec != theirs.spec or mine.metadata.get("annotations") != theirs.metadata.get("annotations")


class _Owners:
    """The workloads of an inventory, found by the keys an owner reference can name.

    An object is left out of ``workloads()`` only when its controller is itself a workload here:
    then the owner's pod spec is judged, and judging the copy would repeat every finding. A
    controller that is absent, or is not a workload kind (a custom resource such as an Argo
    Rollout, or a forged reference in a manifest), judges nothing, so the object is judged itself;
    so is a copy still running a pod template its owner no longer has (``_runs_another_template``).
    """

    def __init__(self, workloads: Iterable[K8sObject]) -> None:
        self._uids: dict[str, K8sObject] = {}
        self._names: dict[tuple[str, str, str, str | None], K8sObject] = {}
        self._named_with_uid: set[tuple[str, str, str, str | None]] = set()
        for obj in workloads:
            key = (obj.api_group, obj.kind, obj.name, obj.namespace)
            uid = obj.metadata.get("uid")
            if isinstance(uid, str) and uid:
                self._uids[uid] = obj
                self._named_with_uid.add(key)
            self._names.setdefault(key, obj)

    def covers(self, obj: K8sObject) -> bool:
        owner = self._owner(obj)
        return owner is not None and not _runs_another_template(obj, owner)

    def _owner(self, obj: K8sObject) -> K8sObject | None:
        reference = _controller(obj)
        if reference is None:
            return None
        key = (
            _group(reference.get("apiVersion")),
            str(reference.get("kind")),
            str(reference.get("name")),
            obj.namespace,
        )
        uid = reference.get("uid")
        if key in self._named_with_uid:
            # Objects read from a cluster carry uids: the reference must name this very object
            # (a same-named owner that was deleted and recreated is not the controller).
            return self._uids.get(uid) if isinstance(uid, str) else None
        return self._names.get(key)


def _as_set(value: str | Iterable[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset((value,))
    return frozenset(value)


SELECTION_FIELDS: Final = ("kind", "namespace", "name", "labels")


class SelectionError(K8sSecError, ValueError):
    """A selection that cannot mean anything (an unknown key, a value of the wrong type)."""


@dataclass(frozen=True)
class Selection:
    """A query over objects: every given criterion must hold (kinds/namespaces/names are any-of),
    and no ``exclude`` selection may match (each is itself an all-of over the same fields)."""

    kind: str | Iterable[str] | None = None
    namespace: str | Iterable[str] | None = None
    name: str | Iterable[str] | None = None
    labels: Mapping[str, str] | None = None
    exclude: tuple[Selection, ...] = ()
    #: Object ids (``Kind/namespace/name``, ``Kind/name``): how ``exclude`` names single objects.
    ref: str | Iterable[str] | None = None

    def describe(self) -> str:
        """``kind='Deployment', namespace='shop'`` for messages; ``everything`` when empty."""
        parts = []
        for key in (*SELECTION_FIELDS, "ref"):
            value = getattr(self, key)
            if value is not None:
                shown = value if isinstance(value, (str, Mapping)) else sorted(value)
                parts.append(f"{key}={shown!r}")
        if self.exclude:
            parts.append(f"exclude=[{'; '.join(each.describe() for each in self.exclude)}]")
        return ", ".join(parts) or "everything"

    def matches(self, obj: K8sObject) -> bool:
        """True when ``obj`` meets every criterion and no exclusion."""
        kinds, namespaces, names = _as_set(self.kind), _as_set(self.namespace), _as_set(self.name)
        if kinds is not None and obj.kind not in kinds:
            return False
        if namespaces is not None and obj.namespace not in namespaces:
            return False
        if names is not None and obj.name not in names:
            return False
        refs = _as_set(self.ref)
        if refs is not None and obj.ref not in refs:
            return False
        if self.labels:
            labels = obj.labels
            if not all(labels.get(key) == value for key, value in self.labels.items()):
                return False
        return not any(each.matches(obj) for each in self.exclude)

    @classmethod
    def from_fields(cls, fields: Mapping[str, object], what: str = "selection") -> Selection:
        """A selection from keyword fields (``kind``, ``namespace``, ``name``, ``labels``,
        ``exclude``), checked: an unknown key or a value of the wrong type is a SelectionError."""
        unknown = set(fields) - {*SELECTION_FIELDS, "exclude"}
        if unknown:
            raise SelectionError(
                f"{what}: unknown key(s) {', '.join(sorted(map(str, unknown)))} (known: {', '.join(SELECTION_FIELDS)}, exclude)"
            )
        for key in ("kind", "namespace", "name"):
            value = fields.get(key)
            if value is not None and not _strings(value):
                raise SelectionError(f"{what}: {key} must be a string or a list of strings, got {value!r}")
        labels = fields.get("labels")
        if labels is not None and not (
            isinstance(labels, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
        ):
            raise SelectionError(f"{what}: labels must be a mapping of strings to strings, got {labels!r}")
        return cls(
            kind=_frozen(fields.get("kind")),
            namespace=_frozen(fields.get("namespace")),
            name=_frozen(fields.get("name")),
            labels=dict(labels) if isinstance(labels, Mapping) else None,
            exclude=exclusions(fields.get("exclude"), f"{what}: exclude"),
        )


def _strings(value: object) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, (list, tuple, set, frozenset)) and all(isinstance(v, str) for v in value)


def _frozen(value: object) -> str | frozenset[str] | None:
    if value is None or isinstance(value, str):
        return value
    assert isinstance(value, (list, tuple, set, frozenset))
    return frozenset(value)


def exclusions(spec: object, what: str = "exclude") -> tuple[Selection, ...]:
    """What ``exclude=`` names: a mapping of selection fields (all must hold to exclude), an
    object id ``Kind/namespace/name`` (``Kind/name`` when cluster-scoped), or a list of these
    (an object matching any of them is excluded). Anything else is a SelectionError."""
    if spec is None:
        return ()
    items = spec if isinstance(spec, (list, tuple)) else [spec]
    found: list[Selection] = []
    for item in items:
        if isinstance(item, Selection):
            found.append(item)
        elif isinstance(item, Mapping):
            if "exclude" in item:
                raise SelectionError(f"{what}: an exclusion cannot itself exclude (got {dict(item)!r})")
            if not item:
                raise SelectionError(f"{what}: an empty mapping would exclude everything")
            found.append(Selection.from_fields(item, what))
        elif isinstance(item, str):
            parts = item.split("/")
            if len(parts) not in (2, 3) or not all(parts):
                raise SelectionError(f"{what}: {item!r} is not an object id Kind/namespace/name (or Kind/name)")
            found.append(Selection(ref=item))
        else:
            raise SelectionError(f"{what}: expected a mapping of selection fields or an object id, got {item!r}")
    return tuple(found)


#: The label the API server puts on every Namespace (since 1.21); admission selects on it.
NAMESPACE_NAME_LABEL: Final = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class WorkloadNamespace:
    """A namespace that holds workloads: its Namespace object (None when the objects have none),
    the labels admission would see on it, and its workloads."""

    name: str
    namespace: K8sObject | None
    labels: Mapping[str, str]
    workloads: tuple[K8sObject, ...]

    def __str__(self) -> str:
        return self.name


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
        exclude: object = None,
    ) -> list[K8sObject]:
        """Objects matching every given criterion (labels: all key=value pairs must be present)
        and none of ``exclude`` (see ``exclusions``)."""
        return self._select(self._candidates(kind), Selection(kind, namespace, name, labels, exclusions(exclude)))

    def workloads(
        self,
        kind: str | Iterable[str] | None = None,
        namespace: str | Iterable[str] | None = None,
        name: str | Iterable[str] | None = None,
        labels: Mapping[str, str] | None = None,
        exclude: object = None,
    ) -> list[K8sObject]:
        """Workloads matching every given criterion (and none of ``exclude``): objects with a pod
        spec whose controller is not itself a workload of this inventory.

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
        return self._select(self._workloads, Selection(kind, namespace, name, labels, exclusions(exclude)))

    def workload_namespaces(self, selection: Selection | None = None) -> list[WorkloadNamespace]:
        """Every namespace holding a workload ``selection`` keeps, sorted by name.

        Its labels are the Namespace object's, with ``kubernetes.io/metadata.name`` that the API
        server always sets; without a Namespace object, that label alone (what admission would
        see for a namespace created bare, e.g. by ``kubectl create namespace``).
        """
        selection = selection or Selection()
        grouped: dict[str, list[K8sObject]] = {}
        for obj in self.workloads(
            selection.kind, selection.namespace, selection.name, selection.labels, selection.exclude
        ):
            if obj.namespace is not None:
                grouped.setdefault(obj.namespace, []).append(obj)
        if not grouped:
            return []
        declared = {obj.name: obj for obj in self.by_kind("Namespace") if obj.api_group == ""}
        found = []
        for name in sorted(grouped):
            namespace = declared.get(name)
            labels = {**(namespace.labels if namespace is not None else {}), NAMESPACE_NAME_LABEL: name}
            found.append(WorkloadNamespace(name, namespace, labels, tuple(grouped[name])))
        return found

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


# --- manifests as the API server would hold them -------------------------------------------------


def _declared_namespace(obj: K8sObject) -> str | None:
    declared = obj.metadata.get("namespace")
    return declared if isinstance(declared, str) and declared else None


def crd_scopes(objects: Iterable[K8sObject]) -> dict[tuple[str, str], bool]:
    """(group, kind) -> namespaced, for every CustomResourceDefinition among ``objects``."""
    scopes: dict[tuple[str, str], bool] = {}
    for obj in objects:
        if obj.kind != "CustomResourceDefinition":
            continue
        spec = as_mapping(obj.raw.get("spec"))
        kind, group = as_mapping(spec.get("names")).get("kind"), spec.get("group")
        if isinstance(kind, str) and isinstance(group, str):
            scopes[(group, kind)] = spec.get("scope") == "Namespaced"
    return scopes


def namespaced(obj: K8sObject, scopes: Mapping[tuple[str, str], bool]) -> bool | None:
    """Whether the API server keeps ``obj``'s kind per namespace; None when nothing here says
    (a custom resource whose CustomResourceDefinition is not among the objects)."""
    if obj.api_group in BUILTIN_GROUPS:
        return obj.kind not in CLUSTER_SCOPED_KINDS
    return scopes.get((obj.api_group, obj.kind))


def place(objects: Sequence[K8sObject], default_namespace: str | None = None) -> list[K8sObject]:
    """``objects`` with the namespace ``kubectl apply -n <default_namespace>`` would give them.

    Only objects of namespaced kinds that declare none get one (``"default"`` without
    ``default_namespace``, as kubectl applies them): built-in kinds by the known cluster-scoped
    kinds, custom resources by the scope of their CustomResourceDefinition among ``objects``. A
    custom resource whose definition is not there keeps no namespace (its scope is unknown).
    The object keeps its provenance; its ``raw`` is a copy with ``metadata.namespace`` set.
    """
    target = default_namespace or "default"
    scopes = crd_scopes(objects)
    placed: list[K8sObject] = []
    for obj in objects:
        if (
            _declared_namespace(obj) is None
            and obj.namespace != target
            and isinstance(obj.raw.get("metadata"), Mapping)
            and namespaced(obj, scopes)
        ):
            metadata = {**obj.metadata, "namespace": target}
            obj = K8sObject({**obj.raw, "metadata": metadata}, obj.provenance)
        placed.append(obj)
    return placed


def in_namespaces(obj: K8sObject, namespaces: Iterable[str] = (), exclude: Iterable[str] = ()) -> bool:
    """Whether ``obj`` survives ``--k8s-namespace`` / ``--k8s-exclude-namespace`` as a live list
    would: Namespace objects by their name, namespaced objects by their namespace, objects without
    a namespace (cluster-scoped, or of unknown scope) always."""
    wanted, unwanted = frozenset(namespaces), frozenset(exclude)
    where = obj.name if obj.kind == "Namespace" and obj.api_group == "" else obj.namespace
    if where is None:
        return True
    return (not wanted or where in wanted) and where not in unwanted


def duplicates(objects: Iterable[K8sObject]) -> list[tuple[K8sObject, K8sObject]]:
    """(first, later) for every object with the API group, kind, namespace and name of an earlier one.

    Objects named only by ``generateName`` are never duplicates: the server names each anew.
    """
    first: dict[tuple[str, str, str | None, str], K8sObject] = {}
    found: list[tuple[K8sObject, K8sObject]] = []
    for obj in objects:
        name = obj.metadata.get("name")
        if not isinstance(name, str) or not name:
            continue
        key = (obj.api_group, obj.kind, obj.namespace, name)
        earlier = first.setdefault(key, obj)
        if earlier is not obj:
            found.append((earlier, obj))
    return found
