"""The userspace data plane: a TCP or UDP proxy per virtual service that picks real servers with IPVS's
schedulers.

It takes the same operations as the kernel data planes and keeps IPVS's persistence itself. Reading stops
on a side whose peer cannot keep up (back-pressure), an end-of-file is passed on as a half-close, and a real
server taken out of the table only stops getting new connections: the open ones finish (IPVS's drain).

Over 400 lines: TCP relaying, UDP flows and applying tables share the per-service state; splitting it is
planned with the data-plane contract (docs/architecture.md).
"""

from __future__ import annotations

import abc
import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from ..lb.persistence import Persistence
from ..lb.schedulers import CONNECTION_COUNT_SCHEDULERS, Flow, Member, Scheduler, make_scheduler
from ..lb.table import (
    AddDestination,
    AddService,
    DeleteService,
    Destination,
    DestinationKey,
    EditDestination,
    EditService,
    Operation,
    Service,
    ServiceKey,
    Table,
    service_of,
    with_members,
)
from .errors import UnsupportedService
from .shared_counts import SharedCounts
from .splice import Splice

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


class Side(asyncio.Protocol):
    """One end of a relayed connection; it writes what it reads into its peer."""

    def __init__(self, counters: Counters, inbound: bool) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: Side | None = None
        self.counters = counters
        self.inbound = inbound
        self.got_eof = False
        self.sent_eof = False
        self.pending: list[bytes] = []
        self.splice: Splice | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but they behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._count_bytes(len(data))
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)
            if len(data) >= BULK_READ and not peer.transport.get_write_buffer_size():
                self._start_splice(peer.transport)
        else:
            # Before the real server's side is up (uvloop may deliver data despite pause_reading).
            self.pending.append(data)

    def _count_bytes(self, count: int) -> None:
        if self.inbound:
            self.counters.bytes_in += count
        else:
            self.counters.bytes_out += count

    def _start_splice(self, target: asyncio.Transport) -> None:
        """A bulk transfer: the kernel moves this direction from now on (os.splice); the transport stops reading."""
        assert self.transport is not None
        source_socket, target_socket = self.transport.get_extra_info("socket"), target.get_extra_info("socket")
        if source_socket is None or target_socket is None or self.got_eof or self.transport.is_closing():
            return
        self.transport.pause_reading()
        loop = asyncio.get_running_loop()
        self.splice = Splice(loop, source_socket, target_socket, self._count_bytes, self._spliced_to_end)

    def _spliced_to_end(self, clean: bool) -> None:
        """The spliced direction ended: at the sender's end of file (the receiver was half-closed), or broken."""
        peer = self.peer
        if not clean:
            for side in (self, peer):
                if side is not None and side.transport is not None:
                    side.transport.abort()
            return
        self.got_eof = True
        if peer is not None:
            peer.sent_eof = True
            peer.close_if_done()
        self.close_if_done()

    def eof_received(self) -> bool:
        self.got_eof = True
        self._pass_eof()
        return True

    def link(self, peer: Side) -> None:
        """Relay to `peer` from now on, starting with what arrived before it was up."""
        self.peer = peer
        assert peer.transport is not None
        if self.pending:
            peer.transport.writelines(self.pending)
            self.pending.clear()
        if self.got_eof:
            self._pass_eof()

    def _pass_eof(self) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.transport.is_closing():
            peer.sent_eof = True
            if peer.got_eof:
                # Done both ways: closing sends the end of file too, without a shutdown call of its own.
                peer.transport.close()
            else:
                peer.transport.write_eof()
        self.close_if_done()

    def close_if_done(self) -> None:
        """A half-closed side stays open for the other direction; closed both ways, it closes."""
        if self.got_eof and self.sent_eof and self.transport is not None:
            self.transport.close()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        # A peer whose reading is spliced must not be read by its transport again.
        if self.peer is not None and self.peer.transport is not None and self.peer.splice is None:
            self.peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        for side in (self, self.peer):
            if side is not None and side.splice is not None:
                side.splice.stop()
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()


