"""IPsec AH as keepalived does it: byte-exact against its captures, and its anti-replay rules."""

from __future__ import annotations

import ipaddress

import pytest
from pcap import VECTORS, ip_packets

from pykeepalived.vrrp.ah import ah_key, encode_ah_ipv4, icv_ok, split_ah
from pykeepalived.vrrp.instance import AdvertIn, Instance, Log, Params, SendAdvert, Start, Timer
from pykeepalived.vrrp.packet import AUTH_AH, IPPROTO_AH, decode, decode_ipv4, encode
from pykeepalived.vrrp.validate import parse_ipv4

KEY = ah_key(b"secret12")


def ah_packets(name: str) -> list[bytes]:
    return [p for p in ip_packets(VECTORS / f"{name}.pcap", 0x0800) if p[9] == IPPROTO_AH]


@pytest.mark.parametrize(("name", "made_by_hand"), [("v2-ah", 0), ("v2-ah-failover", 0), ("v2-ah-inject", 3)])
def test_keepalived_ah_adverts_reencode_byte_identical(name: str, made_by_hand: int) -> None:
    packets = ah_packets(name)
    assert len(packets) >= 8
    rebuilt = 0
    for packet in packets:
        header, payload = decode_ipv4(packet)
        ah, vrrp = split_ah(payload)
        if not icv_ok(packet, KEY, unicast=False) or ah.spi != int.from_bytes(header.source.packed, "big"):
            continue  # injected on purpose: tampered, wrong key, wrong SPI
        advert = decode(vrrp, 4)
        again = encode_ah_ipv4(
            encode(advert, header.source, header.destination), header.source, header.destination,
            header.ident, ah.sequence, KEY,
        )  # fmt: skip
        assert again == packet
        rebuilt += 1
    assert rebuilt == len(packets) - made_by_hand


def test_v2_ah_first_advert_fields() -> None:
    received = parse_ipv4(ah_packets("v2-ah")[0])
    assert received.ah is not None and received.ah.sequence == 1
    assert received.ah.icv.hex() == "3f11638ec3975952926315d0"
    assert received.advert.auth_type == AUTH_AH and received.advert.auth_data == bytes(8)


def test_injected_frames_give_keepalived_log_lines_then_takeover_continues_the_sequence() -> None:
    params = Params(
        "VI_1", 1, 2, 100, 100, (ipaddress.IPv4Address("10.99.1.1"),), ipaddress.IPv4Address("10.99.0.12"),
        auth_type=AUTH_AH, auth_data=KEY,
    )  # fmt: skip
    instance = Instance(params)
    instance.handle(Start(0.0))
    logs: list[str] = []
    t = 1.0
    for packet in ah_packets("v2-ah-inject"):
        received = parse_ipv4(packet)
        if received.source != ipaddress.IPv4Address("10.99.0.11"):
            continue
        logs += [a.message for a in instance.handle(AdvertIn(received, t)) if isinstance(a, Log) and not a.detail]
        t += 0.5
    assert logs == [
        "(VI_1) IPSEC-AH : sequence number 6 already processed. Packet dropped. Local(6)",
        "(VI_1) IPSEC-AH : sequence number 3 already processed. Packet dropped. Local(6)",
        "(VI_1) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !",
        "IPSEC AH : invalid IPSEC SPI value. 184574730 and expect 1660969738",
        "(VI_1) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !",
    ]
    deadline = instance.next_deadline
    assert deadline is not None
    sent = [a for a in instance.handle(Timer(deadline)) if isinstance(a, SendAdvert)]
    assert sent[0].ah_sequence == 11  # keepalived's kv-b sent seq 11 after the injected seq 10
