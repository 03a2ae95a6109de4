"""The load-balancer tables other processes keep (the proxy's, the nftables one), listed as ipvsadm lists IPVS's."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time

from ..daemon import proxy_paths
from ..io import nftables
from ..io.nftables import connection_counts, conntrack_connections
from ..lb.listing import Namer, connection_listing, listing, numeric
from ..lb.table import DestinationKey, ServiceKey, Table, table_from_data


def list_proxy_table(pidfile: str, namer: Namer = numeric) -> int:
    """Ask the proxy process for its table and counts (SIGUSR2), then print them as ipvsadm -Ln would."""
    try:
        with open(pidfile, encoding="ascii") as handle:
            pid = int(handle.read().strip())
        with contextlib.suppress(FileNotFoundError):
            os.unlink(proxy_paths.STATS_DUMP)
        os.kill(pid, signal.SIGUSR2)
    except (OSError, ValueError) as error:
        print(f"pykeepalivedctl: no proxy data plane is running ({pidfile}: {error})", file=sys.stderr)
        return 1
    deadline = time.monotonic() + 5
    while not os.path.exists(proxy_paths.STATS_DUMP):
        if time.monotonic() > deadline:
            print(f"pykeepalivedctl: process {pid} wrote no {proxy_paths.STATS_DUMP}", file=sys.stderr)
            return 1
        time.sleep(0.02)
    with open(proxy_paths.STATS_DUMP, encoding="utf-8") as handle:
        snapshot = json.load(handle)
    table = table_from_data(snapshot["table"])
    counts: dict[ServiceKey, dict[DestinationKey, tuple[int, int]]] = {}
    for entry in snapshot["counts"]:
        service = counts.setdefault(ServiceKey(**entry["service"]), {})
        service[DestinationKey(**entry["destination"])] = (entry["active"], entry.get("inactive", 0))
    print(listing(table, counts, namer), end="")
    return 0


def committed_table(state_file: str) -> Table:
    """The table the checker last committed to nftables."""
    with open(state_file, encoding="utf-8") as handle:
        return table_from_data(json.load(handle)["table"])


def list_nftables_table(state_file: str, namer: Namer = numeric) -> int:
    """The nftables table with conntrack's connection counts."""
    table = committed_table(state_file)
    print(listing(table, connection_counts(table), namer), end="")
    return 0


def list_connections(pidfile: str, namer: Namer = numeric) -> int:
    """ipvsadm -Lnc: conntrack's connections through the nftables table (the proxy keeps its own)."""
    if os.path.exists(pidfile) or not os.path.exists(nftables.STATE_FILE):
        print("pykeepalivedctl: connections are listed for IPVS and nftables, not for the proxy", file=sys.stderr)
        return 1
    print(connection_listing(conntrack_connections(committed_table(nftables.STATE_FILE)), namer), end="")
    return 0


def list_table(pidfile: str, namer: Namer = numeric) -> int:
    """The proxy's table if its process runs, else the nftables table (IPVS is pyipvsadm's own)."""
    if not os.path.exists(pidfile) and os.path.exists(nftables.STATE_FILE):
        return list_nftables_table(nftables.STATE_FILE, namer)
    return list_proxy_table(pidfile, namer)
