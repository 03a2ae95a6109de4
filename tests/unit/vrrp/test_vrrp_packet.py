"""The VRRP codec against keepalived 2.2.7 captures: right fields, byte-identical re-encoding."""

from __future__ import annotations

import contextlib
import ipaddress
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pcap import VECTORS, ip_packets

from pykeepalived.vrrp.packet import (
    AUTH_PASS,
    IPPROTO_VRRP,
    MCAST_GROUP4,
    Advert,
    DecodeError,
    decode,
    encode,
    encode_ipv4,
)
from pykeepalived.vrrp.validate import parse_ipv4, parse_ipv6

PCAPS = sorted(VECTORS.glob("*.pcap"))
ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD


def vrrp_ipv4(path: Path) -> list[bytes]:
    return [p for p in ip_packets(path, ETH_IPV4) if p[9] == IPPROTO_VRRP]


def vrrp_ipv6(path: Path) -> list[bytes]:
    return [p for p in ip_packets(path, ETH_IPV6) if p[6] == IPPROTO_VRRP]


def test_vectors_are_present() -> None:
    assert len(PCAPS) >= 15
    assert sum(len(vrrp_ipv4(p)) for p in PCAPS) > 100
    assert sum(len(vrrp_ipv6(p)) for p in PCAPS) > 10


@pytest.mark.parametrize("path", PCAPS, ids=lambda p: p.stem)
def test_ipv4_adverts_reencode_byte_identical(path: Path) -> None:
    for packet in vrrp_ipv4(path):
        received = parse_ipv4(packet)
        assert received.checksum_ok and received.length_ok and received.ttl == 255
        source, destination = received.source, received.destination
        assert isinstance(source, ipaddress.IPv4Address) and isinstance(destination, ipaddress.IPv4Address)
        ident = int.from_bytes(packet[4:6], "big")
        rebuilt = encode_ipv4(encode(received.advert, source, destination), source, destination, ident)
        assert rebuilt == packet


@pytest.mark.parametrize("path", [p for p in PCAPS if "ipv6" in p.stem], ids=lambda p: p.stem)
def test_ipv6_adverts_reencode_byte_identical(path: Path) -> None:
    packets = vrrp_ipv6(path)
    assert packets
    for packet in packets:
        source = ipaddress.IPv6Address(packet[8:24])
        destination = ipaddress.IPv6Address(packet[24:40])
        received = parse_ipv6(packet[40:], source, destination, packet[7])
        assert received.checksum_ok
        assert encode(received.advert, source, destination) == packet[40:]


def first_advert(name: str) -> Advert:
    return parse_ipv4(vrrp_ipv4(VECTORS / f"{name}.pcap")[0]).advert


def test_v2_multicast_fields() -> None:
    advert = first_advert("v2-mcast")
    assert (advert.version, advert.vrid, advert.priority, advert.interval_cs) == (2, 1, 200, 100)
    assert advert.addresses == (ipaddress.IPv4Address("10.99.1.1"),)
    assert advert.checksum == 0x0B98


def test_v2_password_in_auth_data() -> None:
    advert = first_advert("v2-authpass")
    assert advert.auth_type == AUTH_PASS
    assert advert.auth_data == b"s3cret\0\0"


def test_v3_fractional_interval_and_three_vips() -> None:
    packet = bytes.fromhex("45c0002800010000ff70d0240a63000be00000123101c8030005f9c10a6301010a6301020a630103")
    received = parse_ipv4(packet)
    assert received.advert.interval_cs == 5
    assert [str(a) for a in received.advert.addresses] == ["10.99.1.1", "10.99.1.2", "10.99.1.3"]
    assert received.checksum_ok


def test_priority_zero_vectors() -> None:
    for hex_ip in (
        "45c0002800050000ff70d0200a63000be0000012210100010001d3980a6301010000000000000000",
        "45c0002000050000ff70d0280a63000be0000012310100010064d8380a630101",
    ):
        received = parse_ipv4(bytes.fromhex(hex_ip))
        assert received.advert.priority == 0 and received.checksum_ok


def test_v3_checksum_depends_on_destination() -> None:
    advert = Advert(3, 1, 200, (ipaddress.IPv4Address("10.99.1.1"),), 100)
    source = ipaddress.IPv4Address("10.99.0.11")
    multicast = encode(advert, source, MCAST_GROUP4)
    unicast = encode(advert, source, ipaddress.IPv4Address("10.99.0.12"))
    assert multicast[6:8] != unicast[6:8]
    assert multicast[:6] == unicast[:6] and multicast[8:] == unicast[8:]


def test_v2_checksum_does_not() -> None:
    advert = Advert(2, 1, 200, (ipaddress.IPv4Address("10.99.1.1"),), 100)
    source = ipaddress.IPv4Address("10.99.0.11")
    assert encode(advert, source, MCAST_GROUP4) == encode(advert, source, ipaddress.IPv4Address("10.99.0.12"))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "length"),
        (b"\x21\x01\xc8", "length"),
        (bytes.fromhex("11 01 c8 01 00 01 0000 0a630101 0000000000000000"), "version"),
        (bytes.fromhex("21 01 c8 02 00 01 0000 0a630101 0000000000000000"), "length"),
    ],
)
def test_malformed_packets_raise_decode_error(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as raised:
        decode(data, 4)
    assert raised.value.reason == reason


@given(st.binary(max_size=120))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    for parse in (lambda: parse_ipv4(data), lambda: decode(data, 4), lambda: decode(data, 6)):
        with contextlib.suppress(DecodeError):
            parse()


addresses4 = st.lists(st.ip_addresses(v=4), min_size=1, max_size=20).map(tuple)
addresses6 = st.lists(st.ip_addresses(v=6), min_size=1, max_size=10).map(tuple)


@given(
    st.integers(1, 255),
    st.integers(0, 255),
    addresses4,
    st.integers(1, 255),
    st.sampled_from([0, 1, 2]),
    st.binary(min_size=8, max_size=8),
)
def test_v2_roundtrip(vrid: int, priority: int, addresses, seconds: int, auth: int, data: bytes) -> None:  # type: ignore[no-untyped-def]
    advert = Advert(2, vrid, priority, addresses, seconds * 100, auth, data)
    source = ipaddress.IPv4Address("10.99.0.11")
    assert decode(encode(advert, source, MCAST_GROUP4), 4) == advert


@given(st.integers(1, 255), st.integers(0, 255), addresses6, st.integers(1, 4095))
def test_v3_ipv6_roundtrip(vrid: int, priority: int, addresses, interval: int) -> None:  # type: ignore[no-untyped-def]
    advert = Advert(3, vrid, priority, addresses, interval)
    source = ipaddress.IPv6Address("fe80::1")
    payload = encode(advert, source, ipaddress.IPv6Address("ff02::12"))
    received = parse_ipv6(payload, source, ipaddress.IPv6Address("ff02::12"), 255)
    assert received.advert == advert and received.checksum_ok
