"""The keyword reference, read from the model's own declarations: what each block accepts and in what form.

`pykeepalivedctl keywords` prints it; it is the keyword table the reader itself uses, so it cannot drift.
"""

from __future__ import annotations

from typing import Any

from .model import Config
from .schema import NO_EFFECT, Block, spec_of

INDENT = "    "


def keyword_reference(model: type[Any] = Config, depth: int = 0, seen: frozenset[type[Any]] = frozenset()) -> list[str]:
    """One line a keyword, blocks indented under their keyword."""
    spec = spec_of(model)
    lines: list[str] = []
    for name, entry in sorted(spec.keywords.items()):
        meta = entry.meta
        replacement = next((new for old, new in meta.deprecated.items() if old == name), None)
        if replacement is not None:
            lines.append(f"{INDENT * depth}{name}  deprecated: use {replacement}")
            continue
        conv = meta.conv
        notes = [conv.describe()]
        if meta.repeat:
            notes.append("repeatable")
        if meta.doc:
            notes.append(meta.doc)
        if meta.no_effect:
            notes.append(f"{NO_EFFECT} ({meta.no_effect})")
        lines.append(f"{INDENT * depth}{name}  {'; '.join(notes)}")
        if isinstance(conv, Block) and conv.model not in seen:
            lines += keyword_reference(conv.model, depth + 1, seen | {model})
    for name in sorted(spec.raw_keywords):
        lines.append(f"{INDENT * depth}{name}  {NO_EFFECT} (kept as written, not interpreted)")
    return lines
