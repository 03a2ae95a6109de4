"""A client's view of a virtual IP: ICMP echo every few ms, and which MAC each reply came from.

Run inside the client's network namespace; prints one JSON line per reply: {"t": monotonic seconds,
"mac": source MAC}. Requests go through the kernel (ARP cache and all), as a real client's would.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import select
import socket
import struct
import sys
import time
from collections.abc import Sequence

from ..vrrp.packet import internet_checksum

ETH_P_IP = 0x0800
ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY = 8, 0


def echo_request(ident: int, sequence: int) -> bytes:
    header = struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, 0, ident, sequence)
    checksum = internet_checksum(header)
    return struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, checksum, ident, sequence)


def probe(target: ipaddress.IPv4Address, interval: float, duration: float) -> None:
    ident = os.getpid() & 0xFFFF
    sender = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sniffer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sniffer.setblocking(False)
    deadline = time.monotonic() + duration
    next_send = time.monotonic()
    sequence = 0
    while time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_send:
            sequence = (sequence + 1) & 0xFFFF
            # Without an ARP answer yet the send fails; the next probe tries again.
            with contextlib.suppress(OSError):
                sender.sendto(echo_request(ident, sequence), (str(target), 0))
            next_send = now + interval
        readable, _, _ = select.select([sniffer], [], [], max(0.0, min(next_send, deadline) - time.monotonic()))
        if not readable:
            continue
        while True:
            try:
                frame = sniffer.recv(2048)
            except BlockingIOError:
                break
            ip = frame[14:]
            if len(ip) < 28 or ip[9] != socket.IPPROTO_ICMP or ip[12:16] != target.packed:
                continue
            icmp = ip[(ip[0] & 0x0F) * 4 :]
            if icmp[0] == ICMP_ECHO_REPLY and struct.unpack_from("!H", icmp, 4)[0] == ident:
                mac = ":".join(f"{b:02x}" for b in frame[6:12])
                print(json.dumps({"t": round(time.monotonic(), 6), "mac": mac}), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pykeepalived-prober")
    parser.add_argument("target", type=ipaddress.IPv4Address)
    parser.add_argument("--interval", type=float, default=0.005)
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args(argv)
    probe(args.target, args.interval, args.duration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
