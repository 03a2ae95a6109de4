"""Logging as keepalived's: console and syslog line formats, idents, facilities and priorities."""

from __future__ import annotations

import calendar
import logging
import logging.handlers
import time

from pykeepalived.core.diagnostics import Diagnostic, Location, Severity
from pykeepalived.daemon import logs
from pykeepalived.daemon.facilities import facility_code

# Noon on 5 Dec 2026 (UTC, so the 5th in any time zone from -11 to +11): keepalived pads the day with a space.
WHEN = float(calendar.timegm((2026, 12, 5, 12, 0, 0)))


def record(level: int, message: str) -> logging.LogRecord:
    made = logging.LogRecord("pykeepalived", level, __file__, 1, message, None, None)
    made.created = WHEN
    made.process = 1234
    return made


def test_console_line_is_keepalived_s() -> None:
    # keepalived: strftime("%c") in the C locale, then ": ".
    expected = time.strftime("%c", time.localtime(WHEN))
    line = logs.KeepalivedConsoleFormatter().format(record(logging.INFO, "(VI_1) Entering MASTER STATE"))
    assert line == f"{expected}: (VI_1) Entering MASTER STATE"
    assert line[8:10] == " 5"


def test_syslog_line_is_glibc_s() -> None:
    formatter = logs.SyslogFormatter(logs.IDENT_VRRP + logs.ident_suffix("blue-ns", "left"))
    stamp = time.strftime("%b %e %H:%M:%S", time.localtime(WHEN))
    assert formatter.format(record(logging.INFO, "hello")) == f"{stamp} Keepalived_vrrp_blue-ns_left[1234]: hello"


def test_idents_take_namespace_then_instance() -> None:
    assert logs.ident_suffix(None, None) == ""
    assert logs.ident_suffix("ns1", None) == "_ns1"
    assert logs.ident_suffix(None, "i1") == "_i1"
    assert logs.ident_suffix("ns1", "i1") == "_ns1_i1"


def test_facilities_as_keepalived_s_dash_s() -> None:
    handlers = logging.handlers.SysLogHandler
    assert facility_code(None) == handlers.LOG_DAEMON
    assert facility_code("0") == facility_code("local0") == handlers.LOG_LOCAL0
    assert facility_code("7") == facility_code("local7") == handlers.LOG_LOCAL7
    assert facility_code("user") == handlers.LOG_USER
    for invalid in ("8", "local8", "kern", "LOCAL0", ""):
        assert facility_code(invalid) is None


def test_priorities() -> None:
    handler = logging.handlers.SysLogHandler.__new__(logs.KeepalivedSyslogHandler)
    names = {level: handler.mapPriority(logging.getLevelName(level)) for level in
             (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logs.ALERT)}  # fmt: skip
    assert names == {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning",
                     logging.ERROR: "error", logs.ALERT: "alert"}  # fmt: skip
    assert handler.priority_names["error"] == 3 and handler.priority_names["alert"] == 1


def test_configuration_messages_at_their_severity() -> None:
    seen: list[tuple[int, str]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((record.levelno, record.getMessage()))

    logger = logging.getLogger("test-log-diagnostics")
    logger.addHandler(Keep())
    logger.setLevel(logging.DEBUG)
    where = Location("/etc/keepalived/keepalived.conf", 3)
    logs.log_diagnostics(logger, [Diagnostic(Severity.ERROR, "bad", where), Diagnostic(Severity.WARNING, "odd", where),
                                  Diagnostic(Severity.NOTICE, "fyi", None)])  # fmt: skip
    assert seen == [
        (logging.ERROR, "/etc/keepalived/keepalived.conf:3: error: bad"),
        (logging.WARNING, "/etc/keepalived/keepalived.conf:3: warning: odd"),
        (logging.INFO, "notice: fyi"),
    ]
