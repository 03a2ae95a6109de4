"""Diagnostics: every message about a configuration carries where it came from."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple


class Severity(enum.IntEnum):
    """How bad a diagnostic is, ordered so that max() gives the worst."""

    # Printed, but keepalived would not count it against the config either.
    NOTICE = 0
    # keepalived reports it and runs anyway (unknown keyword, deprecated form).
    WARNING = 1
    # The config cannot run as written: pykeepalived refuses to start.
    ERROR = 2


class Location(NamedTuple):
    # A NamedTuple, not a dataclass: one is made per configuration line, so it must be cheap.
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    message: str
    where: Location | None = None

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        return f"{prefix}{self.severity.name.lower()}: {self.message}"


@dataclass
class DiagnosticSink:
    """Collects diagnostics in the order they were found."""

    items: list[Diagnostic] = field(default_factory=list)

    def report(self, severity: Severity, message: str, where: Location | None) -> None:
        self.items.append(Diagnostic(severity, message, where))

    def error(self, message: str, where: Location | None) -> None:
        self.report(Severity.ERROR, message, where)

    def warning(self, message: str, where: Location | None) -> None:
        self.report(Severity.WARNING, message, where)

    def notice(self, message: str, where: Location | None) -> None:
        self.report(Severity.NOTICE, message, where)

    def worst(self) -> Severity | None:
        return max((d.severity for d in self.items), default=None)
