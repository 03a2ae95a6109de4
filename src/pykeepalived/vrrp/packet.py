"""VRRP packet codec: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798), IPv4 and IPv6, as keepalived puts them on the wire.

Pure: bytes in, values out. Decoding raises only DecodeError. A VRRPv3 checksum covers the IP
pseudo-header, so the same advert has different checksums when sent to the multicast group and to a
unicast peer; the encoder therefore takes the source and destination addresses.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address

IPPROTO_VRRP = 112
IPPROTO_AH = 51
ADVERTISEMENT = 1
VRRP_TTL = 255
# keepalived marks adverts as network control traffic (DSCP CS6).
VRRP_TOS = 0xC0
AUTH_NONE, AUTH_PASS, AUTH_AH = 0, 1, 2
AUTH_DATA_LEN = 8
HEADER_LEN = 8
IPV4_HEADER_LEN = 20
MAX_V3_INTERVAL_CS = 0x0FFF
MCAST_GROUP4 = ipaddress.IPv4Address("224.0.0.18")
MCAST_GROUP6 = ipaddress.IPv6Address("ff02::12")


class DecodeError(ValueError):
    """The bytes are not a well-formed VRRP packet; the message says what is wrong."""

    def __init__(self, message: str, reason: str = "length") -> None:
        super().__init__(message)
        # The drop counter this belongs to (see validate.DropReason).
        self.reason = reason


@dataclass(frozen=True)
class Advert:
    """A VRRP advertisement, as carried in the VRRP header."""

    version: int
    vrid: int
    priority: int
    addresses: tuple[IPAddr, ...]
    # VRRPv3: Max Adver Int in centiseconds. VRRPv2: Adver Int in seconds, kept here in centiseconds too.
    interval_cs: int
    auth_type: int = AUTH_NONE
    auth_data: bytes = bytes(AUTH_DATA_LEN)
    packet_type: int = ADVERTISEMENT
    # As received; encode() always computes it.
    checksum: int = field(default=0, compare=False)

    @property
    def family(self) -> int:
        return self.addresses[0].version if self.addresses else 4


def ones_complement_sum(data: bytes, start: int = 0) -> int:
    """The 16-bit one's complement sum used by the IP checksums (not yet complemented)."""
    if len(data) % 2:
        data += b"\0"
    total: int = start + sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def internet_checksum(data: bytes, start: int = 0) -> int:
    return ~ones_complement_sum(data, start) & 0xFFFF


def pseudo_header_sum(source: IPAddr, destination: IPAddr, length: int) -> int:
    if source.version == 4:
        header = source.packed + destination.packed + struct.pack("!BBH", 0, IPPROTO_VRRP, length)
    else:
        header = source.packed + destination.packed + struct.pack("!I3xB", length, IPPROTO_VRRP)
    return ones_complement_sum(header)


def _vrrp_bytes(advert: Advert, checksum: int) -> bytes:
    if advert.version == 2:
        if advert.interval_cs % 100:
            raise ValueError("VRRPv2 advert intervals are whole seconds")
        head = struct.pack(
            "!BBBBBBH",
            (2 << 4) | advert.packet_type,
            advert.vrid,
            advert.priority,
            len(advert.addresses),
            advert.auth_type,
            advert.interval_cs // 100,
            checksum,
        )
        tail = advert.auth_data.ljust(AUTH_DATA_LEN, b"\0")[:AUTH_DATA_LEN]
    else:
        head = struct.pack(
            "!BBBBHH",
            (3 << 4) | advert.packet_type,
            advert.vrid,
            advert.priority,
            len(advert.addresses),
            advert.interval_cs & MAX_V3_INTERVAL_CS,
            checksum,
        )
        tail = b""
    return head + b"".join(a.packed for a in advert.addresses) + tail


def encode(advert: Advert, source: IPAddr, destination: IPAddr) -> bytes:
    """The VRRP packet (no IP header) with its checksum."""
    unsummed = _vrrp_bytes(advert, 0)
    if advert.version == 2:
        checksum = internet_checksum(unsummed)
    else:
        checksum = internet_checksum(unsummed, pseudo_header_sum(source, destination, len(unsummed)))
    return _vrrp_bytes(advert, checksum)


