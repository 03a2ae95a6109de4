"""The nftables data plane: the table becomes one libnftables JSON transaction per change."""

from __future__ import annotations

import concurrent.futures
import contextlib
import ipaddress
import json
import logging
import os
import socket
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..lb import nftables as rules
from ..lb.dataplane import Connections, Stats
from ..lb.listing import ConnectionEntry
from ..lb.table import (
    PROTOCOL_NAMES,
    DestinationKey,
    Operation,
    ServiceKey,
    Table,
    TableMirror,
    table_from_data,
    table_to_data,
)
from .dumps import write_json_atomically
from .errors import DataplaneUnavailable
from .nftables_binding import import_nftables

# What `pykeepalivedctl ipvsadm` lists: the table last committed to the kernel (weights, schedulers and
# thresholds are not all recoverable from the rules themselves).
STATE_FILE = "/run/pykeepalived_nftables.json"


class Nftables(Protocol):
    """The part of libnftables' Python binding we use."""

    def json_cmd(self, json_root: dict[str, Any]) -> tuple[int, Any, str]: ...

    def cmd(self, cmdline: str) -> tuple[int, str, str]: ...


def open_nftables() -> Nftables:
    """libnftables, checked by listing the ruleset (which needs CAP_NET_ADMIN in this namespace)."""
    nftables = import_nftables()
    try:
        library = nftables.Nftables()
    except OSError as error:
        raise DataplaneUnavailable(f"libnftables cannot be loaded: {error}: apt install libnftables1") from error
    library.set_json_output(True)
    code, _, refusal = library.cmd("list tables")
    if code != 0:
        raise DataplaneUnavailable(f"nftables does not work here: {refusal.strip()}")
    return library  # type: ignore[no-any-return]


class NftablesPlane:
    """The table as nftables rules, all of it written in one transaction after every change."""

    name = "nftables"

    def __init__(
        self,
        library: Nftables,
        logger: logging.Logger,
        state_file: str = STATE_FILE,
        timeouts: tuple[int, int, int] = rules.IPVS_TIMEOUTS,
    ) -> None:
        self.mirror = TableMirror()
        self.library = library
        self.logger = logger
        self.state_file = state_file
        self.timeouts: tuple[int, int, int] | None = self.make_timeouts(timeouts)
        self.transactions = 0
        self.reported: set[str] = set()
        self.loads: dict[ServiceKey, dict[DestinationKey, tuple[int, int]]] = {}
        self.overloaded: dict[ServiceKey, frozenset[DestinationKey]] = {}
        self.committed: list[rules.Command] = []
        # The persistence sets the committed rules use.
        self.persistence_sets: set[str] = set()

    def apply(self, operations: Sequence[Operation]) -> None:
        self.mirror.apply(operations)
        if operations or self.transactions == 0:
            self.commit()

    def read(self, managed: Collection[ServiceKey] | None = None) -> Table:
        """The table of the last transaction, if the kernel still has our rules (a restart finds them; a hand
        `nft delete table` is seen): the rules alone do not give back weights, schedulers and thresholds."""
        return self.mirror.adopt(self._committed_table(), managed)

    def _committed_table(self) -> Table:
        code, _, _ = self.library.cmd(rules.table_exists_command())
        if code != 0:
            return {}
        try:
            with open(self.state_file) as state:
                return table_from_data(json.load(state)["table"])
        except (OSError, ValueError, KeyError):
            return {}

    def stats(self) -> Stats:
        counts = connection_counts(self.mirror.table())
        return {
            key: {member: Connections(*counts.get(key, {}).get(member, (0, 0))) for member in service.members()}
            for key, service in self.mirror.services.items()
        }

    def commit(self) -> None:
        table = self.mirror.table()
        for problem in rules.unsupported(table):
            if problem not in self.reported:
                self.reported.add(problem)
                self.logger.warning(problem)
        wanted_sets = rules.persistence_sets(table)
        new_sets = {name: kind for name, kind in wanted_sets.items() if name not in self.persistence_sets}
        if new_sets:
            code, _, error = self.library.cmd(rules.persistence_set_commands(new_sets))
            if code != 0:
                self.logger.error(f"nftables: the persistence sets were refused, the kernel keeps the previous rules: "
                                 f"{error.strip()}")  # fmt: skip
                return
        retired = sorted(self.persistence_sets - set(wanted_sets))
        commands = rules.transaction(table, self.loads, direct_routing(table), self.timeouts, retired, self.overloaded)
        if commands == self.committed:
            return
        code, _, error = self.library.json_cmd({"nftables": commands})
        if code != 0:
            self.logger.error(f"nftables: the transaction was refused, the kernel keeps the previous rules: {error}")
            return
        self.committed = commands
        self.persistence_sets = set(wanted_sets)
        self.transactions += 1
        write_json_atomically(self.state_file, {"table": table_to_data(table)}, self.logger)

    def make_timeouts(self, timeouts: tuple[int, int, int]) -> tuple[int, int, int] | None:
        """The ct timeout objects the rules refer to; None (conntrack's timeouts) if the kernel cannot."""
        code, _, error = self.library.cmd(rules.timeout_objects(timeouts))
        if code != 0:
            self.logger.warning(
                f"nftables: connections keep conntrack's timeouts, IPVS's cannot be set: {error.strip()}"
            )
            return None
        return timeouts

    def routes_directly(self) -> bool:
        """Whether a service routes directly (its real servers' MAC addresses are looked up again)."""
        return any(rules.is_direct_routing(service) for service in self.mirror.services.values())

    def follows_load(self) -> bool:
        """Whether a service's map depends on the servers' connection counts."""
        return any(rules.follows_load(service) for service in self.mirror.services.values())

    def rebalance(self, loads: dict[ServiceKey, dict[DestinationKey, tuple[int, int]]]) -> None:
        """Re-plan the connection-count schedulers' maps from conntrack's counts (a transaction only if a map
        changes)."""
        self.loads = loads
        self.overloaded = rules.overloaded_servers(self.mirror.table(), loads, self.overloaded)
        self.commit()

    def close(self) -> None:
        """Remove our table, as keepalived removes its virtual servers when it stops."""
        if self.transactions:
            self.library.json_cmd({"nftables": rules.removal()})
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.state_file)