class ServerSide(Side):
    """The real server's end: while it is open, it is one of the member's active connections."""

    def __init__(self, client: Side, proxied: ProxiedMember, shared: SharedCounts | None) -> None:
        super().__init__(proxied.counters, inbound=False)
        # The real server may speak first: this side knows the client before its first byte can arrive.
        self.peer = client
        self.proxied = proxied
        self.member = proxied.member
        self.shared = shared
        proxied.count(shared, active=1)
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.proxied.count(self.shared, active=-1)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.release()


class ClientSide(Side):
    """The client's end: it picks a real server, and reads nothing until that server's connection is up."""

    def __init__(self, service: ProxyService) -> None:
        super().__init__(NO_COUNTERS, inbound=True)
        self.service = service
        self.upstream: ServerSide | None = None
        self.timeout: asyncio.TimerHandle | None = None
        self.source = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.source, source_port = self.transport.get_extra_info("peername")[:2]
        proxied = self.service.pick(self.source, source_port)
        if proxied is None:
            self.transport.abort()
            return
        self.transport.pause_reading()
        self.counters = proxied.counters
        proxied.counters.connections += 1
        self.upstream = ServerSide(self, proxied, self.service.shared)
        loop = self.service.loop
        address = proxied.member.key
        connecting = loop.create_task(loop.create_connection(self._upstream, address.address, address.port))
        self.timeout = loop.call_later(CONNECT_TIMEOUT, connecting.cancel)
        connecting.add_done_callback(self._connected)

    def _upstream(self) -> ServerSide:
        assert self.upstream is not None
        return self.upstream

    def _connected(self, connecting: asyncio.Task[tuple[asyncio.BaseTransport, asyncio.BaseProtocol]]) -> None:
        assert self.transport is not None and self.upstream is not None and self.timeout is not None
        self.timeout.cancel()
        if connecting.cancelled() or connecting.exception() is not None:
            self.upstream.release()
            self.transport.abort()
            return
        if self.transport.is_closing():
            connecting.result()[0].close()
            return
        self.link(self.upstream)
        self.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        # As IPVS's persistence template: the client's server is kept for the timeout after its last connection.
        persistence = self.service.persistence
        if persistence is not None and self.upstream is not None:
            persistence.remember(self.source, self.upstream.member.key, self.service.loop.time())


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
        family = socket.AF_INET6 if ":" in self.key.address else socket.AF_INET
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


class TcpProxyService(ProxyService):
    def close(self) -> None:
        """Nothing beyond the listener: open connections drain by themselves, as IPVS's do."""

    def listen(self) -> asyncio.Task[Closable]:
        listener = self.bound_socket(socket.SOCK_STREAM)
        try:
            listener.listen(LISTEN_BACKLOG)
        except OSError:
            listener.close()
            raise

        async def serve() -> Closable:
            return await self.loop.create_server(lambda: ClientSide(self), sock=listener)

        return self.loop.create_task(serve())


class UdpFlow(asyncio.DatagramProtocol):
    """One client's datagrams to the real server picked for its first one, and the replies back to it.

    As IPVS counts UDP, a flow is one of the member's inactive connections until it has been idle for the
    service's UDP timeout."""

    def __init__(self, service: UdpProxyService, client: tuple[str, int], proxied: ProxiedMember) -> None:
        self.service = service
        self.client = client
        self.proxied = proxied
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: list[bytes] = []
        self.last_seen = service.loop.time()
        self.closed = False
        proxied.count(service.shared, inactive=1)
        proxied.counters.connections += 1

    def connect(self, target: DestinationKey) -> None:
        """A socket of its own to the real server; the flow ends if it cannot have one."""
        loop = self.service.loop
        connecting = loop.create_task(
            loop.create_datagram_endpoint(lambda: self, remote_addr=(target.address, target.port))
        )
        connecting.add_done_callback(lambda task: self.close() if task.exception() is not None else None)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        for data in self.pending:
            self.transport.sendto(data)
        self.pending.clear()

    def send(self, data: bytes) -> None:
        self.last_seen = self.service.loop.time()
        self.proxied.counters.bytes_in += len(data)
        if self.transport is None:
            self.pending.append(data)
        else:
            self.transport.sendto(data)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.last_seen = self.service.loop.time()
        self.proxied.counters.bytes_out += len(data)
        if self.service.transport is not None:
            self.service.transport.sendto(data, self.client)

    def error_received(self, exc: Exception) -> None:
        """An ICMP error from the real server: the datagram is lost, as through IPVS."""

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.proxied.count(self.service.shared, inactive=-1)
            if self.transport is not None:
                self.transport.close()


