"""keepalived.conf's line reader: everything that happens before keywords are looked at.

It follows keepalived 2.2.7's read_line(): comments, quoting, `include` (globs, braces, paths relative to
the including file, include_check), `@id` / `@^id` conditional lines, `$NAME=value` definitions (also
multi-line ones, substituted recursively at use time), the predefined `${_PWD}`, `${_INSTANCE}`,
`${_RANDOM}`, `${_HASH}`, `${_BANG}` and our `${_ENV NAME}`, and `~SEQ` / `~SEQx` / `~LST` loops. Braces
are split onto lines of their own, as keepalived does, so the keyword parser only ever sees `{` or `}`
alone. Every line keeps the file and line number it came from.

Over 400 lines: keepalived's read_line() is one state machine (continuations, includes, definitions and
loops interact); it is kept in one piece, like keepalived's.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import compress, repeat
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import random

from ..core.diagnostics import DiagnosticSink, Location, Status
from .source import ConfigSource, FileProblem

WHITESPACE = " \t\n\r\f\v"
WHITESPACE_AROUND = " \t\r\n"
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_SUBSTITUTIONS_PER_LINE = 1000
COMMENT_OR_QUOTE = re.compile(r'[!#"\\]')
# Characters that make a line need more than splitting into words.
PLAIN_LINE_STOP = re.compile(r'[!#"\\@$~{}]')
# What makes a line need more than splitting into words (and braces): the language's characters and
# `include`. Each is looked for with str.find: a scan at C speed.
SPECIAL_WORDS = ("!", "#", '"', "\\", "@", "$", "~", "include")

# include_check bits, as keepalived names them
INCLUDE_R = 1  # read: a matched file cannot be read
INCLUDE_M = 2  # match: a literal path does not exist
INCLUDE_W = 4  # wildcard_match: a wildcard matches nothing
INCLUDE_B = 8  # brace_match: a brace alternative matches nothing
INCLUDE_ALL = INCLUDE_R | INCLUDE_M | INCLUDE_W | INCLUDE_B
INCLUDE_VARIANTS = {
    "include": 0,
    "includer": INCLUDE_R,
    "includem": INCLUDE_R | INCLUDE_M,
    "includew": INCLUDE_R | INCLUDE_M | INCLUDE_W,
    "includeb": INCLUDE_R | INCLUDE_B,
    "includea": INCLUDE_ALL,
}
INCLUDE_CHECK_WORDS = {
    "read": INCLUDE_R,
    "match": INCLUDE_M,
    "wildcard_match": INCLUDE_W,
    "brace_match": INCLUDE_B,
}


class Line(NamedTuple):
    """One logical line: its words (quotes removed) and where it was written."""

    words: tuple[str, ...]
    where: Location
    # The text after preprocessing, before splitting into words (scripts keep their quoting).
    text: str


def decomment(text: str) -> str:
    """Strip a comment (`!` or `#` outside double quotes) and surrounding blanks.

    `\\#` and `\\!` outside quotes are literal characters. A trailing backslash survives (it marks a
    multi-line definition); keepalived keeps it even when it ends a comment, so `# text \\` leaves `\\`.
    """
    text = text.lstrip(" \t")
    if not COMMENT_OR_QUOTE.search(text):
        return text.rstrip(" \t")
    out: list[str] = []
    in_quote = False
    comment_at: int | None = None
    continued = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            if comment_at is None:
                in_quote = not in_quote
        elif ch == "\\":
            if i + 1 < len(text):
                nxt = text[i + 1]
                if not in_quote and nxt in "#!":
                    out.append(nxt)
                else:
                    out.append(ch + nxt)
                i += 2
                continue
            continued = True
            break
        elif ch in "!#" and not in_quote and comment_at is None:
            comment_at = len(out)
        out.append(ch)
        i += 1
    result = "".join(out[:comment_at] if comment_at is not None else out).rstrip(" \t")
    return result + "\\" if continued else result


def split_words(text: str, sink: DiagnosticSink, where: Location) -> tuple[str, ...]:
    """Split into words as keepalived's alloc_strvec does: blanks separate, `"..."` is one word."""
    if '"' not in text:
        return tuple(text.split())
    words: list[str] = []
    i = 0
    n = len(text)
    while True:
        while i < n and text[i] in WHITESPACE:
            i += 1
        if i >= n:
            break
        if text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                sink.warning(f"Unmatched quote: '{text}'", where)
                break
            words.append(text[i + 1 : end])
            i = end + 1
        else:
            start = i
            while i < n and text[i] not in WHITESPACE and text[i] != '"':
                i += 1
            words.append(text[start:i])
    return tuple(words)


