"""NetworkPolicy objects validated and defaulted as the API server does, compiled into rules and peers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pytest_k8ssec.model.netpol.addresses import IPBlock
from pytest_k8ssec.model.netpol.endpoints import DEFAULT_NAMESPACE, Endpoint, Pod
from pytest_k8ssec.model.netpol.ports import PortSpec
from pytest_k8ssec.model.netpol.selectors import Selector
from pytest_k8ssec.model.netpol.validation import InvalidField, NetworkPolicyError
from pytest_k8ssec.model.objects import K8sObject, as_mapping

INGRESS: Final = "Ingress"
EGRESS: Final = "Egress"
NETWORKING_GROUP: Final = "networking.k8s.io"

Direction = Literal["Ingress", "Egress"]


@dataclass(frozen=True)
class Peer:
    """One ``from``/``to`` entry: selectors (AND when both) or an ipBlock."""

    pod_selector: Selector | None = None
    namespace_selector: Selector | None = None
    ip_block: IPBlock | None = None

    @classmethod
    def parse(cls, raw: object, path: str) -> Peer:
        if not isinstance(raw, Mapping):
            raise InvalidField(path, "must be a mapping")
        pod = raw.get("podSelector")
        ns = raw.get("namespaceSelector")
        block = raw.get("ipBlock")
        present = [
            name
            for name, value in (("podSelector", pod), ("namespaceSelector", ns), ("ipBlock", block))
            if value is not None
        ]
        if not present:
            raise InvalidField(path, "must specify a peer (podSelector, namespaceSelector or ipBlock)")
        if block is not None and len(present) > 1:
            raise InvalidField(path, "may not specify both ipBlock and another peer")
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
class Rule:
    """One ingress or egress rule: no peers means every peer, no ports means every port."""

    direction: Direction
    index: int
    peers: tuple[Peer, ...] = ()
    ports: tuple[PortSpec, ...] = ()

    @classmethod
    def parse(cls, direction: Direction, index: int, raw: object, path: str) -> Rule:
        if not isinstance(raw, Mapping):
            raise InvalidField(path, "must be a mapping")
        peer_key = "from" if direction == INGRESS else "to"
        peers_raw = raw.get(peer_key)
        if peers_raw is not None and not isinstance(peers_raw, list):
            raise InvalidField(f"{path}.{peer_key}", "must be a list")
        ports_raw = raw.get("ports")
        if ports_raw is not None and not isinstance(ports_raw, list):
            raise InvalidField(f"{path}.ports", "must be a list")
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
                raise InvalidField("kind", f"expected NetworkPolicy, got {raw.get('kind')!r}")
            api_version = raw.get("apiVersion")
            if api_version is not None and api_version != f"{NETWORKING_GROUP}/v1":
                raise InvalidField("apiVersion", f"only {NETWORKING_GROUP}/v1 is served, got {api_version!r}")
            if not isinstance(name, str) or not name:
                raise InvalidField("metadata.name", "a name is required")
            if not isinstance(namespace, str):
                raise InvalidField("metadata.namespace", f"must be a string, got {namespace!r}")
            spec = raw.get("spec")
            if spec is None:
                spec = {}
            if not isinstance(spec, Mapping):
                raise InvalidField("spec", "must be a mapping")
            # An absent podSelector decodes as the empty selector: every pod of the namespace.
            pod_selector = Selector.parse(spec.get("podSelector") or {}, "spec.podSelector")
            rules: dict[str, tuple[Rule, ...]] = {}
            for direction, key in ((INGRESS, "ingress"), (EGRESS, "egress")):
                value = spec.get(key)
                if value is not None and not isinstance(value, list):
                    raise InvalidField(f"spec.{key}", "must be a list")
                rules[key] = tuple(Rule.parse(direction, i, r, f"spec.{key}[{i}]") for i, r in enumerate(value or ()))  # type: ignore[arg-type]
            types_raw = spec.get("policyTypes")
            if types_raw is not None and not isinstance(types_raw, list):
                raise InvalidField("spec.policyTypes", "must be a list")
            if types_raw and len(types_raw) > 2:
                raise InvalidField("spec.policyTypes", "may not specify more than two policyTypes")
            for i, ptype in enumerate(types_raw or ()):
                if ptype not in (INGRESS, EGRESS):
                    raise InvalidField(f"spec.policyTypes[{i}]", f"unsupported value {ptype!r} (Ingress or Egress)")
            if types_raw:
                types = frozenset(str(t) for t in types_raw)
            else:
                types = frozenset({INGRESS, EGRESS}) if rules["egress"] else frozenset({INGRESS})
        except InvalidField as exc:
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


def as_policy(item: NetworkPolicy | K8sObject | Mapping[str, Any]) -> NetworkPolicy:
    return item if isinstance(item, NetworkPolicy) else NetworkPolicy.parse(item)


def directions(direction: str) -> tuple[Direction, ...]:
    """``"ingress"``, ``"egress"`` or ``"both"`` (any case) as upstream policyTypes."""
    text = direction.lower() if isinstance(direction, str) else None
    if text == "ingress":
        return (INGRESS,)
    if text == "egress":
        return (EGRESS,)
    if text == "both":
        return (INGRESS, EGRESS)
    raise NetworkPolicyError(f"direction must be 'ingress', 'egress' or 'both', got {direction!r}")
