"""Ports: a rule's ``ports`` entry (number, ``endPort`` range, name, or every port), and the port
classes: runs of ports on which no rule changes its verdict."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from pytest_k8ssec.model.netpol.endpoints import Endpoint, Pod
from pytest_k8ssec.model.netpol.validation import InvalidField

if TYPE_CHECKING:
    from pytest_k8ssec.model.netpol.model import NetworkModel

PROTOCOLS: Final = ("TCP", "UDP", "SCTP")
MAX_PORT: Final = 65535
_PORT_NAME_RE: Final = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


@dataclass(frozen=True)
class PortSpec:
    """One ``ports`` entry: protocol plus a number, a number range, a name, or every port."""

    protocol: str = "TCP"
    port: int | str | None = None
    end_port: int | None = None

    @classmethod
    def parse(cls, raw: object, path: str) -> PortSpec:
        if not isinstance(raw, Mapping):
            raise InvalidField(path, "must be a mapping")
        protocol = raw.get("protocol")
        if protocol is None:
            protocol = "TCP"
        if protocol not in PROTOCOLS:
            raise InvalidField(f"{path}.protocol", f"unsupported protocol {protocol!r} (one of TCP, UDP, SCTP)")
        port = raw.get("port")
        end_port = raw.get("endPort")
        if end_port is not None and (isinstance(end_port, bool) or not isinstance(end_port, int)):
            raise InvalidField(f"{path}.endPort", f"must be an integer, got {end_port!r}")
        if port is None:
            if end_port is not None:
                raise InvalidField(f"{path}.endPort", "may not be specified when `port` is not specified")
        elif isinstance(port, bool) or not isinstance(port, (int, str)):
            raise InvalidField(f"{path}.port", f"must be a number or a name, got {port!r}")
        elif isinstance(port, int):
            if not 1 <= port <= 65535:
                raise InvalidField(f"{path}.port", f"{port} is not a valid port number (1-65535)")
            if end_port is not None:
                if end_port < port:
                    raise InvalidField(
                        f"{path}.endPort", f"{end_port} must be greater than or equal to `port` ({port})"
                    )
                if end_port > 65535:
                    raise InvalidField(f"{path}.endPort", f"{end_port} is not a valid port number (1-65535)")
        else:
            if end_port is not None:
                raise InvalidField(f"{path}.endPort", "may not be specified when `port` is non-numeric")
            if len(port) > 15 or not _PORT_NAME_RE.match(port) or "--" in port or not re.search("[a-z]", port):
                raise InvalidField(f"{path}.port", f"{port!r} is not a valid port name (IANA_SVC_NAME)")
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


@dataclass(frozen=True, slots=True)
class PortClass:
    """Ports ``first``..``last`` of one protocol on which no rule of any policy changes its verdict:
    the verdict on ``first`` holds for the whole class."""

    protocol: str
    first: int
    last: int
    #: what ``first`` is called: container port names, and ``rule range a-b`` for a rule range from it
    names: tuple[str, ...] = ()
    #: a rule port (a number, or the first of a range) or a container port is ``first``
    listed: bool = False
    #: some rule port or container port holds these ports; False for the ports nothing names
    covered: bool = False


def port_classes(model: NetworkModel, destination: Endpoint | None = None) -> tuple[PortClass, ...]:
    """Every port of every protocol (TCP, UDP, SCTP), cut where a rule's verdict may change.

    Cuts come from every numeric port and ``endPort`` range of any rule, and from named ports. With
    a ``destination``: the rules' named ports resolved on it (the pod that decides what a name
    means), so the classes are exact for connections to it and checking ``first`` of each answers
    "on any port". Without one: every container port of every endpoint (any may be what a name
    means), each a class of its own, so every port a workload serves is seen.
    """
    spans: dict[str, list[tuple[int, int]]] = {protocol: [] for protocol in PROTOCOLS}
    names: dict[tuple[str, int], set[str]] = {}
    for policy in model.policies:
        for rule in policy.ingress + policy.egress:
            for spec in rule.ports:
                if spec.port is None:
                    continue
                if isinstance(spec.port, str):
                    number = (
                        destination.resolve_port(spec.port, spec.protocol) if isinstance(destination, Pod) else None
                    )
                    if number is None:
                        continue
                    first = last = number
                else:
                    first, last = spec.port, spec.end_port or spec.port
                    if last != first:
                        names.setdefault((spec.protocol, first), set()).add(f"rule range {first}-{last}")
                spans[spec.protocol].append((first, last))
    if destination is None:
        for pod in model.pods:
            for cport in pod.ports:
                spans[cport.protocol].append((cport.port, cport.port))
                if cport.name:
                    names.setdefault((cport.protocol, cport.port), set()).add(cport.name)
    classes: list[PortClass] = []
    for protocol in PROTOCOLS:
        cuts = {1}
        # How many spans start (+1) or end (-1, after their last port) at each cut.
        depth_change: dict[int, int] = {}
        for first, last in spans[protocol]:
            cuts.add(first)
            if last < MAX_PORT:
                cuts.add(last + 1)
            depth_change[first] = depth_change.get(first, 0) + 1
            depth_change[last + 1] = depth_change.get(last + 1, 0) - 1
        listed = {first for first, _ in spans[protocol]}
        ordered = sorted(cuts)
        depth = 0
        for i, first in enumerate(ordered):
            depth += depth_change.get(first, 0)
            last = ordered[i + 1] - 1 if i + 1 < len(ordered) else MAX_PORT
            found = tuple(sorted(names.get((protocol, first), ())))
            classes.append(PortClass(protocol, first, last, found, first in listed, depth > 0))
    return tuple(classes)
