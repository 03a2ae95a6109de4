"""Malformed and mutated packets: only DecodeError escapes, and every drop is counted by its reason."""

from __future__ import annotations

import contextlib
import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.vrrp.instance import AdvertIn, Instance, Params, Start
from pykeepalived.vrrp.packet import AUTH_PASS, MCAST_GROUP4, Advert, DecodeError, encode, encode_ipv4
from pykeepalived.vrrp.validate import parse_ipv4

VIP = ipaddress.IPv4Address("10.99.1.1")
PEER = ipaddress.IPv4Address("10.99.0.11")
PARAMS = Params("VI_1", 1, 2, 100, 100, (VIP,), ipaddress.IPv4Address("10.99.0.12"), auth_type=AUTH_PASS,
                auth_data=b"secret12")  # fmt: skip
GOOD = Advert(2, 1, 200, (VIP,), 100, AUTH_PASS, b"secret12")


def wire(advert: Advert = GOOD, ttl: int = 255) -> bytes:
    return encode_ipv4(encode(advert, PEER, MCAST_GROUP4), PEER, MCAST_GROUP4, 1, ttl)


def feed(packet: bytes) -> Instance:
    instance = Instance(PARAMS)
    instance.handle(Start(0.0))
    with contextlib.suppress(DecodeError):
        instance.handle(AdvertIn(parse_ipv4(packet), 1.0))
    return instance


def dropped_for(packet: bytes) -> str:
    try:
        received = parse_ipv4(packet)
    except DecodeError as problem:
        return problem.reason
    instance = Instance(PARAMS)
    instance.handle(Start(0.0))
    instance.handle(AdvertIn(received, 1.0))
    reasons = [
        key.removeprefix("drop_") for key, count in instance.counters.items() if key.startswith("drop_") and count
    ]
    return reasons[0] if reasons else "accepted"


def test_a_good_advert_is_accepted() -> None:
    assert dropped_for(wire()) == "accepted"


def test_each_drop_reason_is_counted() -> None:
    corrupt = bytearray(wire())
    corrupt[27] ^= 0xFF  # inside the VRRP checksum
    truncated = wire()[:-3]
    cases = {
        "ttl": wire(ttl=64),
        "checksum": bytes(corrupt),
        "version": wire(Advert(3, 1, 200, (VIP,), 100)),
        "length": truncated,
        "vrid": wire(Advert(2, 9, 200, (VIP,), 100, AUTH_PASS, b"secret12")),
        "auth": wire(Advert(2, 1, 200, (VIP,), 100, AUTH_PASS, b"wrongkey")),
        "interval": wire(Advert(2, 1, 200, (VIP,), 200, AUTH_PASS, b"secret12")),
        "addresses": wire(Advert(2, 1, 200, (ipaddress.IPv4Address("10.99.1.2"),), 100, AUTH_PASS, b"secret12")),
    }
    for reason, packet in cases.items():
        assert dropped_for(packet) == reason, reason


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 59), st.integers(0, 255)), min_size=1, max_size=6))
def test_mutated_adverts_never_crash(mutations: list[tuple[int, int]]) -> None:
    packet = bytearray(wire())
    for position, value in mutations:
        if position < len(packet):
            packet[position] = value
    feed(bytes(packet))


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=80), st.integers(0, 60))
def test_truncated_and_extended_adverts_never_crash(extra: bytes, cut: int) -> None:
    feed(wire()[: max(0, len(wire()) - cut)] + extra)
