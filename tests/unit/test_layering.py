"""The shape of the package: the pure packages never touch the kernel, the clock or processes, imports point
one way (DESIGN.md), and a large module says why it is large."""

from __future__ import annotations

import ast
from pathlib import Path

import pykeepalived

PACKAGE = Path(pykeepalived.__file__).parent
PURE = ("core", "config", "vrrp", "check", "lb")
FORBIDDEN = {"asyncio", "socket", "os", "time", "subprocess", "select", "signal", "threading", "pyroute2"}
OUTER = {"io", "daemon", "cli", "lab", "lint"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                names.add("pykeepalived." + ".".join((*path.relative_to(PACKAGE).parts[: -node.level], base)))
            else:
                names.add(base)
    return names


def pure_modules() -> list[Path]:
    return [p for name in PURE if (PACKAGE / name).is_dir() for p in (PACKAGE / name).rglob("*.py")]


def test_there_are_pure_modules() -> None:
    assert len(pure_modules()) >= 5


def test_pure_packages_import_no_os_clock_or_process_modules() -> None:
    for path in pure_modules():
        for name in imports_of(path):
            top = name.split(".")[0]
            assert top not in FORBIDDEN, f"{path.relative_to(PACKAGE)} imports {name}"
            parts = name.split(".")
            if top == "pykeepalived" and len(parts) > 1:
                assert parts[1] not in OUTER, f"{path.relative_to(PACKAGE)} imports {name} (an outer layer)"


# The outer layers point one way too: cli may use everything; daemon never the commands nor the labs;
# io (the OS adapters) neither the daemon nor the commands nor the labs; the labs drive daemons as
# processes, never by importing them; the lint builds instances as the daemon does and is used by the
# commands only.
NOT_IMPORTED_BY = {
    "io": {"daemon", "cli", "lab", "lint"},
    "daemon": {"cli", "lab", "lint"},
    "lab": {"daemon", "cli", "lint"},
    "lint": {"cli", "lab"},
}


def test_outer_layers_import_inwards_only() -> None:
    for package, forbidden in NOT_IMPORTED_BY.items():
        for path in (PACKAGE / package).rglob("*.py"):
            for name in imports_of(path):
                parts = name.split(".")
                if parts[0] == "pykeepalived" and len(parts) > 1:
                    assert parts[1] not in forbidden, f"{path.relative_to(PACKAGE)} imports {name}"


def test_a_source_file_over_400_lines_says_why_at_its_top() -> None:
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 400:
            docstring = ast.get_docstring(ast.parse(text)) or ""
            assert "Over 400 lines:" in docstring, f"{path.relative_to(PACKAGE)} has no reason for its size"
