"""FILE_CHECK: the real server's state from a number in a file (weight 0: non-zero is down)."""

from __future__ import annotations

from pathlib import Path

from .base import Result


def read_track_file(path: str) -> int:
    """keepalived reads the leading integer of the file; anything else counts as 0."""
    try:
        text = Path(path).read_text(errors="replace").strip()
    except OSError:
        return 0
    digits = text.split()[0] if text else "0"
    try:
        return int(digits)
    except ValueError:
        return 0


def check(path: str, weight: int, reverse: bool) -> Result:
    value = read_track_file(path)
    if weight == 0:
        return Result(value == 0, f"value {value}")
    change = -value * weight if reverse else value * weight
    return Result(True, f"value {value}", weight=change)
