"""Gratuitous ARP frames, as keepalived sends them when it takes over an address."""

from __future__ import annotations

import ipaddress
import struct

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ARP_REQUEST = 1
BROADCAST = b"\xff" * 6


def garp_frame(mac: bytes, address: ipaddress.IPv4Address) -> bytes:
    """An Ethernet broadcast ARP request with sender IP = target IP = `address` (target MAC all ones)."""
    arp = struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, ARP_REQUEST) + mac + address.packed + BROADCAST + address.packed
    return BROADCAST + mac + struct.pack("!H", ETH_P_ARP) + arp


def vmac(vrid: int, family: int = 4) -> bytes:
    """The virtual router MAC address of RFC 5798: 00:00:5e:00:01:VRID (IPv6: 00:00:5e:00:02:VRID)."""
    return bytes((0, 0, 0x5E, 0, 1 if family == 4 else 2, vrid))


ICMPV6_NEIGHBOUR_ADVERT = 136
NA_OVERRIDE = 0x20000000
OPTION_TARGET_LINK_ADDRESS = 2


def unsolicited_na(mac: bytes, address: ipaddress.IPv6Address) -> bytes:
    """The ICMPv6 body of an unsolicited neighbour advert (Override set) with our link-layer address.

    The checksum field is zero: the kernel fills it in on a raw ICMPv6 socket.
    """
    return (
        struct.pack("!BBHI", ICMPV6_NEIGHBOUR_ADVERT, 0, 0, NA_OVERRIDE)
        + address.packed
        + struct.pack("!BB", OPTION_TARGET_LINK_ADDRESS, 1)
        + mac
    )
