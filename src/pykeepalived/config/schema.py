"""Declarative keyword tables and the machinery that turns lines into typed, frozen model objects.

A block of the configuration is a frozen dataclass; each of its keywords is a field declared with
`kw(...)`, which names the keyword (and its deprecated aliases), its value type with range, and its
default. That one declaration drives three things: the block structure the parser expects (plain
keyword, sub-block, or block of values), the conversion of the written value, and the model's default.

Over 400 lines: the converters and the builder are one mechanism; every keyword table depends on all of it.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

from ..core.diagnostics import DiagnosticSink, Location, Severity, Status
from ..core.frozen import frozen_dataclass
from .reader import Line

T = TypeVar("T")

OPEN_BRACE = ("{",)
CLOSE_BRACE = ("}",)
LEAF = "leaf"
BLOCK = "block"
VALUES = "values"


class Invalid(Exception):
    """A value that cannot be used as written. keepalived reports it and runs without it: a warning."""

    def __init__(self, message: str, severity: Severity = Severity.WARNING) -> None:
        super().__init__(message)
        self.message = message
        self.severity = severity


class MissingParameter(Invalid):
    """A keyword without the value it needs: keepalived's parser gives up on the whole file (exit 2)."""

    def __init__(self, words: tuple[str, ...]) -> None:
        super().__init__(
            f"*** Configuration line starting `{words[0]}` is missing a parameter after keyword "
            f"`{words[-1]}` at word position {len(words) + 1}",
            Severity.ERROR,
        )


class Node(NamedTuple):
    """A keyword line with what belongs to it: sub-keywords (a block) or value lines (a value block).
    A NamedTuple, not a dataclass: one is made per keyword line, so it must be cheap."""

    keyword: str
    args: tuple[str, ...]
    where: Location
    text: str
    children: tuple[Node, ...] = ()
    items: tuple[Line, ...] = ()
    # Where the block was closed (keepalived reports some problems there).
    end: Location | None = None


@dataclass(frozen=True)
class RawOption:
    """A keyword keepalived knows that the model keeps as written (its value is not interpreted yet)."""

    keyword: str
    args: tuple[str, ...]
    where: Location
    items: tuple[tuple[str, ...], ...] = ()


@dataclass
class BuildContext:
    """What converters share while one file is built."""

    sink: DiagnosticSink
    # keepalived numbers rules without a preference downwards from 16384.
    next_rule_preference: int = 16384
    # Set for the block being built, so messages can name it as keepalived does: "(VI_1) ...".
    block_name: str = ""
    # What pure converters made of the words they were given, so that each is converted once.
    converted: dict[tuple[Conv[Any], tuple[str, ...]], Any] = field(default_factory=dict)

    def warn(self, message: str, where: Location) -> None:
        self.sink.warning(message, where)


# Converters and keyword tables are made once and never compared or printed: eq=False and repr=False spare
# dataclasses generating those methods at import (a third of `-t`'s start on a small file).
class Conv(Generic[T]):
    """Converts what a keyword line carries into a typed value."""

    kind: ClassVar[str] = LEAF
    # Pure: the value depends on the words after the keyword alone, and a problem is raised (Invalid), never
    # said through the context. A build then converts the same words once: a large configuration repeats
    # `weight 1` or `retry 3` thousands of times.
    pure: bool = False

    def convert(self, node: Node, ctx: BuildContext) -> T:
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__.lower()


def arg(node: Node, index: int = 1) -> str:
    """The index-th word of the keyword line (the keyword itself is word 0)."""
    if index == 0:
        return node.keyword
    if index > len(node.args):
        raise MissingParameter((node.keyword, *node.args))
    return node.args[index - 1]


def parse_int(text: str, low: int, high: int) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise Invalid(f"invalid number '{text}'") from None
    if not low <= value <= high:
        raise Invalid(f"number '{text}' outside range [{low}, {high}]")
    return value


def format_fixed(value: Decimal, digits: int) -> str:
    return f"{value:.{digits}f}"


