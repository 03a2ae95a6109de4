"""Running scripts as keepalived does: as the right user, without a shell (script_security.py vets them)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Sequence

from .script_security import RunAs


def _become(run_as: RunAs) -> Callable[[], None]:
    def switch() -> None:
        os.setgroups([])
        os.setgid(run_as.gid)
        os.setuid(run_as.uid)

    return switch


async def run_command(argv: Sequence[str], run_as: RunAs | None, timeout: float | None) -> int | None:
    """Run without a shell; the exit status, or None if it could not run or was still running after
    `timeout` (then it is killed, with its process group)."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            # uvloop takes no user/group arguments: switch in the child instead.
            preexec_fn=_become(run_as) if run_as is not None and run_as.uid != os.geteuid() else None,
        )
    except OSError:
        return None
    try:
        return await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        return None
