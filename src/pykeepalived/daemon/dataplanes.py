"""Which data plane the checker process programs: the choice (made by the supervisor, which runs the proxy
workers when it is the userspace proxy), and the proxy's plane in the checker (the feed of the table to the
workers)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Sequence

from ..config.model import Config
from ..io.errors import DataplaneUnavailable
from ..io.ipvs import IpvsPlane, kernel_has_ipvs
from ..io.nftables import NftablesPlane, open_nftables
from ..io.shared_counts import SLOTS, SharedCounts
from ..io.unix import unix_address, unix_socket
from ..lb.dataplane import Connections, DataPlane, MemoryPlane, Stats
from ..lb.nftables import IPVS_TIMEOUTS
from ..lb.table import DestinationKey, Operation, ServiceKey, Table, TableMirror
from .process import logging_arguments
from .proxy_worker import feed_line
from .supervisor import ChildSpec, child_command

# A worker that has not read this much of its feed is stuck: it is dropped, and given the whole table when it
# connects again.
FEED_BACKLOG_LIMIT = 64 * 1024 * 1024


def ipvs_timeouts(configured: tuple[int, int, int] | None) -> tuple[int, int, int]:
    """lvs_timeouts over IPVS's defaults (0 keeps the default), for data planes that apply them themselves."""
    tcp, tcp_fin, udp = configured or (0, 0, 0)
    default_tcp, default_tcp_fin, default_udp = IPVS_TIMEOUTS
    return tcp or default_tcp, tcp_fin or default_tcp_fin, udp or default_udp


def flushes_on_stop(config: Config) -> bool:
    """keepalived's lvs_flush_onstop (also spelt lvs_flush_on_stop): clear all of IPVS when stopping."""
    return any(option.keyword in ("lvs_flush_onstop", "lvs_flush_on_stop") for option in config.global_defs.options)


class ProxyPlane:
    """The userspace proxy as the checker sees it: the table, sent whole to every worker after each change.

    The workers are the supervisor's children, not ours: they keep relaying with the last table they got
    while this process restarts, and connect again to be given the current one. Each (service, real server)
    has a slot in the shared-counts file where the workers count their connections, so every worker's
    scheduler sees all of them, and stats() reads them. The workers hold exactly the table last sent (each
    line replaces the whole table), so read() is that table.
    """

    name = "proxy"

    def __init__(self, feed: str, shared_counts: str, workers: int, logger: logging.Logger) -> None:
        self.feed = feed
        self.logger = logger
        self.mirror = TableMirror()
        self.counts = SharedCounts(shared_counts, workers, 0)
        self.slots: dict[tuple[ServiceKey, DestinationKey], int] = {}
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        listening = unix_socket()
        listening.bind(unix_address(self.feed))
        self.server = await asyncio.start_unix_server(self._worker_connected, sock=listening)

    async def _worker_connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        writer.write(self.line())
        # Workers send nothing: end of input is the worker gone.
        with contextlib.suppress(OSError):
            await reader.read()
        self.writers.discard(writer)
        writer.close()

    def read(self, managed: Collection[ServiceKey] | None = None) -> Table:
        return self.mirror.adopt(self.mirror.table(), managed)

    def apply(self, operations: Sequence[Operation]) -> None:
        self.mirror.apply(operations)
        if not operations:
            return
        line = self.line()
        for writer in list(self.writers):
            if writer.transport.get_write_buffer_size() > FEED_BACKLOG_LIMIT:
                self.logger.info("proxy worker does not read its table - dropped until it connects again")
                self.writers.discard(writer)
                writer.transport.abort()
            else:
                writer.write(line)

    def line(self) -> bytes:
        table = self.mirror.table()
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

    def stats(self) -> Stats:
        return {
            key: {member: Connections(*self._counted(key, member)) for member in service.members()}
            for key, service in self.mirror.services.items()
        }

    def _counted(self, key: ServiceKey, member: DestinationKey) -> tuple[int, int]:
        slot = self.slots.get((key, member))
        return self.counts.totals(slot) if slot is not None else (0, 0)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()
        self.counts.close()


def proxy_workers(args: argparse.Namespace, feed: str, shared_counts: str) -> list[ChildSpec]:
    """The proxy's worker processes, for the supervisor to run."""
    common = [*logging_arguments(args), "--feed", feed, "--shared-counts", shared_counts]
    common += ["--workers", str(args.proxy_workers)]
    return [
        ChildSpec(
            f"Proxy worker {index + 1}",
            # The first worker's pidfile is the one `pykeepalivedctl ipvsadm` signals; its dump has every count.
            child_command(
                "pykeepalived.daemon.proxy_worker",
                [*common, "--index", str(index), *([] if index == 0 else ["--pidfile", ""])],
            ),
            takes_signals=False,
        )
        for index in range(args.proxy_workers)
    ]


def resolve_auto(logger: logging.Logger) -> str:
    """--dataplane auto: IPVS if the kernel has it, else nftables if it works here, else the userspace proxy."""
    if kernel_has_ipvs():
        return "ipvs"
    try:
        open_nftables()
    except DataplaneUnavailable as reason:
        logger.info(f"nftables data plane unavailable ({reason})")
    else:
        return "nftables"
    return "proxy"


def open_plane(args: argparse.Namespace, logger: logging.Logger, config: Config) -> DataPlane | None:
    """The data plane --dataplane names (None if it cannot run here, said in the log)."""
    planes: dict[str, Callable[[], DataPlane]] = {
        "memory": MemoryPlane,
        "ipvs": lambda: IpvsPlane(
            logger, config.global_defs.lvs_flush, flushes_on_stop(config), config.global_defs.lvs_timeouts
        ),
        "nftables": lambda: NftablesPlane(
            open_nftables(), logger, timeouts=ipvs_timeouts(config.global_defs.lvs_timeouts)
        ),
        "proxy": lambda: ProxyPlane(args.proxy_feed, args.shared_counts, args.proxy_workers, logger),
    }
    try:
        plane = planes[args.dataplane]()
    except DataplaneUnavailable as reason:
        logger.info(f"{args.dataplane} data plane: {reason}")
        return None
    logger.info(f"Using the {plane.name} data plane")
    return plane
