"""Each probe against real servers on loopback: good answers, bad answers, and servers that misbehave."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import dns.message
import dns.rrset
import pytest
from aiosmtpd.controller import Controller
from servers import free_port

from pykeepalived.io.probes import dns as dns_probe
from pykeepalived.io.probes import fast, file, http, misc, ping, smtp, tcp, udp
from pykeepalived.io.probes.base import Result, Target
from pykeepalived.io.probes.http import UrlCheck, judge

BODY = b"<html>hello</html>"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def target(port: int, timeout: float = 0.5) -> Target:
    return Target("127.0.0.1", port, timeout)


async def serve(handler: Handler, tls: ssl.SSLContext | None = None) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
    return server, server.sockets[0].getsockname()[1]


def http_handler(status: int = 200, body: bytes = BODY) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.0 {status} X\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        writer.close()

    return handle


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(5)


async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A 200 that never ends (no length, never closed): it cannot be judged up."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.0 200 OK\r\n\r\n")
    for _ in range(2000):  # bounded: 2000 x 64 KiB over at most 20 s
        writer.write(b"x" * 65536)
        await writer.drain()
        await asyncio.sleep(0.01)


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x00\x01garbage\r\n\r\n")
    await writer.drain()
    writer.close()


async def half_response(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.0 200 OK\r\nContent-")
    await writer.drain()
    writer.close()


def test_judge_status_ranges_and_digest() -> None:
    ok = b"HTTP/1.1 204 No\r\n\r\n"
    assert judge(ok, UrlCheck("/", ((200, 299),))).ok
    assert not judge(b"HTTP/1.1 500 E\r\n\r\n", UrlCheck("/")).ok
    digest = hashlib.md5(BODY).hexdigest()
    assert judge(b"HTTP/1.0 200 OK\r\n\r\n" + BODY, UrlCheck("/", digest=digest)).ok
    assert "MD5 digest error" in judge(b"HTTP/1.0 200 OK\r\n\r\nother", UrlCheck("/", digest=digest)).detail
    assert not judge(b"SSH-2.0-OpenSSH\r\n\r\n", UrlCheck("/")).ok


def test_http_and_tcp_against_good_and_bad_servers() -> None:
    async def scenario() -> None:
        good, good_port = await serve(http_handler())
        wrong, wrong_port = await serve(http_handler(status=503))
        hang, hang_port = await serve(silent)
        junk, junk_port = await serve(garbage)
        half, half_port = await serve(half_response)
        closed = free_port()
        digest = hashlib.md5(BODY).hexdigest()
        assert (await http.check(target(good_port), (UrlCheck("/", digest=digest),), tls=False)).ok
        assert not (await http.check(target(wrong_port), (UrlCheck("/"),), tls=False)).ok
        slow = await http.check(target(hang_port, 0.3), (UrlCheck("/"),), tls=False)
        assert not slow.ok and "timeout" in slow.detail
        assert not (await http.check(target(junk_port), (UrlCheck("/"),), tls=False)).ok
        assert not (await http.check(target(half_port), (UrlCheck("/"),), tls=False)).ok
        assert not (await http.check(target(closed), (UrlCheck("/"),), tls=False)).ok
        # A hung server does not hold up another check.
        together = await asyncio.gather(
            http.check(target(hang_port, 0.3), (UrlCheck("/"),), tls=False), tcp.check(target(good_port))
        )
        assert [r.ok for r in together] == [False, True]
        assert (await tcp.check(target(good_port))).ok
        assert not (await tcp.check(target(closed))).ok
        for server in (good, wrong, hang, junk, half):
            server.close()

    asyncio.run(scenario())


def test_ssl_get() -> None:
    with tempfile.TemporaryDirectory() as directory:
        key, cert = Path(directory, "key.pem"), Path(directory, "cert.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
             "-days", "1", "-subj", "/CN=localhost"],
            check=True, capture_output=True,
        )  # fmt: skip
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)

        async def scenario() -> None:
            server, port = await serve(http_handler(), tls=context)
            assert (await http.check(target(port, 2), (UrlCheck("/"),), tls=True)).ok
            assert not (await http.check(target(port, 2), (UrlCheck("/"),), tls=False)).ok
            server.close()

        asyncio.run(scenario())


def test_smtp_against_aiosmtpd() -> None:
    port = free_port()
    controller = Controller(object(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert asyncio.run(smtp.check(target(port, 2), "checker.example")).ok
    finally:
        controller.stop()
    assert not asyncio.run(smtp.check(target(port, 0.5), "checker.example")).ok


class DnsResponder(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        if question.name.to_text() == "www.example.":
            response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", "192.0.2.1"))
        self.transport.sendto(response.to_wire(), addr)  # type: ignore[attr-defined]


def test_dns_check() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(DnsResponder, local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        assert (await dns_probe.check(target(port), "A", "www.example")).ok
        assert not (await dns_probe.check(target(port), "A", "nothing.example")).ok
        transport.close()
        assert not (await dns_probe.check(target(port, 0.3), "A", "www.example")).ok

    asyncio.run(scenario())


class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(b"pong" + data, addr)  # type: ignore[attr-defined]


def test_udp_check() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        assert (await udp.check(target(port), b"ping", b"pong")).ok
        assert not (await udp.check(target(port), b"ping", b"nope")).ok
        transport.close()
        closed = await udp.check(target(port), b"ping", None)
        assert not closed.ok and "unreachable" in closed.detail

    asyncio.run(scenario())


def test_ping_check() -> None:
    assert asyncio.run(ping.check(target(0, 1))).ok


@pytest.mark.parametrize(("script", "ok", "weight"), [("exit 0", True, None), ("exit 1", False, None),
                                                        ("exit 7", True, 5), ("sleep 5", False, None)])  # fmt: skip
def test_misc_check(tmp_path: Path, script: str, ok: bool, weight: int | None) -> None:
    path = tmp_path / "check.sh"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    result = asyncio.run(misc.check([str(path)], 0.5, dynamic=True))
    assert (result.ok, result.weight) == (ok, weight)


def test_file_check(tmp_path: Path) -> None:
    path = tmp_path / "value"
    path.write_text("0\n")
    assert file.check(str(path), 0, False).ok
    path.write_text("3\n")
    assert not file.check(str(path), 0, False).ok
    assert file.check(str(path), 2, False).weight == 6


def test_callback_probes_against_good_and_bad_servers() -> None:
    async def scenario() -> list[bool]:
        good, good_port = await serve(http_handler())
        hang, hang_port = await serve(silent)
        junk, junk_port = await serve(garbage)
        closed = free_port()
        loop = asyncio.get_running_loop()
        results: list[asyncio.Future[Result]] = [loop.create_future() for _ in range(6)]
        url = UrlCheck("/", digest=hashlib.md5(BODY).hexdigest())
        fast.http_check(target(good_port), url, "x", "1.0", results[0].set_result)
        fast.http_check(target(hang_port, 0.3), url, "x", "1.0", results[1].set_result)
        fast.http_check(target(junk_port), url, "x", "1.0", results[2].set_result)
        fast.http_check(target(closed), url, "x", "1.0", results[3].set_result)
        fast.tcp_check(target(good_port), results[4].set_result)
        fast.tcp_check(target(closed), results[5].set_result)
        outcome = [(await r).ok for r in results]
        for server in (good, hang, junk):
            server.close()
        return outcome

    assert asyncio.run(scenario()) == [True, False, False, False, True, False]


def test_an_endless_response_fails_within_the_connect_timeout() -> None:
    async def scenario() -> None:
        server, port = await serve(endless)
        loop = asyncio.get_running_loop()
        started = loop.time()
        streamed = await http.check(target(port, 0.5), (UrlCheck("/"),), tls=False)
        assert not streamed.ok and "timeout" in streamed.detail
        assert loop.time() - started < 0.7
        result: asyncio.Future[Result] = loop.create_future()
        started = loop.time()
        fast.http_check(target(port, 0.5), UrlCheck("/"), "x", "1.0", result.set_result)
        assert not (await result).ok
        assert loop.time() - started < 0.7
        server.close()

    asyncio.run(scenario())
