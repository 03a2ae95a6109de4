"""Watching tracked objects for the VRRP process: scripts, files and processes (interfaces come from netlink).

Each watcher reports a status change to a callback: a script's OK/failing (after rise/fall), a file's
integer value, whether enough matching processes run. Scripts run without a shell, as keepalived runs
them: the command line is split into words, quotes respected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pwd
import shlex
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config.model import GlobalDefs, TrackFile, TrackProcess, VrrpScript
from ..vrrp.tracking import Kind, RiseFall

StatusCallback = Callable[[Kind, str, "bool | int"], None]
POLL_SECONDS = 1.0
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


async def run_command(command: str, run_as: RunAs, timeout: float | None, extra: tuple[str, ...] = ()) -> bool:
    """Run without a shell; True for exit status 0. A command still running after `timeout` is killed."""
    argv = [*shlex.split(command), *extra]
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            user=run_as.uid if run_as.uid != os.geteuid() else None,
            group=run_as.gid if run_as.uid != os.geteuid() else None,
            start_new_session=True,
        )
    except OSError:
        return False
    try:
        return await asyncio.wait_for(process.wait(), timeout) == 0
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        await process.wait()
        return False


class ScriptWatcher:
    """Runs one vrrp_script every `interval` and reports its status after rise/fall."""

    def __init__(self, script: VrrpScript, run_as: RunAs, report: StatusCallback, logger: logging.Logger) -> None:
        self.script = script
        self.run_as = run_as
        self.report = report
        self.logger = logger
        self.status = RiseFall(script.rise, script.fall, ok=False if script.init_fail else None)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        assert self.script.script is not None
        while True:
            success = await run_command(self.script.script, self.run_as, self.script.timeout or self.script.interval)
            if self.status.result(success):
                self.logger.info(f"Script `{self.script.name}` now returning {0 if success else 1}")
                self.report(Kind.SCRIPT, self.script.name, success)
            await asyncio.sleep(self.script.interval)


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


def initialise_track_file(track: TrackFile) -> None:
    """init_file: write the value if the file does not exist (or always, with overwrite)."""
    if track.init_file is None or track.file is None:
        return
    value, overwrite = track.init_file
    if overwrite or not os.path.exists(track.file):
        Path(track.file).write_text(f"{value}\n")


def count_processes(track: TrackProcess) -> int:
    """How many running processes match `process` (by name, or by command line with param_match)."""
    if track.process is None:
        return 0
    wanted = shlex.split(track.process)
    matches = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "cmdline").read_bytes()
            comm = Path(entry.path, "comm").read_text().strip()
        except OSError:
            continue
        argv = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
        if not argv:
            continue
        name = argv[0] if track.full_command else comm
        if name != wanted[0] and Path(argv[0]).name != wanted[0]:
            continue
        if len(wanted) > 1:
            arguments = argv[1:]
            if track.param_match == "initial":
                if arguments[: len(wanted) - 1] != wanted[1:]:
                    continue
            elif track.param_match == "partial":
                if " ".join(wanted[1:]) not in " ".join(arguments):
                    continue
            elif arguments != wanted[1:]:
                continue
        matches += 1
    return matches


class PollWatcher:
    """Polls track files and tracked processes once a second and reports changes."""

    def __init__(self, files: list[TrackFile], processes: list[TrackProcess], report: StatusCallback) -> None:
        self.files = files
        self.processes = processes
        self.report = report
        self.last: dict[tuple[Kind, str], bool | int] = {}
        self.task: asyncio.Task[None] | None = None

    def poll(self) -> None:
        for track in self.files:
            self._update(Kind.FILE, track.name, read_track_file(track.file or ""))
        for process in self.processes:
            count = count_processes(process)
            running = count >= process.quorum and (process.quorum_max is None or count <= process.quorum_max)
            self._update(Kind.PROCESS, process.name, running)

    def _update(self, kind: Kind, name: str, status: bool | int) -> None:
        if self.last.get((kind, name)) != status:
            self.last[(kind, name)] = status
            self.report(kind, name, status)

    def start(self) -> None:
        if self.files or self.processes:
            self.task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            self.poll()


def notify_fifo_line(kind: str, name: str, state: str, priority: int) -> str:
    """keepalived's FIFO line: INSTANCE "VI_1" MASTER 100."""
    return f'{kind} "{name}" {state} {priority}\n'


class NotifyFifo:
    """keepalived's notify_fifo: created if missing, one line per state change, in order."""

    def __init__(self, path: str, logger: logging.Logger) -> None:
        self.path = path
        self.logger = logger
        if not os.path.exists(path):
            os.mkfifo(path, 0o600)
        # Opened read-write so that writing never blocks or fails while no reader is attached.
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)

    def write(self, line: str) -> None:
        try:
            os.write(self.fd, line.encode())
        except OSError as error:
            self.logger.info(f"notify fifo {self.path}: {error}")

    def close(self) -> None:
        os.close(self.fd)
