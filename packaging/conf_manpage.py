"""Write pykeepalived.conf(5) from the keyword table the reader itself is driven by (`pykeepalivedctl keywords`).

Usage: python3 packaging/conf_manpage.py VERSION > pykeepalived.conf.5 (with pykeepalived importable).
"""

from __future__ import annotations

import sys

from pykeepalived.config.keywords import INDENT, keyword_reference

HEADER = r""".TH PYKEEPALIVED.CONF 5 "" "pykeepalived {version}" "File formats"
.SH NAME
pykeepalived.conf \- the keepalived.conf keywords pykeepalived reads
.SH SYNOPSIS
.I /etc/keepalived/keepalived.conf
.SH DESCRIPTION
pykeepalived(8) reads keepalived.conf(5) as keepalived 2.2.7 does: comments (! and #), blocks, include,
@id conditional lines, $NAME definitions and ~SEQ expansions. This page lists every keyword it reads,
by block, with the values it takes, generated from the table the reader is driven by (the same as
.BR "pykeepalivedctl keywords" ).
A keyword marked "accepted, no effect in pykeepalived" is read and checked but changes nothing;
a deprecated spelling is read as the keyword it names. Check a file with
.B pykeepalived \-t \-f
.IR FILE ;
.B pykeepalivedctl lint
checks the files of a cluster together.
.SH KEYWORDS
"""

FOOTER = r""".SH SEE ALSO
pykeepalived(8), pykeepalivedctl(8), keepalived.conf(5)
"""


def escaped(text: str) -> str:
    """roff text: backslashes doubled, a leading dot or quote kept from being read as a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text[:1] in (".", "'") else text


def keyword_entries(lines: list[str]) -> list[str]:
    """Each keyword a tagged paragraph, a block's keywords indented under it."""
    roff: list[str] = []
    depth = 0
    for line in lines:
        stripped = line.lstrip(" ")
        level = (len(line) - len(stripped)) // len(INDENT)
        while depth < level:
            roff.append(".RS")
            depth += 1
        while depth > level:
            roff.append(".RE")
            depth -= 1
        name, _, values = stripped.partition("  ")
        roff += [".TP", f".B {escaped(name)}", escaped(values) or "(a block)"]
    roff += [".RE"] * depth
    return roff


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: conf_manpage.py VERSION", file=sys.stderr)
        return 2
    sys.stdout.write(HEADER.format(version=sys.argv[1]))
    sys.stdout.write("\n".join(keyword_entries(keyword_reference())) + "\n")
    sys.stdout.write(FOOTER)
    return 0


if __name__ == "__main__":
    sys.exit(main())
