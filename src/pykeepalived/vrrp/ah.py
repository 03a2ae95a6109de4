"""IPsec AH for VRRPv2, exactly as keepalived does it (RFC 2402 layout, HMAC-MD5-96).

IPv4 protocol 51, a 24-byte AH header, then the VRRPv2 packet (auth type 2, eight zero auth bytes).
SPI = the sender's IPv4 address. The ICV is HMAC-MD5 over the IPv4 header with tos, fragment offset and
checksum zeroed (and TTL too for unicast), the AH header with the ICV zeroed, and the VRRP packet; the
key is auth_pass cut or padded to 8 bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import struct
from dataclasses import dataclass

from .packet import IPPROTO_AH, IPPROTO_VRRP, IPV4_HEADER_LEN, VRRP_TTL, DecodeError, encode_ipv4

AH_LEN = 24
AH_PAYLOAD_LEN = 4  # in 32-bit words, minus 2 (RFC 2402)
ICV_LEN = 12


@dataclass(frozen=True)
class AuthHeader:
    spi: int
    sequence: int
    icv: bytes


def ah_key(password: bytes) -> bytes:
    return password[:8].ljust(8, b"\0")


def _icv(ip_header: bytes, ah_header: bytes, vrrp: bytes, key: bytes, unicast: bool) -> bytes:
    mutable_zeroed = bytearray(ip_header)
    mutable_zeroed[1] = 0  # tos
    mutable_zeroed[6:8] = b"\0\0"  # flags and fragment offset
    mutable_zeroed[10:12] = b"\0\0"  # header checksum
    if unicast:
        mutable_zeroed[8] = 0  # TTL changes on the way to a unicast peer
    ah_zeroed = ah_header[: AH_LEN - ICV_LEN] + bytes(ICV_LEN)
    return hmac.new(key, bytes(mutable_zeroed) + ah_zeroed + vrrp, hashlib.md5).digest()[:ICV_LEN]


def encode_ah_ipv4(
    vrrp: bytes,
    source: ipaddress.IPv4Address,
    destination: ipaddress.IPv4Address,
    ident: int,
    sequence: int,
    key: bytes,
    unicast: bool = False,
    ttl: int = VRRP_TTL,
) -> bytes:
    """The whole IPv4 packet of an AH-authenticated VRRPv2 advert."""
    head = struct.pack("!BBH4sI", IPPROTO_VRRP, AH_PAYLOAD_LEN, 0, source.packed, sequence)
    unsigned = encode_ipv4(head + bytes(ICV_LEN) + vrrp, source, destination, ident, ttl, IPPROTO_AH)
    icv = _icv(unsigned[:IPV4_HEADER_LEN], head + bytes(ICV_LEN), vrrp, key, unicast)
    return unsigned[: IPV4_HEADER_LEN + AH_LEN - ICV_LEN] + icv + vrrp


def split_ah(payload: bytes) -> tuple[AuthHeader, bytes]:
    """The AH header and the VRRP packet after it. Raises DecodeError."""
    if len(payload) < AH_LEN:
        raise DecodeError(f"AH packet of {len(payload)} bytes is shorter than its {AH_LEN}-byte header")
    next_header, length = payload[0], payload[1]
    if next_header != IPPROTO_VRRP:
        raise DecodeError(f"AH carries protocol {next_header}, not VRRP", "protocol")
    if length != AH_PAYLOAD_LEN:
        raise DecodeError(f"AH payload length {length}, expected {AH_PAYLOAD_LEN}")
    spi, sequence = struct.unpack_from("!II", payload, 4)
    return AuthHeader(spi, sequence, payload[12:AH_LEN]), payload[AH_LEN:]


def icv_ok(packet: bytes, key: bytes, unicast: bool) -> bool:
    """Whether the AH ICV of a received IPv4 packet is right for `key`."""
    header_length = (packet[0] & 0x0F) * 4
    ah = packet[header_length : header_length + AH_LEN]
    expected = _icv(packet[:header_length], ah, packet[header_length + AH_LEN :], key, unicast)
    return hmac.compare_digest(expected, ah[AH_LEN - ICV_LEN :])