CONNTRACK_SYSCTL = "/proc/sys/net/netfilter/nf_conntrack_{}"
# conntrack drops new connections when its table is full: warn before that, once per crossing.
CONNTRACK_WARN_FULLNESS, CONNTRACK_CALM_FULLNESS = 0.9, 0.8


class ConntrackWatch:
    """Watches how full conntrack's table is: every connection through the nftables data plane needs an entry,
    and a full table drops new connections without a word (net.netfilter.nf_conntrack_max raises the limit)."""

    def __init__(self, logger: logging.Logger, sysctl: str = CONNTRACK_SYSCTL) -> None:
        self.logger = logger
        self.sysctl = sysctl
        self.warned = False

    def read(self) -> tuple[int, int] | None:
        try:
            values = [int(Path(self.sysctl.format(name)).read_text()) for name in ("count", "max")]
        except (OSError, ValueError):
            return None
        return values[0], values[1]

    def check(self) -> None:
        seen = self.read()
        if seen is None or not seen[1]:
            return
        count, maximum = seen
        if not self.warned and count >= maximum * CONNTRACK_WARN_FULLNESS:
            self.warned = True
            self.logger.warning(
                f"nftables: conntrack's table is {100 * count // maximum}% full ({count} of {maximum} entries): "
                "new connections are dropped when it is full; raise net.netfilter.nf_conntrack_max"
            )
        elif self.warned and count < maximum * CONNTRACK_CALM_FULLNESS:
            self.warned = False
            self.logger.info(f"nftables: conntrack's table is {100 * count // maximum}% full again")


ARP_TABLE = "/proc/net/arp"
ATF_COMPLETE = 0x2
# A neighbour whose link-layer address can be used: reachable, stale, delayed, probed or permanent.
NUD_VALID = 0x02 | 0x04 | 0x08 | 0x10 | 0x80
DISCARD_PORT = 9


def neighbours(ipv6: bool) -> dict[str, tuple[str, str]]:
    """The neighbours this namespace has resolved: address → (MAC address, device); IPv4 from the ARP
    table, and with `ipv6` also IPv6 from the kernel's neighbour table."""
    with open(ARP_TABLE, encoding="ascii") as table:
        rows = [line.split() for line in table.read().splitlines()[1:]]
    # IP address, HW type, Flags, HW address, Mask, Device
    known = {row[0]: (row[3], row[5]) for row in rows if len(row) >= 6 and int(row[2], 16) & ATF_COMPLETE}
    if ipv6:
        # pyroute2's synchronous socket runs an event loop of its own: not in this thread, which has one.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as thread:
            known.update(thread.submit(ipv6_neighbours).result())
    return known


