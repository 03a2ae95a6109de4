"""Virtual addresses through rtnetlink: messages built with pyroute2, sent without waiting.

A master refreshes the lifetime of every address it holds several times a second, so each operation is
one non-blocking send of prebuilt messages (all of an instance's addresses in one datagram) and the
kernel's answers are read when they come: an error is logged, never waited for.
"""

from __future__ import annotations

import concurrent.futures
import errno
import itertools
import logging
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST
from pyroute2.netlink.rtnl import RTM_DELADDR, RTM_NEWADDR
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg

from ..config.items import VirtualAddress

SCOPES = {"global": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
IFA_F_NODAD = 0x02
NLMSG_ERROR = 2
NLMSG_HEADER = struct.Struct("=IHHII")
# Errors that mean the kernel already is where we want it.
HARMLESS = {errno.EEXIST, errno.EADDRNOTAVAIL, errno.ENODEV}


@dataclass(frozen=True)
class PlacedAddress:
    """A virtual address and the interface it goes on."""

    address: VirtualAddress
    ifindex: int


# The kernel's "forever" for an address's lifetime.
INFINITE_LIFETIME = 0xFFFFFFFF


def expiring_addresses() -> set[tuple[int, str]]:
    """(interface index, address) of every address with a lifetime: the VIPs a VRRP master of ours keeps
    renewing; one set by hand or by DHCP's lease would have to be one of the VIPs to be taken for them."""
    from pyroute2 import IPRoute

    def dump() -> set[tuple[int, str]]:
        with IPRoute() as routing:
            return {
                (message["index"], message.get_attr("IFA_ADDRESS"))
                for message in routing.get_addr()
                if (message.get_attr("IFA_CACHEINFO") or {}).get("ifa_valid", INFINITE_LIFETIME) != INFINITE_LIFETIME
            }

    # The VRRP process asks from inside its running event loop, where pyroute2 0.9's synchronous IPRoute
    # cannot run its own loop ("This event loop is already running"): it runs in a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(dump).result()


def address_message(placed: PlacedAddress, add: bool, lifetime: int | None) -> bytes:
    """An RTM_NEWADDR (add or replace, with an optional lifetime in seconds) or RTM_DELADDR message."""
    vip = placed.address
    message = ifaddrmsg()
    message["family"] = socket.AF_INET if vip.family == 4 else socket.AF_INET6
    message["prefixlen"] = vip.address.network.prefixlen
    message["index"] = placed.ifindex
    scope = vip.scope or "global"
    message["scope"] = SCOPES[scope] if scope in SCOPES else int(scope)
    # keepalived adds IPv6 virtual addresses without duplicate address detection.
    message["flags"] = IFA_F_NODAD if vip.family == 6 else 0
    ip = str(vip.address.ip)
    attributes: list[tuple[str, object]] = [("IFA_LOCAL", ip), ("IFA_ADDRESS", ip)]
    if vip.family == 4 and vip.broadcast is not None:
        attributes.append(("IFA_BROADCAST", str(vip.broadcast)))
    if vip.label:
        attributes.append(("IFA_LABEL", vip.label))
    if add and lifetime is not None:
        attributes.append(
            ("IFA_CACHEINFO", {"ifa_preferred": lifetime, "ifa_valid": lifetime, "cstamp": 0, "tstamp": 0})
        )
    message["attrs"] = attributes
    message["header"]["type"] = RTM_NEWADDR if add else RTM_DELADDR
    flags = NLM_F_REQUEST | NLM_F_ACK
    message["header"]["flags"] = flags | NLM_F_CREATE | NLM_F_REPLACE if add else flags
    message.encode()
    return bytes(message.data)


class AddressManager:
    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.sock.setblocking(False)
        self._sequence = itertools.count(1)
        self._what: dict[int, str] = {}

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, messages: Sequence[tuple[bytes, str]]) -> None:
        """Send prebuilt messages (each with a description for error reports) in one datagram."""
        batch = bytearray()
        for message, description in messages:
            sequence = next(self._sequence) & 0xFFFFFFFF
            self._what[sequence] = description
            chunk = bytearray(message)
            struct.pack_into("=I", chunk, 8, sequence)
            batch += chunk
        try:
            self.sock.send(bytes(batch))
        except OSError as error:
            self.logger.error(f"netlink: could not send {len(messages)} address operations: {error}")

    def read_answers(self) -> None:
        """Drain the kernel's acknowledgements; log the errors that matter."""
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            offset = 0
            while offset + NLMSG_HEADER.size <= len(data):
                length, kind, _, sequence, _ = NLMSG_HEADER.unpack_from(data, offset)
                if length < NLMSG_HEADER.size:
                    break
                description = self._what.pop(sequence, "address operation")
                if kind == NLMSG_ERROR and offset + NLMSG_HEADER.size + 4 <= len(data):
                    code = -struct.unpack_from("=i", data, offset + NLMSG_HEADER.size)[0]
                    if code and code not in HARMLESS:
                        self.logger.error(f"netlink: {description} failed: {errno.errorcode.get(code, code)}")
                offset += (length + 3) & ~3

    def close(self) -> None:
        self.sock.close()
