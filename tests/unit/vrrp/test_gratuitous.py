"""Gratuitous ARP and unsolicited neighbour adverts, byte for byte as keepalived sends them."""

from __future__ import annotations

import ipaddress

from pykeepalived.vrrp.gratuitous import garp_frame, unsolicited_na

MAC = bytes.fromhex("029900000001")


def test_garp_matches_keepalived() -> None:
    frame = garp_frame(MAC, ipaddress.IPv4Address("10.99.1.1"))
    assert frame[:6] == b"\xff" * 6 and frame[6:12] == MAC and frame[12:14] == b"\x08\x06"
    assert frame[14:].hex() == "00010800060400010299000000010a630101ffffffffffff0a630101"


def test_unsolicited_na_matches_keepalived_but_for_the_kernel_checksum() -> None:
    captured = bytes.fromhex(
        "6000000000203afffe800000000000000000000000000001ff0200000000000000000000000000018800570220000000"
        "fe8000000000000000000000000000010201029900000001"
    )[40:]
    ours = unsolicited_na(bytes.fromhex("029900000001"), ipaddress.IPv6Address("fe80::1"))
    assert ours[:2] == captured[:2] and ours[4:] == captured[4:]
    assert ours[2:4] == b"\0\0"  # the raw ICMPv6 socket fills the checksum in
