"""The table as `ipvsadm -Ln` lists it (ipvsadm 1.31's layout), for whichever data plane carries it."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .granularity import normalized
from .table import DestinationKey, Service, ServiceKey, Table

HEADER = (
    "IP Virtual Server version 1.2.1 (size=4096)\n"
    "Prot LocalAddress:Port Scheduler Flags\n"
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
)
FORWARDING_NAMES = {"NAT": "Masq", "DR": "Route", "TUN": "Tunnel", "LOCAL": "Local"}

Counts = Mapping[ServiceKey, Mapping[DestinationKey, tuple[int, int]]]


def address_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


# How an address and port (of a protocol, lower case) are written: numerically (-n), or by name.
Namer = Callable[[str, int, str], str]


def numeric(address: str, port: int, protocol: str) -> str:
    return address_port(address, port)


def service_name(key: ServiceKey, service: Service, namer: Namer = numeric) -> str:
    """As ipvsadm names a service; a fwmark service of IPv6 real servers says so."""
    if key.fwmark:
        return f"FWM  {key.fwmark}" + (" IPv6" if _version(key, service) == 6 else "")
    return f"{key.protocol.upper()}  {namer(key.address, key.port, key.protocol.lower())}"


def service_line(key: ServiceKey, service: Service, namer: Namer = numeric) -> str:
    line = f"{service_name(key, service, namer)} {service.scheduler}"
    if service.scheduler_flags:
        line += f" ({','.join(service.scheduler_flags)})"
    if service.persistence_timeout:
        line += f" persistent {service.persistence_timeout}"
        granularity = normalized(service.persistence_granularity, _version(key, service))
        if granularity is not None:
            line += f" mask {granularity}"
    return line + "\n"


def _version(key: ServiceKey, service: Service) -> int:
    """The service's IP version: its address's, or for a fwmark service its real servers'."""
    if key.ip is not None:
        return key.ip.version
    return 6 if any(member.ip.version == 6 for member in service.members()) else 4


def listing(table: Table, counts: Counts, namer: Namer = numeric) -> str:
    """Services and their real servers in the order ipvsadm sorts them."""
    lines = [HEADER]
    for key in sorted(table, key=_service_order):
        service = table[key]
        lines.append(service_line(key, service, namer))
        members = service.members()
        for member in _sorted_members(service):
            destination = members[member]
            active, inactive = counts.get(key, {}).get(member, (0, 0))
            forwarding = FORWARDING_NAMES.get(destination.forwarding.upper(), destination.forwarding)
            target = namer(member.address, member.port, key.protocol.lower())
            lines.append(f"  -> {target:<28} {forwarding:<7} {destination.weight:<6} {active:<10} {inactive:<10}\n")
    return "".join(lines)


def _service_order(key: ServiceKey) -> tuple[int, int, int, int, int]:
    """libipvs's order: firewall mark, address family, protocol number, address, port."""
    family, address = _sortable(key.address)
    return (key.fwmark, family, key.protocol.number, address, key.port)


def _sortable(address: str) -> tuple[int, int]:
    if not address:
        return (0, 0)
    parsed = ipaddress.ip_address(address)
    return (parsed.version, int(parsed))


STATISTICS_HEADER = (
    "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  -> RemoteAddress:Port\n"
)
RATE_HEADER = (
    "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n  -> RemoteAddress:Port\n"
)
THRESHOLDS_HEADER = (
    "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n  -> RemoteAddress:Port\n"
)
PERSISTENT_HEADER = (
    "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n  -> RemoteAddress:Port\n"
)
FORWARDING_OPTIONS = {"NAT": "-m", "DR": "-g", "TUN": "-i"}


def large_number(value: int, exact: bool) -> str:
    """ipvsadm's counters: eight columns, shortened with K, M or G unless --exact."""
    if exact or value < 100_000_000:
        return f"{value:>8}"
    for divisor, suffix in ((1_000, "K"), (1_000_000, "M"), (1_000_000_000, "G")):
        if value // divisor < 10_000_000 or suffix == "G":
            return f"{value // divisor:>7}{suffix}"
    raise AssertionError("unreachable")


def _counter_row(name: str, values: Sequence[int], exact: bool) -> str:
    return f"{name:<33}" + "".join(f" {large_number(value, exact)}" for value in values) + "\n"


