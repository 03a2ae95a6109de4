"""Which data plane the checker process programs, and the userspace proxy's feed (the proxy worker processes
it starts and hands the table to)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import subprocess
from collections.abc import Callable

from ..config.model import Config
from ..io.ipvs import IpvsBackend, kernel_has_ipvs
from ..io.nftables import DataplaneUnavailable, NftablesBackend, open_nftables
from ..io.shared_counts import SLOTS
from ..lb.nftables import IPVS_TIMEOUTS
from ..lb.table import DestinationKey, MemoryBackend, Operation, ServiceKey
from .process import logging_arguments
from .proxy_worker import feed_line
from .supervisor import child_command


def ipvs_timeouts(configured: tuple[int, int, int] | None) -> tuple[int, int, int]:
    """lvs_timeouts over IPVS's defaults (0 keeps the default), for data planes that apply them themselves."""
    tcp, tcp_fin, udp = configured or (0, 0, 0)
    default_tcp, default_tcp_fin, default_udp = IPVS_TIMEOUTS
    return tcp or default_tcp, tcp_fin or default_tcp_fin, udp or default_udp


def flushes_on_stop(config: Config) -> bool:
    """keepalived's lvs_flush_onstop (also spelt lvs_flush_on_stop): clear all of IPVS when stopping."""
    return any(option.keyword in ("lvs_flush_onstop", "lvs_flush_on_stop") for option in config.global_defs.options)


class ProxyFeed(MemoryBackend):
    """The table as this process keeps it, handed whole to the proxy worker processes after every change.

    A worker starts with the first table and again (given the whole table) if it has died. With several
    workers (SO_REUSEPORT spreads the clients over them), each (service, real server) gets a slot in a
    shared-counts file, so every worker's scheduler sees all the connections.
    """

    def __init__(self, command: list[str], logger: logging.Logger, workers: int = 1) -> None:
        super().__init__()
        self.command = command
        self.logger = logger
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * workers
        self.shared_counts = f"/dev/shm/pykeepalived-proxy-{os.getpid()}" if workers > 1 else None
        self.slots: dict[tuple[ServiceKey, DestinationKey], int] = {}

    def apply(self, operations: list[Operation]) -> None:
        super().apply(operations)
        if operations:
            self.send()

    def worker_command(self, index: int) -> list[str]:
        if self.shared_counts is None:
            return self.command
        workers = ["--workers", str(len(self.processes)), "--index", str(index), "--shared-counts", self.shared_counts]
        # The first worker's pidfile is the one `pykeepalivedctl ipvsadm` signals; its dump has every count.
        return [*self.command, *workers, *([] if index == 0 else ["--pidfile", ""])]

    def line(self) -> bytes:
        table = self.read()
        for key, service in sorted(table.items()):
            for member in sorted(service.members()):
                if (key, member) not in self.slots and len(self.slots) < SLOTS:
                    self.slots[(key, member)] = len(self.slots)
        current = {
            (key, member): slot
            for (key, member), slot in self.slots.items()
            if key in table and member in table[key].members()
        }
        return feed_line(table, current)

    def send(self) -> None:
        line = self.line()
        for index, process in enumerate(self.processes):
            for _ in range(2):
                if process is None or process.poll() is not None:
                    if process is not None:
                        self.logger.warning(f"proxy process exited with status {process.returncode} - restarting")
                    process = subprocess.Popen(self.worker_command(index), stdin=subprocess.PIPE)
                    self.processes[index] = process
                assert process.stdin is not None
                try:
                    process.stdin.write(line)
                    process.stdin.flush()
                    break
                except BrokenPipeError:
                    process.wait()

    def close(self) -> None:
        for process in self.processes:
            if process is not None and process.stdin is not None:
                process.stdin.close()
        for process in self.processes:
            if process is None:
                continue
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.shared_counts is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.shared_counts)


def proxy_command(args: argparse.Namespace) -> list[str]:
    return child_command("pykeepalived.daemon.proxy_worker", logging_arguments(args))


def open_backend(args: argparse.Namespace, logger: logging.Logger, config: Config) -> MemoryBackend | None:
    """The data plane --dataplane asks for (None if it cannot run here); auto takes IPVS if the kernel has
    it, else nftables, else the userspace proxy."""
    if args.dataplane == "memory":
        return MemoryBackend()
    kernel_planes: dict[str, Callable[[], MemoryBackend]] = {
        "ipvs": lambda: IpvsBackend(
            logger, config.global_defs.lvs_flush, flushes_on_stop(config), config.global_defs.lvs_timeouts
        ),
        "nftables": lambda: NftablesBackend(
            open_nftables(), logger, timeouts=ipvs_timeouts(config.global_defs.lvs_timeouts)
        ),
    }
    wanted = list(kernel_planes) if args.dataplane == "auto" else [args.dataplane]
    for name in wanted:
        if name not in kernel_planes:
            break
        if name == "ipvs" and args.dataplane == "auto" and not kernel_has_ipvs():
            continue
        try:
            backend = kernel_planes[name]()
        except DataplaneUnavailable as reason:
            if args.dataplane != "auto":
                logger.info(f"{name} data plane: {reason}")
                return None
            logger.info(f"{name} data plane unavailable ({reason})")
        else:
            logger.info(f"Using the {name} data plane")
            return backend
    logger.info("Using the userspace proxy data plane")
    return ProxyFeed(proxy_command(args), logger, args.proxy_workers)
