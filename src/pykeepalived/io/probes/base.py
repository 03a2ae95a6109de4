"""What every probe takes and returns."""

from __future__ import annotations

import asyncio
import socket
import ssl
from dataclasses import dataclass

from ...check.compile import Endpoint


@dataclass(frozen=True)
class Target(Endpoint):
    """An endpoint as the probes' sockets take it."""

    @property
    def family(self) -> int:
        return socket.AF_INET6 if ":" in self.address else socket.AF_INET

    @property
    def local(self) -> tuple[str, int] | None:
        if self.bind_address is None and self.bind_port is None:
            return None
        return (self.bind_address or ("::" if self.family == socket.AF_INET6 else "0.0.0.0"), self.bind_port or 0)


@dataclass(frozen=True)
class Result:
    ok: bool
    # Why it failed (for logs), or what it saw.
    detail: str = ""
    # misc_dynamic and FILE_CHECK: the weight the check sets for the real server.
    weight: int | None = None
    # The probe itself failed (a bug, an unexpected error): the check failed, and this says why.
    raised: BaseException | None = None


def failed(detail: str) -> Result:
    return Result(False, detail)


def probe_raised(error: BaseException) -> Result:
    """A probe that raises is a failed check, never a silent stop."""
    return Result(False, f"the probe raised {type(error).__name__}: {error}", raised=error)


async def open_stream(
    target: Target, ssl_context: ssl.SSLContext | None = None, server_hostname: str | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP (or TLS) connection to the target within its timeout. Raises OSError or TimeoutError."""
    return await asyncio.wait_for(
        asyncio.open_connection(
            target.address,
            target.port,
            ssl=ssl_context,
            server_hostname=server_hostname if ssl_context is not None else None,
            local_addr=target.local,
        ),
        target.timeout,
    )


def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
