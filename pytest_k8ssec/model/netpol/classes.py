"""Endpoint equivalence classes: endpoints no policy can tell apart share every verdict, so the
matrix evaluates each class pair once, with selectors and rules turned into bitmasks over classes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from pytest_k8ssec.model.netpol.addresses import IPBlock
from pytest_k8ssec.model.netpol.endpoints import Cidr, Endpoint, Pod
from pytest_k8ssec.model.netpol.policies import EGRESS, INGRESS, NetworkPolicy, Peer, Rule
from pytest_k8ssec.model.netpol.selectors import Selector


def bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class ClassIndex:
    """Endpoint equivalence classes and, per policy and rule, the classes they select as bitmasks."""

    def __init__(
        self,
        pods: Iterable[Pod],
        policies: tuple[NetworkPolicy, ...],
        namespace_labels: Callable[[str], Mapping[str, str]],
    ) -> None:
        self.policies = policies
        self.namespace_labels = namespace_labels
        blocks: dict[tuple[str, tuple[str, ...]], int] = {}
        for policy in policies:
            for rule in policy.ingress + policy.egress:
                for peer in rule.peers:
                    if peer.ip_block is not None:
                        blocks.setdefault(peer.ip_block.key, len(blocks))
        self.block_ids = blocks
        self.blocks: list[IPBlock] = [None] * len(blocks)  # type: ignore[list-item]
        for policy in policies:
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
        for pod in pods:
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
                if peer.namespace_selector.matches(self.namespace_labels(name)):
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
        for policy in self.policies:
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
                    for d in bits(selected & port_mask):
                        in_allowed[d] |= peer_mask
                else:
                    allowed = peer_mask & port_mask
                    for s in bits(selected):
                        eg_allowed[s] |= allowed
        # Transpose ingress: for each source class, the isolated destinations admitting it.
        in_ok: dict[int, int] = defaultdict(int)
        source_mask = self._source_filter(sources)
        for d, mask in in_allowed.items():
            bit = 1 << d
            for s in bits(mask & source_mask):
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
