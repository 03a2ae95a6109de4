"""The userspace data plane's process: it relays connections, apart from the VRRP and checker processes.

The supervisor starts it; the checker process writes the whole desired table as one JSON line on the feed
socket whenever it changes, and we apply what differs. While the checker restarts, we keep relaying with the
last table and connect again. SIGTERM (from the supervisor) stops us. SIGUSR2 writes the table with its
connection counters to STATS_DUMP.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import signal
import sys
from collections.abc import Mapping, Sequence

from ..io.dumps import write_json_atomically
from ..io.proxy.relays import ProxyRelays
from ..io.shared_counts import SharedCounts
from ..io.unix import unix_address, unix_socket
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
    parser.add_argument("--shared-counts", required=True, help="the file where the workers count their connections")
    parser.add_argument("--feed", required=True, help="the checker's unix socket that gives the table")
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


def write_stats(backend: ProxyRelays, logger: logging.Logger) -> None:
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


# How soon a worker tries the checker's feed again: it is there a moment after the workers start, and back
# within the supervisor's respawn backoff after the checker dies.
FEED_RETRY_SECONDS = (0.05, 0.1, 0.2, 0.5, 1.0)


async def serve(logger: logging.Logger, shared: SharedCounts, feed: str) -> int:
    loop = asyncio.get_running_loop()
    relays = ProxyRelays(loop, shared)
    stopped = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    loop.add_signal_handler(signal.SIGUSR2, write_stats, relays, logger)
    # The table comes from the checker: there is nothing to reload and no other dump.
    for ignored in (signal.SIGHUP, signal.SIGUSR1):
        signal.signal(ignored, signal.SIG_IGN)
    tolerate_realtime_signals(loop, logger)
    release_signals()

    def apply(line: bytes) -> None:
        try:
            desired, slots = read_line(line)
        except (ValueError, KeyError, TypeError) as error:
            logger.warning(f"proxy: ignoring a table it cannot read: {error}")
            return
        relays.set_slots(slots)
        relays.apply(
            plan(desired, relays.read()),
            lambda service, error: logger.error(f"proxy: cannot serve {service}: {error}"),
        )

    async def follow_the_checker() -> None:
        failures = 0
        while True:
            try:
                connecting = unix_socket()
                await loop.sock_connect(connecting, unix_address(feed))
                reader, writer = await asyncio.open_unix_connection(sock=connecting, limit=64 * 1024 * 1024)
            except OSError:
                connecting.close()
                await asyncio.sleep(FEED_RETRY_SECONDS[min(failures, len(FEED_RETRY_SECONDS) - 1)])
                failures += 1
                continue
            failures = 0
            # A checker killed outright resets the connection: that is the end of its feed too.
            with contextlib.suppress(OSError):
                while line := await reader.readline():
                    apply(line)
            writer.close()
            logger.info("proxy: the checker's feed closed - relaying with the last table until it is back")

    async with asyncio.TaskGroup() as tasks:
        following = tasks.create_task(follow_the_checker())
        await stopped.wait()
        following.cancel()
    await relays.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    die_with_parent()
    logger = logs.setup(
        args.log_console, not args.no_syslog, args.log_facility, logs.IDENT_PROXY + args.log_ident_suffix
    )
    shared = SharedCounts(args.shared_counts, args.workers, args.index)
    try:
        with pidfile(args.pidfile), asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(serve(logger, shared, args.feed))
    except Exception:
        logger.exception("proxy worker failed")
        raise
    finally:
        shared.close()


if __name__ == "__main__":
    sys.exit(main())
