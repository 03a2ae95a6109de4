"""Logging as keepalived does it: console lines with its date prefix (-l), syslog (unless -G) with its idents,
its facility (-S) and a priority per message.

keepalived's processes log as `Keepalived`, `Keepalived_vrrp` and `Keepalived_healthcheckers`, each followed by
`_NAMESPACE` (-s / net_namespace) and `_INSTANCE` (global `instance`) when set (make_syslog_ident() in its
main.c); log watchers and rsyslog rules select on these idents. keepalived logs nearly everything at LOG_INFO;
ours gives a message its real priority: errors `err`, warnings `warning`, events and state changes `info`,
-D details `debug`, a child process that died `alert` (as keepalived's "child process died" line).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Iterable
from typing import ClassVar

from ..core.diagnostics import Diagnostic, Severity
from .facilities import DEFAULT_FACILITY, facility_code

IDENT_PARENT = "Keepalived"
IDENT_VRRP = "Keepalived_vrrp"
IDENT_CHECKER = "Keepalived_healthcheckers"
# Ours: the userspace proxy's workers (keepalived has none).
IDENT_PROXY = "Keepalived_proxy"
SYSLOG_SOCKET = "/dev/log"
# LOG_ALERT has no logging level of its own: keepalived uses it when a child process dies.
ALERT = logging.CRITICAL + 5
logging.addLevelName(ALERT, "ALERT")

LEVEL_OF_SEVERITY = {Severity.ERROR: logging.ERROR, Severity.WARNING: logging.WARNING, Severity.NOTICE: logging.INFO}


def ident_suffix(namespace: str | None, instance: str | None) -> str:
    """`_NAMESPACE_INSTANCE`, the part keepalived appends to every process's ident when they are set."""
    return "".join(f"_{part}" for part in (namespace, instance) if part)


class KeepalivedConsoleFormatter(logging.Formatter):
    """`Sat Dec  5 18:07:25 2026: message`, keepalived's console format (strftime's %c in the C locale)."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{time.strftime('%a %b %e %H:%M:%S %Y', time.localtime(record.created))}: {record.getMessage()}"
        # A failure logged with its exception keeps its traceback: it is what a bug report needs.
        return f"{line}\n{self.formatException(record.exc_info)}" if record.exc_info else line


class SyslogFormatter(logging.Formatter):
    """What glibc's syslog(3) sends after `<PRI>`: `Dec  5 18:02:03 Keepalived_vrrp[1234]: message`."""

    def __init__(self, ident: str) -> None:
        super().__init__()
        self.ident = ident

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%b %e %H:%M:%S", time.localtime(record.created))
        return f"{stamp} {self.ident}[{record.process}]: {record.getMessage()}"


class KeepalivedSyslogHandler(logging.handlers.SysLogHandler):
    """The standard handler, with keepalived's wire format and LOG_ALERT for ALERT records."""

    priority_map: ClassVar[dict[str, str]] = {**logging.handlers.SysLogHandler.priority_map, "ALERT": "alert"}

    def __init__(self, ident: str, facility: int) -> None:
        super().__init__(SYSLOG_SOCKET, facility=facility)
        # glibc sends no trailing NUL on a datagram socket.
        self.append_nul = False
        self.setFormatter(SyslogFormatter(ident))


def setup(console: bool, syslog: bool, facility: str | None, ident: str) -> logging.Logger:
    """The process's logger: every message on the console (-l) and to syslog (unless -G), as keepalived's
    log_message() sends them; -D details come as debug records, so the level lets everything through."""
    logger = logging.getLogger("pykeepalived")
    for handler in logger.handlers:
        handler.close()
    logger.handlers.clear()
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    if console:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(KeepalivedConsoleFormatter())
        logger.addHandler(handler)
    code = facility_code(facility)
    # keepalived's syslog(3) drops messages while nothing listens on /dev/log; so do we.
    if syslog and os.path.exists(SYSLOG_SOCKET):
        logger.addHandler(KeepalivedSyslogHandler(ident, DEFAULT_FACILITY if code is None else code))
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger


def log_diagnostics(logger: logging.Logger, diagnostics: Iterable[Diagnostic]) -> None:
    """The configuration's messages, each at its severity (keepalived logs them when a process reads the file)."""
    for diagnostic in diagnostics:
        logger.log(LEVEL_OF_SEVERITY[diagnostic.severity], str(diagnostic))
