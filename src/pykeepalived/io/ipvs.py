"""The IPVS data plane: the table's operations as IPVS generic-netlink requests (pyroute2), and the kernel's
table read back for `ipvsadm -Ln`.

pyroute2 0.9 quirks handled here: IPVSDest.from_message() reports every destination as DR (the raw
forwarding attribute is read instead); fwmark and IPv6 services need the netmask sent (for IPv6 it is a
prefix length, which pyroute2 encodes as an IPv4 address: 128 is "128.0.0.0"); "update" deletes, so
changes use "set".

Over 400 lines: the requests, the batching thread and the kernel table reader share pyroute2's quirks above.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import ipaddress
import itertools
import logging
import socket
import sys
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..lb.dataplane import Connections, Stats
from ..lb.granularity import client_mask, normalized
from ..lb.listing import ConnectionEntry
from ..lb.table import (
    PROTOCOL_NAMES,
    AddDestination,
    AddService,
    DeleteDestination,
    DeleteService,
    Destination,
    DestinationKey,
    EditDestination,
    EditService,
    IpProtocol,
    Operation,
    Service,
    ServiceKey,
    Table,
    TableMirror,
)
from .errors import DataplaneUnavailable

T = TypeVar("T")
FORWARDING_METHODS = {"NAT": 0, "TUN": 2, "DR": 3}
FORWARDING_NAMES = {code: name for name, code in FORWARDING_METHODS.items()}
IP_VS_SVC_F_PERSISTENT = 0x0001
IP_VS_SVC_F_SCHED1 = 0x0008  # sh-fallback, mh-fallback
IP_VS_SVC_F_SCHED2 = 0x0010  # sh-port, mh-port
SCHEDULER_FLAG_BITS = {"fallback": IP_VS_SVC_F_SCHED1, "port": IP_VS_SVC_F_SCHED2}
ALL_SERVICE_FLAGS = 0xFFFF


@dataclass(frozen=True)
class Statistics:
    """IPVS's counters of a service or destination: totals, then rates (per second)."""

    connections: int = 0
    packets_in: int = 0
    packets_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    connections_rate: int = 0
    packets_in_rate: int = 0
    packets_out_rate: int = 0
    bytes_in_rate: int = 0
    bytes_out_rate: int = 0


@dataclass
class KernelTable:
    """What the kernel's IPVS holds: the table, and per destination its connection counts and counters."""

    table: dict[ServiceKey, Service] = field(default_factory=dict)
    counts: dict[ServiceKey, dict[DestinationKey, tuple[int, int]]] = field(default_factory=dict)
    persistent: dict[ServiceKey, dict[DestinationKey, int]] = field(default_factory=dict)
    service_statistics: dict[ServiceKey, Statistics] = field(default_factory=dict)
    destination_statistics: dict[ServiceKey, dict[DestinationKey, Statistics]] = field(default_factory=dict)


def _family(address: str) -> int:
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET


def _service_family(key: ServiceKey, service: Service | None, member: DestinationKey | None) -> int:
    """A service's address family; a fwmark service has its real servers' (IPVS requires them equal)."""
    if key.address:
        return _family(key.address)
    if member is not None:
        return _family(member.address)
    members = service.members() if service is not None else {}
    return _family(next(iter(members)).address) if members else socket.AF_INET


def _netmask(family: int, granularity: str | None) -> str:
    """IPVS_SVC_ATTR_NETMASK: a mask for IPv4, a prefix length for IPv6 (in pyroute2's IPv4 encoding)."""
    if family == socket.AF_INET6:
        mask = client_mask(granularity, 6)
        prefix = 128 if mask is None else mask.bit_count()
        return str(ipaddress.IPv4Address(prefix.to_bytes(4, "little")))
    return normalized(granularity, 4) or "255.255.255.255"


