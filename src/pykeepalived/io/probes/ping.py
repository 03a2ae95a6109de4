"""PING_CHECK: an ICMP echo reply within the timeout (raw ICMP socket, so root)."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import struct
import time

from ...vrrp.packet import internet_checksum
from .base import Result, Target, failed

ECHO_REQUEST, ECHO_REPLY = 8, 0
ECHO_REQUEST6, ECHO_REPLY6 = 128, 129
_sequences = itertools.count(1)


def echo(kind: int, ident: int, sequence: int) -> bytes:
    payload = struct.pack("!d", time.monotonic())
    header = struct.pack("!BBHHH", kind, 0, 0, ident, sequence)
    checksum = internet_checksum(header + payload) if kind == ECHO_REQUEST else 0
    return struct.pack("!BBHHH", kind, 0, checksum, ident, sequence) + payload


async def check(target: Target) -> Result:
    sequence = next(_sequences) & 0xFFFF
    ident = os.getpid() & 0xFFFF
    v6 = target.family == socket.AF_INET6
    sock = socket.socket(target.family, socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + target.timeout
    try:
        if target.bind_address:
            sock.bind((target.bind_address, 0))
        await loop.sock_sendto(sock, echo(ECHO_REQUEST6 if v6 else ECHO_REQUEST, ident, sequence), (target.address, 0))
        while (remaining := deadline - loop.time()) > 0:
            data, source = await asyncio.wait_for(loop.sock_recvfrom(sock, 2048), remaining)
            icmp = data if v6 else data[(data[0] & 0x0F) * 4 :]
            if len(icmp) < 8 or source[0] != target.address:
                continue
            kind, _, _, reply_ident, reply_sequence = struct.unpack_from("!BBHHH", icmp)
            if kind == (ECHO_REPLY6 if v6 else ECHO_REPLY) and (reply_ident, reply_sequence) == (ident, sequence):
                return Result(True)
    except TimeoutError:
        pass
    except OSError as error:
        return failed(str(error))
    finally:
        sock.close()
    return failed("no echo reply")
