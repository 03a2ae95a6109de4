"""Verdicts on received adverts: accept, or drop with a reason (counted) and keepalived's log line."""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass

from .ah import AuthHeader, icv_ok, split_ah
from .packet import (
    ADVERTISEMENT,
    AUTH_AH,
    AUTH_NONE,
    AUTH_PASS,
    IPPROTO_AH,
    IPPROTO_VRRP,
    VRRP_TTL,
    Advert,
    DecodeError,
    IPAddr,
    checksum_ok,
    decode,
    decode_ipv4,
)


class DropReason(enum.Enum):
    TTL = "ttl"
    CHECKSUM = "checksum"
    VERSION = "version"
    LENGTH = "length"
    VRID = "vrid"
    # keepalived's three counters: a failed password or AH check, an auth type it does not know, and an auth
    # type (or AH header) other than the instance's.
    AUTH = "auth"
    AUTH_TYPE = "auth_type"
    AUTH_MISMATCH = "auth_mismatch"
    INTERVAL = "interval"
    TYPE = "type"
    ADDRESSES = "addresses"
    CAST = "cast"
    PROTOCOL = "protocol"


@dataclass(frozen=True)
class Received:
    """An advert with what the IP layer told us about it."""

    advert: Advert
    source: IPAddr
    destination: IPAddr
    # IPv4 TTL / IPv6 hop limit, None when the socket did not report it.
    ttl: int | None
    checksum_ok: bool
    # The IPv4 total length matches the bytes received.
    length_ok: bool = True
    # AH-authenticated adverts: the AH header, and the whole IP packet the ICV covers.
    ah: AuthHeader | None = None
    raw: bytes = b""
    # The IPv4 identification field: keepalived (and we) count it up per advert, from 1 at start.
    ident: int | None = None

    @property
    def multicast(self) -> bool:
        return self.destination.is_multicast


def parse_ipv4(packet: bytes) -> Received:
    """A raw IPv4 packet from a protocol-112 socket. Raises DecodeError."""
    header, payload = decode_ipv4(packet)
    ah: AuthHeader | None = None
    if header.protocol == IPPROTO_AH:
        ah, payload = split_ah(payload)
    elif header.protocol != IPPROTO_VRRP:
        raise DecodeError(f"IP protocol {header.protocol} is not VRRP", "protocol")
    advert = decode(payload, 4)
    return Received(
        advert,
        header.source,
        header.destination,
        header.ttl,
        checksum_ok(payload, advert.version, header.source, header.destination),
        header.total_length == len(packet),
        ah,
        packet if ah is not None else b"",
        header.ident,
    )


def parse_ipv6(payload: bytes, source: IPAddr, destination: IPAddr, hop_limit: int | None) -> Received:
    """A VRRP payload from an IPv6 raw socket (the kernel strips the IPv6 header). Raises DecodeError."""
    advert = decode(payload, 6)
    return Received(advert, source, destination, hop_limit, checksum_ok(payload, 3, source, destination))


@dataclass(frozen=True)
class Expectations:
    """What an instance requires of adverts for its VRID."""

    name: str
    version: int
    auth_type: int
    auth_data: bytes
    interval_cs: int
    addresses: tuple[IPAddr, ...]
    unicast: bool
    unicast_peers: tuple[IPAddr, ...] = ()
    check_unicast_src: bool = False


@dataclass(frozen=True)
class Drop:
    reason: DropReason
    log: str


@dataclass(frozen=True)
class Verdict:
    drop: Drop | None
    # With AH: the highest sequence number accepted so far, for the instance to keep.
    ah_sequence: int | None = None


def _check_ah(received: Received, expect: Expectations, ah_sequence: int) -> Verdict:
    """keepalived's vrrp_in_chk_ipsecah(): ICV, then SPI = source, then anti-replay."""
    ah = received.ah
    name = expect.name
    if ah is None:
        return Verdict(Drop(DropReason.AUTH_MISMATCH, f"({name}) No AH header but auth type is AH"))
    if not icv_ok(received.raw, expect.auth_data, expect.unicast):
        return Verdict(
            Drop(
                DropReason.AUTH,
                f"({name}) IPSEC-AH : invalid IPSEC HMAC-MD5 value. Due to fields mutation or bad password !",
            )
        )
    source = int.from_bytes(received.source.packed, "big")
    if ah.spi != source:
        # keepalived prints both network-order values as host (little-endian) integers, and no instance.
        wire = int.from_bytes(received.source.packed, "little"), int.from_bytes(ah.spi.to_bytes(4, "big"), "little")
        return Verdict(Drop(DropReason.AUTH, f"IPSEC AH : invalid IPSEC SPI value. {wire[0]} and expect {wire[1]}"))
    if ah.sequence <= ah_sequence:
        return Verdict(
            Drop(
                DropReason.AUTH,
                f"({name}) IPSEC-AH : sequence number {ah.sequence} already processed. Packet dropped. "
                f"Local({ah_sequence})",
            )
        )
    return Verdict(None, ah.sequence)