class UdpListener(asyncio.DatagramProtocol):
    def __init__(self, service: UdpProxyService) -> None:
        self.service = service

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.service.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.service.relay(data, (addr[0], addr[1]))


class UdpProxyService(ProxyService):
    def __init__(
        self, key: ServiceKey, service: Service, loop: asyncio.AbstractEventLoop, shared: SharedCounts | None = None
    ) -> None:
        super().__init__(key, service, loop, shared)
        self.transport: asyncio.DatagramTransport | None = None
        self.flows: dict[tuple[str, int], UdpFlow] = {}
        self.idle_timeout = UDP_TIMEOUT
        self.sweeping: asyncio.TimerHandle | None = None

    def listen(self) -> asyncio.Task[Closable]:
        listener = self.bound_socket(socket.SOCK_DGRAM)

        async def serve() -> Closable:
            transport, _ = await self.loop.create_datagram_endpoint(lambda: UdpListener(self), sock=listener)
            return transport

        self.sweeping = self.loop.call_later(UDP_SWEEP_SECONDS, self.sweep)
        return self.loop.create_task(serve())

    def relay(self, data: bytes, client: tuple[str, int]) -> None:
        flow = self.flows.get(client)
        if flow is None or flow.closed:
            proxied = self.pick(*client)
            if proxied is None:
                return
            flow = UdpFlow(self, client, proxied)
            self.flows[client] = flow
            flow.connect(proxied.member.key)
        flow.send(data)

    def sweep(self) -> None:
        """Ends the flows idle for longer than the UDP timeout."""
        now = self.loop.time()
        for client, flow in list(self.flows.items()):
            if flow.closed or now - flow.last_seen > self.idle_timeout:
                flow.close()
                del self.flows[client]
        self.sweeping = self.loop.call_later(UDP_SWEEP_SECONDS, self.sweep)

    def close(self) -> None:
        if self.sweeping is not None:
            self.sweeping.cancel()
        for flow in self.flows.values():
            flow.close()
        self.flows.clear()


def proxy_service(
    key: ServiceKey, service: Service, loop: asyncio.AbstractEventLoop, shared: SharedCounts | None
) -> ProxyService:
    if key.fwmark:
        raise UnsupportedService(f"the proxy data plane cannot carry firewall-mark services ({key})")
    kinds: dict[str, type[ProxyService]] = {"TCP": TcpProxyService, "UDP": UdpProxyService}
    kind = kinds.get(key.protocol.upper())
    if kind is None:
        raise UnsupportedService(f"the proxy data plane carries TCP and UDP services, not {key}")
    return kind(key, service, loop, shared)


def persistence_settings(service: Service) -> tuple[int, str | None]:
    return service.persistence_timeout, service.persistence_granularity


def persistence_of(service: Service) -> Persistence | None:
    if not service.persistence_timeout:
        return None
    return Persistence(service.persistence_timeout, service.persistence_granularity)


ErrorHandler = Callable[[ServiceKey, Exception], None]


