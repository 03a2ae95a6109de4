"""What `pykeepalivedctl status` and the metrics endpoint read: each child process answers on a unix socket
with a JSON snapshot of its state, then closes.

The sockets are in the abstract namespace, named after the supervisor's pid (so several daemons, each in
its own network namespace or with its own pidfile, never meet) and private to the network namespace. They
have no file permissions: the peer's credentials are checked instead, and only root is answered (the
snapshot names scripts, addresses and peers).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import struct
from collections.abc import Callable
from typing import Any

from ..io.unix import unix_socket

ROLES = ("vrrp", "checker")
ASK_TIMEOUT_SECONDS = 2.0
# keepalived's numbers for the states (its JSON dump and SNMP; keepalived-exporter's keepalived_vrrp_state).
STATE_NUMBERS = {"INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3, "STOP": 98}

Snapshot = dict[str, Any]


def status_address(supervisor_pid: int, role: str) -> str:
    return f"\0pykeepalived-status-{supervisor_pid}-{role}"


def _peer_uid(connection: Any) -> int:
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", credentials)[1])


async def serve_status(role: str, snapshot: Callable[[], Snapshot], logger: logging.Logger) -> asyncio.Server:
    """Answer status requests for this child process (its parent is the supervisor)."""
    listening = unix_socket()
    listening.bind(status_address(os.getppid(), role))

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if _peer_uid(writer.get_extra_info("socket")) != 0:
                return
            writer.write(json.dumps(snapshot()).encode())
            await writer.drain()
        except Exception:
            # A snapshot that fails is a bug to report, not a reason to stop the process.
            logger.exception(f"{role} status request failed")
        finally:
            writer.close()

    return await asyncio.start_unix_server(answer, sock=listening)


def ask(supervisor_pid: int, role: str, timeout: float = ASK_TIMEOUT_SECONDS) -> Snapshot | None:
    """A child's snapshot, or None if that child does not run (blocking: for the command and the scrape)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        try:
            connection.connect(status_address(supervisor_pid, role))
        except (ConnectionRefusedError, FileNotFoundError):
            return None
        chunks = []
        while chunk := connection.recv(1 << 16):
            chunks.append(chunk)
    with contextlib.suppress(ValueError):
        answer = json.loads(b"".join(chunks))
        if isinstance(answer, dict):
            return answer
    return None
