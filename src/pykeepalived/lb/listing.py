"""The table as `ipvsadm -Ln` lists it (ipvsadm 1.31's layout), for whichever data plane carries it."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from .table import DestinationKey, ServiceKey, Table

HEADER = (
    "IP Virtual Server version 1.2.1 (size=4096)\n"
    "Prot LocalAddress:Port Scheduler Flags\n"
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
)
FORWARDING_NAMES = {"NAT": "Masq", "DR": "Route", "TUN": "Tunnel", "LOCAL": "Local"}

Counts = Mapping[ServiceKey, Mapping[DestinationKey, tuple[int, int]]]


def address_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def service_line(key: ServiceKey, scheduler: str, persistence: int, granularity: str | None) -> str:
    name = f"FWM  {key.fwmark}" if key.fwmark else f"{key.protocol.upper()}  {address_port(key.address, key.port)}"
    line = f"{name} {scheduler}"
    if persistence:
        line += f" persistent {persistence}"
        if granularity and not key.fwmark and ":" not in key.address:
            if granularity != "255.255.255.255":
                line += f" mask {granularity}"
        elif granularity and ":" in key.address and int(granularity) != 128:
            # IPv6 granularity is a prefix length.
            line += f" mask {granularity}"
    return line + "\n"


def listing(table: Table, counts: Counts) -> str:
    """Services and their real servers in the order ipvsadm sorts them."""
    lines = [HEADER]
    for key in sorted(table, key=_service_order):
        service = table[key]
        lines.append(service_line(key, service.scheduler, service.persistence_timeout, service.persistence_granularity))
        members = service.members()
        for member in sorted(members, key=lambda m: (_sortable(m.address), m.port)):
            destination = members[member]
            active, inactive = counts.get(key, {}).get(member, (0, 0))
            forwarding = FORWARDING_NAMES.get(destination.forwarding.upper(), destination.forwarding)
            target = address_port(member.address, member.port)
            lines.append(f"  -> {target:<28} {forwarding:<7} {destination.weight:<6} {active:<10} {inactive:<10}\n")
    return "".join(lines)


PROTOCOL_NUMBERS = {"TCP": 6, "UDP": 17, "SCTP": 132}


def _service_order(key: ServiceKey) -> tuple[int, int, int, int, int]:
    """libipvs's order: firewall mark, address family, protocol number, address, port."""
    family, address = _sortable(key.address)
    return (key.fwmark, family, PROTOCOL_NUMBERS.get(key.protocol.upper(), 0), address, key.port)


def _sortable(address: str) -> tuple[int, int]:
    if not address:
        return (0, 0)
    parsed = ipaddress.ip_address(address)
    return (parsed.version, int(parsed))
