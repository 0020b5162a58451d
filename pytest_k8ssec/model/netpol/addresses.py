"""Addresses: CIDRs parsed as the API server parses them, ``ipBlock`` with its ``except`` list, and
what "the internet" is (every public IPv4 range and IPv6 global unicast)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Union

from pytest_k8ssec.model.netpol.validation import InvalidField

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

#: Address ranges that are not the internet (IANA special-purpose registries, non-global entries).
NOT_INTERNET_V4: Final = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
)  # fmt: skip
#: IPv6 global unicast (everything else is local, link-local, multicast or reserved).
INTERNET_V6: Final = "2000::/3"


def _public_v4() -> tuple[str, ...]:
    pieces: list[ipaddress.IPv4Network] = [ipaddress.IPv4Network("0.0.0.0/0")]
    for text in NOT_INTERNET_V4:
        excluded = ipaddress.IPv4Network(text)
        next_pieces: list[ipaddress.IPv4Network] = []
        for net in pieces:
            if net.overlaps(excluded):
                if excluded.prefixlen > net.prefixlen:
                    next_pieces.extend(net.address_exclude(excluded))
            else:
                next_pieces.append(net)
        pieces = next_pieces
    return tuple(str(net) for net in sorted(pieces))


#: The internet for ``assert_egress_restricted``: every public IPv4 range and IPv6 global unicast.
PUBLIC_INTERNET: Final = (*_public_v4(), INTERNET_V6)


def parse_network(value: object, path: str) -> IPNetwork:
    if not isinstance(value, str) or not value:
        raise InvalidField(path, f"must be a CIDR string, got {value!r}")
    if "/" not in value:
        raise InvalidField(path, f"invalid CIDR {value!r} (a prefix length is required)")
    try:
        # Upstream parses CIDRs "sloppily": host bits may be set and are masked off.
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise InvalidField(path, f"invalid CIDR {value!r}") from None


@dataclass(frozen=True)
class IPBlock:
    """``ipBlock``: addresses in ``cidr`` and in none of ``excepts``."""

    cidr: IPNetwork
    excepts: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, raw: object, path: str) -> IPBlock:
        if not isinstance(raw, Mapping):
            raise InvalidField(path, "must be a mapping")
        cidr = parse_network(raw.get("cidr"), f"{path}.cidr")
        excepts_raw = raw.get("except")
        if excepts_raw is not None and not isinstance(excepts_raw, list):
            raise InvalidField(f"{path}.except", "must be a list")
        excepts = []
        for index, item in enumerate(excepts_raw or ()):
            where = f"{path}.except[{index}]"
            net = parse_network(item, where)
            if net.version != cidr.version or not net.subnet_of(cidr) or net.prefixlen <= cidr.prefixlen:  # type: ignore[arg-type]
                raise InvalidField(where, f"{item!r} must be a strict subset of cidr {cidr}")
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
