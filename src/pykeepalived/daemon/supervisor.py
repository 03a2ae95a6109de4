"""The parent process: starts the VRRP and checker processes (and the proxy workers, when the userspace
proxy is the data plane) and restarts them if they die.

As in keepalived, the parent does no protocol work, so a crash in a child never takes the others down,
and SIGTERM to the parent stops every child cleanly (priority-0 adverts, addresses removed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

from .. import KEEPALIVED_COMPAT_VERSION, __version__
from ..core.exits import EXIT_CONFIG
from . import logs
from .background import BackgroundTasks
from .process import SIGJSON, SIGSTATS_CLEAR, release_signals, tolerate_realtime_signals
from .readiness import Readiness

VRRP_ONLY_SIGNALS = (signal.SIGUSR2, SIGSTATS_CLEAR, SIGJSON)

# A child that dies is restarted at once; one that keeps dying, after longer and longer pauses.
RESPAWN_BACKOFF_SECONDS = (0, 0.5, 1, 2, 5, 10, 30)
# A child that ran this long was stable: its next death starts the backoff afresh.
STABLE_SECONDS = 60.0
CHILD_STOP_SECONDS = 5.0
# As keepalived's: the configuration check before a reload may take this long.
RELOAD_CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class ReloadCheck:
    """How the supervisor checks a file before a reload: the `-t` command line, and where it reports."""

    command: list[str]
    log: str


@dataclass
class ChildSpec:
    name: str
    argv: list[str]
    # The VRRP and checker processes act on the operator's signals; a proxy worker's dump is asked for by
    # `pykeepalivedctl ipvsadm`, through its own pidfile.
    takes_signals: bool = True
    # Descriptors the parent holds for the child across its respawns (its running_config memfd).
    pass_fds: tuple[int, ...] = ()


class Supervisor:
    def __init__(
        self,
        children: list[ChildSpec],
        logger: logging.Logger,
        respawn: bool,
        readiness: Readiness | None = None,
        write_data: Callable[[], None] | None = None,
        reload_check: ReloadCheck | None = None,
    ) -> None:
        self.children = children
        self.reload_check = reload_check
        self.checking = BackgroundTasks(logger)
        # keepalived's parent writes its own dump (keepalived_parent.data) on SIGUSR1 too.
        self.write_data = write_data
        self.logger = logger
        self.respawn = respawn
        # Tells systemd when the children run their configuration (READY=1, RELOADING=1, STOPPING=1).
        self.readiness = readiness
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self.stopping = asyncio.Event()
        self.failed = False

    async def _spawn(self, child: ChildSpec) -> asyncio.subprocess.Process:
        pass_fds = ((self.readiness.event_fd,) if self.readiness is not None else ()) + child.pass_fds
        process = await asyncio.create_subprocess_exec(*child.argv, stdin=asyncio.subprocess.DEVNULL, pass_fds=pass_fds)
        self.processes[child.name] = process
        self.logger.info(f"Starting {child.name} child process, pid={process.pid}")
        return process

    async def _keep_alive(self, child: ChildSpec) -> None:
        failures = 0
        loop = asyncio.get_running_loop()
        while not self.stopping.is_set():
            process = await self._spawn(child)
            if self.stopping.is_set():  # asked to stop while it was starting: _stop_children did not see it
                process.terminate()
                await process.wait()
                return
            started = loop.time()
            code = await process.wait()
            if loop.time() - started >= STABLE_SECONDS:
                failures = 0
            if self.stopping.is_set():
                return
            if code == EXIT_CONFIG:
                self.logger.error(f"{child.name} child process exited: the configuration cannot run - not restarting")
                if self.readiness is not None:
                    self.readiness.failed()
                self.failed = True
                self.stopping.set()
                return
            if not self.respawn:
                self.logger.log(
                    logs.ALERT, f"{child.name} child process (pid {process.pid}) exited with {code} - not respawning"
                )
                self.failed = code != 0
                self.stopping.set()
                return
            delay = RESPAWN_BACKOFF_SECONDS[min(failures, len(RESPAWN_BACKOFF_SECONDS) - 1)]
            failures += 1
            self.logger.log(
                logs.ALERT,
                f"{child.name} child process (pid {process.pid}) exited with {code} - respawning in {delay} s",
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), delay)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        forwarded_signals = (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, SIGJSON, SIGSTATS_CLEAR)
        for forwarded in forwarded_signals:
            loop.add_signal_handler(forwarded, self._forward, forwarded)
        tolerate_realtime_signals(loop, self.logger, forwarded_signals)
        release_signals()
        reporting = [child for child in self.children if child.takes_signals]
        try:
            async with asyncio.TaskGroup() as tasks:
                for child in self.children:
                    tasks.create_task(self._keep_alive(child), name=child.name)
                if self.readiness is not None:
                    self.readiness.open(loop, len(reporting))
                else:
                    self.logger.info("Startup complete")
                await self.stopping.wait()
                await self._stop_children()
        except Exception:
            # A fault of ours, not a child's: stop every child rather than leave them unsupervised.
            self.logger.exception("Supervisor failed - stopping every child")
            self.failed = True
            await self._stop_children()
        self.logger.info("Stopped")
        self.logger.info(f"Stopped pykeepalived {__version__}")
        return 1 if self.failed else 0

    async def _stop_children(self) -> None:
        self.stopping.set()
        self.logger.info("Stopping")
        if self.readiness is not None:
            self.readiness.stopping()
        running = [process for process in self.processes.values() if process.returncode is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                await asyncio.wait_for(process.wait(), CHILD_STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()

    def _forward(self, signum: int) -> None:
        if signum == signal.SIGHUP and self.reload_check is not None:
            self.checking.start(self._checked_reload(self.reload_check), "reload_check_config")
            return
        self._send(signum)

    async def _checked_reload(self, check: ReloadCheck) -> None:
        """keepalived's reload_check_config: the new file is checked as `-t` checks it (its report in the log
        file) and the children reload only if it passes."""
        with contextlib.suppress(OSError), open(check.log, "w"):
            pass
        process = await asyncio.create_subprocess_exec(*check.command, stdin=asyncio.subprocess.DEVNULL)
        try:
            code = await asyncio.wait_for(process.wait(), RELOAD_CHECK_SECONDS)
        except TimeoutError:
            process.kill()
            code = await process.wait()
        if code != 0:
            self.logger.info(f"New config failed validation, see {check.log} for details")
            return
        self._send(signal.SIGHUP)

    def _send(self, signum: int) -> None:
        running = [
            process
            for child in self.children
            if child.takes_signals
            and (process := self.processes.get(child.name)) is not None
            and process.returncode is None
        ]
        if signum == signal.SIGHUP and self.readiness is not None:
            self.readiness.reloading(len(running))
        for process in running:
            # As keepalived's parent: only the VRRP process has stats and a JSON dump to write.
            if signum not in VRRP_ONLY_SIGNALS or process is self.processes.get("VRRP"):
                process.send_signal(signum)
        if signum == signal.SIGUSR1 and self.write_data is not None:
            self.write_data()


def child_command(module: str, arguments: list[str]) -> list[str]:
    return [sys.executable, "-m", module, *arguments]


def daemonize() -> Callable[[], None]:
    """Detach from the terminal (keepalived's default without -n). The command ends when the detached daemon
    calls what this returns, once its pid file is written (keepalived's ends at the fork): an init script's
    `status` or systemd's Type=forking right after the start finds the daemon. It ends with 1 if the daemon
    died before that."""
    ready_read, ready_write = os.pipe()
    if os.fork():
        os.close(ready_write)
        os._exit(0 if os.read(ready_read, 1) else 1)
    os.close(ready_read)
    os.setsid()
    if os.fork():
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)

    def started() -> None:
        os.write(ready_write, b"\n")
        os.close(ready_write)

    return started


def banner(logger: logging.Logger, argv: list[str], config: str) -> None:
    logger.info(f"Starting pykeepalived {__version__} (keepalived {KEEPALIVED_COMPAT_VERSION} compatible)")
    logger.info(f"Command line: {' '.join(argv)}")
    logger.info(f"Configuration file {config}")
