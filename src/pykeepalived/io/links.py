"""Link up/down events from the kernel (rtnetlink RTMGRP_LINK), for FAULT on interface failure."""

from __future__ import annotations

import socket
import struct

RTMGRP_LINK = 1
RTM_NEWLINK = 16
RTM_DELLINK = 17
IFF_UP = 0x1
IFF_RUNNING = 0x40
NLMSG_HEADER = struct.Struct("=IHHII")
IFINFOMSG = struct.Struct("=BxHiII")


class LinkMonitor:
    """A non-blocking netlink socket; read() returns (ifindex, up) for each link change."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.sock.bind((0, RTMGRP_LINK))
        self.sock.setblocking(False)

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self) -> list[tuple[int, bool]]:
        changes: list[tuple[int, bool]] = []
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return changes
            changes.extend(parse_link_messages(data))

    def close(self) -> None:
        self.sock.close()


def parse_link_messages(data: bytes) -> list[tuple[int, bool]]:
    changes: list[tuple[int, bool]] = []
    offset = 0
    while offset + NLMSG_HEADER.size <= len(data):
        length, kind, _, _, _ = NLMSG_HEADER.unpack_from(data, offset)
        if length < NLMSG_HEADER.size:
            break
        body = offset + NLMSG_HEADER.size
        if kind in (RTM_NEWLINK, RTM_DELLINK) and body + IFINFOMSG.size <= len(data):
            _, _, index, flags, _ = IFINFOMSG.unpack_from(data, body)
            up = kind == RTM_NEWLINK and bool(flags & IFF_UP) and bool(flags & IFF_RUNNING)
            changes.append((index, up))
        offset += (length + 3) & ~3
    return changes
