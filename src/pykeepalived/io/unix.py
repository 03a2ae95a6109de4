"""Unix stream sockets for the daemon's own channels (the proxy feed, the status sockets)."""

from __future__ import annotations

import socket


def unix_address(name: str) -> str:
    """A unix socket's address as written on a command line, where '@' stands for the abstract namespace's
    leading NUL (which an argument cannot hold)."""
    return "\0" + name[1:] if name.startswith("@") else name


def unix_socket() -> socket.socket:
    """A non-blocking unix stream socket, for asyncio to connect or bind itself: uvloop refuses abstract
    names given as addresses."""
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.setblocking(False)
    return unix