def split_at_brace(text: str) -> tuple[str, str | None]:
    """Cut a line before its first unquoted brace, or after a leading one; return (line, residue)."""
    if "{" not in text and "}" not in text:
        return text.rstrip(" \t"), None
    pos = -1
    if text[0] in "{}":
        pos = 0
    else:
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == '"':
                close = text.find('"', i + 1)
                if close < 0:
                    break
                i = close + 1
                continue
            if ch in "{}":
                pos = i
                break
            i += 1
    if pos < 0:
        return text.rstrip(" \t"), None
    cut = pos + 1 if pos == 0 else pos
    head, rest = text[:cut].rstrip(" \t"), text[cut:].strip(" \t")
    return head, rest or None


def expand_braces(pattern: str) -> list[str]:
    """csh-style brace expansion, as glob(3) does with GLOB_BRACE: `a{b,c{d,e}}` -> ab acd ace."""
    depth = 0
    start = -1
    for i, ch in enumerate(pattern):
        if ch == "\\":
            continue
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                inner = pattern[start + 1 : i]
                if inner == "":
                    continue
                alternatives: list[str] = []
                level = 0
                piece_start = 0
                for j, c in enumerate(inner):
                    if c == "{":
                        level += 1
                    elif c == "}":
                        level -= 1
                    elif c == "," and level == 0:
                        alternatives.append(inner[piece_start:j])
                        piece_start = j + 1
                alternatives.append(inner[piece_start:])
                head, tail = pattern[:start], pattern[i + 1 :]
                return [r for alt in alternatives for r in expand_braces(head + alt + tail)]
    return [pattern]


@dataclass
class Definition:
    """A `$NAME=value` parameter; a multi-line one holds one entry per line."""

    lines: list[str]
    multiline: bool = False
    # Predefined parameters compute their value at each use; they may take parameters.
    compute: Callable[[str], str] | None = None
    takes_params: bool = False


@dataclass
class _OpenFile:
    """A file being read, and where in it."""

    path: str
    lines: list[str]
    saved_include_check: int
    next_index: int = 0
    # Lines before this one need no processing but splitting and braces (-1: not looked for yet).
    plain_until: int = -1

    def plain_end(self, start: int) -> int:
        """The first line from `start` on that may need the language's processing, found in one search."""
        if self.plain_until < start:
            text = "\n".join(self.lines[start:])
            stops = [found for word in SPECIAL_WORDS if (found := text.find(word)) >= 0]
            self.plain_until = start + text.count("\n", 0, min(stops)) if stops else len(self.lines)
        return self.plain_until

    @property
    def directory(self) -> str:
        return posixpath.dirname(self.path)


@dataclass
class _Expansion:
    """Lines that come from a multi-line definition or a ~SEQ/~LST loop rather than from a file."""

    where: Location
    lines: list[str] = field(default_factory=list)
    # For loops: the parameter values to set before each repetition of `lines[0]`.
    assignments: list[dict[str, str]] | None = None
    position: int = 0

    def next_text(self, definitions: dict[str, Definition]) -> str | None:
        if self.assignments is not None:
            if self.position >= len(self.assignments):
                return None
            for name, value in self.assignments[self.position].items():
                definitions[name] = Definition([value])
            self.position += 1
            return self.lines[0]
        if self.position >= len(self.lines):
            return None
        self.position += 1
        return self.lines[self.position - 1]