def checksum_ok(data: bytes, version: int, source: IPAddr, destination: IPAddr) -> bool:
    """Whether the VRRP packet `data` (as received, checksum included) sums correctly."""
    if version == 2:
        return ones_complement_sum(data) == 0xFFFF
    return ones_complement_sum(data, pseudo_header_sum(source, destination, len(data))) == 0xFFFF


def decode(data: bytes, family: int) -> Advert:
    """Decode a VRRP packet (no IP header). Raises DecodeError; does not check the checksum."""
    if len(data) < HEADER_LEN:
        raise DecodeError(f"VRRP packet of {len(data)} bytes is shorter than its {HEADER_LEN}-byte header")
    version, packet_type = data[0] >> 4, data[0] & 0x0F
    if version not in (2, 3):
        raise DecodeError(f"unknown VRRP version {version}", "version")
    if version == 2 and family == 6:
        raise DecodeError("VRRPv2 cannot be carried over IPv6", "version")
    vrid, priority, count = data[1], data[2], data[3]
    address_len = 4 if family == 4 else 16
    expected = HEADER_LEN + count * address_len + (AUTH_DATA_LEN if version == 2 else 0)
    if len(data) != expected:
        raise DecodeError(f"VRRP packet is {len(data)} bytes, expected {expected} for {count} addresses")
    if version == 2:
        auth_type, interval_s, checksum = data[4], data[5], struct.unpack_from("!H", data, 6)[0]
        interval_cs = interval_s * 100
        auth_data = data[expected - AUTH_DATA_LEN : expected]
    else:
        rsvd_interval, checksum = struct.unpack_from("!HH", data, 4)
        interval_cs, auth_type, auth_data = rsvd_interval & MAX_V3_INTERVAL_CS, AUTH_NONE, bytes(AUTH_DATA_LEN)
    addresses: list[IPAddr] = []
    for i in range(count):
        raw = data[HEADER_LEN + i * address_len : HEADER_LEN + (i + 1) * address_len]
        addresses.append(ipaddress.IPv4Address(raw) if family == 4 else ipaddress.IPv6Address(raw))
    return Advert(version, vrid, priority, tuple(addresses), interval_cs, auth_type, auth_data, packet_type, checksum)


@dataclass(frozen=True)
class IPv4Header:
    source: ipaddress.IPv4Address
    destination: ipaddress.IPv4Address
    ttl: int
    protocol: int
    total_length: int
    ident: int
    tos: int
    header_length: int


def encode_ipv4(
    payload: bytes,
    source: ipaddress.IPv4Address,
    destination: ipaddress.IPv4Address,
    ident: int,
    ttl: int = VRRP_TTL,
    protocol: int = IPPROTO_VRRP,
) -> bytes:
    """An IPv4 header as keepalived builds it (tos 0xc0, no DF, its own IP ID) followed by `payload`."""
    total = IPV4_HEADER_LEN + len(payload)
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, VRRP_TOS, total, ident & 0xFFFF, 0, ttl, protocol, 0, source.packed, destination.packed
    )
    checksum = internet_checksum(header)
    return header[:10] + struct.pack("!H", checksum) + header[12:] + payload


def decode_ipv4(packet: bytes) -> tuple[IPv4Header, bytes]:
    """Split a received IPv4 packet into its header and payload. Raises DecodeError."""
    if len(packet) < IPV4_HEADER_LEN:
        raise DecodeError(f"IPv4 packet of {len(packet)} bytes is shorter than an IPv4 header")
    if packet[0] >> 4 != 4:
        raise DecodeError("not an IPv4 packet", "version")
    header_length = (packet[0] & 0x0F) * 4
    if header_length < IPV4_HEADER_LEN or len(packet) < header_length:
        raise DecodeError(f"IPv4 header length {header_length} is invalid for a {len(packet)}-byte packet")
    tos, total, ident, _, ttl, protocol = struct.unpack_from("!xBHHHBB", packet)
    header = IPv4Header(
        ipaddress.IPv4Address(packet[12:16]),
        ipaddress.IPv4Address(packet[16:20]),
        ttl,
        protocol,
        total,
        ident,
        tos,
        header_length,
    )
    return header, packet[header_length:]
