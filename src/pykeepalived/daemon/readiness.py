"""When the daemon is up, as keepalived tells it: every child process has read its configuration.

keepalived's children write 1 to an eventfd the parent reads (config_notify.c); when every running child has
done so the parent logs `Startup complete` (or `Reload complete`) and tells systemd READY=1. Ours pass the
eventfd's number to each child (`--ready-fd`); a child reports once it runs its configuration, and again after
each SIGHUP it has handled (reloaded or refused the file).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
from collections.abc import Callable

from ..io.systemd import SystemdNotifier


class Readiness:
    """The supervisor's side: counts the children's reports, tells systemd, and keeps its watchdog fed."""

    def __init__(self, notifier: SystemdNotifier, logger: logging.Logger) -> None:
        self.notifier = notifier
        self.logger = logger
        self.event_fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self.waiting = 0
        self.loaded = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.watchdog: asyncio.TimerHandle | None = None

    def child_arguments(self) -> list[str]:
        return ["--ready-fd", str(self.event_fd)]

    def open(self, loop: asyncio.AbstractEventLoop, children: int) -> None:
        """Start waiting for `children` reports; feed systemd's watchdog from now on if it has one."""
        self.loop = loop
        self.waiting = children
        loop.add_reader(self.event_fd, self._on_report)
        self._feed_watchdog()

    def reloading(self, children: int) -> None:
        """A reload went to `children` processes: systemd sees RELOADING=1 until each of them has answered."""
        self.notifier.reloading()
        self.waiting = children
        if children == 0:
            self._complete()

    def stopping(self) -> None:
        self.notifier.stopping()

    def failed(self) -> None:
        """A child cannot run its configuration (the daemon stops): keepalived's ERRNO=EINVAL."""
        self.notifier.error(errno.EINVAL)

    def _on_report(self) -> None:
        try:
            count = os.eventfd_read(self.event_fd)
        except BlockingIOError:
            return
        if self.waiting <= 0:
            # A respawned child's start: the daemon was already up.
            return
        self.waiting -= count
        if self.waiting <= 0:
            self._complete()

    def _complete(self) -> None:
        self.logger.info(f"{'Reload' if self.loaded else 'Startup'} complete")
        self.loaded = True
        self.notifier.ready()

    def _feed_watchdog(self) -> None:
        interval = self.notifier.watchdog_interval
        if interval is None or self.loop is None:
            return
        self.notifier.watchdog()
        self.watchdog = self.loop.call_later(interval, self._feed_watchdog)


def report_config_read(ready_fd: int | None) -> None:
    """A child's side: it runs its configuration now (at start, or after handling a SIGHUP)."""
    if ready_fd is not None:
        with contextlib.suppress(OSError):
            os.eventfd_write(ready_fd, 1)


def reporting(handler: Callable[[], None], ready_fd: int | None) -> Callable[[], None]:
    """A SIGHUP handler that reports to the supervisor once `handler` has reloaded (or refused) the file."""

    def handle() -> None:
        handler()
        report_config_read(ready_fd)

    return handle
