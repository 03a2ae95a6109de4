"""Every address added to or removed from an interface, as the kernel reports it (rtnetlink's IFADDR groups):
keepalived's -a/--address-monitoring logs them."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass

from pyroute2.netlink import NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, nlmsg
from pyroute2.netlink.rtnl import RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.marshal import MarshalRtnl


@dataclass(frozen=True)
class AddressChange:
    address: str
    interface: str
    added: bool


class AddressMonitor:
    """A non-blocking netlink socket on the address groups. `ignored_portid`: a netlink socket of this
    process whose own changes are not reported (keepalived skips what its command channel did: its VIPs)."""

    def __init__(self, ignored_portid: int | None = None) -> None:
        self.ignored_portid = ignored_portid
        self.marshal = MarshalRtnl()
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
        self.sock.bind((0, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR))

    def fileno(self) -> int:
        return self.sock.fileno()

    def current(self) -> list[AddressChange]:
        """The addresses the interfaces have now, each as an addition (keepalived's start-up dump)."""
        request = ifaddrmsg()
        request["family"] = socket.AF_UNSPEC
        request["header"]["type"] = RTM_GETADDR
        request["header"]["flags"] = NLM_F_REQUEST | NLM_F_DUMP
        request["header"]["sequence_number"] = 1
        request.encode()
        self.sock.send(bytes(request.data))
        found: list[AddressChange] = []
        while True:
            messages = list(self.marshal.parse(self.sock.recv(65536)))
            found += self._changes(messages)
            if any(message["header"]["type"] == NLMSG_DONE for message in messages):
                self.sock.setblocking(False)
                return found

    def read(self) -> list[AddressChange]:
        changes: list[AddressChange] = []
        while True:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return changes
            changes += self._changes(self.marshal.parse(data))

    def _changes(self, messages: Iterable[nlmsg]) -> list[AddressChange]:
        changes: list[AddressChange] = []
        for message in messages:
            header = message["header"]
            if header["type"] not in (RTM_NEWADDR, RTM_DELADDR) or message["family"] not in (
                socket.AF_INET,
                socket.AF_INET6,
            ):
                continue
            if self.ignored_portid is not None and header["pid"] == self.ignored_portid:
                continue
            address = message.get_attr("IFA_LOCAL") or message.get_attr("IFA_ADDRESS")
            if address is None:
                continue
            try:
                name = socket.if_indextoname(message["index"])
            except OSError:
                name = str(message["index"])
            changes.append(AddressChange(address, name, header["type"] == RTM_NEWADDR))
        return changes
