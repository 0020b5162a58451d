"""Verdicts: whether one connection is allowed and why (per side), and the matrix of every pair."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pytest_k8ssec.model.netpol.endpoints import Endpoint, Pod
from pytest_k8ssec.model.netpol.policies import EGRESS, Direction
from pytest_k8ssec.model.netpol.validation import NetworkPolicyError


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