def parse_decimal(text: str, low: Decimal, high: Decimal, digits: int) -> Decimal:
    """A non-negative decimal with at most `digits` decimal places, as keepalived's read_decimal."""
    if text.startswith("-"):
        raise Invalid(f"negative number '{text}'")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Invalid(f"invalid number '{text}'") from None
    if not value.is_finite():
        raise Invalid(f"invalid number '{text}'")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > digits:
        raise Invalid(f"number '{text}' has too many decimal places (at most {digits})")
    if not low <= value <= high:
        raise Invalid(f"number '{text}' outside range [{format_fixed(low, digits)}, {format_fixed(high, digits)}]")
    return value


@frozen_dataclass
class Int(Conv[int]):
    """An integer within a range."""

    pure = True

    low: int
    high: int

    def convert(self, node: Node, ctx: BuildContext) -> int:
        return parse_int(arg(node), self.low, self.high)

    def describe(self) -> str:
        return f"integer {self.low}..{self.high}"


@frozen_dataclass
class Seconds(Conv[float]):
    """A time in seconds with up to microsecond resolution (keepalived's TIMER)."""

    pure = True

    low: str = "0"
    high: str = "4294.967295"
    # 0 is outside the range but is also what keepalived uses by default: a warning, not an error.
    zero_is_default: bool = False

    @functools.cached_property
    def bounds(self) -> tuple[Decimal, Decimal]:
        return Decimal(self.low), Decimal(self.high)

    @functools.cached_property
    def whole_bounds(self) -> tuple[int, int]:
        """The whole numbers of seconds in range."""
        low, high = self.bounds
        return int(low.to_integral_value(rounding=ROUND_CEILING)), int(high)

    def convert(self, node: Node, ctx: BuildContext) -> float:
        text = arg(node)
        # Whole seconds, the usual case, without Decimal.
        if text.isdigit() and len(text) < 10:
            low, high = self.whole_bounds
            if low <= int(text) <= high:
                return float(text)
        low_bound, high_bound = self.bounds
        try:
            return float(parse_decimal(text, low_bound, high_bound, 6))
        except Invalid as problem:
            if self.zero_is_default and arg(node).strip("0.") == "":
                raise Invalid(f"{problem.message} (0 is the default, so nothing changes)", Severity.WARNING) from None
            raise

    def describe(self) -> str:
        return f"seconds {self.low}..{self.high}"


TRUE_WORDS = ("true", "on", "yes")
FALSE_WORDS = ("false", "off", "no")


def parse_bool(text: str) -> bool:
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise Invalid(f"'{text}' is not one of on|off|true|false|yes|no")


@frozen_dataclass
class Flag(Conv[bool]):
    """A keyword that switches something on, optionally followed by a boolean."""

    pure = True

    def convert(self, node: Node, ctx: BuildContext) -> bool:
        return parse_bool(node.args[0]) if node.args else True

    def describe(self) -> str:
        return "flag [on|off]"


@frozen_dataclass
class Either(Conv[bool]):
    """Two opposite keywords on one field (nopreempt / preempt): True where `yes` was written."""

    yes: str

    def convert(self, node: Node, ctx: BuildContext) -> bool:
        return node.keyword == self.yes

    def describe(self) -> str:
        return "flag"


@frozen_dataclass
class Word(Conv[str]):
    """One word, optionally of bounded length."""

    pure = True

    max_length: int | None = None

    def convert(self, node: Node, ctx: BuildContext) -> str:
        value = arg(node)
        if self.max_length is not None and len(value) > self.max_length:
            raise Invalid(f"'{value}' is longer than {self.max_length} characters")
        return value

    def describe(self) -> str:
        return "string"


@frozen_dataclass
class Text(Conv[str]):
    """The rest of the line, words joined by one space (a command line, a mail subject)."""

    pure = True

    def convert(self, node: Node, ctx: BuildContext) -> str:
        if not node.args:
            raise Invalid(f"{node.keyword} needs a value")
        return " ".join(node.args)

    def describe(self) -> str:
        return "text"


