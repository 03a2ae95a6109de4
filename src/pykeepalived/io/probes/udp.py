"""UDP_CHECK: send the payload; with require_reply an answer (matching, of the right length) must come back,
otherwise only an ICMP port unreachable is a failure."""

from __future__ import annotations

import asyncio

from .base import Result, Target, failed


class _Exchange(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


async def check(
    target: Target,
    payload: bytes,
    require_reply: bytes | None,
    min_length: int | None = None,
    max_length: int | None = None,
) -> Result:
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            _Exchange, remote_addr=(target.address, target.port), local_addr=target.local, family=target.family
        )
    except OSError as error:
        return failed(str(error))
    try:
        transport.sendto(payload)
        try:
            reply = await asyncio.wait_for(asyncio.shield(protocol.reply), target.timeout)
        except TimeoutError:
            return failed("no reply") if require_reply is not None else Result(True)
        except ConnectionRefusedError:
            return failed("ICMP port unreachable")
        except OSError as error:
            return failed(str(error))
    finally:
        transport.close()
    if require_reply and not reply.startswith(require_reply):
        return failed("unexpected reply")
    if (min_length is not None and len(reply) < min_length) or (max_length is not None and len(reply) > max_length):
        return failed(f"reply of {len(reply)} bytes")
    return Result(True)
