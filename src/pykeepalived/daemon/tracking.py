"""Tracked objects for the VRRP process: scripts, files and processes (interfaces come from netlink), and
what they make of each instance's priority and fault (Tracker).

Each watcher reports a status change to a callback: a script's OK/failing (after rise/fall), a file's
integer value, whether enough matching processes run. Scripts run without a shell, as keepalived runs
them: the command line is split into words, quotes respected.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import socket
from collections.abc import Callable
from pathlib import Path

from ..config.model import Config, TrackFile, TrackProcess, VrrpScript
from ..io.netdev import is_up
from ..io.probes.file import read_track_file
from ..io.script_security import RunAs, Runnable, ScriptVetting
from ..io.scripts import run_command
from ..vrrp.tracking import Kind, RiseFall, instance_health
from .vrrp_setup import InstanceSpec

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
        # While the script runs (keepalived's dump says running, else idle).
        self.running = False

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            self.running = True
            code = await run_command(self.argv, self.run_as, self.script.timeout or self.script.interval)
            self.running = False
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


class Tracker:
    """Everything the instances track, and what it makes of each instance: its priority and whether it is in
    fault. Tells `changed` the names of the instances to re-evaluate when something they track changes."""

    def __init__(
        self, config: Config, vetting: ScriptVetting, changed: Callable[[list[str]], None], logger: logging.Logger
    ) -> None:
        self.config = config
        self.vetting = vetting
        self.changed = changed
        self.logger = logger
        self.status: dict[tuple[Kind, str], bool | int] = {}
        # The instances (by name) that track each object.
        self.dependents: dict[tuple[Kind, str], list[str]] = {}
        self.interfaces: dict[int, str] = {}
        self.watchers: list[ScriptWatcher] = []
        self.poller: PollWatcher | None = None
        # Tracked scripts keepalived would remove from their instances (unusable, or unsafe).
        self.removed: set[tuple[Kind, str]] = set()

    def open(self, specs: list[InstanceSpec]) -> None:
        for spec in specs:
            for tracked in spec.tracked:
                self.dependents.setdefault((tracked.kind, tracked.name), []).append(spec.params.name)
        for kind, name in self.dependents:
            if kind is Kind.INTERFACE:
                try:
                    self.interfaces[socket.if_nametoindex(name)] = name
                    self.status[(kind, name)] = is_up(name)
                except OSError:
                    self.status[(kind, name)] = False
        for script in self.config.vrrp_script:
            if (Kind.SCRIPT, script.name) not in self.dependents or script.script is None:
                continue
            vetted = self._vet(script.name, script.script, script.user)
            if vetted is None:
                self.removed.add((Kind.SCRIPT, script.name))
                continue
            if script.init_fail:
                self.status[(Kind.SCRIPT, script.name)] = False
            run_as, argv = vetted
            self.watchers.append(ScriptWatcher(script, argv, run_as, self._report, self.logger))
        files = [f for f in self.config.track_file if (Kind.FILE, f.name) in self.dependents]
        for track in files:
            initialise_track_file(track)
        processes = [p for p in self.config.vrrp_track_process if (Kind.PROCESS, p.name) in self.dependents]
        self.poller = PollWatcher(files, processes, self._report)
        self.poller.poll()

    def _vet(self, name: str, command: str, user: tuple[str, ...] | None) -> Runnable | None:
        """keepalived's rules for a vrrp_script; None when keepalived would remove it from its instances."""
        return self.vetting.vet_removable(
            command,
            user,
            lambda own: (
                f"Unable to set uid/gid for script {name}"
                if own
                else f"Unable to set default user for vrrp script {name} - removing"
            ),
            f"track script {name}",
        )

    def take_over(self, previous: Tracker) -> None:
        """After a reload: a script of the same name and command keeps its status and its run of results."""
        before = {(w.script.name, w.argv): w for w in previous.watchers}
        for watcher in self.watchers:
            old = before.get((watcher.script.name, watcher.argv))
            if old is not None:
                watcher.status = old.status
                if (Kind.SCRIPT, watcher.script.name) in previous.status:
                    self.status[(Kind.SCRIPT, watcher.script.name)] = previous.status[
                        (Kind.SCRIPT, watcher.script.name)
                    ]

    def start(self) -> None:
        for watcher in self.watchers:
            watcher.start()
        if self.poller is not None:
            self.poller.start()

    def stop(self) -> None:
        for watcher in self.watchers:
            if watcher.task is not None:
                watcher.task.cancel()
        if self.poller is not None and self.poller.task is not None:
            self.poller.task.cancel()

    def health(self, spec: InstanceSpec, link_up: bool) -> tuple[int, bool]:
        """The instance's effective priority and whether it is in fault, from everything it tracks."""
        return instance_health(
            spec.params.priority,
            [t for t in spec.tracked if (t.kind, t.name) not in self.removed],
            lambda t: self.status.get((t.kind, t.name), True),
            spec.track_primary,
            link_up,
        )

    def link_changed(self, index: int, up: bool) -> None:
        name = self.interfaces.get(index)
        if name is not None and self.status.get((Kind.INTERFACE, name)) != up:
            self._report(Kind.INTERFACE, name, up)

    def _report(self, kind: Kind, name: str, status: bool | int) -> None:
        self.status[(kind, name)] = status
        self.changed(self.dependents.get((kind, name), []))
