"""keepalived.conf: reading, the typed model, and checks."""

from __future__ import annotations

import gc
import random
from dataclasses import dataclass, replace

from ..core.diagnostics import Diagnostic, DiagnosticSink, Location, Severity
from .model import Config
from .reader import Reader
from .schema import BuildContext, Lookahead, Node, build, parse_block, spec_of
from .source import ConfigSource
from .validate import validate


@dataclass(frozen=True)
class LoadResult:
    config: Config | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def worst(self) -> Severity | None:
        return max((d.severity for d in self.diagnostics), default=None)

    @property
    def runnable(self) -> bool:
        """True when the daemon may start: nothing worse than a warning."""
        return self.config is not None and (self.worst or Severity.NOTICE) < Severity.ERROR


def load(
    path: str,
    source: ConfigSource,
    config_id: str | None = None,
    interfaces: frozenset[str] | None = None,
    rng: random.Random | None = None,
    include_check: int = 0,
) -> LoadResult:
    """Read, build and check a configuration file with all it includes; `include_check` as the keyword's bits
    at the start (keepalived's -e: all of them)."""
    # A large configuration makes hundreds of thousands of small acyclic objects; the cyclic collector
    # would scan them again and again (40 % of the load time) and find nothing to free.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(path, source, config_id, interfaces, rng, include_check)
    finally:
        if collecting:
            gc.enable()


def _load(
    path: str,
    source: ConfigSource,
    config_id: str | None,
    interfaces: frozenset[str] | None,
    rng: random.Random | None,
    include_check: int,
) -> LoadResult:
    sink = DiagnosticSink()
    reader = Reader(source, sink, config_id, rng)
    reader.include_check = include_check
    if not reader.open_main(path):
        return LoadResult(None, tuple(sink.items))
    top = Location(reader.files_read[0], 0)
    children, _ = parse_block(Lookahead(iter(reader)), spec_of(Config), sink, nested=False)
    config = build(Config, Node("", (), top, "", children=children), BuildContext(sink))
    config = replace(config, files=tuple(reader.files_read))
    validate(config, sink, interfaces)
    return LoadResult(config, tuple(sink.items))


__all__ = ["Config", "ConfigSource", "LoadResult", "load"]