class Reader:
    """Yields the logical lines of a configuration, with its includes, in keepalived's order."""

    def __init__(
        self,
        source: ConfigSource,
        sink: DiagnosticSink,
        config_id: str | None,
        rng: random.Random | None = None,
    ) -> None:
        self.source = source
        self.sink = sink
        self.config_id = config_id
        self.include_check = 0
        self.files_read: list[str] = []
        # Made on first use of ${_RANDOM}: importing random costs every start.
        self._rng = rng
        self._files: list[_OpenFile] = []
        self._globs: list[list[str]] = []
        self._expansions: list[_Expansion] = []
        self._residue: tuple[str, Location] | None = None
        self._collecting: Definition | None = None
        self._where = Location("", 0)
        self.definitions: dict[str, Definition] = {
            "_PWD": Definition([], compute=lambda _p: self._current_directory()),
            "_INSTANCE": Definition([], compute=lambda _p: self.config_id or ""),
            "_RANDOM": Definition([], compute=self._random, takes_params=True),
            "_HASH": Definition(["#"]),
            "_BANG": Definition(["!"]),
            "_ENV": Definition([], compute=lambda p: self.source.environ(p.strip()) or "", takes_params=True),
        }

    # ----- files ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Drop what the reader holds; its predefined parameters refer back to it (a cycle)."""
        self.definitions.clear()
        self._files.clear()
        self._globs.clear()

    def open_main(self, path: str) -> bool:
        """Open the main configuration file; report and return False if it cannot be used."""
        if not path.startswith("/"):
            path = posixpath.normpath(posixpath.join(self.source.cwd(), path))
        result = self.source.glob(path)
        files = [p for p in result.paths if not p.endswith("/")]
        if not files:
            self.sink.error(f"Unable to find configuration file {path}", None, Status.CANNOT_RUN)
            return False
        if len(files) > 1:
            self.sink.warning(f"WARNING, multiple configuration file matches of {path}, starting with {files[0]}", None)
        self._globs.append(files)
        return self._open_next_in_glob(INCLUDE_ALL, None)

    def _current_directory(self) -> str:
        return self._files[-1].directory if self._files else self.source.cwd()

    def _random(self, params: str) -> str:
        if self._rng is None:
            import random

            self._rng = random.Random()
        numbers = [int(x) for x in params.split()]
        low = numbers[0] if numbers else 0
        high = numbers[1] if len(numbers) > 1 else 32767
        return str(self._rng.randint(low, high))

    def _file_problem(self, include_type: int, check_bit: int, message: str) -> None:
        if (self.include_check | include_type) & check_bit:
            self.sink.error(message, self._where, Status.CANNOT_RUN)
        else:
            self.sink.notice(message, self._where)

    def _include(self, pattern: str, include_type: int) -> None:
        base = self._current_directory()
        absolute = posixpath.normpath(pattern if pattern.startswith("/") else posixpath.join(base, pattern))
        result = self.source.glob(absolute)
        if not result.paths:
            if result.missing:
                bit = INCLUDE_B if result.had_braces else INCLUDE_M
                self._file_problem(include_type, bit, f"Config files missing '{pattern}'.")
            elif result.had_wildcards:
                self._file_problem(include_type, INCLUDE_W, f"No config files matched '{pattern}'.")
            return
        if result.missing:
            self._file_problem(include_type, INCLUDE_B, f'Some config files missing: "{pattern}".')
            if (self.include_check | include_type) & INCLUDE_B:
                return
        self._globs.append(list(result.paths))
        if not self._open_next_in_glob(include_type, self._where):
            self._globs.pop()

    def _open_next_in_glob(self, include_type: int, where: Location | None) -> bool:
        pending = self._globs[-1]
        while pending:
            path = pending.pop(0)
            if path.endswith("/"):
                self._file_problem(include_type, INCLUDE_R, f"Configuration file '{path}' is a directory - skipping")
                continue
            try:
                text = self.source.read(path)
            except FileProblem as problem:
                self._file_problem(include_type, INCLUDE_R, f"Configuration file '{path}' {problem} - skipping")
                continue
            self.files_read.append(path)
            self._files.append(_OpenFile(path, text.splitlines(), self.include_check))
            return True
        return False

    def _next_physical_line(self) -> str | None:
        while self._files:
            current = self._files[-1]
            if current.next_index < len(current.lines):
                text = current.lines[current.next_index]
                current.next_index += 1
                self._where = Location(current.path, current.next_index)
                return text
            self._files.pop()
            self.include_check = current.saved_include_check
            if self._open_next_in_glob(0, None):
                continue
            self._globs.pop()
        return None

    # ----- definitions, conditionals, loops -------------------------------------------------------

    def _definition_at(self, text: str, dollar: int) -> tuple[Definition, int, str, bool] | None:
        """The definition referenced by `$NAME` or `${NAME params}` at `dollar`: (def, end, params, braces)."""
        braces = text.startswith("{", dollar + 1)
        start = dollar + 2 if braces else dollar + 1
        match = NAME_RE.match(text, start)
        if not match:
            return None
        name, end, params = match.group(), match.end(), ""
        definition = self.definitions.get(name)
        if definition is None:
            return None
        if braces:
            close = text.find("}", end)
            if close < 0:
                return None
            params = text[end:close]
            if params and (not definition.takes_params or params != params.rstrip()):
                return None
            if name != "_ENV" and params.strip(" 0123456789"):
                return None
            end = close + 1
        elif end < len(text) and text[end] not in " \t,)":
            return None
        if definition.multiline and end != len(text):
            return None
        return definition, end, params, braces

    def _substitute(self, text: str) -> tuple[str, list[str], bool]:
        """Replace parameters (rescanning each replacement); return text, further lines, whether changed."""
        pos = 0
        more: list[str] = []
        changed = False
        count = 0
        while (dollar := text.find("$", pos)) >= 0 and dollar + 1 < len(text):
            found = self._definition_at(text, dollar)
            if found is None:
                pos = dollar + 1
                continue
            count += 1
            if count > MAX_SUBSTITUTIONS_PER_LINE:
                self.sink.error(
                    "parameter substitution does not terminate (a definition refers to itself)", self._where
                )
                return "", [], True
            definition, end, params, _ = found
            if definition.compute is not None:
                value = definition.compute(params)
            else:
                value = definition.lines[0] if definition.lines else ""
                if definition.multiline:
                    more = definition.lines[1:] + more
            text = text[:dollar] + value + text[end:]
            changed = True
            pos = dollar
            if value.lstrip(" \t").startswith("~"):
                break
        return text, more, changed

    def _start_definition(self, text: str) -> bool:
        """Handle `$NAME=value`; return False if the line is not a definition."""
        match = NAME_RE.match(text, 1)
        if not match or not text.startswith("=", match.end()):
            return False
        value = text[match.end() + 1 :].lstrip(" \t")
        definition = Definition([value])
        if value.endswith("\\"):
            definition = Definition([value[:-1].rstrip(" \t")], multiline=True)
            self._collecting = definition
        self.definitions[match.group()] = definition
        return True

    def _collect_definition_line(self, text: str) -> None:
        collecting = self._collecting
        assert collecting is not None
        if text.endswith("\\"):
            stripped = text[:-1].rstrip(" \t")
            if stripped:
                collecting.lines.append(stripped)
            return
        collecting.lines.append(text)
        self._collecting = None

    def _seq_values(self, text: str) -> tuple[str, list[dict[str, str]], str] | None:
        """Parse `~SEQ(var, [start,] [step,] end) rest` into (var, assignments, rest)."""
        hexadecimal = text.startswith("~SEQx")
        body = text[5:] if hexadecimal else text[4:]
        match = re.match(r"\s*\(\s*([^\s,)]+)\s*,([^)]*)\)[ \t]*(.*)$", body)
        if not match:
            return None
        var, args, rest = match.groups()
        args, more, _ = self._substitute(args)
        if more:
            self.sink.warning(f"~SEQ parameter is multiline definition '{text}'", self._where)
            return None
        try:
            numbers = [int(a.strip(), 0) for a in args.split(",")]
        except ValueError:
            return None
        if len(numbers) == 1:
            end = numbers[0]
            start, step = (-1 if end < 0 else 1), (-1 if end < 1 else 1)
        elif len(numbers) == 2:
            start, end = numbers
            step = 1 if start <= end else -1
        elif len(numbers) == 3:
            start, step, end = numbers
            if step == 0 or (start < end and step < 0) or (start > end and step > 0):
                self.sink.warning(f"Invalid ~SEQ values '{text}'", self._where)
                return None
        else:
            return None
        if hexadecimal and (start < 0 or end < 0):
            self.sink.warning(f"~SEQx is only valid for positive numbers '{text}'", self._where)
            return None
        values = range(start, end + (1 if step > 0 else -1), step)
        return var, [{var: format(v, "x") if hexadecimal else str(v)} for v in values], rest

    def _lst_values(self, text: str) -> tuple[list[dict[str, str]], str] | None:
        """Parse `~LST(var, v1, v2...)` or `~LST({a,b}, {1,2}, {3,4}) rest`."""
        match = re.match(r"~LST\s*\((.*?)\)[ \t]*(.*)$", text)
        if not match:
            return None
        inner, rest = match.groups()
        groups = [g.strip() for g in re.findall(r"\{[^}]*\}|[^,{}]+", inner)]
        groups = [g for g in groups if g]
        if len(groups) < 2:
            return None

        def members(group: str) -> list[str]:
            if group.startswith("{"):
                return [m.strip() for m in group[1:-1].split(",")]
            return [group]

        names = members(groups[0])
        assignments: list[dict[str, str]] = []
        for group in groups[1:]:
            values = members(group)
            if len(values) > len(names):
                self.sink.warning(f"~LST specification has too many values '{text}'", self._where)
                return None
            values += [""] * (len(names) - len(values))
            assignments.append(dict(zip(names, values, strict=True)))
        return assignments, rest

    # ----- the line loop --------------------------------------------------------------------------

    def _next_raw(self) -> tuple[str, Location, bool] | None:
        """The next text to process: (text, where, from_residue)."""
        if self._residue is not None:
            text, where = self._residue
            self._residue = None
            return text, where, True
        while self._expansions:
            expansion = self._expansions[-1]
            expanded = expansion.next_text(self.definitions)
            if expanded is not None:
                self._where = expansion.where
                return expanded, expansion.where, False
            self._expansions.pop()
        while True:
            raw = self._next_physical_line()
            if raw is None:
                return None
            text = raw.rstrip("\r\n")
            if not text:
                if self._collecting is not None:
                    self._collecting = None
                continue
            text = decomment(text)
            if text:
                return text, self._where, False

    def _process(self, text: str, where: Location) -> str:
        """Conditionals, definitions, loops and substitution; returns "" when the line is consumed."""
        while True:
            if text.startswith("@"):
                reverse = text.startswith("@^")
                word_start = 2 if reverse else 1
                blank = re.search(r"[ \t]", text[word_start:])
                if blank is None:
                    return ""
                word = text[word_start : word_start + blank.start()]
                if (self.config_id is not None and word == self.config_id) == reverse:
                    return ""
                text = text[word_start + blank.start() :].lstrip(" \t")
            if text.startswith("$") and self._start_definition(text):
                return ""
            if text.startswith("~SEQ"):
                seq = self._seq_values(text)
                if seq is None:
                    self.sink.warning(f"Invalid ~SEQ specification '{text}'", where)
                elif seq[1]:
                    self._expansions.append(_Expansion(where, [seq[2]], seq[1]))
                return ""
            if text.startswith("~LST"):
                lst = self._lst_values(text)
                if lst is None:
                    self.sink.warning(f"Invalid ~LST specification '{text}'", where)
                else:
                    self._expansions.append(_Expansion(where, [lst[1]], lst[0]))
                return ""
            if text.startswith("~"):
                return text
            if "$" not in text:
                return text
            text, more, changed = self._substitute(text)
            if more:
                self._expansions.append(_Expansion(where, more))
            if not changed:
                return text
            text = decomment(text)
            if not text:
                return ""

    def _try_include(self, text: str) -> bool:
        if not text.startswith("include"):
            return False
        keyword, _, rest = text.partition(" ")
        if "\t" in keyword:
            keyword, _, tail = keyword.partition("\t")
            rest = tail + (" " + rest if rest else "")
        if keyword not in INCLUDE_VARIANTS:
            return False
        self._include(rest.strip(" \t"), INCLUDE_VARIANTS[keyword])
        return True

    def _plain_run(self, out: list[Line]) -> bool:
        """Append the file's next lines while they need none of the language's processing (most lines);
        return whether any line was taken.

        Such lines hold words, and braces alone or at their end (a line ending with `{` keeps it as its
        last word); one search finds where they stop, and the rest goes through _next_raw(). This is the
        hot path for large configurations: the lines are made by map() and friends, at C speed, unless a
        brace is inside a line or glued to a word (then line by line).
        """
        if self._residue is not None or self._expansions or self._collecting is not None or not self._files:
            return False
        current = self._files[-1]
        start = current.next_index
        count = current.plain_end(start)
        if count == start:
            return False
        chunk = current.lines[start:count]
        stripped = list(map(str.strip, chunk, repeat(WHITESPACE_AROUND)))
        texts = list(filter(None, stripped))
        # Braces may only end a line (after a blank: the last word), and a '}' only stand alone: counted in
        # the lines joined, each ending with a newline.
        text = "\n".join(texts) + "\n"
        opening = text.count("{\n")
        spaced = texts.count("{") + text.count(" {\n") + text.count("\t{\n")
        if text.count("{") != opening or spaced != opening or text.count("}") != texts.count("}"):
            return self._plain_lines_one_by_one(out, start, count)
        path = current.path
        # tuple.__new__ straight: a NamedTuple's own __new__ is a Python function, a frame per line.
        new = tuple.__new__
        numbers = compress(range(start + 1, count + 1), stripped)
        places = map(new, repeat(Location), zip(repeat(path), numbers))
        out.extend(map(new, repeat(Line), zip(map(tuple, map(str.split, texts)), places, texts, strict=True)))
        current.next_index = count
        self._where = Location(path, count)
        return True

    def _plain_lines_one_by_one(self, out: list[Line], start: int, count: int) -> bool:
        """_plain_run() for the rare run with a brace inside a line or glued to a word: up to that line,
        line by line."""
        current = self._files[-1]
        lines = current.lines
        path = current.path
        index = count
        for number in range(start, count):
            text = lines[number].strip(WHITESPACE_AROUND)
            if not text:
                continue
            head, last = text[:-1], text[-1]
            glued = last == "{" and head[-1:] not in ("", " ", "\t")
            if "{" in head or "}" in head or glued or (last == "}" and head):
                index = number  # through _next_raw(), which splits it at its braces
                break
            out.append(Line(tuple(text.split()), Location(path, number + 1), text))
        current.next_index = index
        if index == start:
            return False
        self._where = Location(path, index)
        return True

    def __iter__(self) -> Iterator[Line]:
        return iter(self.read_all())

    def read_all(self) -> list[Line]:
        """Every logical line, in order."""
        out: list[Line] = []
        while True:
            if self._plain_run(out):
                continue
            raw = self._next_raw()
            if raw is None:
                return out
            line = self._processed(*raw)
            if line is not None:
                out.append(line)

    def _processed(self, text: str, where: Location, from_residue: bool) -> Line | None:
        """The logical line a raw line makes, if any (definitions, conditionals and includes make none)."""
        if self._collecting is not None and not from_residue:
            self._collect_definition_line(text)
            return None
        text = self._process(text, where)
        if not text or self._try_include(text):
            return None
        head, residue = split_at_brace(text)
        if residue is not None:
            self._residue = (residue, where)
        words = split_words(head, self.sink, where)
        if not words:
            return None
        if words[0] == "include_check":
            self._set_include_check(words[1:], where)
        return Line(words, where, head)

    def _set_include_check(self, words: tuple[str, ...], where: Location) -> None:
        """Apply `include_check` at once: it governs the includes that follow it (keepalived's semantics)."""
        if not words:
            self.include_check = INCLUDE_ALL
            return
        for position, word in enumerate(words):
            sign = word[0] if word[0] in "+-" else ""
            name = word[1:] if sign else word
            if not sign and position > 0:
                self.sink.warning(f"Duplicate include_check '{word}' specified - ignoring", where)
                continue
            flag = INCLUDE_CHECK_WORDS.get(name)
            if flag is None:
                self.sink.warning(f"Unknown include_check type '{name}' - ignoring", where)
                if not sign:
                    self.include_check = 0
                continue
            if sign == "+":
                self.include_check |= flag
            elif sign == "-":
                self.include_check &= ~flag
            else:
                self.include_check = INCLUDE_R | flag
