"""NetworkModel: pods (or workloads), namespaces and NetworkPolicies, and the reachability they imply."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pytest_k8ssec.model.netpol.classes import ClassIndex
from pytest_k8ssec.model.netpol.endpoints import (
    DEFAULT_NAMESPACE,
    INTERNET,
    NAMESPACE_NAME_LABEL,
    Cidr,
    Endpoint,
    EndpointsMode,
    EndpointSpec,
    Namespace,
    Pod,
    owner_chains,
    pod_from_object,
)
from pytest_k8ssec.model.netpol.policies import (
    EGRESS,
    INGRESS,
    NETWORKING_GROUP,
    Direction,
    NetworkPolicy,
    Peer,
    as_policy,
)
from pytest_k8ssec.model.netpol.ports import PROTOCOLS
from pytest_k8ssec.model.netpol.selectors import Selector
from pytest_k8ssec.model.netpol.validation import InvalidField, NetworkPolicyError
from pytest_k8ssec.model.netpol.verdicts import ReachabilityMatrix, RuleMatch, SideVerdict, Verdict
from pytest_k8ssec.model.objects import K8sObject, as_mapping
from pytest_k8ssec.model.workloads import is_workload

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
        self.policies: tuple[NetworkPolicy, ...] = tuple(as_policy(p) for p in policies)
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
        self._index: ClassIndex | None = None
        # isolating() per (pod, direction): every reachability question and every network check
        # asks it of the same pods again (the egress check up to once per port class and range);
        # the value keeps the pod, so its id cannot be reused while the entry lives.
        self._isolating: dict[tuple[int, Direction], tuple[Pod, tuple[NetworkPolicy, ...]]] = {}

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
        owners = owner_chains(objs) if mode == "pods" else {}
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
        except InvalidField as exc:
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
        known = self._isolating.get((id(pod), direction))
        if known is not None and known[0] is pod:
            return known[1]
        found = tuple(
            p
            for p in self._policies_by_ns.get(pod.namespace, ())
            if direction in p.policy_types and p.pod_selector.matches(pod.labels)
        )
        self._isolating[id(pod), direction] = (pod, found)
        return found

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

    def _class_index(self) -> ClassIndex:
        if self._index is None:
            self._index = ClassIndex(self.pods, self.policies, self.namespace_labels)
        return self._index
