"""keepalived's -S facilities, with syslog's numbers (RFC 5424, as logging's SysLogHandler takes them): apart
from daemon/logs.py so that `-t`, which only checks the option, does not import logging's handlers."""

from __future__ import annotations

LOG_USER, LOG_DAEMON, LOG_LOCAL0 = 1, 3, 16
DEFAULT_FACILITY = LOG_DAEMON

# 0-7 and local0-local7 are LOG_LOCAL0-7; also user and daemon.
FACILITIES = {
    "daemon": LOG_DAEMON,
    "user": LOG_USER,
    **{f"local{i}": LOG_LOCAL0 + i for i in range(8)},
    **{str(i): LOG_LOCAL0 + i for i in range(8)},
}


def facility_code(name: str | None) -> int | None:
    """The syslog facility -S names (None: not one keepalived takes)."""
    return DEFAULT_FACILITY if name is None else FACILITIES.get(name)