def ipv6_neighbours() -> dict[str, tuple[str, str]]:
    from pyroute2 import IPRoute

    known = {}
    with IPRoute() as routing:
        for entry in routing.get_neighbours(family=socket.AF_INET6):
            address, mac = entry.get_attr("NDA_DST"), entry.get_attr("NDA_LLADDR")
            if entry["state"] & NUD_VALID and address and mac:
                known[str(ipaddress.ip_address(address))] = (mac, socket.if_indextoname(entry["ifindex"]))
    return known


def solicit(address: str) -> None:
    """Make the kernel resolve `address` (a datagram to the discard port); the answer comes later."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.setblocking(False)
        with contextlib.suppress(OSError):
            probe.sendto(b"", (address, DISCARD_PORT))


def direct_routing(table: Table) -> dict[ServiceKey, rules.DirectRouting]:
    """For each direct-routing service: the device its real servers are on, our MAC address there, and the
    real servers' MAC addresses known so far (the others are asked for, for the next look)."""
    direct = {key: service for key, service in table.items() if rules.is_direct_routing(service)}
    if not direct:
        return {}
    known = neighbours(any(member.ip.version == 6 for service in direct.values() for member in service.members()))
    routing: dict[ServiceKey, rules.DirectRouting] = {}
    for key, service in direct.items():
        macs: dict[DestinationKey, str] = {}
        device = None
        for member in service.members():
            entry = known.get(member.address)
            if entry is None:
                solicit(member.address)
                continue
            macs[member] = entry[0]
            device = device or entry[1]
        if device is not None:
            with open(f"/sys/class/net/{device}/address", encoding="ascii") as address:
                routing[key] = rules.DirectRouting(device, address.read().strip(), macs)
    return routing


TCP_CONNTRACK_ESTABLISHED = 3
# conntrack's TCP states (enum tcp_conntrack) by IPVS's names for them.
TCP_STATE_NAMES = {
    0: "NONE", 1: "SYN_SENT", 2: "SYN_RECV", 3: "ESTABLISHED", 4: "FIN_WAIT", 5: "CLOSE_WAIT", 6: "LAST_ACK",
    7: "TIME_WAIT", 8: "CLOSE", 9: "SYN_SENT",
}  # fmt: skip


def _service_connections(table: Table) -> Iterator[tuple[ServiceKey, DestinationKey, Any]]:
    """conntrack's entries that went through one of the table's services to one of its real servers."""
    from pyroute2 import Conntrack

    services: dict[tuple[str | None, str, int], ServiceKey] = {
        (key.protocol.upper(), key.address, key.port): key for key in table if not key.fwmark
    }
    conntrack = Conntrack()
    try:
        for entry in conntrack.dump_entries():
            original, reply = entry.tuple_orig, entry.tuple_reply
            service = services.get((PROTOCOL_NAMES.get(original.proto), original.daddr, original.dport))
            if service is None:
                continue
            member = DestinationKey(reply.saddr, reply.sport)
            if member in table[service].members():
                yield service, member, entry
    finally:
        conntrack.close()


def _tcp_state(entry: Any) -> int | None:
    return entry.protoinfo.state if entry.protoinfo is not None else None


def connection_counts(table: Table) -> dict[ServiceKey, dict[DestinationKey, tuple[int, int]]]:
    """Active and inactive connections per real server, from conntrack, as IPVS counts them:
    established TCP is active, everything else (other TCP states, UDP) inactive."""
    counts: dict[ServiceKey, dict[DestinationKey, tuple[int, int]]] = {}
    for service, member, entry in _service_connections(table):
        active, inactive = counts.setdefault(service, {}).get(member, (0, 0))
        if _tcp_state(entry) == TCP_CONNTRACK_ESTABLISHED:
            active += 1
        else:
            inactive += 1
        counts[service][member] = (active, inactive)
    return counts


def conntrack_connections(table: Table) -> list[ConnectionEntry]:
    """The table's connections as ipvsadm -Lnc lists IPVS's: TCP with its state in IPVS's words, UDP as UDP."""
    found = []
    for service, member, entry in _service_connections(table):
        original = entry.tuple_orig
        state = service.protocol.upper()
        tcp_state = _tcp_state(entry)
        if tcp_state is not None:
            state = TCP_STATE_NAMES.get(tcp_state, "NONE")
        found.append(
            ConnectionEntry(
                service.protocol.upper(),
                entry.timeout or 0,
                state,
                (original.saddr, original.sport),
                (original.daddr, original.dport),
                (member.address, member.port),
            )
        )
    return found