def statistics_listing(
    table: Table,
    service_counters: Mapping[ServiceKey, Sequence[int]],
    destination_counters: Mapping[ServiceKey, Mapping[DestinationKey, Sequence[int]]],
    rate: bool,
    exact: bool,
    namer: Namer = numeric,
) -> str:
    """ipvsadm -Ln --stats (totals) or --rate (per second): five counters per service and destination."""
    lines = [HEADER.splitlines(keepends=True)[0], RATE_HEADER if rate else STATISTICS_HEADER]
    for key in sorted(table, key=_service_order):
        lines.append(_counter_row(service_name(key, table[key], namer), service_counters.get(key, (0,) * 5), exact))
        for member in _sorted_members(table[key]):
            values = destination_counters.get(key, {}).get(member, (0,) * 5)
            target = namer(member.address, member.port, key.protocol.lower())
            lines.append(_counter_row(f"  -> {target}", values, exact))
    return "".join(lines)


def columns_listing(
    table: Table,
    header: str,
    columns: Callable[[ServiceKey, DestinationKey], Sequence[str]],
    namer: Namer = numeric,
) -> str:
    """ipvsadm -Ln --thresholds or --persistent-conn: the service lines, and four columns per destination."""
    lines = [HEADER.splitlines(keepends=True)[0], header]
    for key in sorted(table, key=_service_order):
        lines.append(service_line(key, table[key], namer))
        for member in _sorted_members(table[key]):
            target = namer(member.address, member.port, key.protocol.lower())
            lines.append(f"  -> {target:<28} {' '.join(columns(key, member))}\n")
    return "".join(lines)


def _service_option(key: ServiceKey, namer: Namer) -> str:
    if key.fwmark:
        return f"-f {key.fwmark}"
    flag = {"TCP": "-t", "UDP": "-u", "SCTP": "--sctp-service"}[key.protocol.upper()]
    return f"{flag} {namer(key.address, key.port, key.protocol.lower())}"


def rules(table: Table, namer: Namer = numeric) -> str:
    """ipvsadm -S: the commands that rebuild the table (thresholds are not saved, as in ipvsadm 1.31)."""
    lines = []
    for key in sorted(table, key=_service_order):
        service = table[key]
        line = f"-A {_service_option(key, namer)} -s {service.scheduler}"
        if service.persistence_timeout:
            line += f" -p {service.persistence_timeout}"
            granularity = normalized(service.persistence_granularity, _version(key, service))
            if granularity is not None:
                line += f" -M {granularity}"
        if service.scheduler_flags:
            line += f" -b {','.join(service.scheduler_flags)}"
        lines.append(line + "\n")
        for member in _sorted_members(service):
            destination = service.members()[member]
            target = namer(member.address, member.port, key.protocol.lower())
            line = f"-a {_service_option(key, namer)} -r {target}"
            line += f" {FORWARDING_OPTIONS.get(destination.forwarding, '-m')} -w {destination.weight}"
            if destination.forwarding == "TUN":
                line += " --tun-type ipip"
            lines.append(line + "\n")
    return "".join(lines)


def _sorted_members(service: Service) -> list[DestinationKey]:
    return sorted(service.members(), key=lambda member: (_sortable(member.address), member.port))


@dataclass(frozen=True)
class ConnectionEntry:
    """One connection through the data plane, as `ipvsadm -Lnc` lists it."""

    protocol: str
    expires: int
    state: str
    source: tuple[str, int]
    virtual: tuple[str, int]
    destination: tuple[str, int]


CONNECTIONS_HEADER = (
    "IPVS connection entries\npro expire state       source             virtual            destination\n"
)


def connection_listing(entries: Sequence[ConnectionEntry], namer: Namer = numeric) -> str:
    """ipvsadm -Lc: protocol, time left (mm:ss, six columns wide), state, and the three address:port columns."""
    lines = [CONNECTIONS_HEADER]
    for entry in entries:
        minutes, seconds = divmod(entry.expires, 60)
        protocol = entry.protocol.lower()
        source, virtual = namer(*entry.source, protocol), namer(*entry.virtual, protocol)
        destination = namer(*entry.destination, protocol)
        expires = f"{minutes:02d}:{seconds:02d}"
        lines.append(f"{entry.protocol:<3} {expires:<6} {entry.state:<11} {source:<18} {virtual:<18} {destination}\n")
    return "".join(lines)
