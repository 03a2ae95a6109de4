"""Logging as keepalived does it: console lines with its date prefix (-l), syslog (unless -G)."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import time

FACILITIES = {
    "daemon": logging.handlers.SysLogHandler.LOG_DAEMON,
    "user": logging.handlers.SysLogHandler.LOG_USER,
    **{f"local{i}": logging.handlers.SysLogHandler.LOG_LOCAL0 + i for i in range(8)},
    **{str(i): logging.handlers.SysLogHandler.LOG_LOCAL0 + i for i in range(8)},
}


class KeepalivedConsoleFormatter(logging.Formatter):
    """`Sun Nov 22 11:37:40 2026: message`, keepalived's console format."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{time.strftime('%a %b %d %H:%M:%S %Y', time.localtime(record.created))}: {record.getMessage()}"
        # A failure logged with its exception keeps its traceback: it is what a bug report needs.
        return f"{line}\n{self.formatException(record.exc_info)}" if record.exc_info else line


def setup(console: bool, syslog: bool, facility: str | None, ident: str) -> logging.Logger:
    logger = logging.getLogger("pykeepalived")
    logger.handlers.clear()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if console:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(KeepalivedConsoleFormatter())
        logger.addHandler(handler)
    if syslog and os.path.exists("/dev/log"):
        code = FACILITIES.get(facility or "daemon", logging.handlers.SysLogHandler.LOG_DAEMON)
        syslog_handler = logging.handlers.SysLogHandler("/dev/log", facility=code)
        syslog_handler.setFormatter(logging.Formatter(f"{ident}[%(process)d]: %(message)s"))
        logger.addHandler(syslog_handler)
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger
