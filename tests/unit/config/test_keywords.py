"""No keyword is read and then ignored: every keyword of the declared table (`pykeepalivedctl keywords`) has a
consumer in the code, or is marked "accepted, no effect in pykeepalived" and `-t` says so at its line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from memfs import config_from, messages

from pykeepalived.config.keywords import keyword_reference
from pykeepalived.config.model import Config
from pykeepalived.config.schema import NO_EFFECT, Block, spec_of
from pykeepalived.core.diagnostics import Status

SOURCES = {path: path.read_text() for path in Path(__file__).parents[3].joinpath("src", "pykeepalived").rglob("*.py")}


def declared(model: type[Any] = Config, seen: frozenset[type[Any]] = frozenset()) -> list[tuple[str, str, str, str]]:
    """(block, keyword, field, no-effect reason) for every keyword reachable from the top level."""
    spec = spec_of(model)
    found = []
    for keyword, entry in spec.keywords.items():
        found.append((model.__name__, keyword, entry.field_name, entry.meta.no_effect))
        conv = entry.meta.conv
        # A block marked as having no effect needs no consumer for its own keywords.
        if isinstance(conv, Block) and conv.model not in seen and not entry.meta.no_effect:
            found += declared(conv.model, seen | {model})
    return found


def consumed(field_name: str) -> bool:
    """Some code reads the field (an attribute access: declarations have no leading dot)."""
    pattern = re.compile(rf"\.{re.escape(field_name)}\b")
    return any(pattern.search(text) for text in SOURCES.values())


def test_every_keyword_has_a_consumer_or_says_it_has_no_effect() -> None:
    ignored = [
        f"{block}.{keyword}" for block, keyword, field, no_effect in declared() if not no_effect and not consumed(field)
    ]
    assert ignored == [], "keywords read and then ignored: mark them no_effect=... or use them"


def test_raw_keywords_read_by_code_are_declared_as_such() -> None:
    for model in _models():
        assert getattr(model, "RAW_CONSUMED", frozenset()) <= getattr(model, "RAW_KEYWORDS", frozenset())


def _models() -> set[type[Any]]:
    models: set[type[Any]] = set()
    todo: list[type[Any]] = [Config]
    while todo:
        model = todo.pop()
        if model in models:
            continue
        models.add(model)
        todo += [e.meta.conv.model for e in spec_of(model).keywords.values() if isinstance(e.meta.conv, Block)]
    return models


INSTANCE = (
    "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{line}\n"
    " virtual_ipaddress {{\n  10.99.1.1\n }}\n}}\n"
)


@pytest.mark.parametrize(
    ("text", "keyword", "line"),
    [
        (INSTANCE.format(line=" track_src_ip"), "track_src_ip", 4),
    ],
)
def test_a_keyword_without_effect_is_named_at_its_line(text: str, keyword: str, line: int) -> None:
    result = config_from(text)
    notes = [d for d in result.diagnostics if d.message.startswith(f"{keyword}: {NO_EFFECT} (")]
    assert len(notes) == 1, messages(result)
    assert notes[0].where is not None and notes[0].where.line == line
    # keepalived runs it without a word: -t's exit status is keepalived's.
    assert notes[0].exit_status == Status.OK


def test_the_keyword_reference_says_which_keywords_have_no_effect() -> None:
    reference = keyword_reference()
    assert any(line.strip().startswith("promote_secondaries") and NO_EFFECT in line for line in reference)
    assert any(line.strip().startswith("priority") and NO_EFFECT not in line for line in reference)
