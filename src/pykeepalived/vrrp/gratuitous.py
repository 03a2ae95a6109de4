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