@frozen_dataclass
class Choice(Conv[T]):
    """One word of a fixed set."""

    pure = True

    choices: Mapping[str, T]
    case_insensitive: bool = False

    def convert(self, node: Node, ctx: BuildContext) -> T:
        word = arg(node)
        key = word.upper() if self.case_insensitive else word
        for name, value in self.choices.items():
            if (name.upper() if self.case_insensitive else name) == key:
                return value
        raise Invalid(f"'{word}' is not one of {', '.join(self.choices)}")

    def describe(self) -> str:
        return "one of " + "|".join(self.choices)


@functools.lru_cache(maxsize=4096)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    # Cached: real servers and VIPs come back again and again in a large configuration (addresses are immutable).
    return ipaddress.ip_address(text)


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return _address(text)
    except ValueError:
        raise Invalid(f"'{text}' is not an IP address") from None


def parse_interface(text: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        raise Invalid(f"'{text}' is not an IP address[/prefix]") from None


@frozen_dataclass
class IPAddress(Conv[ipaddress.IPv4Address | ipaddress.IPv6Address]):
    """An IPv4 or IPv6 address."""

    pure = True

    def convert(self, node: Node, ctx: BuildContext) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return parse_ip(arg(node))

    def describe(self) -> str:
        return "IP address"


@frozen_dataclass
class Custom(Conv[T]):
    """A conversion written as a function of (node, context), for keywords with a grammar of their own."""

    function: Callable[[Node, BuildContext], T]
    description: str
    # The function reads only `node.args` and raises its problems (see Conv.pure).
    pure: bool = False

    def convert(self, node: Node, ctx: BuildContext) -> T:
        return self.function(node, ctx)

    def describe(self) -> str:
        return self.description


@frozen_dataclass
class CustomValues(Custom[T]):
    """Like Custom, for a keyword followed by a `{ ... }` block of value lines (in `node.items`)."""

    kind: ClassVar[str] = VALUES


@frozen_dataclass
class Values(Conv[tuple[T, ...]]):
    """A `{ ... }` block of value lines, each converted by `item` (a bad line is reported and dropped)."""

    item: Callable[[Line, BuildContext], T | None]
    description: str
    kind: ClassVar[str] = VALUES

    def convert(self, node: Node, ctx: BuildContext) -> tuple[T, ...]:
        converted: list[T] = []
        for line in node.items:
            try:
                value = self.item(line, ctx)
            except Invalid as problem:
                ctx.sink.report(problem.severity, problem.message, line.where)
                continue
            if value is not None:
                converted.append(value)
        return tuple(converted)

    def describe(self) -> str:
        return self.description


@frozen_dataclass
class Block(Conv[T]):
    """A `{ ... }` block of keywords, built into the dataclass `model`."""

    model: type[T]
    header: Callable[[Node, BuildContext], dict[str, Any]] | None = None
    kind: ClassVar[str] = BLOCK

    def convert(self, node: Node, ctx: BuildContext) -> T:
        return build(self.model, node, ctx, self.header)

    def describe(self) -> str:
        return f"block {self.model.__name__}"


@frozen_dataclass
class KeywordMeta:
    """A keyword's declaration: converter, names, repetition, deprecated aliases."""

    conv: Conv[Any]
    names: tuple[str, ...]
    repeat: bool
    deprecated: Mapping[str, str]
    doc: str
    # Why the keyword has no effect in pykeepalived yet (`-t` says so at its line); "" when it has one.
    no_effect: str = ""


def kw(
    conv: Conv[Any],
    *,
    default: Any = dataclasses.MISSING,
    names: tuple[str, ...] = (),
    repeat: bool = False,
    deprecated: Mapping[str, str] | None = None,
    doc: str = "",
    no_effect: str = "",
) -> Any:
    """Declare a model field as a keyword.

    `names`: the keywords that set it (default: the field's name). `repeat`: every occurrence is kept,
    in order, as a tuple. `deprecated`: alias -> the keyword to use instead (accepted with a warning).
    `no_effect`: what pykeepalived does not do yet with it; `-t` warns at its line, the model keeps it.
    """
    meta = KeywordMeta(conv, names, repeat, deprecated or {}, doc, no_effect)
    if repeat:
        return field(default=(), metadata={"kw": meta})
    if default is dataclasses.MISSING:
        default = None
    return field(default=default, metadata={"kw": meta})


@frozen_dataclass
class KeywordSpec:
    """A keyword of a block and the model field it sets (the declaration's parts copied out: the builder
    reads them for every line)."""

    field_name: str
    meta: KeywordMeta
    conv: Conv[Any]
    kind: str
    repeat: bool
    deprecated: Mapping[str, str]
    no_effect: str
    pure: bool

    def sub_spec(self) -> BlockSpec | None:
        conv = self.meta.conv
        return spec_of(conv.model) if isinstance(conv, Block) else None


@frozen_dataclass
class BlockSpec:
    """A block's keyword table, read from its model's declarations."""

    model: type[Any]
    keywords: Mapping[str, KeywordSpec]
    # Keywords keepalived accepts here that the model keeps as RawOption (field `options`).
    raw_keywords: frozenset[str]
    # Raw keywords that code reads from `options` (the others have no effect).
    raw_consumed: frozenset[str]
    field_names: frozenset[str]
    # Each keyword field's default: what keepalived uses when the keyword is absent or ignored.
    defaults: Mapping[str, Any]
    # Every keyword's kind (LEAF for raw keywords), for the parser.
    kinds: Mapping[str, str]
    # The fields without a default: build() sets them (those with a default factory too).
    required: frozenset[str]

    @functools.cached_property
    def has_lines(self) -> bool:
        return "lines" in self.field_names

    @functools.cached_property
    def has_options(self) -> bool:
        return "options" in self.field_names

    @functools.cached_property
    def has_where(self) -> bool:
        return "where" in self.field_names

    @functools.cached_property
    def has_end(self) -> bool:
        return "end" in self.field_names

    def kind_of(self, keyword: str) -> str | None:
        return self.kinds.get(keyword)


_specs: dict[type[Any], BlockSpec] = {}
UNCONVERTED = object()


def spec_of(model: type[Any]) -> BlockSpec:
    """The keyword table of a block model, read from its field declarations."""
    spec = _specs.get(model)
    if spec is not None:
        return spec
    keywords: dict[str, KeywordSpec] = {}
    for f in dataclasses.fields(model):
        meta = f.metadata.get("kw")
        if meta is None:
            continue
        conv = meta.conv
        entry = KeywordSpec(f.name, meta, conv, conv.kind, meta.repeat, meta.deprecated, meta.no_effect, conv.pure)
        for name in (*(meta.names or (f.name,)), *meta.deprecated):
            keywords[name] = entry
    raw: frozenset[str] = getattr(model, "RAW_KEYWORDS", frozenset())
    defaults = {
        f.name: f.default
        for f in dataclasses.fields(model)
        if "kw" in f.metadata and f.default is not dataclasses.MISSING
    }
    consumed: frozenset[str] = getattr(model, "RAW_CONSUMED", frozenset())
    kinds = {**dict.fromkeys(raw, LEAF), **{name: entry.kind for name, entry in keywords.items()}}
    names = frozenset(f.name for f in dataclasses.fields(model))
    # build() leaves a field at its default by not setting it: the class attribute holds it (frozen_dataclass
    # checks that for every model).
    required = names - {f.name for f in dataclasses.fields(model) if f.default is not dataclasses.MISSING}
    spec = BlockSpec(model, keywords, raw, consumed, names, defaults, kinds, required)
    _specs[model] = spec
    return spec


def build(
    model: type[T],
    node: Node,
    ctx: BuildContext,
    header: Callable[[Node, BuildContext], dict[str, Any]] | None = None,
) -> T:
    """Build a block model from a parsed node: convert each keyword, report bad values, keep defaults."""
    spec = spec_of(model)
    outer_name = ctx.block_name
    values: dict[str, Any] = {}
    if header is not None:
        values = header(node, ctx)
        if "name" in values:
            ctx.block_name = str(values["name"])
    repeated: dict[str, list[Any]] = {}
    lines: dict[str, Location] = {}
    options: list[RawOption] = []
    keywords = spec.keywords
    track_lines = spec.has_lines
    converted = ctx.converted
    for child in node.children:
        keyword = child.keyword
        entry = keywords.get(keyword)
        if entry is None:
            options.append(RawOption(keyword, child.args, child.where, tuple(i.words for i in child.items)))
            if keyword not in spec.raw_consumed:
                no_effect_warning(ctx, keyword, "kept as written, not interpreted", child.where)
            continue
        if entry.deprecated:
            replacement = entry.deprecated.get(keyword)
            if replacement is not None:
                ctx.warn(f"{keyword} is deprecated - please use '{replacement}'", child.where)
        try:
            if entry.pure:
                key = (entry.conv, child.args)
                value = converted.get(key, UNCONVERTED)
                if value is UNCONVERTED:
                    value = converted[key] = entry.conv.convert(child, ctx)
            else:
                value = entry.conv.convert(child, ctx)
        except MissingParameter as problem:
            ctx.sink.report(problem.severity, problem.message, child.where, Status.GAVE_UP)
            continue
        except Invalid as problem:
            ctx.sink.report(problem.severity, invalid_message(child, problem, spec, values), child.where)
            continue
        if entry.no_effect:
            no_effect_warning(ctx, keyword, entry.no_effect, child.where)
        name = entry.field_name
        if track_lines and name not in lines:
            lines[name] = child.where
        if entry.repeat:
            bucket = repeated.get(name)
            if bucket is None:
                bucket = repeated[name] = []
            if entry.kind == VALUES and isinstance(value, tuple):
                bucket.extend(value)
            else:
                bucket.append(value)
        else:
            values[name] = value
    for name, bucket in repeated.items():
        values[name] = tuple(bucket)
    if spec.has_options:
        values["options"] = tuple(options)
    if track_lines:
        values["lines"] = lines
    if spec.has_where:
        values["where"] = node.where
    if spec.has_end:
        values["end"] = node.end or node.where
    ctx.block_name = outer_name
    # `model(**values)` without the generated __init__ of a frozen dataclass (it sets each field through
    # object.__setattr__: a third of the build time of a large configuration). The models have no
    # __post_init__, and the fields with a default factory are set above. A field left at its default is
    # not in the instance's dict, read from the class: the dicts of a large configuration's blocks are a
    # third of their size.
    if not spec.required <= values.keys() <= spec.field_names:
        wrong = sorted((values.keys() - spec.field_names) | (spec.required - values.keys()))
        raise TypeError(f"{model.__name__}: no such field or missing field {wrong[0]}")
    instance: T = object.__new__(model)
    object.__setattr__(instance, "__dict__", values)
    return instance


NO_EFFECT = "accepted, no effect in pykeepalived"


def no_effect_warning(ctx: BuildContext, keyword: str, why: str, where: Location) -> None:
    # Status OK: keepalived runs it without a word, so `-t`'s exit status stays keepalived's.
    ctx.sink.warning(f"{keyword}: {NO_EFFECT} ({why})", where, Status.OK)


def shown(value: Any) -> str:
    """A model value as it would be written in keepalived.conf."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def invalid_message(node: Node, problem: Invalid, spec: BlockSpec, values: Mapping[str, Any]) -> str:
    """What was wrong and what is used instead: the value given before, else the default, else nothing."""
    text = f"{node.keyword} '{' '.join(node.args)}' is invalid: {problem.message}"
    if problem.severity != Severity.WARNING:
        return text
    entry = spec.keywords[node.keyword]
    ignoring = "" if "ignoring" in problem.message else " - ignoring"
    if entry.meta.repeat or entry.meta.conv.kind != LEAF:
        return text + ignoring
    used = values.get(entry.field_name, spec.defaults.get(entry.field_name))
    return text + ignoring if used is None else f"{text}{ignoring}; using {shown(used)}"


def parse_block(
    lines: list[Line], position: int, spec: BlockSpec, sink: DiagnosticSink, nested: bool
) -> tuple[tuple[Node, ...], Location | None, int]:
    """Read keyword lines from `position` until the closing `}` (or the end at top level), as keepalived's
    process_stream; return the nodes, where the block closed, and the position after it."""
    nodes: list[Node] = []
    count = len(lines)
    kinds = spec.kinds
    new = tuple.__new__
    while position < count:
        line = lines[position]
        position += 1
        words = line.words
        keyword = words[0]
        kind = kinds.get(keyword)
        if kind is None and keyword == "}":
            if nested:
                return tuple(nodes), line.where, position
            sink.warning("Extra '}' found (no block is open here)", line.where)
            continue
        if kind is None and keyword == "{":
            sink.warning("Unexpected '{' - ignoring", line.where)
            position = _skip_block(lines, position, opened=True)
            continue
        # A block's '{' ends its line (the reader keeps it as the last word), or is the next line.
        if words[-1] == "{" and len(words) > 1:
            opened, brace_line, args = True, False, words[1:-1]
        else:
            brace_line = position < count and lines[position].words == OPEN_BRACE
            opened, args = brace_line, words[1:]
        if kind == LEAF and not opened:
            # Most lines: a keyword and its values. tuple.__new__ straight: a NamedTuple's own __new__ is a
            # Python function, a frame per line.
            nodes.append(new(Node, (keyword, args, line.where, line.text, (), (), None)))
            continue
        if kind is None:
            if opened:
                sink.warning(f"Unknown keyword '{keyword}' - skipping its block", line.where)
                position = _skip_block(lines, position + brace_line, opened=True)
            else:
                sink.warning(f"Unknown keyword '{keyword}'", line.where)
            continue
        children: tuple[Node, ...] = ()
        items: tuple[Line, ...] = ()
        end: Location | None = None
        if brace_line:
            position += 1
        if kind == LEAF:
            if keyword in spec.raw_keywords:
                items, end, position = _read_values(lines, position)
            else:
                sink.warning(f"'{keyword}' does not take a block - ignoring the block", line.where)
                position = _skip_block(lines, position, opened=True)
        else:
            if not opened:
                # As keepalived: reported where the '{' was expected; what follows is read as the block.
                following = lines[position] if position < count else None
                sink.warning(
                    f"Missing '{{' at beginning of configuration block (for '{keyword}' at line {line.where.line})",
                    following.where if following is not None else line.where,
                )
            if kind == VALUES:
                items, end, position = _read_values(lines, position)
            else:
                sub = spec.keywords[keyword].sub_spec()
                assert sub is not None
                start = position
                children, end, position = parse_block(lines, position, sub, sink, nested=True)
                if not nested and not opened:
                    _as_other_processes_read(lines[start:position], spec, sink)
            if end is None:
                sink.warning(
                    f"'{keyword}' block opened here is never closed: missing '}}' (it ends with the file)", line.where
                )
        nodes.append(new(Node, (keyword, args, line.where, line.text, children, items, end)))
    return tuple(nodes), None, position


def _as_other_processes_read(taken: list[Line], top: BlockSpec, sink: DiagnosticSink) -> None:
    """keepalived's other processes (those that skip this block) look for its '{' on the next line; not
    finding it, they read the block's lines as top-level keywords, and say so line by line."""
    for line in taken:
        word = line.words[0]
        if word == "{":
            sink.warning("Unexpected '{' - ignoring (read outside the unopened block)", line.where)
            continue
        if top.kind_of(word) is None:
            sink.warning(f"Unknown keyword '{word}' (read outside the unopened block)", line.where)
        if line.words[-1] == "{":
            sink.warning("Unexpected '{' - ignoring (read outside the unopened block)", line.where)


def _read_values(lines: list[Line], position: int) -> tuple[tuple[Line, ...], Location | None, int]:
    start = position
    depth = 0
    while position < len(lines):
        words = lines[position].words
        position += 1
        if words == CLOSE_BRACE:
            if depth == 0:
                return tuple(lines[start : position - 1]), lines[position - 1].where, position
            depth -= 1
        elif words[-1] == "{":
            depth += 1
    return tuple(lines[start:position]), None, position


def _skip_block(lines: list[Line], position: int, opened: bool) -> int:
    depth = 1 if opened else 0
    while position < len(lines):
        words = lines[position].words
        position += 1
        if words[-1] == "{":
            depth += 1
        elif words == CLOSE_BRACE:
            depth -= 1
            if depth <= 0:
                break
    return position
