"""The real filesystem behind the config reader's ConfigSource interface."""

from __future__ import annotations

import glob
import os
import socket
import stat

from ..config.reader import expand_braces
from ..config.source import FileProblem, GlobResult


def _has_wildcard(text: str) -> bool:
    return any(ch in text for ch in "*?[")


class FileSystem:
    """ConfigSource over the local filesystem, with glob(3)'s GLOB_BRACE | GLOB_MARK behaviour."""

    def glob(self, pattern: str) -> GlobResult:
        alternatives = expand_braces(pattern)
        had_braces = len(alternatives) > 1
        paths: list[str] = []
        missing = False
        had_wildcards = False
        for alternative in alternatives:
            if _has_wildcard(alternative):
                had_wildcards = True
                parent = os.path.dirname(alternative)
                if not _has_wildcard(parent) and parent and not os.path.isdir(parent):
                    missing = True
                matches = sorted(glob.glob(alternative))
            elif os.path.lexists(alternative):
                matches = [alternative]
            else:
                missing = True
                matches = []
            paths.extend(m + "/" if os.path.isdir(m) and not m.endswith("/") else m for m in matches)
        return GlobResult(tuple(paths), missing, had_wildcards, had_braces)

    def read(self, path: str) -> str:
        try:
            info = os.stat(path)
        except OSError as error:
            raise FileProblem(f"open problem ({error.strerror})") from None
        if not stat.S_ISREG(info.st_mode) or info.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
            raise FileProblem("is not a regular non-executable file")
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                return handle.read()
        except OSError as error:
            raise FileProblem(f"open problem ({error.strerror})") from None

    def environ(self, name: str) -> str | None:
        return os.environ.get(name)

    def cwd(self) -> str:
        return os.getcwd()


def local_interfaces() -> frozenset[str]:
    """Names of the network interfaces in this network namespace."""
    return frozenset(name for _, name in socket.if_nameindex())


def default_config_id() -> str:
    """keepalived's default config id: the host name up to its first dot."""
    return socket.gethostname().split(".")[0]
