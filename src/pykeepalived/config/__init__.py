"""keepalived.conf: reading, the typed model, and checks."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..core.diagnostics import Diagnostic, DiagnosticSink, Location, Severity
from .model import Config
from .reader import Reader
from .schema import BuildContext, Node, build, parse_block, spec_of
from .source import ConfigSource
from .validate import validate

if TYPE_CHECKING:
    import random


@dataclass(frozen=True)
class LoadResult:
    """The configuration keepalived would run (None if it cannot be read) and what was said."""

    config: Config | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def worst(self) -> Severity | None:
        return max((d.severity for d in self.diagnostics), default=None)

    def strict(self) -> LoadResult:
        """The same, with every warning an error (--strict: refuse to run anything but what was written)."""
        escalated = tuple(
            replace(d, severity=Severity.ERROR) if d.severity == Severity.WARNING else d for d in self.diagnostics
        )
        return replace(self, diagnostics=escalated)

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
    strict: bool = False,
    keep: bool = False,
) -> LoadResult:
    """Read, build and check a configuration file with all it includes; the model holds what keepalived
    would run. `include_check`: the keyword's bits at the start (keepalived's -e: all of them). `strict`:
    every correction (every warning) is an error instead. `keep`: the process keeps the configuration to its
    end, so the garbage collector is told never to scan it (gc.freeze)."""
    with without_cyclic_collection(keep):
        result = _load(path, source, config_id, interfaces, rng, include_check)
    return result.strict() if strict else result


@contextlib.contextmanager
def without_cyclic_collection(keep: bool) -> Iterator[None]:
    """For making a model: a large configuration makes hundreds of thousands of small acyclic objects, which
    the cyclic collector would scan again and again (40 % of the load time, three quarters of an unpickling)
    and find nothing to free. `keep`: the process keeps what was made to its end, so the collector is told
    never to scan it (gc.freeze)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            if keep:
                # Otherwise the first collection after this scans every object just made (70 ms for
                # 126,000 lines), finding nothing: the model is acyclic, and the reader's cycles are broken.
                gc.freeze()
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
        reader.close()
        return LoadResult(None, tuple(sink.items))
    top = Location(reader.files_read[0], 0)
    children, _, _ = parse_block(reader.read_all(), 0, spec_of(Config), sink, nested=False)
    config = build(Config, Node("", (), top, "", children=children), BuildContext(sink))
    config = replace(config, files=tuple(reader.files_read))
    reader.close()
    config = validate(config, sink, interfaces)
    return LoadResult(config, tuple(sink.items))


__all__ = ["Config", "ConfigSource", "LoadResult", "load", "without_cyclic_collection"]
