"""A minimal reader for the libpcap captures in ../shared/vectors (Ethernet link type)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors" / "keepalived-2.2.7"


def frames(path: Path) -> Iterator[bytes]:
    data = path.read_bytes()
    magic = struct.unpack_from("<I", data)[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    offset = 24
    while offset + 16 <= len(data):
        _, _, captured, _ = struct.unpack_from(endian + "IIII", data, offset)
        offset += 16
        yield data[offset : offset + captured]
        offset += captured


def ip_packets(path: Path, ethertype: int) -> Iterator[bytes]:
    """The IP packets (Ethernet header removed) of one ethertype."""
    for frame in frames(path):
        if struct.unpack_from("!H", frame, 12)[0] == ethertype:
            yield frame[14:]
