"""The userspace data plane's process: it relays connections, apart from the VRRP and checker processes.

The checker process writes the whole desired table as one JSON line on our standard input whenever it
changes; we apply what differs. End of input means the checker is gone: we stop listening and exit.
SIGUSR2 writes the table with its connection counters to STATS_DUMP.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import signal
import sys
from collections.abc import Mapping, Sequence

from ..io.dumps import write_json_atomically
from ..io.proxy import ProxyBackend
from ..io.shared_counts import SharedCounts
from ..lb.table import DestinationKey, ServiceKey, Table, plan, table_from_data, table_to_data
from . import logs
from .process import (
    add_logging_options,
    die_with_parent,
    event_loop_factory,
    pidfile,
    release_signals,
    tolerate_realtime_signals,
)
from .proxy_paths import DEFAULT_PIDFILE, STATS_DUMP


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pykeepalived-proxy")
    parser.add_argument("--pidfile", default=DEFAULT_PIDFILE, help="none if empty")
    parser.add_argument("--workers", type=int, default=1, help="how many proxy processes share the listeners")
    parser.add_argument("--index", type=int, default=0, help="which of them this one is")
    parser.add_argument("--shared-counts", help="the file where the workers count their connections")
    add_logging_options(parser)
    return parser.parse_args(argv)


Slots = Mapping[tuple[ServiceKey, DestinationKey], int]


def feed_line(table: Table, slots: Slots) -> bytes:
    """What the checker writes to a proxy worker: the table, and each real server's shared-count slot."""
    listed = [[dataclasses.asdict(key), dataclasses.asdict(member), slot] for (key, member), slot in slots.items()]
    return json.dumps({"table": table_to_data(table), "slots": listed}).encode() + b"\n"


def read_line(line: bytes) -> tuple[Table, dict[tuple[ServiceKey, DestinationKey], int]]:
    """A feed_line, read back."""
    data = json.loads(line)
    slots = {(ServiceKey(**service), DestinationKey(**member)): slot for service, member, slot in data["slots"]}
    return table_from_data(data["table"]), slots


def write_stats(backend: ProxyBackend, logger: logging.Logger) -> None:
    """The table with each real server's active connections and totals, as `pykeepalivedctl ipvsadm` reads it."""
    snapshot = {
        "table": table_to_data(backend.read()),
        "counts": [
            {
                "service": dataclasses.asdict(key),
                "destination": dataclasses.asdict(member_key),
                "active": member.active,
                "inactive": member.inactive,
                "connections": counters.connections,
                "bytes_in": counters.bytes_in,
                "bytes_out": counters.bytes_out,
            }
            for key, members in backend.stats().items()
            for member_key, (member, counters) in members.items()
        ],
        "refused": {str(key): proxy.refused for key, proxy in backend.services.items()},
    }
    write_json_atomically(STATS_DUMP, snapshot, logger)


async def serve(logger: logging.Logger, shared: SharedCounts | None) -> int:
    loop = asyncio.get_running_loop()
    backend = ProxyBackend(loop, shared)
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    stopped = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    loop.add_signal_handler(signal.SIGUSR2, write_stats, backend, logger)
    # The table comes from the checker on stdin: there is nothing to reload and no other dump.
    for ignored in (signal.SIGHUP, signal.SIGUSR1):
        signal.signal(ignored, signal.SIG_IGN)
    tolerate_realtime_signals(loop, logger)
    release_signals()

    async def follow_the_checker() -> None:
        while line := await reader.readline():
            try:
                desired, slots = read_line(line)
            except (ValueError, KeyError, TypeError) as error:
                logger.warning(f"proxy: ignoring a table it cannot read: {error}")
                continue
            backend.set_slots(slots)
            backend.apply(
                plan(desired, backend.read()),
                lambda service, error: logger.error(f"proxy: cannot serve {service}: {error}"),
            )
        stopped.set()

    following = loop.create_task(follow_the_checker())
    await stopped.wait()
    following.cancel()
    await backend.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    die_with_parent()
    logger = logs.setup(
        args.log_console, not args.no_syslog, args.log_facility, logs.IDENT_PROXY + args.log_ident_suffix
    )
    shared = SharedCounts(args.shared_counts, args.workers, args.index) if args.shared_counts else None
    try:
        with pidfile(args.pidfile), asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(serve(logger, shared))
    finally:
        if shared is not None:
            shared.close()


if __name__ == "__main__":
    sys.exit(main())
