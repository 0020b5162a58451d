"""NetworkPolicy semantics and reachability, as ``networking.k8s.io/v1`` defines them.

Implements the rules written in kubernetes ``staging/src/k8s.io/api/networking/v1/types.go`` and
exercised by the conformance suite ``test/e2e/network/netpol`` (judged here by its 48 cases and by
cyclonus' truth tables), with the defaulting of ``pkg/apis/networking/v1/defaults.go`` and the
validation of ``pkg/apis/networking/validation``:

* A pod is isolated for a direction only when some policy selecting it (same namespace,
  ``spec.podSelector``) has that direction in ``policyTypes``. Omitted (or empty) ``policyTypes``
  default to ``Ingress``, plus ``Egress`` when ``spec.egress`` has at least one rule (an empty
  ``egress: []`` does not count, exactly as ``len(spec.Egress) != 0`` upstream).
* Policies are additive: a direction is allowed when it is not isolated or any rule of any
  isolating policy allows it. A connection needs the source's egress AND the destination's ingress.
* ``ingress``/``egress`` absent or ``[]``: nothing is allowed in that direction (when isolated).
  A rule with no ``from``/``to`` allows every peer, in and outside the cluster; a rule with no
  ``ports`` allows every port and protocol.
* A peer with ``podSelector`` only selects pods of the policy's namespace; with
  ``namespaceSelector`` only, every pod of the selected namespaces; with both, the pods matching
  both (AND). Separate peers are OR. Every namespace carries ``kubernetes.io/metadata.name``.
* ``ipBlock`` matches addresses in ``cidr`` and not in any ``except`` (IPv4 and IPv6), for
  endpoints outside the cluster AND for pod IPs: the e2e cases build ipBlocks from live pod IPs
  and expect them to match, and cyclonus matches ipBlocks against pod IPs too. A pod whose IP is
  unknown (manifests) matches no ipBlock; a verdict that could change if it did is marked
  ``uncertain`` so that assertions can fail closed.
* Ports: a number, a number range (``endPort``) or a name; protocol ``TCP`` by default, ``UDP``,
  ``SCTP``. A named port resolves against the DESTINATION pod's container ports (name and
  protocol must both match), for ingress and egress rules alike; an external destination has no
  named ports. Container ports come from regular containers and restartable (sidecar) init
  containers, as kube-proxy's ``FindPort`` reads them.

A policy the API server would reject (bad CIDR, ``except`` outside ``cidr``, bad protocol, bad
port, ``endPort`` with a named port, a peer with nothing or with ``ipBlock`` plus a selector, a bad
selector operator, an unknown policyType) raises :class:`NetworkPolicyError` naming the policy and
the field: the model never guesses at what an invalid policy would have done.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Union

from pytest_k8ssec.errors import K8sSecError
from pytest_k8ssec.model.containers import containers
from pytest_k8ssec.model.objects import K8sObject, as_list, as_mapping
from pytest_k8ssec.model.workloads import is_workload, pod_spec

INGRESS: Final = "Ingress"
EGRESS: Final = "Egress"
PROTOCOLS: Final = ("TCP", "UDP", "SCTP")
NAMESPACE_NAME_LABEL: Final = "kubernetes.io/metadata.name"
DEFAULT_NAMESPACE: Final = "default"
NETWORKING_GROUP: Final = "networking.k8s.io"

Direction = Literal["Ingress", "Egress"]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


class NetworkPolicyError(K8sSecError, ValueError):
    """A NetworkPolicy the API server would reject, or an endpoint or port that does not exist."""


# --------------------------------------------------------------------------------------------
# Endpoints


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


# --------------------------------------------------------------------------------------------
# Compiled policies

_NAME_RE: Final = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN_RE: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PORT_NAME_RE: Final = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_OPERATORS: Final = ("In", "NotIn", "Exists", "DoesNotExist")


class _Invalid(Exception):
    """Raised while compiling; re-raised as NetworkPolicyError with the policy's name."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")


def _check_label_key(key: object, path: str) -> str:
    if not isinstance(key, str) or not key:
        raise _Invalid(path, f"label key must be a non-empty string, got {key!r}")
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.match(prefix)):
        raise _Invalid(path, f"invalid label key prefix in {key!r}")
    if len(name) > 63 or not _NAME_RE.match(name):
        raise _Invalid(path, f"invalid label key {key!r}")
    return key


