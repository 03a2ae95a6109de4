"""Running scripts as keepalived does: as the right user, without a shell, with its security rules."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shlex
import shutil
import signal
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config.model import GlobalDefs

DEFAULT_SCRIPT_USER = "keepalived_script"


@dataclass(frozen=True)
class RunAs:
    user: str
    uid: int
    gid: int


def script_user(written: tuple[str, ...] | None, global_defs: GlobalDefs) -> RunAs:
    """The user a script runs as: its own `user`, else global script_user, else keepalived_script or root."""
    name = (written or global_defs.script_user or (None,))[0]
    if name is None:
        try:
            entry = pwd.getpwnam(DEFAULT_SCRIPT_USER)
        except KeyError:
            entry = pwd.getpwuid(0)
    else:
        entry = pwd.getpwnam(name)
    return RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid)


def insecure_path(command: str, run_as: RunAs) -> str | None:
    """Why running `command` as `run_as` is unsafe (someone else can change it), or None.

    keepalived's rule: when a script runs as root, neither it nor any directory above it may be
    writable by a non-root user.
    """
    words = shlex.split(command)
    if not words:
        return "empty command"
    executable = words[0] if "/" in words[0] else shutil.which(words[0])
    if executable is None:
        return f"{words[0]} not found"
    if run_as.uid != 0:
        return None
    path = Path(executable).resolve()
    for part in (path, *path.parents):
        try:
            info = part.stat()
        except OSError as error:
            return f"{part}: {error.strerror}"
        if info.st_uid != 0 or (info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX):
            return f"{part} is writable by a non-root user"
    return None


def _become(run_as: RunAs) -> Callable[[], None]:
    def switch() -> None:
        os.setgroups([])
        os.setgid(run_as.gid)
        os.setuid(run_as.uid)

    return switch


async def run_command(
    command: str, run_as: RunAs | None, timeout: float | None, extra: tuple[str, ...] = ()
) -> int | None:
    """Run without a shell (words split as keepalived splits them); the exit status, or None if it could not
    run or was still running after `timeout` (then it is killed, with its process group)."""
    argv = [*shlex.split(command), *extra]
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
