"""systemd's notification protocol (sd_notify(3)): `KEY=value` lines in one datagram to $NOTIFY_SOCKET.

Hand-written: the protocol is one sendto(); systemd-python and cysystemd bind libsystemd through C extensions the
virtual environment would have to build, and sdnotify (last release 2017) can neither open its socket before the
daemon enters another network namespace nor read WATCHDOG_USEC.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import MutableMapping


class SystemdNotifier:
    """The service manager's socket, if the environment names one; else every call does nothing.

    The socket is opened at once: an abstract address ('@name') belongs to the network namespace the socket
    is created in, and the daemon may move to another one (-s, net_namespace) before it is ready.
    """

    def __init__(self, address: str | None, watchdog_usec: int | None, watchdog_pid: int | None = None) -> None:
        self.address: str | bytes | None = None
        self.socket: socket.socket | None = None
        self.watchdog_usec = watchdog_usec
        self.watchdog_pid = watchdog_pid
        if address:
            # '@' stands for the abstract namespace's leading NUL.
            self.address = b"\0" + address[1:].encode() if address.startswith("@") else address
            self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @classmethod
    def from_environment(cls, environ: MutableMapping[str, str]) -> SystemdNotifier:
        """Read NOTIFY_SOCKET and the watchdog settings, and take them out of `environ` (as sd_notify's
        unset_environment): the daemon's children and scripts are not the service's main process."""
        address = environ.pop("NOTIFY_SOCKET", None)
        usec_text = environ.pop("WATCHDOG_USEC", None)
        pid_text = environ.pop("WATCHDOG_PID", None)
        watchdog_usec = int(usec_text) if usec_text and usec_text.isdigit() and int(usec_text) > 0 else None
        watchdog_pid = int(pid_text) if pid_text and pid_text.isdigit() else None
        if pid_text is not None and watchdog_pid is None:
            watchdog_usec = None
        return cls(address, watchdog_usec, watchdog_pid)

    @property
    def active(self) -> bool:
        return self.socket is not None

    @property
    def watchdog_interval(self) -> float | None:
        """How often to send WATCHDOG=1: half the timeout, as sd_watchdog_enabled(3) advises; None when the
        watchdog is off or meant for another process (WATCHDOG_PID: checked now, the daemon may have forked)."""
        if self.watchdog_usec is None or self.watchdog_pid not in (None, os.getpid()):
            return None
        return self.watchdog_usec / 2_000_000

    def send(self, *fields: str) -> None:
        if self.socket is None or self.address is None:
            return
        # The manager went away or restarted: the daemon goes on without it, as sd_notify's callers do.
        with contextlib.suppress(OSError):
            self.socket.sendto("\n".join(fields).encode(), self.address)

    def ready(self) -> None:
        self.send("READY=1", f"MAINPID={os.getpid()}")

    def reloading(self) -> None:
        # MONOTONIC_USEC lets systemd (Type=notify-reload) tell this reload from an earlier one.
        self.send("RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    def error(self, errno: int) -> None:
        self.send(f"ERRNO={errno}")

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
            self.socket = None
