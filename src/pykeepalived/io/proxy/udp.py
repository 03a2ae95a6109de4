"""UDP flows: each client's datagrams go to one real server until the flow has been idle UDP_TIMEOUT (an
InActConn, as in IPVS)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any, cast

from ...lb.table import (
    DestinationKey,
    Service,
    ServiceKey,
)
from ..shared_counts import SharedCounts
from .service import (
    UDP_SWEEP_SECONDS,
    UDP_TIMEOUT,
    Closable,
    ProxiedMember,
    ProxyService,
)


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