def service_attributes(
    key: ServiceKey, service: Service | None, member: DestinationKey | None = None
) -> dict[str, Any]:
    """The key of a service and, given its settings, everything IPVS keeps about it; `member`, one of its
    real servers, gives a fwmark service's family when its settings are not at hand."""
    family = _service_family(key, service, member)
    attributes: dict[str, Any] = {"af": family, "protocol": key.protocol.number}
    if key.fwmark:
        attributes["fwmark"] = key.fwmark
    else:
        attributes.update(addr=key.address, port=key.port)
    if service is not None:
        flags = IP_VS_SVC_F_PERSISTENT if service.persistence_timeout > 0 else 0
        for flag in service.scheduler_flags:
            flags |= SCHEDULER_FLAG_BITS[flag.rsplit("-", 1)[1]]
        attributes.update(
            sched_name=service.scheduler,
            timeout=service.persistence_timeout,
            flags={"flags": flags, "mask": ALL_SERVICE_FLAGS},
            netmask=_netmask(family, service.persistence_granularity),
        )
    return attributes


def destination_attributes(key: DestinationKey, destination: Destination | None) -> dict[str, Any]:
    attributes: dict[str, Any] = {"addr": key.address, "port": key.port, "addr_family": _family(key.address)}
    if destination is not None:
        attributes.update(
            weight=destination.weight,
            fwd_method=FORWARDING_METHODS[destination.forwarding],
            u_thresh=destination.upper_threshold,
            l_thresh=destination.lower_threshold,
        )
    return attributes


TIMEOUT_ATTRIBUTES = ("IPVS_CMD_ATTR_TIMEOUT_TCP", "IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", "IPVS_CMD_ATTR_TIMEOUT_UDP")


def _command(connection: Any, command: int, attributes: list[tuple[str, Any]], flags: int) -> list[Any]:
    """An IPVS request pyroute2 has no method for, as a raw generic-netlink message."""
    from pyroute2.netlink.generic.ipvs import ipvsmsg

    message = ipvsmsg()
    message["cmd"] = command
    message["version"] = 1
    message["attrs"] = attributes
    return list(connection.nlm_request(message, msg_type=connection.prid, msg_flags=flags))


def set_timeouts(connection: Any, timeouts: tuple[int, int, int]) -> None:
    """IPVS's TCP, TCP FIN and UDP timeouts in seconds (0 leaves one as it is): ipvsadm --set, lvs_timeouts."""
    from pyroute2.netlink import NLM_F_ACK, NLM_F_REQUEST
    from pyroute2.netlink.generic.ipvs import IPVS_CMD_SET_CONFIG

    # pyroute2 types these attributes as raw bytes: a u32 in host order.
    values = zip(TIMEOUT_ATTRIBUTES, timeouts, strict=True)
    encoded = [(name, value.to_bytes(4, sys.byteorder)) for name, value in values]
    _command(connection, IPVS_CMD_SET_CONFIG, encoded, NLM_F_REQUEST | NLM_F_ACK)


def get_timeouts(connection: Any) -> tuple[int, int, int]:
    from pyroute2.netlink import NLM_F_REQUEST
    from pyroute2.netlink.generic.ipvs import IPVS_CMD_GET_CONFIG

    reply = _command(connection, IPVS_CMD_GET_CONFIG, [], NLM_F_REQUEST)[0]
    raw = [reply.get_attr(name) for name in TIMEOUT_ATTRIBUTES]
    tcp, tcp_fin, udp = (int.from_bytes(bytes.fromhex(value.replace(":", "")), sys.byteorder) for value in raw)
    return tcp, tcp_fin, udp


def zero_counters(connection: Any, key: ServiceKey | None) -> None:
    """ipvsadm -Z: every service's counters, or one service's."""
    from pyroute2 import IPVSService
    from pyroute2.netlink import NLM_F_ACK, NLM_F_REQUEST
    from pyroute2.netlink.generic.ipvs import IPVS_CMD_ZERO

    attributes = []
    if key is not None:
        attributes.append(("IPVS_CMD_ATTR_SERVICE", IPVSService(**service_attributes(key, None)).dump_key()))
    _command(connection, IPVS_CMD_ZERO, attributes, NLM_F_REQUEST | NLM_F_ACK)


SYNC_MASTER, SYNC_BACKUP = 1, 2
SYNC_STATE_NAMES = {SYNC_MASTER: "master", SYNC_BACKUP: "backup"}
# IPVS_DAEMON_ATTR_*: the attributes nested in IPVS_CMD_ATTR_DAEMON.
(DAEMON_STATE, DAEMON_INTERFACE, DAEMON_SYNC_ID, DAEMON_MAXLEN, DAEMON_GROUP, DAEMON_GROUP6, DAEMON_PORT,
 DAEMON_TTL) = range(1, 9)  # fmt: skip


