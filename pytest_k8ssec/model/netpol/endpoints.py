"""Endpoints: pods (a live pod or a workload's pod template, with its container ports), CIDRs
outside the cluster, namespaces, and how they are built from loaded objects."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Union

from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.netpol.addresses import IPAddress, IPNetwork
from pytest_k8ssec.model.netpol.validation import NetworkPolicyError
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.workloads import pod_spec

NAMESPACE_NAME_LABEL: Final = "kubernetes.io/metadata.name"
DEFAULT_NAMESPACE: Final = "default"


@dataclass(frozen=True, slots=True)
class ContainerPort:
    """One ``containerPort`` of a pod: number, protocol and optional name."""

    port: int
    protocol: str = "TCP"
    name: str | None = None


@dataclass(frozen=True, eq=False)
class Pod:
    """An in-cluster endpoint: a live pod, or the pod template of a workload.

    ``kind`` is ``Pod`` for pods and the workload kind (``Deployment``...) for a template: one
    endpoint stands for every replica. Equality and hashing use ``ref`` (``Kind/namespace/name``).
    """

    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ips: tuple[str, ...] = ()
    ports: tuple[ContainerPort, ...] = ()
    kind: str = "Pod"
    #: ``Kind/namespace/name`` of the controllers owning a live pod, nearest first (ReplicaSet, Deployment)
    owners: tuple[str, ...] = ()
    #: the object the endpoint was built from, for provenance in messages and findings
    obj: K8sObject | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", dict(self.labels))
        object.__setattr__(self, "ips", tuple(self.ips))
        object.__setattr__(self, "ports", tuple(self.ports))
        object.__setattr__(self, "owners", tuple(self.owners))
        addresses: list[IPAddress] = []
        for ip in self.ips:
            try:
                addresses.append(ipaddress.ip_address(ip))
            except ValueError:
                raise NetworkPolicyError(f"{self.kind} {self.namespace}/{self.name}: invalid pod IP {ip!r}") from None
        object.__setattr__(self, "_addresses", tuple(addresses))

    @property
    def ref(self) -> str:
        """``Kind/namespace/name``, e.g. ``Deployment/shop/web``."""
        return f"{self.kind}/{self.namespace}/{self.name}"

    @property
    def addresses(self) -> tuple[IPAddress, ...]:
        """The parsed pod IPs (empty when unknown, e.g. for workloads from manifests)."""
        result: tuple[IPAddress, ...] = getattr(self, "_addresses")  # noqa: B009  (set outside the dataclass fields; getattr keeps mypy quiet)
        return result

    def resolve_port(self, name: str, protocol: str = "TCP") -> int | None:
        """The number of the container port called ``name`` on ``protocol``, if the pod has one."""
        for cport in self.ports:
            if cport.name == name and cport.protocol == protocol:
                return cport.port
        return None

    def serves(self, port: int, protocol: str = "TCP") -> bool:
        """True when a container declares ``port`` on ``protocol`` (policies do not need it)."""
        return any(cport.port == port and cport.protocol == protocol for cport in self.ports)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pod) and other.ref == self.ref

    def __hash__(self) -> int:
        return hash(self.ref)

    def __str__(self) -> str:
        return self.ref if self.kind != "Pod" else f"Pod {self.namespace}/{self.name}"


@dataclass(frozen=True)
class Cidr:
    """An endpoint outside the cluster: any address of a CIDR (``10.0.0.0/8``, ``::/0``, ``1.2.3.4``).

    A range reaches (or is reached) when SOME address in it is allowed: the question a security
    test asks ("can anything on the internet reach the database?"). Use a /32 or /128 for one host.
    """

    cidr: str
    label: str | None = None

    def __post_init__(self) -> None:
        try:
            network = ipaddress.ip_network(self.cidr, strict=False)
        except ValueError:
            raise NetworkPolicyError(f"invalid CIDR endpoint {self.cidr!r}") from None
        object.__setattr__(self, "_network", network)

    @property
    def network(self) -> IPNetwork:
        """The parsed network (host bits cleared)."""
        result: IPNetwork = getattr(self, "_network")  # noqa: B009  (cached outside the dataclass fields)
        return result

    @property
    def ref(self) -> str:
        return self.label or str(self.network)

    def __str__(self) -> str:
        return self.ref if self.label is None else f"{self.label} ({self.network})"


#: Every IPv4 address: what ``"internet"`` stands for. Use ``Cidr("::/0")`` for IPv6.
INTERNET: Final = Cidr("0.0.0.0/0", "internet")

Endpoint = Union[Pod, Cidr]


@dataclass(frozen=True)
class Namespace:
    """A namespace and its labels (``kubernetes.io/metadata.name`` always set to the name)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        labels = dict(self.labels)
        # The API server sets this label on every namespace and overwrites whatever was written.
        labels[NAMESPACE_NAME_LABEL] = self.name
        object.__setattr__(self, "labels", labels)


