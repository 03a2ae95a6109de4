"""A persistence granularity, as keepalived.conf and ipvsadm write it: a netmask for an IPv4 service (solid or
not: IPVS ands it with the client's address), a prefix length for an IPv6 one. A persistent service sends
the clients whose addresses agree under it to one real server. Read here only: the proxy, nftables, IPVS
and the listings ask this module."""

from __future__ import annotations

import ipaddress

BITS = {4: 32, 6: 128}


def client_mask(granularity: str | None, version: int) -> int | None:
    """The mask laid over a client's address of IP `version`; None when each address is a client of its own:
    no granularity, the full mask, or one written for the other IP version."""
    if granularity is None:
        return None
    full = (1 << BITS[version]) - 1
    if version == 6:
        if not granularity.isdigit() or int(granularity) >= 128:
            return None
        return full ^ ((1 << (128 - int(granularity))) - 1)
    if ":" in granularity or granularity.isdigit():
        return None
    mask = int(ipaddress.IPv4Address(granularity))
    return None if mask == full else mask


def normalized(granularity: str | None, version: int) -> str | None:
    """The granularity as ipvsadm lists it for a service of IP `version` (dotted for IPv4, a prefix length
    for IPv6); None for one address per client."""
    mask = client_mask(granularity, version)
    if mask is None:
        return None
    return str(mask.bit_count()) if version == 6 else mask_text(mask, version)


def mask_text(mask: int, version: int) -> str:
    """The mask written as an address (what nftables ands a client's address with)."""
    return str(ipaddress.IPv4Address(mask) if version == 4 else ipaddress.IPv6Address(mask))


def masked(address: ipaddress.IPv4Address | ipaddress.IPv6Address, mask: int | None) -> str:
    """The client a source address is under the mask."""
    return str(address if mask is None else type(address)(int(address) & mask))