@dataclass(frozen=True)
class SyncDaemon:
    """One of IPVS's connection-sync daemons (`ipvsadm --start-daemon`); 0 and None leave the kernel's default."""

    state: int
    interface: str
    syncid: int = 0
    maxlen: int = 0
    group: str | None = None
    port: int = 0
    ttl: int = 0


def _attribute(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return length.to_bytes(2, sys.byteorder) + kind.to_bytes(2, sys.byteorder) + payload + bytes(-length % 4)


def _daemon_attributes(daemon: SyncDaemon) -> bytes:
    """The nested attributes as libipvs sends them: the optional ones only when set."""
    encoded = _attribute(DAEMON_STATE, daemon.state.to_bytes(4, sys.byteorder))
    encoded += _attribute(DAEMON_INTERFACE, daemon.interface.encode() + b"\0")
    encoded += _attribute(DAEMON_SYNC_ID, daemon.syncid.to_bytes(4, sys.byteorder))
    if daemon.maxlen:
        encoded += _attribute(DAEMON_MAXLEN, daemon.maxlen.to_bytes(2, sys.byteorder))
    if daemon.group is not None:
        group = ipaddress.ip_address(daemon.group)
        encoded += _attribute(DAEMON_GROUP if group.version == 4 else DAEMON_GROUP6, group.packed)
    if daemon.port:
        encoded += _attribute(DAEMON_PORT, daemon.port.to_bytes(2, sys.byteorder))
    if daemon.ttl:
        encoded += _attribute(DAEMON_TTL, daemon.ttl.to_bytes(1, sys.byteorder))
    return encoded


def _parse_daemon(encoded: bytes) -> SyncDaemon:
    values: dict[int, bytes] = {}
    offset = 0
    while offset + 4 <= len(encoded):
        length = int.from_bytes(encoded[offset : offset + 2], sys.byteorder)
        kind = int.from_bytes(encoded[offset + 2 : offset + 4], sys.byteorder) & 0x3FFF
        values[kind] = encoded[offset + 4 : offset + length]
        offset += length + (-length % 4)

    def number(kind: int) -> int:
        return int.from_bytes(values.get(kind, b""), sys.byteorder)

    group_bytes = values.get(DAEMON_GROUP) or values.get(DAEMON_GROUP6)
    return SyncDaemon(
        state=number(DAEMON_STATE),
        interface=values.get(DAEMON_INTERFACE, b"").split(b"\0", 1)[0].decode(),
        syncid=number(DAEMON_SYNC_ID),
        maxlen=number(DAEMON_MAXLEN),
        group=str(ipaddress.ip_address(group_bytes)) if group_bytes else None,
        port=number(DAEMON_PORT),
        ttl=number(DAEMON_TTL),
    )


def start_sync_daemon(connection: Any, daemon: SyncDaemon) -> None:
    from pyroute2.netlink import NLM_F_ACK, NLM_F_REQUEST
    from pyroute2.netlink.generic.ipvs import IPVS_CMD_NEW_DAEMON

    attributes = [("IPVS_CMD_ATTR_DAEMON", _daemon_attributes(daemon))]
    _command(connection, IPVS_CMD_NEW_DAEMON, attributes, NLM_F_REQUEST | NLM_F_ACK)


def stop_sync_daemon(connection: Any, state: int) -> None:
    from pyroute2.netlink import NLM_F_ACK, NLM_F_REQUEST
    from pyroute2.netlink.generic.ipvs import IPVS_CMD_DEL_DAEMON

    attributes = [("IPVS_CMD_ATTR_DAEMON", _attribute(DAEMON_STATE, state.to_bytes(4, sys.byteorder)))]
    _command(connection, IPVS_CMD_DEL_DAEMON, attributes, NLM_F_REQUEST | NLM_F_ACK)


def sync_daemons(connection: Any) -> list[SyncDaemon]:
    """The sync daemons running, master first (as the kernel lists them)."""
    from pyroute2.netlink import NLM_F_DUMP, NLM_F_REQUEST
    from pyroute2.netlink.generic.ipvs import IPVS_CMD_GET_DAEMON

    daemons = []
    for message in _command(connection, IPVS_CMD_GET_DAEMON, [], NLM_F_REQUEST | NLM_F_DUMP):
        raw = message.get_attr("IPVS_CMD_ATTR_DAEMON")
        if raw:
            daemons.append(_parse_daemon(bytes.fromhex(raw.replace(":", ""))))
    return daemons


PROC_CONNECTIONS = "/proc/net/ip_vs_conn"


def _proc_address(text: str) -> str:
    """An address in /proc/net/ip_vs_conn: IPv4 as 8 hex digits, IPv6 written out."""
    if ":" in text:
        return str(ipaddress.ip_address(text))
    return str(ipaddress.IPv4Address(int(text, 16)))


def read_connections(path: str = PROC_CONNECTIONS) -> list[ConnectionEntry]:
    """IPVS's connection entries, as ipvsadm -c reads them."""
    entries = []
    with open(path) as table:
        next(table, None)
        for line in table:
            fields = line.split()
            if len(fields) < 9:
                continue
            protocol, source, source_port, virtual, virtual_port, target, target_port, state, expires = fields[:9]
            entries.append(
                ConnectionEntry(
                    protocol,
                    int(expires),
                    state,
                    (_proc_address(source), int(source_port, 16)),
                    (_proc_address(virtual), int(virtual_port, 16)),
                    (_proc_address(target), int(target_port, 16)),
                )
            )
    return entries


@contextlib.contextmanager
def ipvs_connection() -> Iterator[Any]:
    """A connection to the kernel's IPVS, closed after the block."""
    from pyroute2 import IPVS

    connection = IPVS()
    try:
        yield connection
    finally:
        connection.close()


def kernel_has_ipvs() -> bool:
    """Whether the kernel answers IPVS's generic-netlink family (ip_vs loaded, or loadable on demand)."""
    from pyroute2 import IPVS

    try:
        connection = IPVS()
    except Exception:  # pyroute2 raises a bare NetlinkError or OSError when the family is missing
        return False
    connection.close()
    return True


class IpvsPlane:
    """The kernel's IPVS table, changed operation by operation.

    pyroute2's synchronous IPVS socket runs an event loop of its own, which cannot run inside the checker's:
    the socket lives in a thread of its own, and each change waits for it (a request takes microseconds).
    """

    def __init__(
        self,
        logger: logging.Logger,
        flush_at_start: bool = False,
        flush_at_stop: bool = False,
        timeouts: tuple[int, int, int] | None = None,
    ) -> None:
        self.mirror = TableMirror()
        self.logger = logger
        self.flush_at_stop = flush_at_stop
        self.worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ipvs")
        try:
            self.connection = self.worker.submit(_open_connection).result()
        except Exception as error:
            self.worker.shutdown()
            raise DataplaneUnavailable(f"the kernel has no IPVS ({error})") from error
        if flush_at_start:
            self.flush()
        if timeouts is not None:
            self.run(set_timeouts, timeouts)

    name = "ipvs"

    def read(self, managed: Collection[ServiceKey] | None = None) -> Table:
        return self.mirror.adopt(self.worker.submit(read_kernel_table).result().table, managed)

    def stats(self) -> Stats:
        counts = self.worker.submit(read_kernel_table).result().counts
        return {
            key: {member: Connections(*pair) for member, pair in members.items()} for key, members in counts.items()
        }

    def run(self, request: Callable[..., T], *arguments: Any) -> T:
        """A request of ours on the kernel connection (in its thread); its errors are raised here."""
        return self.worker.submit(request, self.connection, *arguments).result()

    def flush(self) -> None:
        """Every service the kernel has, ours or not (keepalived's lvs_flush, lvs_flush_onstop)."""
        for key, service in self.worker.submit(read_kernel_table).result().table.items():
            self.worker.submit(self._request, DeleteService(key), service).result()

    def apply(self, operations: Sequence[Operation]) -> None:
        """Each operation to the kernel, then to the table kept here; a refused one is logged and the others go
        on. Real-server changes go to the kernel's thread and into the table together, up to the next service
        change: a batch of thousands costs one copy of the service's members and one thread hand-over."""
        for members_change, group in itertools.groupby(operations, key=is_member_change):
            run = list(group)
            batches = [run] if members_change else [[operation] for operation in run]
            for batch in batches:
                self._log_refusals(self.worker.submit(self._take_over_each, batch).result())
                self.mirror.apply(batch)

    def _take_over_each(self, operations: list[Operation]) -> list[tuple[Operation, Exception]]:
        refused = []
        for operation in operations:
            try:
                self._take_over(operation)
            except Exception as error:  # a netlink error names the errno; keep the others going
                refused.append((operation, error))
        return refused

    def _log_refusals(self, refused: list[tuple[Operation, Exception]]) -> None:
        for operation, error in refused:
            self.logger.error(f"IPVS: {type(operation).__name__} for {operation_subject(operation)} failed: {error}")

    def execute(self, operation: Operation) -> None:
        """One operation, in the kernel and then in the table kept here; the kernel's refusal is raised."""
        self.worker.submit(self._request, operation).result()
        self.mirror.apply([operation])

    def _take_over(self, operation: Operation) -> None:
        """The operation in the kernel; a service or real server the kernel already has (left by an earlier run
        or added by hand) is taken over and set as the table says, as keepalived does."""
        try:
            self._request(operation)
        except Exception as error:
            if getattr(error, "code", None) != errno.EEXIST or not isinstance(operation, AddService | AddDestination):
                raise
            if isinstance(operation, AddService):
                self._request(EditService(operation.key, operation.service))
            else:
                self._request(EditDestination(operation.service, operation.key, operation.destination))

    def _request(self, operation: Operation, known: Service | None = None) -> None:
        from pyroute2 import IPVSDest, IPVSService

        if isinstance(operation, AddService | EditService):
            command = "add" if isinstance(operation, AddService) else "set"
            self.connection.service(
                command, service=IPVSService(**service_attributes(operation.key, operation.service))
            )
            return
        if isinstance(operation, DeleteService):
            attributes = service_attributes(operation.key, known or self.mirror.services.get(operation.key))
            self.connection.service("del", service=IPVSService(**attributes))
            return
        known_service = self.mirror.services.get(operation.service)
        service = IPVSService(**service_attributes(operation.service, known_service, operation.key))
        if isinstance(operation, DeleteDestination):
            self.connection.dest("del", service=service, dest=IPVSDest(**destination_attributes(operation.key, None)))
            return
        command = "add" if isinstance(operation, AddDestination) else "set"
        destination = IPVSDest(**destination_attributes(operation.key, operation.destination))
        self.connection.dest(command, service=service, dest=destination)

    def close(self) -> None:
        """Remove our services (all of them with lvs_flush_onstop), as keepalived does when it stops."""
        self.apply([DeleteService(key) for key in sorted(self.mirror.services)])
        if self.flush_at_stop:
            self.flush()
        self.shutdown()

    def shutdown(self) -> None:
        """Let go of the kernel, leaving its table as it is."""
        self.worker.submit(self.connection.close).result()
        self.worker.shutdown()


def is_member_change(operation: Operation) -> bool:
    return isinstance(operation, AddDestination | EditDestination | DeleteDestination)


def _open_connection() -> Any:
    from pyroute2 import IPVS

    return IPVS()


def operation_subject(operation: Operation) -> str:
    if isinstance(operation, AddService | EditService | DeleteService):
        return str(operation.key)
    return f"{operation.key.text(operation.service.protocol.lower())} of {operation.service}"


STATISTICS = ("CONNS", "INPKTS", "OUTPKTS", "INBYTES", "OUTBYTES", "CPS", "INPPS", "OUTPPS", "INBPS", "OUTBPS")


def _statistics(attributes: Any, name: str) -> Statistics:
    nested = attributes.get_attr(name)
    if nested is None:
        return Statistics()
    return Statistics(*(nested.get_attr(f"IPVS_STATS_ATTR_{field}") or 0 for field in STATISTICS))


def _scheduler_flags(scheduler: str, flags: int) -> tuple[str, ...]:
    named = ((IP_VS_SVC_F_SCHED1, f"{scheduler}-fallback"), (IP_VS_SVC_F_SCHED2, f"{scheduler}-port"))
    return tuple(name for bit, name in named if flags & bit) if scheduler in ("sh", "mh") else ()


def read_kernel_table() -> KernelTable:
    """Every IPVS service and destination the kernel has, with their counters."""
    from pyroute2 import IPVSService

    found = KernelTable()
    with ipvs_connection() as connection:
        for message in connection.service("dump"):
            attributes = message.get_attr("IPVS_CMD_ATTR_SERVICE")
            protocol = PROTOCOL_NAMES.get(attributes.get_attr("IPVS_SVC_ATTR_PROTOCOL"), IpProtocol.TCP)
            fwmark = attributes.get_attr("IPVS_SVC_ATTR_FWMARK") or 0
            family = attributes.get_attr("IPVS_SVC_ATTR_AF")
            if fwmark:
                key = ServiceKey(protocol, fwmark=fwmark)
            else:
                address = attributes.get_attr("IPVS_SVC_ATTR_ADDR")
                key = ServiceKey(protocol, address, attributes.get_attr("IPVS_SVC_ATTR_PORT"))
            flags = attributes.get_attr("IPVS_SVC_ATTR_FLAGS")
            flag_bits = flags["flags"] if flags else 0
            persistent = bool(flag_bits & IP_VS_SVC_F_PERSISTENT)
            netmask = attributes.get_attr("IPVS_SVC_ATTR_NETMASK")
            scheduler = attributes.get_attr("IPVS_SVC_ATTR_SCHED_NAME")
            destinations: dict[DestinationKey, Destination] = {}
            found.counts[key], found.persistent[key], found.destination_statistics[key] = {}, {}, {}
            found.service_statistics[key] = _statistics(attributes, "IPVS_SVC_ATTR_STATS64")
            request = IPVSService(af=family, protocol=protocol.number, **(
                {"fwmark": fwmark} if fwmark else {"addr": key.address, "port": key.port}
            ))  # fmt: skip
            for dest_message in connection.dest("dump", service=request):
                dest = dest_message.get_attr("IPVS_CMD_ATTR_DEST")
                member = DestinationKey(dest.get_attr("IPVS_DEST_ATTR_ADDR"), dest.get_attr("IPVS_DEST_ATTR_PORT"))
                method = (dest.get_attr("IPVS_DEST_ATTR_FWD_METHOD") or 0) & 0x7
                destinations[member] = Destination(
                    weight=dest.get_attr("IPVS_DEST_ATTR_WEIGHT"),
                    forwarding=FORWARDING_NAMES.get(method, "NAT"),
                    upper_threshold=dest.get_attr("IPVS_DEST_ATTR_U_THRESH") or 0,
                    lower_threshold=dest.get_attr("IPVS_DEST_ATTR_L_THRESH") or 0,
                )
                found.counts[key][member] = (
                    dest.get_attr("IPVS_DEST_ATTR_ACTIVE_CONNS") or 0,
                    dest.get_attr("IPVS_DEST_ATTR_INACT_CONNS") or 0,
                )
                found.persistent[key][member] = dest.get_attr("IPVS_DEST_ATTR_PERSIST_CONNS") or 0
                found.destination_statistics[key][member] = _statistics(dest, "IPVS_DEST_ATTR_STATS64")
            found.table[key] = Service(
                scheduler=scheduler,
                persistence_timeout=attributes.get_attr("IPVS_SVC_ATTR_TIMEOUT") if persistent else 0,
                persistence_granularity=_granularity(family, netmask) if persistent else None,
                destinations=destinations,
                scheduler_flags=_scheduler_flags(scheduler, flag_bits),
            )
    return found


def _granularity(family: int, netmask: str | None) -> str | None:
    """A persistence granularity as keepalived writes it, None for the default (a single address)."""
    if netmask is None:
        return None
    if family == socket.AF_INET6:
        return normalized(str(int.from_bytes(ipaddress.IPv4Address(netmask).packed, "little")), 6)
    return normalized(netmask, 4)
