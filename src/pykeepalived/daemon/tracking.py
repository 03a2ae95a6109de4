"""Watching tracked objects for the VRRP process: scripts, files and processes (interfaces come from netlink).

Each watcher reports a status change to a callback: a script's OK/failing (after rise/fall), a file's
integer value, whether enough matching processes run. Scripts run without a shell, as keepalived runs
them: the command line is split into words, quotes respected.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
from collections.abc import Callable
from pathlib import Path

from ..config.model import TrackFile, TrackProcess, VrrpScript
from ..io.probes.file import read_track_file
from ..io.script_security import RunAs
from ..io.scripts import run_command
from ..vrrp.tracking import Kind, RiseFall

StatusCallback = Callable[[Kind, str, "bool | int"], None]
POLL_SECONDS = 1.0


class ScriptWatcher:
    """Runs one vrrp_script every `interval` and reports its status after rise/fall."""

    def __init__(
        self,
        script: VrrpScript,
        argv: tuple[str, ...],
        run_as: RunAs,
        report: StatusCallback,
        logger: logging.Logger,
    ) -> None:
        self.script = script
        self.argv = argv
        self.run_as = run_as
        self.report = report
        self.logger = logger
        self.status = RiseFall(script.rise, script.fall, ok=False if script.init_fail else None)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            code = await run_command(self.argv, self.run_as, self.script.timeout or self.script.interval)
            success = code == 0
            if self.status.result(success):
                self.logger.info(f"Script `{self.script.name}` now returning {0 if success else 1}")
                self.report(Kind.SCRIPT, self.script.name, success)
            await asyncio.sleep(self.script.interval)


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
