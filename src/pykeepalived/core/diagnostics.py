"""Diagnostics: every message about a configuration carries where it came from."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple


class Severity(enum.IntEnum):
    """How bad a diagnostic is, ordered so that max() gives the worst."""

    # Printed, but keepalived would not count it against the config either.
    NOTICE = 0
    # keepalived reports it and runs: a correction (the message names the value used), an ignored keyword.
    WARNING = 1
    # The config cannot run as written: pykeepalived refuses to start (keepalived would not run it either,
    # or --strict asked to refuse every correction).
    ERROR = 2


class Status(enum.IntEnum):
    """keepalived's config_err_t, reduced to what decides `-t`'s exit status; keepalived keeps the highest
    one reported, in this order."""

    # Printed without counting (an unchecked include that matched nothing).
    OK = 0
    # CONFIG_FILE_NOT_FOUND, CONFIG_BAD_IF, CONFIG_FATAL: exit 4, unless something ranked higher was reported.
    CANNOT_RUN = 1
    # Every other configuration message: exit 5.
    REPORTED = 2
    # CONFIG_SECURITY_ERROR, scripts run without script security: exit 6.
    SECURITY = 3
    # The parser gave up (a keyword missing its parameter): keepalived exits 2 on the spot.
    GAVE_UP = 4


class Location(NamedTuple):
    # A NamedTuple, not a dataclass: one is made per configuration line, so it must be cheap.
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Diagnostic:
    """A message about the configuration, where it applies, and how it counts."""

    severity: Severity
    message: str
    where: Location | None = None
    # None: what the severity implies (a notice counts for nothing, anything else is REPORTED).
    status: Status | None = None

    @property
    def exit_status(self) -> Status:
        if self.status is not None:
            return self.status
        return Status.OK if self.severity == Severity.NOTICE else Status.REPORTED

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        return f"{prefix}{self.severity.name.lower()}: {self.message}"


@dataclass
class DiagnosticSink:
    """Collects diagnostics in the order they were found."""

    items: list[Diagnostic] = field(default_factory=list)

    def report(self, severity: Severity, message: str, where: Location | None, status: Status | None = None) -> None:
        self.items.append(Diagnostic(severity, message, where, status))

    def error(self, message: str, where: Location | None, status: Status | None = None) -> None:
        self.report(Severity.ERROR, message, where, status)

    def warning(self, message: str, where: Location | None, status: Status | None = None) -> None:
        self.report(Severity.WARNING, message, where, status)

    def notice(self, message: str, where: Location | None) -> None:
        self.report(Severity.NOTICE, message, where)

    def worst(self) -> Severity | None:
        return max((d.severity for d in self.items), default=None)
