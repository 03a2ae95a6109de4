"""MISC_CHECK: a script's exit status; with misc_dynamic, 2-255 also set the weight (exit - 2)."""

from __future__ import annotations

from collections.abc import Sequence

from ..script_security import RunAs
from ..scripts import run_command
from .base import Result


async def check(argv: Sequence[str], timeout: float, dynamic: bool, run_as: RunAs | None = None) -> Result:
    code = await run_command(argv, run_as, timeout)
    if code is None:
        return Result(False, "timeout or cannot run")
    if code == 0:
        return Result(True)
    if dynamic and 2 <= code <= 255:
        return Result(True, f"exit {code}", weight=code - 2)
    return Result(False, f"exit status {code}")
