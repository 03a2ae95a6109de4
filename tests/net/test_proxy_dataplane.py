"""The userspace proxy data plane with real sockets on loopback: scheduler proportions, drain, half-close."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import socket
import struct
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from functools import wraps
from typing import Any
from unittest.mock import patch

import uvloop
from servers import free_port

from pykeepalived.io.proxy.relays import ProxyRelays
from pykeepalived.io.proxy.udp import UdpProxyService
from pykeepalived.io.shared_counts import SharedCounts
from pykeepalived.io.splice import Splice
from pykeepalived.lb.table import Destination, DestinationKey, IpProtocol, Service, ServiceKey, Table, plan

LOOPBACK = "127.0.0.1"


def in_event_loop(scenario: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Runs the scenario in asyncio's event loop, then in uvloop's (the one the proxy process uses)."""

    @wraps(scenario)
    def test() -> None:
        for factory in (None, uvloop.new_event_loop):
            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(asyncio.wait_for(scenario(), 60))

    return test


async def echo_server(names: dict[int, bytes]) -> tuple[asyncio.Server, int]:
    """Says its name (by its port), then echoes until the client half-closes, then says goodbye and closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(names[writer.get_extra_info("sockname")[1]] + b"\n")
        while data := await reader.read(65536):
            writer.write(data)
        writer.write(b"bye\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, LOOPBACK, 0)
    return server, server.sockets[0].getsockname()[1]


@asynccontextmanager
async def proxied(
    scheduler: str, weights: list[int], shared: SharedCounts | None = None
) -> AsyncIterator[tuple[ProxyRelays, ServiceKey, Table]]:
    """A proxied service over echo servers rs0, rs1... of these weights; the table lists them in that order."""
    names: dict[int, bytes] = {}
    # rs0 gets the lowest port, so the data plane (which orders by address and port) lists it first.
    servers = sorted([await echo_server(names) for _ in weights], key=lambda server: server[1])
    names.update({port: f"rs{i}".encode() for i, (_, port) in enumerate(servers)})
    key = ServiceKey(IpProtocol.TCP, LOOPBACK, free_port())
    members = {DestinationKey(LOOPBACK, port): Destination(w) for (_, port), w in zip(servers, weights, strict=True)}
    table = {key: Service(scheduler, destinations=members)}
    backend = ProxyRelays(asyncio.get_running_loop(), shared)
    backend.apply(plan(table, backend.read()))
    await asyncio.sleep(0)
    try:
        yield backend, key, table
    finally:
        await backend.close()
        for server, _ in servers:
            server.close()


async def ask(key: ServiceKey, source: str = LOOPBACK) -> str:
    reader, writer = await asyncio.open_connection(key.address, key.port, local_addr=(source, 0))
    name = await reader.readline()
    writer.write_eof()
    await reader.read()
    writer.close()
    return name.decode().strip()


@in_event_loop
async def test_rr_is_exact_and_wrr_keeps_the_weights() -> None:
    async with proxied("rr", [1, 1, 1]) as (_, key, _):
        assert Counter([await ask(key) for _ in range(300)]) == {"rs0": 100, "rs1": 100, "rs2": 100}
    async with proxied("wrr", [5, 3, 2]) as (_, key, _):
        counts = Counter([await ask(key) for _ in range(1000)])
        assert counts == {"rs0": 500, "rs1": 300, "rs2": 200}


@in_event_loop
async def test_half_close_carries_data_both_ways_and_releases_the_connection() -> None:
    async with proxied("rr", [1]) as (backend, key, _):
        reader, writer = await asyncio.open_connection(key.address, key.port)
        assert await reader.readline() == b"rs0\n"
        writer.write(b"x" * 1_000_000)
        writer.write_eof()
        echoed = await asyncio.wait_for(reader.read(), 5)
        assert echoed == b"x" * 1_000_000 + b"bye\n"
        writer.close()
        await asyncio.sleep(0.05)
        member, counters = next(iter(backend.stats()[key].values()))
        assert (member.active, counters.connections, counters.bytes_in) == (0, 1, 1_000_000)


@in_event_loop
async def test_a_removed_server_drains_its_open_connections() -> None:
    async with proxied("rr", [1, 1]) as (backend, key, table):
        reader, writer = await asyncio.open_connection(key.address, key.port)
        assert await reader.readline() == b"rs0\n"
        first = next(iter(table[key].members()))
        remaining = {k: d for k, d in table[key].members().items() if k != first}
        backend.apply(plan({key: Service("rr", destinations=remaining)}, backend.read()))
        assert {await ask(key) for _ in range(10)} == {"rs1"}
        writer.write(b"still here")
        assert await reader.readexactly(10) == b"still here"
        writer.write_eof()
        assert await reader.read() == b"bye\n"
        writer.close()


@in_event_loop
async def test_quiesced_server_gets_no_new_connections() -> None:
    async with proxied("wlc", [1, 1]) as (backend, key, table):
        first = next(iter(table[key].members()))
        members = {k: Destination(0 if k == first else d.weight) for k, d in table[key].members().items()}
        backend.apply(plan({key: Service("wlc", destinations=members)}, backend.read()))
        assert {await ask(key) for _ in range(10)} == {"rs1"}


@in_event_loop
async def test_no_server_left_refuses_the_connection() -> None:
    async with proxied("rr", [0]) as (backend, key, _):
        reader, writer = await asyncio.open_connection(key.address, key.port)
        assert await reader.read() == b""
        writer.close()
        assert backend.services[key].refused == 1


@in_event_loop
async def test_sh_keeps_each_source_on_its_server_across_a_restart() -> None:
    sources = [f"127.0.0.{n}" for n in range(2, 42)]
    async with proxied("sh", [1, 1, 1]) as (backend, key, table):
        before = [await ask(key, source) for source in sources]
        await backend.close()
        restarted = ProxyRelays(asyncio.get_running_loop())
        restarted.apply(plan(table, restarted.read()))
        await asyncio.sleep(0)
        after = [await ask(key, source) for source in sources]
        await restarted.close()
    assert before == after
    assert len(set(before)) == 3


@in_event_loop
async def test_what_a_client_sends_before_the_real_server_is_up_gets_through() -> None:
    async with proxied("rr", [1]) as (_, key, _):
        reader, writer = await asyncio.open_connection(key.address, key.port)
        writer.write(b"GET / HTTP/1.0\r\n\r\n")
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 5) == b"rs0\nGET / HTTP/1.0\r\n\r\nbye\n"
        writer.close()


@in_event_loop
async def test_a_reload_with_1000_real_servers_drops_no_open_connection() -> None:
    names: dict[int, bytes] = {}
    servers = [await echo_server(names) for _ in range(1000)]
    names.update({port: f"rs{port}".encode() for _, port in servers})
    key = ServiceKey(IpProtocol.TCP, LOOPBACK, free_port())
    first = {DestinationKey(LOOPBACK, port): Destination(1) for _, port in servers[:500]}
    backend = ProxyRelays(asyncio.get_running_loop())
    try:
        backend.apply(plan({key: Service("wrr", destinations=first)}, backend.read()))
        await asyncio.sleep(0)
        opened = [await asyncio.open_connection(key.address, key.port) for _ in range(200)]
        for reader, _ in opened:
            await reader.readline()
        # The reload: 500 servers added, the weights of the first 500 changed, the service's scheduler changed.
        reloaded = {DestinationKey(LOOPBACK, port): Destination(2) for _, port in servers}
        operations = plan({key: Service("wlc", destinations=reloaded)}, backend.read())
        assert len(operations) == 1001
        backend.apply(operations)
        for reader, writer in opened:
            writer.write(b"after the reload")
            assert await reader.readexactly(16) == b"after the reload"
            writer.write_eof()
            assert await reader.read() == b"bye\n"
            writer.close()
        assert plan({key: Service("wlc", destinations=reloaded)}, backend.read()) == []
    finally:
        await backend.close()
        for server, _ in servers:
            server.close()


@in_event_loop
async def test_a_service_it_cannot_serve_is_reported_and_the_others_still_run() -> None:
    server, port = await echo_server({})
    taken = socket.socket()
    taken.bind((LOOPBACK, 0))
    taken.listen()
    member = {DestinationKey(LOOPBACK, port): Destination(1)}
    table = {
        ServiceKey(IpProtocol.TCP, LOOPBACK, taken.getsockname()[1]): Service("rr", destinations=member),
        ServiceKey(IpProtocol.TCP, fwmark=5): Service("rr", destinations=member),
        ServiceKey(IpProtocol.TCP, LOOPBACK, free_port()): Service("rr", destinations=member),
    }
    errors: list[str] = []
    backend = ProxyRelays(asyncio.get_running_loop())
    try:
        backend.apply(plan(table, backend.read()), lambda key, error: errors.append(f"{key}: {error}"))
        assert len(errors) == 2
        assert "FWM 5: the proxy data plane cannot carry firewall-mark services (FWM 5)" in errors
        assert any("Address already in use" in error for error in errors)
        assert list(backend.read()) == [list(table)[2]]
    finally:
        await backend.close()
        server.close()
        taken.close()


@in_event_loop
async def test_persistence_keeps_a_client_network_on_its_server_while_it_stays() -> None:
    async with proxied("rr", [1, 1]) as (backend, key, table):
        persistent = dataclasses.replace(table[key], persistence_timeout=300, persistence_granularity="255.255.255.0")
        backend.apply(plan({key: persistent}, backend.read()))
        first = [await ask(key, "127.0.0.2") for _ in range(4)] + [await ask(key, "127.0.0.3")]
        assert len(set(first)) == 1, first  # one /24, one server, though rr alternates
        assert await ask(key, "127.0.1.2") != first[0]
        kept = list(table[key].members())[int(first[0].removeprefix("rs"))]
        remaining = {m: d for m, d in table[key].members().items() if m != kept}
        backend.apply(plan({key: dataclasses.replace(persistent, destinations=remaining)}, backend.read()))
        assert await ask(key, "127.0.0.2") != first[0]  # its server left: scheduled afresh


@in_event_loop
async def test_worker_processes_schedule_with_each_others_connection_counts() -> None:
    """Two proxy workers (two backends here, as the daemon's worker processes) sharing the counts file: the
    connections one holds steer the other's lc scheduler."""
    with tempfile.TemporaryDirectory() as directory:
        path = f"{directory}/counts"
        first, second = SharedCounts(path, 2, 0), SharedCounts(path, 2, 1)
        async with proxied("lc", [1, 1], second) as (worker_two, key, table):
            members = list(table[key].members())
            slots = {(key, member): slot for slot, member in enumerate(members)}
            worker_one = ProxyRelays(asyncio.get_running_loop(), first)
            key_one = ServiceKey(IpProtocol.TCP, LOOPBACK, free_port())
            slots.update({(key_one, member): slot for slot, member in enumerate(members)})
            worker_one.set_slots(slots)
            only_rs0 = {members[0]: table[key].members()[members[0]]}
            worker_one.apply(plan({key_one: Service("lc", destinations=only_rs0)}, worker_one.read()))
            worker_two.set_slots(slots)
            await asyncio.sleep(0)
            held = [await asyncio.open_connection(LOOPBACK, key_one.port) for _ in range(3)]
            assert [(await reader.readline()).strip() for reader, _ in held] == [b"rs0"] * 3
            # rs0 has 3 connections through the other worker: lc sends this worker's next 3 to rs1.
            assert [await ask(key) for _ in range(3)] == ["rs1"] * 3
            for _, writer in held:
                writer.close()
            await worker_one.close()
        first.close()
        second.close()


class NamedUdpServer(asyncio.DatagramProtocol):
    def __init__(self, name: bytes) -> None:
        self.name = name
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(self.name + b" " + data, addr)


class UdpClient(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.replies.put_nowait(data)


@in_event_loop
async def test_udp_flows_are_scheduled_per_client_and_end_when_idle() -> None:
    loop = asyncio.get_running_loop()
    servers = [
        await loop.create_datagram_endpoint(
            functools.partial(NamedUdpServer, f"rs{n}".encode()), local_addr=(LOOPBACK, 0)
        )
        for n in range(2)
    ]
    members = {DestinationKey(LOOPBACK, t.get_extra_info("sockname")[1]): Destination(1) for t, _ in servers}
    names = {key: f"rs{n}" for n, key in enumerate(members)}
    key = ServiceKey(IpProtocol.UDP, LOOPBACK, free_port())
    backend = ProxyRelays(loop)
    try:
        backend.apply(plan({key: Service("rr", destinations=members)}, backend.read()))
        await asyncio.sleep(0)
        clients = [await loop.create_datagram_endpoint(UdpClient, remote_addr=(LOOPBACK, key.port)) for _ in range(10)]
        for transport, _ in clients:
            transport.sendto(b"one")
            transport.sendto(b"two")
        replies = [[await asyncio.wait_for(client.replies.get(), 2) for _ in range(2)] for _, client in clients]
        # Both datagrams of a client go to one server; the clients alternate, as rr gives flows.
        assert all(first.split()[0] == second.split()[0] for first, second in replies)
        assert Counter(first.split()[0].decode() for first, _ in replies) == {"rs0": 5, "rs1": 5}
        stats = backend.stats()[key]
        assert {names[m]: member.inactive for m, (member, _) in stats.items()} == {"rs0": 5, "rs1": 5}
        proxy = backend.services[key]
        assert isinstance(proxy, UdpProxyService)
        proxy.idle_timeout = 0.1
        await asyncio.sleep(1.5)
        assert all(member.inactive == 0 for member, _ in backend.stats()[key].values())
        for transport, _ in clients:
            transport.close()
    finally:
        await backend.close()
        for transport, _ in servers:
            transport.close()


@in_event_loop
async def test_worker_processes_share_their_udp_flow_counts() -> None:
    """lc over UDP with two workers: the flows one worker has (inactive connections, as IPVS counts UDP) steer
    the other's choice."""
    loop = asyncio.get_running_loop()
    servers = [
        await loop.create_datagram_endpoint(
            functools.partial(NamedUdpServer, f"rs{n}".encode()), local_addr=(LOOPBACK, 0)
        )
        for n in range(2)
    ]
    members = {DestinationKey(LOOPBACK, t.get_extra_info("sockname")[1]): Destination(1) for t, _ in servers}
    rs0 = next(iter(members))
    keys = [ServiceKey(IpProtocol.UDP, LOOPBACK, free_port()) for _ in range(2)]
    with tempfile.TemporaryDirectory() as directory:
        counts = [SharedCounts(f"{directory}/counts", 2, index) for index in range(2)]
        workers = [ProxyRelays(loop, shared) for shared in counts]
        slots = {(key, member): slot for key in keys for slot, member in enumerate(sorted(members))}
        try:
            offers = ({rs0: members[rs0]}, members)
            for worker, key, offered in zip(workers, keys, offers, strict=True):
                worker.set_slots(slots)
                worker.apply(plan({key: Service("lc", destinations=offered)}, worker.read()))
            await asyncio.sleep(0)

            async def ask_udp(key: ServiceKey) -> bytes:
                transport, client = await loop.create_datagram_endpoint(UdpClient, remote_addr=(LOOPBACK, key.port))
                transport.sendto(b"who")
                reply = await asyncio.wait_for(client.replies.get(), 2)
                transport.close()
                return reply.split()[0]

            # Worker one holds 3 flows to rs0 (it has no other server): worker two's lc picks rs1 for 3 flows.
            assert [await ask_udp(keys[0]) for _ in range(3)] == [b"rs0"] * 3
            assert [await ask_udp(keys[1]) for _ in range(3)] == [b"rs1"] * 3
        finally:
            for worker in workers:
                await worker.close()
            for shared in counts:
                shared.close()
    for transport, _ in servers:
        transport.close()


@in_event_loop
async def test_bulk_transfers_are_spliced_intact_both_ways() -> None:
    splices: list[Splice] = []

    def counted_splice(*arguments: Any) -> Splice:
        splices.append(Splice(*arguments))
        return splices[-1]

    payload = bytes(range(256)) * (32 * 1024)  # 8 MiB
    async with proxied("rr", [1]) as (backend, key, _):
        with patch("pykeepalived.io.proxy.tcp.Splice", counted_splice):

            async def transfer() -> bytes:
                reader, writer = await asyncio.open_connection(key.address, key.port)
                assert await reader.readline() == b"rs0\n"
                writer.write(payload)
                writer.write_eof()
                echoed = await reader.read()
                writer.close()
                return echoed

            echoed = await asyncio.gather(*(transfer() for _ in range(4)))
        assert all(answer == payload + b"bye\n" for answer in echoed)
        assert len(splices) == 8 and all(splice.done for splice in splices)  # both ways, four connections
        await asyncio.sleep(0.05)
        member, counters = next(iter(backend.stats()[key].values()))
        assert (member.active, counters.bytes_in, counters.bytes_out) == (0, 4 * len(payload), 4 * (len(payload) + 8))


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


@asynccontextmanager
async def behind_the_proxy(handler: Handler) -> AsyncIterator[tuple[ProxyRelays, ServiceKey]]:
    """One real server running `handler` for each connection, behind a proxied service."""
    server = await asyncio.start_server(handler, LOOPBACK, 0)
    key = ServiceKey(IpProtocol.TCP, LOOPBACK, free_port())
    members = {DestinationKey(LOOPBACK, server.sockets[0].getsockname()[1]): Destination(1)}
    backend = ProxyRelays(asyncio.get_running_loop())
    backend.apply(plan({key: Service("rr", destinations=members)}, backend.read()))
    await asyncio.sleep(0)
    try:
        yield backend, key
    finally:
        await backend.close()
        server.close()


@in_event_loop
async def test_a_real_server_reset_during_a_splice_closes_the_client_connection() -> None:
    async def send_then_reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"y" * (4 << 20))
        await writer.drain()
        # SO_LINGER with a zero timeout: close() sends a reset.
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()

    async with behind_the_proxy(send_then_reset) as (backend, key):
        reader, writer = await asyncio.open_connection(key.address, key.port)
        received = 0
        with contextlib.suppress(ConnectionError):
            while data := await asyncio.wait_for(reader.read(1 << 20), 5):
                received += len(data)
        writer.close()
        assert received <= 4 << 20
        await asyncio.sleep(0.1)
        member, _ = next(iter(backend.stats()[key].values()))
        assert member.active == 0


@in_event_loop
async def test_a_spliced_answer_arrives_whole_while_the_server_waits_for_the_next_request() -> None:
    """Keep-alive bulk answers: nothing may stay in the kernel pipe waiting for the server's next bytes."""
    answer = bytes(range(256)) * 8192  # 2 MiB

    async def answer_each_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.readline():
            writer.write(answer)
            await writer.drain()
        writer.close()

    async with behind_the_proxy(answer_each_request) as (_, key):
        reader, writer = await asyncio.open_connection(key.address, key.port)
        for _ in range(20):
            writer.write(b"next\n")
            assert await asyncio.wait_for(reader.readexactly(len(answer)), 5) == answer
        writer.close()


@in_event_loop
async def test_a_splice_out_of_rounds_still_delivers_what_its_pipe_holds() -> None:
    loop = asyncio.get_running_loop()
    sender, source = socket.socketpair()
    target, receiver = socket.socketpair()
    for end in (source, target, receiver):
        end.setblocking(False)
    moved: list[int] = []
    with patch("pykeepalived.io.splice.ROUNDS_PER_CALL", 1):
        splice = Splice(loop, source, target, moved.append, lambda clean: None)
        sender.sendall(b"z" * 100_000)
        received = b""
        while len(received) < 100_000:
            received += await asyncio.wait_for(loop.sock_recv(receiver, 65536), 2)
    splice.stop()
    assert received == b"z" * 100_000 and sum(moved) == 100_000
    for end in (sender, source, target, receiver):
        end.close()
