"""TCP relaying: a client side and a server side per connection. Reading stops on a side whose peer
cannot keep up (back-pressure), an end-of-file is passed on as a half-close, and a bulk transfer is
spliced by the kernel."""

from __future__ import annotations

import asyncio
import socket
from typing import cast

from ..shared_counts import SharedCounts
from ..splice import Splice
from .service import (
    BULK_READ,
    CONNECT_TIMEOUT,
    LISTEN_BACKLOG,
    NO_COUNTERS,
    Closable,
    Counters,
    ProxiedMember,
    ProxyService,
)


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
