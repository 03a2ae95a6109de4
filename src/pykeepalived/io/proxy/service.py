"""What a proxied TCP and UDP service share: its members and their counters, the scheduler, persistence
and the listening socket."""

from __future__ import annotations

import abc
import asyncio
import socket
from dataclasses import dataclass, field
from typing import Protocol

from ...lb.persistence import Persistence
from ...lb.schedulers import CONNECTION_COUNT_SCHEDULERS, Flow, Member, Scheduler, make_scheduler
from ...lb.table import (
    Destination,
    DestinationKey,
    Service,
    ServiceKey,
)
from ..shared_counts import SharedCounts

LISTEN_BACKLOG = 1024
# A read this large means the sender is streaming (a bulk transfer): the kernel splices the rest of that
# direction. Request-and-answer traffic reads far less at a time and stays in the transports.
BULK_READ = 64 * 1024
CONNECT_TIMEOUT = 5.0
# IPVS's default UDP timeout: a flow idle this long ends; idle flows are looked for this often.
UDP_TIMEOUT = 300.0
UDP_SWEEP_SECONDS = 1.0
# Python names it only on newer versions; the value is Linux's.
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)


class Closable(Protocol):
    def close(self) -> None: ...


@dataclass
class Counters:
    connections: int = 0
    bytes_in: int = 0
    bytes_out: int = 0


@dataclass
class ProxiedMember:
    member: Member
    destination: Destination
    counters: Counters = field(default_factory=Counters)
    # With several workers: this process's own connections, and the member's slot in SharedCounts.
    local_active: int = 0
    local_inactive: int = 0
    slot: int | None = None

    def count(self, shared: SharedCounts | None, active: int = 0, inactive: int = 0) -> None:
        """A connection (active: TCP) or flow (inactive: UDP) to this real server began (+1) or ended (-1)."""
        self.local_active += active
        self.local_inactive += inactive
        self.member.active += active
        self.member.inactive += inactive
        self.member.update_overload()
        if shared is not None and self.slot is not None:
            shared.publish(self.slot, self.local_active, self.local_inactive)


NO_COUNTERS = Counters()


class ProxyService(abc.ABC):
    """What a TCP and a UDP service share: the members, the scheduler, persistence, the shared counts."""

    def __init__(
        self, key: ServiceKey, service: Service, loop: asyncio.AbstractEventLoop, shared: SharedCounts | None = None
    ) -> None:
        self.key = key
        self.service = service
        # Kept, since asking asyncio for the running loop costs a getpid() per call.
        self.loop = loop
        self.scheduler: Scheduler = make_scheduler(service.scheduler, service.scheduler_flags)
        self.members: dict[DestinationKey, ProxiedMember] = {}
        # What the scheduler sees, rebuilt when the members change rather than on every connection.
        self.member_list: list[Member] = []
        self.counts_matter = False
        self.refused = 0
        self.persistence = persistence_of(service)
        self.shared = shared

    def members_changed(self) -> None:
        self.member_list = [proxied.member for proxied in self.members.values()]
        self.scheduler.update(self.member_list)
        # Whether picking needs every worker's connection counts (not only this process's); known here, not
        # worked out for each connection.
        self.counts_matter = self.service.scheduler in CONNECTION_COUNT_SCHEDULERS or any(
            member.upper_threshold or member.lower_threshold for member in self.member_list
        )

    def refresh_totals(self) -> None:
        """Each member's active and inactive connections across the workers."""
        if self.shared is None:
            return
        for proxied in self.members.values():
            if proxied.slot is not None:
                others_active, others_inactive = self.shared.others(proxied.slot)
                proxied.member.active = proxied.local_active + others_active
                proxied.member.inactive = proxied.local_inactive + others_inactive
                proxied.member.update_overload()

    @abc.abstractmethod
    def listen(self) -> asyncio.Task[Closable]:
        """Binds now, so an address in use fails the apply; serving starts on the loop."""

    @abc.abstractmethod
    def close(self) -> None:
        """Ends what the service keeps beyond its listener."""

    def bound_socket(self, kind: socket.SocketKind) -> socket.socket:
        family = socket.AF_INET6 if self.key.ip is not None and self.key.ip.version == 6 else socket.AF_INET
        listener = socket.socket(family, kind)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            # A backup binds the VIP before VRRP puts it on this host, so a failover needs no rebind.
            listener.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
            listener.bind((self.key.address, self.key.port))
        except OSError:
            listener.close()
            raise
        return listener

    def pick(self, source: str, source_port: int) -> ProxiedMember | None:
        """The real server for a new connection, or None (counted as refused) when no server can take it."""
        now = self.loop.time()
        if self.persistence is not None:
            kept = self.persistence.lookup(source, now)
            if kept is not None and kept in self.members:
                self.persistence.remember(source, kept, now)
                return self.members[kept]
        if self.shared is not None and self.counts_matter:
            self.refresh_totals()
        chosen = self.scheduler.pick(self.member_list, Flow(source, source_port, self.key.address, now))
        proxied = self.members.get(chosen.key) if chosen is not None else None
        if proxied is None:
            self.refused += 1
        elif self.persistence is not None:
            self.persistence.remember(source, proxied.member.key, now)
        return proxied


def persistence_settings(service: Service) -> tuple[int, str | None]:
    return service.persistence_timeout, service.persistence_granularity


def persistence_of(service: Service) -> Persistence | None:
    if not service.persistence_timeout:
        return None
    return Persistence(service.persistence_timeout, service.persistence_granularity)