def check(received: Received, expect: Expectations, check_addresses: bool = True, ah_sequence: int = 0) -> Verdict:
    """keepalived's vrrp_check_packet(), in its order: accept, or why not.

    With AH, a packet that passes the AH checks raises the instance's sequence number even if a later
    check drops it, as in keepalived.
    """
    advert = received.advert
    name = expect.name
    accepted: int | None = None

    def drop(reason: DropReason, log: str) -> Verdict:
        return Verdict(Drop(reason, log), accepted)

    if (received.ah is not None) != (expect.auth_type == AUTH_AH):
        which = "Received AH header but auth type not AH" if received.ah else "No AH header but auth type is AH"
        return drop(DropReason.AUTH_MISMATCH, f"({name}) {which}")
    if not expect.unicast and received.ttl is not None and received.ttl != VRRP_TTL:
        return drop(DropReason.TTL, f"({name}) invalid TTL/HL. Received {received.ttl} and expect {VRRP_TTL}")
    if advert.version != expect.version:
        return drop(
            DropReason.VERSION, f"({name}) wrong version. Received {advert.version} and expect {expect.version}"
        )
    if advert.version == 2:
        if advert.auth_type not in (AUTH_NONE, AUTH_PASS, AUTH_AH):
            return drop(DropReason.AUTH_TYPE, f"({name}) Invalid auth type: {advert.auth_type}")
        if advert.auth_type != expect.auth_type:
            return drop(
                DropReason.AUTH_MISMATCH, f"({name}) received a {advert.auth_type} auth, expecting {expect.auth_type}!"
            )
        if expect.auth_type == AUTH_PASS and not hmac.compare_digest(advert.auth_data, expect.auth_data):
            return drop(DropReason.AUTH, f"({name}) received an invalid passwd!")
        if expect.auth_type == AUTH_AH:
            ah_verdict = _check_ah(received, expect, ah_sequence)
            if ah_verdict.drop is not None:
                return ah_verdict
            accepted = ah_verdict.ah_sequence
        if advert.interval_cs != expect.interval_cs:
            return drop(
                DropReason.INTERVAL,
                f"({name}) advertisement interval mismatch mine={expect.interval_cs // 100} sec "
                f"rcv'd={advert.interval_cs // 100} sec",
            )
    if advert.packet_type != ADVERTISEMENT:
        return drop(DropReason.TYPE, f"({name}) Invalid packet type. {advert.packet_type} and expect {ADVERTISEMENT}")
    if check_addresses and len(advert.addresses) != len(expect.addresses):
        return drop(
            DropReason.ADDRESSES,
            f"({name}) received an unexpected ip number count {len(advert.addresses)}, "
            f"expected {len(expect.addresses)}!",
        )
    if not received.length_ok:
        return drop(DropReason.LENGTH, f"({name}) ip_tot_len mismatch against received length")
    if not received.checksum_ok:
        return drop(DropReason.CHECKSUM, f"({name}) Invalid VRRPv{advert.version} checksum")
    if received.multicast == expect.unicast:
        expected, got = ("un", "mult") if expect.unicast else ("mult", "un")
        return drop(DropReason.CAST, f"({name}) Expected {expected}icast packet but received {got}icast packet")
    if check_addresses:
        for address in expect.addresses:
            if address not in advert.addresses:
                return drop(
                    DropReason.ADDRESSES,
                    f"({name}) ip address associated with VRID {advert.vrid} not present in MASTER advert: {address}",
                )
        if expect.unicast and expect.check_unicast_src and received.source not in expect.unicast_peers:
            return drop(DropReason.ADDRESSES, f"({name}) unicast source address {received.source} not a unicast peer")
    return Verdict(None, accepted)