def _check_label_value(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(path, f"label value must be a string, got {value!r}")
    if value and (len(value) > 63 or not _NAME_RE.match(value)):
        raise _Invalid(path, f"invalid label value {value!r}")
    return value


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions`` entry (``matchLabels`` entries become ``In`` with one value)."""

    key: str
    operator: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "In":
            return self.key in labels and labels[self.key] in self.values
        if self.operator == "NotIn":
            # Upstream: a pod without the key satisfies NotIn.
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == "Exists":
            return self.key in labels
        return self.key not in labels

    def __str__(self) -> str:
        if self.operator == "Exists":
            return self.key
        if self.operator == "DoesNotExist":
            return f"!{self.key}"
        values = ",".join(sorted(self.values))
        return f"{self.key} {'in' if self.operator == 'In' else 'notin'} ({values})"


@dataclass(frozen=True)
class Selector:
    """A compiled ``metav1.LabelSelector``: every requirement must hold; empty matches everything."""

    requirements: tuple[Requirement, ...] = ()

    @classmethod
    def parse(cls, raw: object, path: str) -> Selector:
        if raw is None:
            return cls()
        if not isinstance(raw, Mapping):
            raise _Invalid(path, f"label selector must be a mapping, got {raw!r}")
        unknown = set(raw) - {"matchLabels", "matchExpressions"}
        if unknown:
            raise _Invalid(path, f"unknown label selector fields {sorted(unknown)}")
        reqs: list[Requirement] = []
        match_labels = raw.get("matchLabels")
        if match_labels is not None:
            if not isinstance(match_labels, Mapping):
                raise _Invalid(f"{path}.matchLabels", "must be a mapping")
            for key, value in match_labels.items():
                _check_label_key(key, f"{path}.matchLabels")
                _check_label_value(value, f"{path}.matchLabels.{key}")
                reqs.append(Requirement(key, "In", frozenset({value})))
        expressions = raw.get("matchExpressions")
        if expressions is not None and not isinstance(expressions, list):
            raise _Invalid(f"{path}.matchExpressions", "must be a list")
        for index, expr in enumerate(expressions or ()):
            where = f"{path}.matchExpressions[{index}]"
            if not isinstance(expr, Mapping):
                raise _Invalid(where, "must be a mapping")
            key = _check_label_key(expr.get("key"), f"{where}.key")
            operator = expr.get("operator")
            if operator not in _OPERATORS:
                raise _Invalid(
                    f"{where}.operator", f"unsupported operator {operator!r} (one of {', '.join(_OPERATORS)})"
                )
            values = expr.get("values")
            if values is not None and not isinstance(values, list):
                raise _Invalid(f"{where}.values", "must be a list")
            values = values or []
            if operator in ("In", "NotIn") and not values:
                raise _Invalid(f"{where}.values", f"must be specified when operator is {operator}")
            if operator in ("Exists", "DoesNotExist") and values:
                raise _Invalid(f"{where}.values", f"may not be specified when operator is {operator}")
            for vi, value in enumerate(values):
                _check_label_value(value, f"{where}.values[{vi}]")
            reqs.append(Requirement(key, str(operator), frozenset(values)))
        return cls(tuple(reqs))

    @property
    def is_empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(req.matches(labels) for req in self.requirements)

    def __str__(self) -> str:
        if not self.requirements:
            return "{}"
        parts = []
        for req in self.requirements:
            if req.operator == "In" and len(req.values) == 1:
                parts.append(f"{req.key}={next(iter(req.values))}")
            else:
                parts.append(str(req))
        return ",".join(parts)


def _parse_network(value: object, path: str) -> IPNetwork:
    if not isinstance(value, str) or not value:
        raise _Invalid(path, f"must be a CIDR string, got {value!r}")
    if "/" not in value:
        raise _Invalid(path, f"invalid CIDR {value!r} (a prefix length is required)")
    try:
        # Upstream parses CIDRs "sloppily": host bits may be set and are masked off.
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise _Invalid(path, f"invalid CIDR {value!r}") from None


@dataclass(frozen=True)
class IPBlock:
    """``ipBlock``: addresses in ``cidr`` and in none of ``excepts``."""

    cidr: IPNetwork
    excepts: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, raw: object, path: str) -> IPBlock:
        if not isinstance(raw, Mapping):
            raise _Invalid(path, "must be a mapping")
        cidr = _parse_network(raw.get("cidr"), f"{path}.cidr")
        excepts_raw = raw.get("except")
        if excepts_raw is not None and not isinstance(excepts_raw, list):
            raise _Invalid(f"{path}.except", "must be a list")
        excepts = []
        for index, item in enumerate(excepts_raw or ()):
            where = f"{path}.except[{index}]"
            net = _parse_network(item, where)
            if net.version != cidr.version or not net.subnet_of(cidr) or net.prefixlen <= cidr.prefixlen:  # type: ignore[arg-type]
                raise _Invalid(where, f"{item!r} must be a strict subset of cidr {cidr}")
            excepts.append(net)
        return cls(cidr, tuple(excepts))

    def contains(self, address: IPAddress) -> bool:
        return address in self.cidr and not any(address in net for net in self.excepts)

    def overlaps(self, network: IPNetwork) -> bool:
        """True when some address of ``network`` is in the block."""
        if network.version != self.cidr.version or not network.overlaps(self.cidr):
            return False
        # CIDRs nest or are disjoint: the overlap is the smaller of the two.
        remaining: list[IPNetwork] = [network if network.prefixlen >= self.cidr.prefixlen else self.cidr]
        for excluded in self.excepts:
            next_remaining: list[IPNetwork] = []
            for net in remaining:
                if not net.overlaps(excluded):
                    next_remaining.append(net)
                elif excluded.prefixlen > net.prefixlen:
                    next_remaining.extend(net.address_exclude(excluded))  # type: ignore[arg-type]
                # else the except covers the whole piece: it is dropped
            remaining = next_remaining
            if not remaining:
                return False
        return True

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        return str(self.cidr), tuple(sorted(str(net) for net in self.excepts))

    def __str__(self) -> str:
        if not self.excepts:
            return f"ipBlock {self.cidr}"
        return f"ipBlock {self.cidr} except {', '.join(str(net) for net in self.excepts)}"


@dataclass(frozen=True)
class Peer:
    """One ``from``/``to`` entry: selectors (AND when both) or an ipBlock."""

    pod_selector: Selector | None = None
    namespace_selector: Selector | None = None
    ip_block: IPBlock | None = None

    @classmethod
    def parse(cls, raw: object, path: str) -> Peer:
        if not isinstance(raw, Mapping):
            raise _Invalid(path, "must be a mapping")
        pod = raw.get("podSelector")
        ns = raw.get("namespaceSelector")
        block = raw.get("ipBlock")
        present = [
            name
            for name, value in (("podSelector", pod), ("namespaceSelector", ns), ("ipBlock", block))
            if value is not None
        ]
        if not present:
            raise _Invalid(path, "must specify a peer (podSelector, namespaceSelector or ipBlock)")
        if block is not None and len(present) > 1:
            raise _Invalid(path, "may not specify both ipBlock and another peer")
        return cls(
            pod_selector=Selector.parse(pod, f"{path}.podSelector") if pod is not None else None,
            namespace_selector=Selector.parse(ns, f"{path}.namespaceSelector") if ns is not None else None,
            ip_block=IPBlock.parse(block, f"{path}.ipBlock") if block is not None else None,
        )

    def describe(self, policy_namespace: str) -> str:
        if self.ip_block is not None:
            return str(self.ip_block)
        if self.namespace_selector is None:
            return f"pods {self.pod_selector} in namespace {policy_namespace}"
        ns_text = "all namespaces" if self.namespace_selector.is_empty else f"namespaces {self.namespace_selector}"
        if self.pod_selector is None or self.pod_selector.is_empty:
            return f"all pods in {ns_text}"
        return f"pods {self.pod_selector} in {ns_text}"


@dataclass(frozen=True)
class PortSpec:
    """One ``ports`` entry: protocol plus a number, a number range, a name, or every port."""

    protocol: str = "TCP"
    port: int | str | None = None
    end_port: int | None = None

    @classmethod
    def parse(cls, raw: object, path: str) -> PortSpec:
        if not isinstance(raw, Mapping):
            raise _Invalid(path, "must be a mapping")
        protocol = raw.get("protocol")
        if protocol is None:
            protocol = "TCP"
        if protocol not in PROTOCOLS:
            raise _Invalid(f"{path}.protocol", f"unsupported protocol {protocol!r} (one of TCP, UDP, SCTP)")
        port = raw.get("port")
        end_port = raw.get("endPort")
        if end_port is not None and (isinstance(end_port, bool) or not isinstance(end_port, int)):
            raise _Invalid(f"{path}.endPort", f"must be an integer, got {end_port!r}")
        if port is None:
            if end_port is not None:
                raise _Invalid(f"{path}.endPort", "may not be specified when `port` is not specified")
        elif isinstance(port, bool) or not isinstance(port, (int, str)):
            raise _Invalid(f"{path}.port", f"must be a number or a name, got {port!r}")
        elif isinstance(port, int):
            if not 1 <= port <= 65535:
                raise _Invalid(f"{path}.port", f"{port} is not a valid port number (1-65535)")
            if end_port is not None:
                if end_port < port:
                    raise _Invalid(f"{path}.endPort", f"{end_port} must be greater than or equal to `port` ({port})")
                if end_port > 65535:
                    raise _Invalid(f"{path}.endPort", f"{end_port} is not a valid port number (1-65535)")
        else:
            if end_port is not None:
                raise _Invalid(f"{path}.endPort", "may not be specified when `port` is non-numeric")
            if len(port) > 15 or not _PORT_NAME_RE.match(port) or "--" in port or not re.search("[a-z]", port):
                raise _Invalid(f"{path}.port", f"{port!r} is not a valid port name (IANA_SVC_NAME)")
        return cls(str(protocol), port, end_port)

    def matches_number(self, port: int, protocol: str) -> bool:
        """Numeric match only (every port, a number or a range); named ports never match here."""
        if protocol != self.protocol:
            return False
        if self.port is None:
            return True
        if isinstance(self.port, str):
            return False
        if self.end_port is None:
            return port == self.port
        return self.port <= port <= self.end_port

    def matches(self, port: int, protocol: str, destination: Endpoint) -> bool:
        if isinstance(self.port, str):
            return (
                protocol == self.protocol
                and isinstance(destination, Pod)
                and destination.resolve_port(self.port, protocol) == port
            )
        return self.matches_number(port, protocol)

    def __str__(self) -> str:
        if self.port is None:
            return f"all {self.protocol} ports"
        if self.end_port is not None:
            return f"{self.protocol} {self.port}-{self.end_port}"
        return f"{self.protocol} {self.port}"


@dataclass(frozen=True)
class Rule:
    """One ingress or egress rule: no peers means every peer, no ports means every port."""

    direction: Direction
    index: int
    peers: tuple[Peer, ...] = ()
    ports: tuple[PortSpec, ...] = ()

    @classmethod
    def parse(cls, direction: Direction, index: int, raw: object, path: str) -> Rule:
        if not isinstance(raw, Mapping):
            raise _Invalid(path, "must be a mapping")
        peer_key = "from" if direction == INGRESS else "to"
        peers_raw = raw.get(peer_key)
        if peers_raw is not None and not isinstance(peers_raw, list):
            raise _Invalid(f"{path}.{peer_key}", "must be a list")
        ports_raw = raw.get("ports")
        if ports_raw is not None and not isinstance(ports_raw, list):
            raise _Invalid(f"{path}.ports", "must be a list")
        return cls(
            direction,
            index,
            tuple(Peer.parse(p, f"{path}.{peer_key}[{i}]") for i, p in enumerate(peers_raw or ())),
            tuple(PortSpec.parse(p, f"{path}.ports[{i}]") for i, p in enumerate(ports_raw or ())),
        )

    def ports_match(self, port: int, protocol: str, destination: Endpoint) -> bool:
        return not self.ports or any(spec.matches(port, protocol, destination) for spec in self.ports)

    @property
    def path(self) -> str:
        return f"{'ingress' if self.direction == INGRESS else 'egress'}[{self.index}]"

    def describe(self, policy_namespace: str) -> str:
        peers = "every peer" if not self.peers else " or ".join(p.describe(policy_namespace) for p in self.peers)
        ports = "every port" if not self.ports else ", ".join(str(p) for p in self.ports)
        return f"{'from' if self.direction == INGRESS else 'to'} {peers} on {ports}"


@dataclass(frozen=True)
class NetworkPolicy:
    """A validated, defaulted NetworkPolicy. Build with :meth:`parse`."""

    namespace: str
    name: str
    pod_selector: Selector
    policy_types: frozenset[str]
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]
    source: str = ""
    obj: K8sObject | None = field(default=None, repr=False, compare=False)

    @property
    def ref(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    def rules(self, direction: Direction) -> tuple[Rule, ...]:
        return self.ingress if direction == INGRESS else self.egress

    def selects(self, pod: Pod) -> bool:
        return pod.namespace == self.namespace and self.pod_selector.matches(pod.labels)

    @classmethod
    def parse(cls, obj: K8sObject | Mapping[str, Any]) -> NetworkPolicy:
        """Validate and default one NetworkPolicy (a ``K8sObject`` or a raw dict)."""
        if isinstance(obj, K8sObject):
            raw: Mapping[str, Any] = obj.raw
            source = str(obj.provenance)
        elif isinstance(obj, Mapping):
            raw, source = obj, ""
        else:
            raise NetworkPolicyError(f"not a NetworkPolicy: {obj!r}")
        metadata = as_mapping(raw.get("metadata"))
        name = metadata.get("name")
        namespace = metadata.get("namespace") or DEFAULT_NAMESPACE
        label = f"NetworkPolicy {namespace}/{name}" + (f" ({source})" if source else "")
        try:
            if raw.get("kind") != "NetworkPolicy":
                raise _Invalid("kind", f"expected NetworkPolicy, got {raw.get('kind')!r}")
            api_version = raw.get("apiVersion")
            if api_version is not None and api_version != f"{NETWORKING_GROUP}/v1":
                raise _Invalid("apiVersion", f"only {NETWORKING_GROUP}/v1 is served, got {api_version!r}")
            if not isinstance(name, str) or not name:
                raise _Invalid("metadata.name", "a name is required")
            if not isinstance(namespace, str):
                raise _Invalid("metadata.namespace", f"must be a string, got {namespace!r}")
            spec = raw.get("spec")
            if spec is None:
                spec = {}
            if not isinstance(spec, Mapping):
                raise _Invalid("spec", "must be a mapping")
            # An absent podSelector decodes as the empty selector: every pod of the namespace.
            pod_selector = Selector.parse(spec.get("podSelector") or {}, "spec.podSelector")
            rules: dict[str, tuple[Rule, ...]] = {}
            for direction, key in ((INGRESS, "ingress"), (EGRESS, "egress")):
                value = spec.get(key)
                if value is not None and not isinstance(value, list):
                    raise _Invalid(f"spec.{key}", "must be a list")
                rules[key] = tuple(Rule.parse(direction, i, r, f"spec.{key}[{i}]") for i, r in enumerate(value or ()))  # type: ignore[arg-type]
            types_raw = spec.get("policyTypes")
            if types_raw is not None and not isinstance(types_raw, list):
                raise _Invalid("spec.policyTypes", "must be a list")
            if types_raw and len(types_raw) > 2:
                raise _Invalid("spec.policyTypes", "may not specify more than two policyTypes")
            for i, ptype in enumerate(types_raw or ()):
                if ptype not in (INGRESS, EGRESS):
                    raise _Invalid(f"spec.policyTypes[{i}]", f"unsupported value {ptype!r} (Ingress or Egress)")
            if types_raw:
                types = frozenset(str(t) for t in types_raw)
            else:
                types = frozenset({INGRESS, EGRESS}) if rules["egress"] else frozenset({INGRESS})
        except _Invalid as exc:
            raise NetworkPolicyError(f"invalid {label}: {exc}") from None
        return cls(
            namespace,
            name,
            pod_selector,
            types,
            rules["ingress"],
            rules["egress"],
            source,
            obj if isinstance(obj, K8sObject) else None,
        )


def _as_policy(item: NetworkPolicy | K8sObject | Mapping[str, Any]) -> NetworkPolicy:
    return item if isinstance(item, NetworkPolicy) else NetworkPolicy.parse(item)


# --------------------------------------------------------------------------------------------
# Building endpoints from objects


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


def _owner_chains(objs: Sequence[K8sObject]) -> dict[int, tuple[str, ...]]:
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


# --------------------------------------------------------------------------------------------
# Verdicts


@dataclass(frozen=True)
class RuleMatch:
    """A rule that allows one side of a connection."""

    policy: str
    rule: str
    text: str

    def __str__(self) -> str:
        return f"{self.policy} {self.rule} ({self.text})"


@dataclass(frozen=True)
class SideVerdict:
    """One direction of a connection: the source's egress or the destination's ingress."""

    direction: Direction
    endpoint: Endpoint
    allowed: bool
    isolated_by: tuple[str, ...] = ()
    allowed_by: tuple[RuleMatch, ...] = ()
    reasons: tuple[str, ...] = ()
    uncertain: tuple[str, ...] = ()

    def explain(self) -> str:
        what = "egress of" if self.direction == EGRESS else "ingress to"
        if not isinstance(self.endpoint, Pod):
            return f"{what} {self.endpoint}: allowed (outside the cluster: no NetworkPolicy applies)"
        if not self.isolated_by:
            return f"{what} {self.endpoint}: allowed (no policy selecting it has policyType {self.direction})"
        head = f"{what} {self.endpoint}: isolated by {', '.join(self.isolated_by)}"
        if self.allowed:
            return f"{head}; allowed by " + "; ".join(str(m) for m in self.allowed_by)
        lines = [f"{head}; DENIED: no rule allows it"]
        lines.extend(f"    - {reason}" for reason in self.reasons)
        lines.extend(f"    - uncertain: {note}" for note in self.uncertain)
        return "\n".join(lines)


@dataclass(frozen=True)
class Verdict:
    """Whether ``src`` may open a connection to ``dst`` on ``port``/``protocol``, and why.

    Truthy when allowed. ``uncertain`` is True when the answer is "denied" but an ipBlock rule
    could allow it if the pod's (unknown) IP were in range: assertions should fail closed on it.
    """

    src: Endpoint
    dst: Endpoint
    port: int
    protocol: str
    egress: SideVerdict
    ingress: SideVerdict

    @property
    def allowed(self) -> bool:
        return self.egress.allowed and self.ingress.allowed

    @property
    def uncertain(self) -> bool:
        # Denied for certain when either side is denied without doubt; uncertain only when every
        # denied side could flip (and the other side allows or could flip too).
        return (
            not self.allowed
            and (self.egress.allowed or bool(self.egress.uncertain))
            and (self.ingress.allowed or bool(self.ingress.uncertain))
        )

    def __bool__(self) -> bool:
        return self.allowed

    def explain(self) -> str:
        head = f"{self.src} -> {self.dst} on {self.protocol}/{self.port}: {'ALLOWED' if self.allowed else 'DENIED'}"
        if self.uncertain:
            head += " (uncertain: depends on pod IPs that are unknown)"
        return "\n".join([head, f"  {self.egress.explain()}", f"  {self.ingress.explain()}"])

    __str__ = explain


# --------------------------------------------------------------------------------------------
# Matrix


class ReachabilityMatrix:
    """Every source x destination verdict for one port and protocol (booleans, no explanations).

    Rows are bitmasks over destination indices, shared by sources of the same equivalence class.
    Ask ``model.reachable(src, dst, ...)`` for the explanation of one cell.
    """

    def __init__(
        self,
        sources: tuple[Endpoint, ...],
        destinations: tuple[Endpoint, ...],
        port: int | str,
        protocol: str,
        rows: list[int],
        classes: int,
    ) -> None:
        self.sources = sources
        self.destinations = destinations
        self.port = port
        self.protocol = protocol
        self._rows = rows
        #: number of endpoint equivalence classes evaluated (a figure for benchmarks)
        self.classes = classes
        self._src_index = {ep: i for i, ep in enumerate(sources)}
        self._dst_index = {ep: i for i, ep in enumerate(destinations)}

    def allowed(self, src: Endpoint, dst: Endpoint) -> bool:
        try:
            return bool(self._rows[self._src_index[src]] >> self._dst_index[dst] & 1)
        except KeyError:
            raise NetworkPolicyError(f"{src} -> {dst} is not a cell of this matrix") from None

    def row(self, src: Endpoint) -> tuple[Endpoint, ...]:
        """The destinations ``src`` may reach."""
        mask = self._rows[self._src_index[src]]
        return tuple(dst for j, dst in enumerate(self.destinations) if mask >> j & 1)

    def __iter__(self) -> Iterator[tuple[Endpoint, Endpoint, bool]]:
        for i, src in enumerate(self.sources):
            mask = self._rows[i]
            for j, dst in enumerate(self.destinations):
                yield src, dst, bool(mask >> j & 1)

    def count_allowed(self) -> int:
        return sum(row.bit_count() for row in self._rows)

    def table(self) -> str:
        """A text grid (``.`` allowed, ``X`` denied), sources down, destinations across."""
        names = [ep.ref for ep in self.destinations]
        width = max((len(ep.ref) for ep in self.sources), default=0)
        lines = [" " * width + " | " + " ".join(names)]
        for i, src in enumerate(self.sources):
            cells = [("." if self._rows[i] >> j & 1 else "X").ljust(len(names[j])) for j in range(len(names))]
            lines.append(src.ref.ljust(width) + " | " + " ".join(cells))
        return "\n".join(lines)


def _bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


# --------------------------------------------------------------------------------------------
# The model


EndpointSpec = Union[Pod, Cidr, K8sObject, str, Mapping[str, Any]]
_SELECTOR_KEYS: Final = frozenset({"namespace", "kind", "labels", "matchLabels", "matchExpressions"})


@dataclass(frozen=True)
class PolicyProblem:
    """A policy (or one of its peers) that has no effect on the modelled endpoints."""

    policy: NetworkPolicy
    path: str
    message: str

    def __str__(self) -> str:
        where = f" ({self.policy.source})" if self.policy.source else ""
        return f"NetworkPolicy {self.policy.ref}{where} {self.path}: {self.message}"


class NetworkModel:
    """Pods (or workloads), namespaces and NetworkPolicies, and the reachability they imply.

    ``reachable`` explains one connection; ``matrix`` answers every pair at once by grouping
    endpoints into equivalence classes (same namespace, labels, container ports and the set of
    ipBlocks their IPs fall in) and evaluating each class pair once.
    """

    def __init__(
        self,
        pods: Iterable[Pod] = (),
        policies: Iterable[NetworkPolicy | K8sObject | Mapping[str, Any]] = (),
        namespaces: Iterable[Namespace] | Mapping[str, Mapping[str, str]] = (),
    ) -> None:
        self.pods: tuple[Pod, ...] = tuple(pods)
        self.policies: tuple[NetworkPolicy, ...] = tuple(_as_policy(p) for p in policies)
        ns_items = (
            [Namespace(name, labels) for name, labels in namespaces.items()]
            if isinstance(namespaces, Mapping)
            else list(namespaces)
        )
        by_name: dict[str, Namespace] = {ns.name: ns for ns in ns_items}
        # A namespace that is only referenced (by a pod or a policy) still has its automatic label.
        for name in [p.namespace for p in self.pods] + [p.namespace for p in self.policies]:
            by_name.setdefault(name, Namespace(name))
        self.namespaces: Mapping[str, Namespace] = by_name
        seen: dict[str, Pod] = {}
        for pod in self.pods:
            if pod.ref in seen:
                raise NetworkPolicyError(f"two endpoints are called {pod.ref}")
            seen[pod.ref] = pod
        self._by_ref = seen
        self._by_owner: dict[str, list[Pod]] = defaultdict(list)
        for pod in self.pods:
            for owner in pod.owners:
                self._by_owner[owner].append(pod)
        self._policies_by_ns: dict[str, list[NetworkPolicy]] = defaultdict(list)
        for policy in self.policies:
            self._policies_by_ns[policy.namespace].append(policy)
        self._index: _ClassIndex | None = None

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_objects(cls, objs: Iterable[K8sObject], endpoints: EndpointsMode = "auto") -> NetworkModel:
        """Model from loaded objects: NetworkPolicies, Namespaces, and Pods or workloads.

        ``endpoints``: ``"pods"`` makes one endpoint per Pod object (live clusters); ``"workloads"``
        one per workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
        Job, CronJob, bare Pod) from its pod template (manifests); ``"auto"`` picks ``"pods"`` when
        some Pod has an IP in its status, else ``"workloads"``. PodTemplates are never endpoints.
        """
        objs = list(objs)
        policies: list[NetworkPolicy] = []
        namespaces: list[Namespace] = []
        candidates: list[K8sObject] = []
        for obj in objs:
            if obj.kind == "NetworkPolicy" and obj.api_group == NETWORKING_GROUP:
                policies.append(NetworkPolicy.parse(obj))
            elif obj.kind == "Namespace" and obj.api_group == "":
                namespaces.append(Namespace(obj.name, {str(k): str(v) for k, v in obj.labels.items()}))
            elif is_workload(obj) and obj.kind != "PodTemplate":
                candidates.append(obj)
        mode = endpoints
        if mode == "auto":
            live = any(
                obj.kind == "Pod"
                and (as_mapping(obj.raw.get("status")).get("podIP") or as_mapping(obj.raw.get("status")).get("podIPs"))
                for obj in candidates
            )
            mode = "pods" if live else "workloads"
        if mode == "pods":
            candidates = [obj for obj in candidates if obj.kind == "Pod"]
        elif mode != "workloads":
            raise NetworkPolicyError(f"endpoints must be 'auto', 'pods' or 'workloads', got {endpoints!r}")
        owners = _owner_chains(objs) if mode == "pods" else {}
        return cls([pod_from_object(obj, owners.get(id(obj), ())) for obj in candidates], policies, namespaces)

    # -- endpoints ---------------------------------------------------------------------------

    def namespace_labels(self, namespace: str) -> Mapping[str, str]:
        ns = self.namespaces.get(namespace)
        return ns.labels if ns is not None else {NAMESPACE_NAME_LABEL: namespace}

    def endpoint(self, spec: EndpointSpec) -> Endpoint:
        """One endpoint: a Pod/Cidr, a workload object, ``"Kind/ns/name"``, ``"internet"`` or a CIDR."""
        found = self.resolve(spec)
        if len(found) != 1:
            refs = ", ".join(ep.ref for ep in found[:5])
            raise NetworkPolicyError(f"{spec!r} names {len(found)} endpoints ({refs}...), expected exactly one")
        return found[0]

    def resolve(self, spec: EndpointSpec) -> tuple[Endpoint, ...]:
        """Endpoints named by ``spec``: as :meth:`endpoint`, plus a bare namespace name (all of its
        endpoints). Fails when nothing matches: an empty selection never passes a test."""
        if isinstance(spec, (Pod, Cidr)):
            return (spec,)
        if isinstance(spec, K8sObject):
            ref = f"{spec.kind}/{spec.namespace or DEFAULT_NAMESPACE}/{spec.name}"
            if ref in self._by_ref:
                return (self._by_ref[ref],)
            if ref in self._by_owner:
                return tuple(self._by_owner[ref])
            raise NetworkPolicyError(f"{spec.display} is not an endpoint of this model (and owns none of its pods)")
        if isinstance(spec, Mapping):
            return self._select(spec)
        if not isinstance(spec, str) or not spec:
            raise NetworkPolicyError(f"cannot read an endpoint from {spec!r}")
        if spec == "internet":
            return (INTERNET,)
        if spec in self._by_ref:
            return (self._by_ref[spec],)
        if spec in self._by_owner:
            # A workload on a live target stands for the pods it controls.
            return tuple(self._by_owner[spec])
        try:
            return (Cidr(spec),)
        except NetworkPolicyError:
            pass
        if "/" not in spec:
            found = tuple(pod for pod in self.pods if pod.namespace == spec)
            if found:
                return found
            raise NetworkPolicyError(f"no endpoint in namespace {spec!r}")
        raise NetworkPolicyError(
            f"no endpoint {spec!r} (expected Kind/namespace/name, a namespace, 'internet' or a CIDR)"
        )

    def _select(self, spec: Mapping[str, Any]) -> tuple[Endpoint, ...]:
        """Endpoints matching a selector dict: ``namespace`` (a name or a list), ``kind``, and pod
        labels as ``labels``/``matchLabels`` (equality) and ``matchExpressions`` (label selector)."""
        unknown = set(spec) - _SELECTOR_KEYS
        if unknown or not spec:
            raise NetworkPolicyError(
                f"endpoint selector {dict(spec)!r}: use the keys {', '.join(sorted(_SELECTOR_KEYS))}"
                + (f" (unknown: {', '.join(sorted(map(str, unknown)))})" if unknown else "")
            )
        if "labels" in spec and "matchLabels" in spec:
            raise NetworkPolicyError(f"endpoint selector {dict(spec)!r}: give labels or matchLabels, not both")
        raw_selector = {
            "matchLabels": spec.get("labels", spec.get("matchLabels")),
            "matchExpressions": spec.get("matchExpressions"),
        }
        try:
            selector = Selector.parse({k: v for k, v in raw_selector.items() if v is not None}, "selector")
        except _Invalid as exc:
            raise NetworkPolicyError(f"endpoint selector {dict(spec)!r}: {exc}") from None
        namespaces = spec.get("namespace")
        if isinstance(namespaces, str):
            namespaces = [namespaces]
        kinds = spec.get("kind")
        if isinstance(kinds, str):
            kinds = [kinds]
        found = tuple(
            pod
            for pod in self.pods
            if (namespaces is None or pod.namespace in namespaces)
            and (kinds is None or pod.kind in kinds)
            and selector.matches(pod.labels)
        )
        if not found:
            raise NetworkPolicyError(f"no endpoint matches the selector {dict(spec)!r}")
        return found

    def isolating(self, pod: Pod, direction: Direction) -> tuple[NetworkPolicy, ...]:
        """The policies that isolate ``pod`` for ``direction`` (select it and have that policyType)."""
        return tuple(
            p
            for p in self._policies_by_ns.get(pod.namespace, ())
            if direction in p.policy_types and p.pod_selector.matches(pod.labels)
        )

    def policy(self, ref: str) -> NetworkPolicy:
        """The policy called ``namespace/name``."""
        for policy in self.policies:
            if policy.ref == ref:
                return policy
        raise NetworkPolicyError(f"no NetworkPolicy {ref!r}")

    # -- lint --------------------------------------------------------------------------------

    def lint(self) -> tuple[PolicyProblem, ...]:
        """Policies that select no endpoint, and peers that match no namespace or no endpoint.

        Such a policy or peer does nothing for the endpoints modelled: usually a label typo, a
        namespace that is not deployed, or a selector left over from a renamed workload. ipBlock
        peers are never reported (they stand for addresses, in or outside the cluster).
        """
        index = self._class_index()
        problems: list[PolicyProblem] = []
        for policy in self.policies:
            selected, _ = index._masks(policy)
            if not selected & index.pod_mask:
                here = (
                    "no endpoint lives in namespace " + policy.namespace
                    if not index.ns_mask.get(policy.namespace)
                    else (f"no endpoint in namespace {policy.namespace} has labels {policy.pod_selector}")
                )
                problems.append(PolicyProblem(policy, "spec.podSelector", f"selects no pod: {here}"))
            for rule in policy.ingress + policy.egress:
                peer_key = "from" if rule.direction == INGRESS else "to"
                for i, peer in enumerate(rule.peers):
                    if peer.ip_block is not None:
                        continue
                    path = f"spec.{rule.path}.{peer_key}[{i}]"
                    if peer.namespace_selector is not None and not any(
                        peer.namespace_selector.matches(ns.labels) for ns in self.namespaces.values()
                    ):
                        problems.append(
                            PolicyProblem(policy, path, f"no namespace has labels {peer.namespace_selector}")
                        )
                    elif not index._peer_mask(peer, policy.namespace) & index.pod_mask:
                        problems.append(
                            PolicyProblem(
                                policy, path, f"matches no pod: no endpoint is {peer.describe(policy.namespace)}"
                            )
                        )
        return tuple(problems)

    def html_report(self, title: str = "Network reachability", target: str | None = None) -> str:
        """A self-contained HTML page with the reachability matrix per port class
        (pytest_k8ssec.reporting.network_page; ``write_network_report(model, path)`` writes it to a file)."""
        # Imported here: the picture is presentation, kept out of the semantics module.
        from pytest_k8ssec.reporting.network_page import html_report

        return html_report(self, title, target)

    # -- single query ------------------------------------------------------------------------

    def reachable(self, src: EndpointSpec, dst: EndpointSpec, port: int | str, protocol: str = "TCP") -> Verdict:
        """May ``src`` open a connection to ``dst`` on ``port``? ``port`` may be a name, resolved on ``dst``."""
        source = self.endpoint(src)
        destination = self.endpoint(dst)
        if protocol not in PROTOCOLS:
            raise NetworkPolicyError(f"unsupported protocol {protocol!r} (one of TCP, UDP, SCTP)")
        number = self._resolve_query_port(port, protocol, destination)
        egress = self._side(EGRESS, source, destination, number, protocol)
        ingress = self._side(INGRESS, destination, source, number, protocol)
        return Verdict(source, destination, number, protocol, egress, ingress)

    @staticmethod
    def _resolve_query_port(port: int | str, protocol: str, destination: Endpoint) -> int:
        if isinstance(port, bool):
            raise NetworkPolicyError(f"invalid port {port!r}")
        if isinstance(port, int):
            if not 1 <= port <= 65535:
                raise NetworkPolicyError(f"invalid port {port} (1-65535)")
            return port
        if isinstance(destination, Pod):
            number = destination.resolve_port(port, protocol)
            if number is not None:
                return number
        raise NetworkPolicyError(f"{destination} has no container port named {port!r} on {protocol}")

    def _peer_matches(self, peer: Peer, policy_ns: str, other: Endpoint) -> bool | None:
        """Does ``peer`` match ``other``? None when it is an ipBlock and the pod's IP is unknown."""
        if peer.ip_block is not None:
            if isinstance(other, Cidr):
                return peer.ip_block.overlaps(other.network)
            if not other.addresses:
                return None
            return any(peer.ip_block.contains(ip) for ip in other.addresses)
        if not isinstance(other, Pod):
            return False
        if peer.namespace_selector is None:
            if other.namespace != policy_ns:
                return False
        elif not peer.namespace_selector.matches(self.namespace_labels(other.namespace)):
            return False
        return peer.pod_selector is None or peer.pod_selector.matches(other.labels)

    def _side(self, direction: Direction, subject: Endpoint, other: Endpoint, port: int, protocol: str) -> SideVerdict:
        if not isinstance(subject, Pod):
            return SideVerdict(direction, subject, True)
        isolating = self.isolating(subject, direction)
        if not isolating:
            return SideVerdict(direction, subject, True)
        destination = other if direction == EGRESS else subject
        allowed_by: list[RuleMatch] = []
        reasons: list[str] = []
        uncertain: list[str] = []
        for policy in isolating:
            rules = policy.rules(direction)
            if not rules:
                reasons.append(f"{policy.ref} has no {direction.lower()} rules (it only isolates)")
                continue
            for rule in rules:
                where = f"{policy.ref} {rule.path}"
                if not rule.ports_match(port, protocol, destination):
                    reasons.append(f"{where}: {protocol}/{port} is not among {', '.join(str(p) for p in rule.ports)}")
                    continue
                if not rule.peers:
                    allowed_by.append(RuleMatch(policy.ref, rule.path, rule.describe(policy.namespace)))
                    continue
                matched = False
                for peer in rule.peers:
                    hit = self._peer_matches(peer, policy.namespace, other)
                    if hit is None:
                        uncertain.append(f"{where}: {peer.ip_block} would apply if the IP of {other} were in range")
                    elif hit:
                        matched = True
                        break
                if matched:
                    allowed_by.append(RuleMatch(policy.ref, rule.path, rule.describe(policy.namespace)))
                else:
                    peers = " or ".join(p.describe(policy.namespace) for p in rule.peers)
                    reasons.append(f"{where}: {other} is not {peers}")
        return SideVerdict(
            direction,
            subject,
            bool(allowed_by),
            tuple(p.ref for p in isolating),
            tuple(allowed_by),
            tuple(reasons),
            tuple(uncertain) if not allowed_by else (),
        )

    # -- matrix ------------------------------------------------------------------------------

    def matrix(
        self,
        sources: Iterable[EndpointSpec] | None = None,
        destinations: Iterable[EndpointSpec] | None = None,
        port: int | str = 80,
        protocol: str = "TCP",
    ) -> ReachabilityMatrix:
        """Every source x destination verdict on one port (default: all endpoints both ways).

        A named ``port`` is resolved per destination; a destination without it is never reachable.
        """
        if protocol not in PROTOCOLS:
            raise NetworkPolicyError(f"unsupported protocol {protocol!r} (one of TCP, UDP, SCTP)")
        srcs = self.pods if sources is None else self._resolve_many(sources)
        dsts = self.pods if destinations is None else self._resolve_many(destinations)
        index = self._class_index()
        src_classes = [index.class_of(ep) for ep in srcs]
        dst_classes = [index.class_of(ep) for ep in dsts]
        # Destinations grouped by the port number the query resolves to on them.
        by_number: dict[int, int] = defaultdict(int)
        if isinstance(port, int) and not isinstance(port, bool):
            if not 1 <= port <= 65535:
                raise NetworkPolicyError(f"invalid port {port} (1-65535)")
            by_number[port] = index.all_mask
        else:
            for cls_id in set(dst_classes):
                number = index.resolve_port(cls_id, str(port), protocol)
                if number is not None:
                    by_number[number] |= 1 << cls_id
        class_rows: dict[int, int] = defaultdict(int)
        for number, dst_mask in by_number.items():
            for src_cls, row in index.class_rows(number, protocol, set(src_classes)).items():
                class_rows[src_cls] |= row & dst_mask
        # Expand class rows to destination-index rows.
        dst_members: dict[int, int] = defaultdict(int)
        for j, cls_id in enumerate(dst_classes):
            dst_members[cls_id] |= 1 << j
        expanded: dict[int, int] = {}
        rows: list[int] = []
        for cls_id in src_classes:
            if cls_id not in expanded:
                mask = 0
                allowed = class_rows.get(cls_id, 0)
                for d_cls, members in dst_members.items():
                    if allowed >> d_cls & 1:
                        mask |= members
                expanded[cls_id] = mask
            rows.append(expanded[cls_id])
        return ReachabilityMatrix(
            tuple(srcs), tuple(dsts), port, protocol, rows, len(set(src_classes) | set(dst_classes))
        )

    def matrices(
        self,
        ports: Iterable[int | str | tuple[int | str, str]],
        sources: Iterable[EndpointSpec] | None = None,
        destinations: Iterable[EndpointSpec] | None = None,
    ) -> dict[tuple[int | str, str], ReachabilityMatrix]:
        """One matrix per port; a port is a number or name (TCP) or a ``(port, protocol)`` pair."""
        srcs = None if sources is None else self._resolve_many(sources)
        dsts = None if destinations is None else self._resolve_many(destinations)
        result: dict[tuple[int | str, str], ReachabilityMatrix] = {}
        for item in ports:
            port, protocol = item if isinstance(item, tuple) else (item, "TCP")
            result[(port, protocol)] = self.matrix(srcs, dsts, port, protocol)
        return result

    def _resolve_many(self, specs: Iterable[EndpointSpec]) -> tuple[Endpoint, ...]:
        found: list[Endpoint] = []
        for spec in specs:
            for ep in self.resolve(spec):
                if ep not in found:
                    found.append(ep)
        if not found:
            raise NetworkPolicyError("the endpoint selection is empty")
        return tuple(found)

    def _class_index(self) -> _ClassIndex:
        if self._index is None:
            self._index = _ClassIndex(self)
        return self._index


