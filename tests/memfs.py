"""An in-memory ConfigSource, so config tests need no files."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from pykeepalived.config.reader import expand_braces
from pykeepalived.config.source import FileProblem, GlobResult


@dataclass
class MemoryFiles:
    files: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    directory: str = "/etc/keepalived"

    def glob(self, pattern: str) -> GlobResult:
        alternatives = expand_braces(pattern)
        paths: list[str] = []
        missing = False
        wildcards = False
        for alternative in alternatives:
            if any(c in alternative for c in "*?["):
                wildcards = True
                paths.extend(sorted(p for p in self.files if fnmatch.fnmatchcase(p, alternative)))
            elif alternative in self.files:
                paths.append(alternative)
            else:
                missing = True
        return GlobResult(tuple(paths), missing, wildcards, len(alternatives) > 1)

    def read(self, path: str) -> str:
        if path not in self.files:
            raise FileProblem("open problem (No such file or directory)")
        return self.files[path]

    def environ(self, name: str) -> str | None:
        return self.env.get(name)

    def cwd(self) -> str:
        return self.directory


def config_from(text: str, extra: dict[str, str] | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    """Load `text` as /etc/keepalived/keepalived.conf (plus `extra` files) with no interface checks."""
    from pykeepalived.config import load

    files = {"/etc/keepalived/keepalived.conf": text, **(extra or {})}
    env = kwargs.pop("env", {})
    return load("/etc/keepalived/keepalived.conf", MemoryFiles(files, env), **kwargs)  # type: ignore[arg-type]


def messages(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(d) for d in result.diagnostics]
