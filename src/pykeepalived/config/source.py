"""What the config reader needs from the outside world, as an interface.

The reader itself stays pure; `pykeepalived.io.files` implements this against the real filesystem and
tests implement it in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class GlobResult:
    """Matches of an include pattern, sorted; directories end with '/' (glob's GLOB_MARK)."""

    paths: tuple[str, ...]
    # A literal (non-wildcard) path component did not exist.
    missing: bool = False
    had_wildcards: bool = False
    had_braces: bool = False


class FileProblem(Exception):
    """A file could not be used; the message says why in the words an operator needs."""


class ConfigSource(Protocol):
    def glob(self, pattern: str) -> GlobResult:
        """Expand an absolute pattern with `*?[]` wildcards and csh-style `{a,b}` braces."""
        ...

    def read(self, path: str) -> str:
        """The text of a regular, non-executable, readable file, or raise FileProblem."""
        ...

    def environ(self, name: str) -> str | None: ...

    def cwd(self) -> str: ...
