"""The parent process: starts the VRRP and checker processes and restarts them if they die.

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
from .process import SIGJSON, SIGSTATS_CLEAR, release_signals, tolerate_realtime_signals

VRRP_ONLY_SIGNALS = (signal.SIGUSR2, SIGSTATS_CLEAR, SIGJSON)

# A child that dies is restarted at once; one that keeps dying, after longer and longer pauses.
RESPAWN_BACKOFF_SECONDS = (0, 0.5, 1, 2, 5, 10, 30)
# A child that ran this long was stable: its next death starts the backoff afresh.
STABLE_SECONDS = 60.0
CHILD_STOP_SECONDS = 5.0


@dataclass
class ChildSpec:
    name: str
    argv: list[str]


class Supervisor:
    def __init__(
        self,
        children: list[ChildSpec],
        logger: logging.Logger,
        respawn: bool,
        write_data: Callable[[], None] | None = None,
    ) -> None:
        self.children = children
        # keepalived's parent writes its own dump (keepalived_parent.data) on SIGUSR1 too.
        self.write_data = write_data
        self.logger = logger
        self.respawn = respawn
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self.stopping = asyncio.Event()
        self.failed = False

    async def _spawn(self, child: ChildSpec) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(*child.argv, stdin=asyncio.subprocess.DEVNULL)
        self.processes[child.name] = process
        self.logger.info(f"Starting {child.name} child process, pid={process.pid}")
        return process

    async def _keep_alive(self, child: ChildSpec) -> None:
        failures = 0
        loop = asyncio.get_running_loop()
        while not self.stopping.is_set():
            process = await self._spawn(child)
            started = loop.time()
            code = await process.wait()
            if loop.time() - started >= STABLE_SECONDS:
                failures = 0
            if self.stopping.is_set():
                return
            if code == EXIT_CONFIG:
                self.logger.info(f"{child.name} child process exited: the configuration cannot run - not restarting")
                self.failed = True
                self.stopping.set()
                return
            if not self.respawn:
                self.logger.info(f"{child.name} child process (pid {process.pid}) exited with {code} - not respawning")
                self.failed = code != 0
                self.stopping.set()
                return
            delay = RESPAWN_BACKOFF_SECONDS[min(failures, len(RESPAWN_BACKOFF_SECONDS) - 1)]
            failures += 1
            self.logger.info(
                f"{child.name} child process (pid {process.pid}) exited with {code} - respawning in {delay} s"
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
        keepers = [loop.create_task(self._keep_alive(child)) for child in self.children]
        self.logger.info("Startup complete")
        await self.stopping.wait()
        self.logger.info("Stopping")
        for process in self.processes.values():
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                await asyncio.wait_for(process.wait(), CHILD_STOP_SECONDS)
            except TimeoutError:
                process.kill()
        for keeper in keepers:
            keeper.cancel()
        self.logger.info("Stopped")
        self.logger.info(f"Stopped pykeepalived {__version__}")
        return 1 if self.failed else 0

    def _forward(self, signum: int) -> None:
        for name, process in self.processes.items():
            # As keepalived's parent: only the VRRP process has stats and a JSON dump to write.
            if signum in VRRP_ONLY_SIGNALS and name != "VRRP":
                continue
            if process.returncode is None:
                process.send_signal(signum)
        if signum == signal.SIGUSR1 and self.write_data is not None:
            self.write_data()


def child_command(module: str, arguments: list[str]) -> list[str]:
    return [sys.executable, "-m", module, *arguments]


def daemonize() -> None:
    """Detach from the terminal (keepalived's default without -n)."""
    if os.fork():
        os._exit(0)
    os.setsid()
    if os.fork():
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


def banner(logger: logging.Logger, argv: list[str], config: str) -> None:
    logger.info(f"Starting pykeepalived {__version__} (keepalived {KEEPALIVED_COMPAT_VERSION} compatible)")
    logger.info(f"Command line: {' '.join(argv)}")
    logger.info(f"Configuration file {config}")