class _ClassIndex:
    """Endpoint equivalence classes and, per policy and rule, the classes they select as bitmasks."""

    def __init__(self, model: NetworkModel) -> None:
        self.model = model
        blocks: dict[tuple[str, tuple[str, ...]], int] = {}
        for policy in model.policies:
            for rule in policy.ingress + policy.egress:
                for peer in rule.peers:
                    if peer.ip_block is not None:
                        blocks.setdefault(peer.ip_block.key, len(blocks))
        self.block_ids = blocks
        self.blocks: list[IPBlock] = [None] * len(blocks)  # type: ignore[list-item]
        for policy in model.policies:
            for rule in policy.ingress + policy.egress:
                for peer in rule.peers:
                    if peer.ip_block is not None:
                        self.blocks[blocks[peer.ip_block.key]] = peer.ip_block
        self.keys: dict[tuple[Any, ...], int] = {}
        self.reps: list[Endpoint] = []
        self.by_ref: dict[str, int] = {}
        self.ns_mask: dict[str, int] = defaultdict(int)
        self.label_mask: dict[tuple[str, str], int] = defaultdict(int)
        self.key_mask: dict[str, int] = defaultdict(int)
        self.block_mask: dict[int, int] = defaultdict(int)
        self.named: dict[tuple[str, str, int], int] = defaultdict(int)
        self.pod_mask = 0
        self.all_mask = 0
        for pod in model.pods:
            self.class_of(pod)
        self._policy_masks: dict[int, tuple[int, list[tuple[Rule, int]]]] = {}

    def _ip_signature(self, ep: Endpoint) -> frozenset[int]:
        if isinstance(ep, Cidr):
            return frozenset(i for i, b in enumerate(self.blocks) if b.overlaps(ep.network))
        return frozenset(i for i, b in enumerate(self.blocks) if any(b.contains(ip) for ip in ep.addresses))

    def class_of(self, ep: Endpoint) -> int:
        cached = self.by_ref.get(ep.ref) if isinstance(ep, Pod) else None
        if cached is not None:
            return cached
        sig = self._ip_signature(ep)
        key: tuple[Any, ...]
        if isinstance(ep, Pod):
            key = ("pod", ep.namespace, frozenset(ep.labels.items()), frozenset(ep.ports), sig)
        else:
            key = ("cidr", sig)
        cls_id = self.keys.get(key)
        if cls_id is None:
            cls_id = self.keys[key] = len(self.reps)
            self.reps.append(ep)
            bit = 1 << cls_id
            self.all_mask |= bit
            for block in sig:
                self.block_mask[block] |= bit
            if isinstance(ep, Pod):
                self.pod_mask |= bit
                self.ns_mask[ep.namespace] |= bit
                for item in ep.labels.items():
                    self.label_mask[item] |= bit
                    self.key_mask[item[0]] |= bit
                for cport in ep.ports:
                    if cport.name:
                        self.named[(cport.name, cport.protocol, cport.port)] |= bit
            # New classes invalidate cached policy masks (a selector may match the new class).
            self._policy_masks = {}
        if isinstance(ep, Pod):
            self.by_ref[ep.ref] = cls_id
        return cls_id

    def resolve_port(self, cls_id: int, name: str, protocol: str) -> int | None:
        rep = self.reps[cls_id]
        return rep.resolve_port(name, protocol) if isinstance(rep, Pod) else None

    def _selector_mask(
        self, selector: Selector, universe: int, label_mask: Mapping[tuple[str, str], int], key_mask: Mapping[str, int]
    ) -> int:
        mask = universe
        for req in selector.requirements:
            if req.operator == "In":
                hit = 0
                for value in req.values:
                    hit |= label_mask.get((req.key, value), 0)
                mask &= hit
            elif req.operator == "NotIn":
                hit = 0
                for value in req.values:
                    hit |= label_mask.get((req.key, value), 0)
                mask &= ~hit
            elif req.operator == "Exists":
                mask &= key_mask.get(req.key, 0)
            else:
                mask &= ~key_mask.get(req.key, 0)
            if not mask:
                break
        return mask

    def _pods_selected(self, selector: Selector, universe: int) -> int:
        return self._selector_mask(selector, universe, self.label_mask, self.key_mask)

    def _peer_mask(self, peer: Peer, policy_ns: str) -> int:
        if peer.ip_block is not None:
            return self.block_mask.get(self.block_ids[peer.ip_block.key], 0)
        if peer.namespace_selector is None:
            universe = self.ns_mask.get(policy_ns, 0)
        elif peer.namespace_selector.is_empty:
            universe = self.pod_mask
        else:
            universe = 0
            for name, mask in self.ns_mask.items():
                if peer.namespace_selector.matches(self.model.namespace_labels(name)):
                    universe |= mask
        if peer.pod_selector is None or not universe:
            return universe
        return self._pods_selected(peer.pod_selector, universe)

    def _masks(self, policy: NetworkPolicy) -> tuple[int, list[tuple[Rule, int]]]:
        cached = self._policy_masks.get(id(policy))
        if cached is None:
            selected = self._pods_selected(policy.pod_selector, self.ns_mask.get(policy.namespace, 0))
            rules: list[tuple[Rule, int]] = []
            for rule in policy.ingress + policy.egress:
                if not rule.peers:
                    peer_mask = self.all_mask
                else:
                    peer_mask = 0
                    for peer in rule.peers:
                        peer_mask |= self._peer_mask(peer, policy.namespace)
                rules.append((rule, peer_mask))
            cached = self._policy_masks[id(policy)] = (selected, rules)
        return cached

    def _port_mask(self, rule: Rule, port: int, protocol: str) -> int:
        """Destination classes for which the rule's ports admit ``port``/``protocol``."""
        if not rule.ports:
            return self.all_mask
        mask = 0
        for spec in rule.ports:
            if isinstance(spec.port, str):
                if spec.protocol == protocol:
                    mask |= self.named.get((spec.port, protocol, port), 0)
            elif spec.matches_number(port, protocol):
                return self.all_mask
        return mask

    def class_rows(self, port: int, protocol: str, sources: set[int]) -> dict[int, int]:
        """For each source class: the mask of destination classes it may reach."""
        all_mask = self.all_mask
        iso_in = 0
        iso_eg = 0
        in_allowed: dict[int, int] = defaultdict(int)
        eg_allowed: dict[int, int] = defaultdict(int)
        for policy in self.model.policies:
            selected, rules = self._masks(policy)
            if not selected:
                continue
            if INGRESS in policy.policy_types:
                iso_in |= selected
            if EGRESS in policy.policy_types:
                iso_eg |= selected
            for rule, peer_mask in rules:
                if rule.direction not in policy.policy_types or not peer_mask:
                    continue
                port_mask = self._port_mask(rule, port, protocol)
                if not port_mask:
                    continue
                if rule.direction == INGRESS:
                    # The destination is the selected pod: its own ports decide named ports.
                    for d in _bits(selected & port_mask):
                        in_allowed[d] |= peer_mask
                else:
                    allowed = peer_mask & port_mask
                    for s in _bits(selected):
                        eg_allowed[s] |= allowed
        # Transpose ingress: for each source class, the isolated destinations admitting it.
        in_ok: dict[int, int] = defaultdict(int)
        source_mask = self._source_filter(sources)
        for d, mask in in_allowed.items():
            bit = 1 << d
            for s in _bits(mask & source_mask):
                in_ok[s] |= bit
        open_in = all_mask & ~iso_in
        rows: dict[int, int] = {}
        for s in sources:
            egress = eg_allowed.get(s, 0) if iso_eg >> s & 1 else all_mask
            rows[s] = egress & (open_in | in_ok.get(s, 0))
        return rows

    @staticmethod
    def _source_filter(sources: set[int]) -> int:
        mask = 0
        for s in sources:
            mask |= 1 << s
        return mask