#: What a user names an endpoint with (see ``NetworkModel.resolve``).
EndpointSpec = Union[Pod, Cidr, K8sObject, str, Mapping[str, Any]]


def _container_ports(obj: K8sObject) -> tuple[ContainerPort, ...]:
    found: list[ContainerPort] = []
    for ref in containers(obj):
        # Named ports resolve against regular containers and restartable (sidecar) init containers.
        if ref.field == "ephemeralContainers":
            continue
        if ref.field == "initContainers" and ref.container.get("restartPolicy") != "Always":
            continue
        for index, cport in enumerate(as_list(ref.container.get("ports"))):
            cport = as_mapping(cport)
            number = cport.get("containerPort")
            if isinstance(number, bool) or not isinstance(number, int):
                raise NetworkPolicyError(
                    f"{obj.display}: {ref.path}.ports[{index}].containerPort must be a number, got {number!r}"
                )
            protocol = cport.get("protocol") or "TCP"
            name = cport.get("name")
            found.append(ContainerPort(number, str(protocol), str(name) if name else None))
    return tuple(found)


def pod_from_object(obj: K8sObject, owners: Sequence[str] = ()) -> Pod:
    """The endpoint of a live Pod (labels, ``status.podIPs``/``podIP``, container ports) or of a
    workload's pod template (template labels, container ports, no IP).

    The namespace is the object's; a manifest without one lands in ``default``, as kubectl applies it.
    """
    ref = pod_spec(obj)
    if ref is None:
        raise NetworkPolicyError(f"{obj.display} has no pod template: it is not a workload")
    labels = as_mapping(ref.metadata.get("labels"))
    ips: list[str] = []
    if obj.kind == "Pod" and obj.api_group == "":
        status = as_mapping(obj.raw.get("status"))
        for entry in as_list(status.get("podIPs")):
            ip = as_mapping(entry).get("ip")
            if isinstance(ip, str) and ip and ip not in ips:
                ips.append(ip)
        pod_ip = status.get("podIP")
        if isinstance(pod_ip, str) and pod_ip and pod_ip not in ips:
            ips.append(pod_ip)
    return Pod(
        namespace=obj.namespace or DEFAULT_NAMESPACE,
        name=obj.name,
        labels={str(k): str(v) for k, v in labels.items()},
        ips=tuple(ips),
        ports=_container_ports(obj),
        kind=obj.kind,
        owners=tuple(owners),
        obj=obj,
    )


def owner_chains(objs: Sequence[K8sObject]) -> dict[int, tuple[str, ...]]:
    """For each Pod (by ``id``): its controllers, nearest first, followed through ``ownerReferences``
    (``controller: true``) by uid, as the garbage collector links them (Pod -> ReplicaSet -> Deployment)."""
    by_uid: dict[str, K8sObject] = {}
    for obj in objs:
        uid = obj.metadata.get("uid")
        if isinstance(uid, str) and uid:
            by_uid[uid] = obj
    chains: dict[int, tuple[str, ...]] = {}
    for obj in objs:
        if obj.kind != "Pod":
            continue
        chain: list[str] = []
        current = obj
        while len(chain) < 8:
            owner = next(
                (
                    as_mapping(o)
                    for o in as_list(current.metadata.get("ownerReferences"))
                    if as_mapping(o).get("controller") is True
                ),
                None,
            )
            if owner is None:
                break
            parent = by_uid.get(str(owner.get("uid") or ""))
            # Owners are namespace-local: an owner that was not listed is still named by its reference.
            chain.append(
                parent.ref if parent is not None else f"{owner.get('kind')}/{current.namespace}/{owner.get('name')}"
            )
            if parent is None:
                break
            current = parent
        chains[id(obj)] = tuple(chain)
    return chains


EndpointsMode = Literal["auto", "pods", "workloads"]