class ProxyRelays:
    """The data plane as user-space relays in this process's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, shared: SharedCounts | None = None) -> None:
        self.loop = loop
        self.shared = shared
        self.services: dict[ServiceKey, ProxyService] = {}
        self.listening: dict[ServiceKey, asyncio.Task[Closable]] = {}
        self.slots: dict[tuple[ServiceKey, DestinationKey], int] = {}

    def set_slots(self, slots: dict[tuple[ServiceKey, DestinationKey], int]) -> None:
        """Where each (service, real server) counts its connections in the shared counts."""
        self.slots = slots
        for key, proxy in self.services.items():
            for member_key, proxied in proxy.members.items():
                proxied.slot = slots.get((key, member_key))

    def read(self) -> Table:
        return {
            key: with_members(proxy.service, {member_key: p.destination for member_key, p in proxy.members.items()})
            for key, proxy in self.services.items()
        }

    def apply(self, operations: list[Operation], on_error: ErrorHandler | None = None) -> None:
        """Carry out the operations; with `on_error`, a service that cannot be served is reported and skipped
        (with its members, until a later table) instead of stopping the batch."""
        changed: dict[ServiceKey, ProxyService] = {}
        try:
            for operation in operations:
                service = service_of(operation)
                if on_error is None:
                    self._apply_one(operation, changed)
                elif isinstance(operation, AddService) or service in self.services:
                    try:
                        self._apply_one(operation, changed)
                    except (OSError, ValueError) as error:
                        on_error(service, error)
        finally:
            # Once per service and batch: rebuilding sh/mh tables per member would make a reload quadratic.
            for key, proxy in changed.items():
                if self.services.get(key) is proxy:
                    proxy.members_changed()

    def _apply_one(self, operation: Operation, changed: dict[ServiceKey, ProxyService]) -> None:
        if isinstance(operation, AddService):
            proxy = proxy_service(operation.key, operation.service, self.loop, self.shared)
            self.listening[operation.key] = proxy.listen()
            self.services[operation.key] = proxy
        elif isinstance(operation, EditService):
            proxy = self.services[operation.key]
            scheduling = (operation.service.scheduler, operation.service.scheduler_flags)
            if scheduling != (proxy.service.scheduler, proxy.service.scheduler_flags):
                proxy.scheduler = make_scheduler(*scheduling)
            if persistence_settings(operation.service) != persistence_settings(proxy.service):
                proxy.persistence = persistence_of(operation.service)
            proxy.service = operation.service
            changed[operation.key] = proxy
        elif isinstance(operation, DeleteService):
            self.services.pop(operation.key).close()
            self.listening.pop(operation.key).add_done_callback(lambda task: task.result().close())
        elif isinstance(operation, AddDestination | EditDestination):
            changed[operation.service] = self._set_member(operation.service, operation.key, operation.destination)
        else:
            proxy = self.services[operation.service]
            proxy.members.pop(operation.key, None)
            if proxy.persistence is not None:
                proxy.persistence.forget(operation.key)
            changed[operation.service] = proxy

    def _set_member(self, service: ServiceKey, key: DestinationKey, destination: Destination) -> ProxyService:
        proxy = self.services[service]
        proxied = proxy.members.get(key)
        if proxied is None:
            proxied = ProxiedMember(Member(key, destination.weight), destination, slot=self.slots.get((service, key)))
            proxy.members[key] = proxied
        proxied.destination = destination
        proxied.member.weight = destination.weight
        proxied.member.upper_threshold = destination.upper_threshold
        proxied.member.lower_threshold = destination.lower_threshold
        proxied.member.update_overload()
        return proxy

    def stats(self) -> dict[ServiceKey, dict[DestinationKey, tuple[Member, Counters]]]:
        """Members (their active connections across the workers) and this process's counters."""
        for proxy in self.services.values():
            proxy.refresh_totals()
        return {
            key: {member_key: (p.member, p.counters) for member_key, p in proxy.members.items()}
            for key, proxy in self.services.items()
        }

    async def close(self) -> None:
        for task in self.listening.values():
            (await task).close()
        for proxy in self.services.values():
            proxy.close()
        self.listening.clear()
        self.services.clear()
