"""The load-balancer table: virtual services and their destinations, and the plan from one table to another.

Applying the same desired table twice plans nothing; a change plans only what changed.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address


class IpProtocol(enum.StrEnum):
    """A service's protocol, as keepalived and ipvsadm name it (a str: it prints and serialises as its name)."""

    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"

    @property
    def number(self) -> int:
        return PROTOCOL_NUMBERS[self]


# IP protocol numbers of the services' protocols (IPVS, conntrack and libipvs's sort order use them).
PROTOCOL_NUMBERS = {IpProtocol.TCP: 6, IpProtocol.UDP: 17, IpProtocol.SCTP: 132}
PROTOCOL_NAMES = {number: name for name, number in PROTOCOL_NUMBERS.items()}


def canonical_address(address: str) -> str:
    """The address as ipaddress writes it (2001:DB8:0::1 is 2001:db8::1): one service has one key. Keys keep
    the text, which sorts and serialises; `.ip` gives the address object."""
    return str(ipaddress.ip_address(address))


@dataclass(frozen=True, order=True)
class ServiceKey:
    """A virtual service: address, port and protocol, or a firewall mark."""

    protocol: IpProtocol
    address: str = ""
    port: int = 0
    fwmark: int = 0

    def __post_init__(self) -> None:
        # Read back from JSON (the state files, the proxy's feed) the protocol is a plain name.
        object.__setattr__(self, "protocol", IpProtocol(str(self.protocol).upper()))
        if self.address:
            object.__setattr__(self, "address", canonical_address(self.address))

    @property
    def ip(self) -> IPAddr | None:
        return ipaddress.ip_address(self.address) if self.address else None

    def __str__(self) -> str:
        """As keepalived prints a virtual server: [10.99.1.1]:tcp:80, FWM 7."""
        if self.fwmark:
            return f"FWM {self.fwmark}"
        return f"{bracketed(self.address)}:{self.protocol.lower()}:{self.port}"


def bracketed(address: str) -> str:
    """keepalived writes every address in brackets: [10.0.0.1], [2001:db8::1]."""
    return f"[{address}]"


@dataclass(frozen=True, order=True)
class DestinationKey:
    address: str
    port: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", canonical_address(self.address))

    @property
    def ip(self) -> IPAddr:
        return ipaddress.ip_address(self.address)

    def text(self, protocol: str) -> str:
        """As keepalived prints a real server: [10.99.0.12]:tcp:80."""
        return f"{bracketed(self.address)}:{protocol.lower()}:{self.port}"


@dataclass(frozen=True)
class Destination:
    weight: int
    forwarding: str = "NAT"
    upper_threshold: int = 0
    lower_threshold: int = 0


@dataclass(frozen=True)
class Service:
    scheduler: str
    persistence_timeout: int = 0
    persistence_granularity: str | None = None
    destinations: Mapping[DestinationKey, Destination] | None = None
    # sh-fallback, sh-port, mh-fallback, mh-port: in IPVS's flag order (as ipvsadm lists them)
    scheduler_flags: tuple[str, ...] = ()

    def members(self) -> Mapping[DestinationKey, Destination]:
        return self.destinations or {}


Table = Mapping[ServiceKey, Service]


@dataclass(frozen=True)
class AddService:
    key: ServiceKey
    service: Service


@dataclass(frozen=True)
class EditService:
    key: ServiceKey
    service: Service


@dataclass(frozen=True)
class DeleteService:
    key: ServiceKey


@dataclass(frozen=True)
class AddDestination:
    service: ServiceKey
    key: DestinationKey
    destination: Destination


@dataclass(frozen=True)
class EditDestination:
    service: ServiceKey
    key: DestinationKey
    destination: Destination


@dataclass(frozen=True)
class DeleteDestination:
    service: ServiceKey
    key: DestinationKey


Operation = AddService | EditService | DeleteService | AddDestination | EditDestination | DeleteDestination


def service_of(operation: Operation) -> ServiceKey:
    if isinstance(operation, AddService | EditService | DeleteService):
        return operation.key
    return operation.service


def _same_settings(a: Service, b: Service) -> bool:
    return (a.scheduler, a.persistence_timeout, a.persistence_granularity, a.scheduler_flags) == (
        b.scheduler,
        b.persistence_timeout,
        b.persistence_granularity,
        b.scheduler_flags,
    )


def plan(desired: Table, actual: Table) -> list[Operation]:
    """The operations that turn `actual` into `desired`, services before their destinations."""
    operations: list[Operation] = []
    for key in sorted(desired):
        want = desired[key]
        have = actual.get(key)
        if have is None:
            operations.append(AddService(key, want))
            have_members: Mapping[DestinationKey, Destination] = {}
        else:
            if not _same_settings(want, have):
                operations.append(EditService(key, want))
            have_members = have.members()
        for member, destination in sorted(want.members().items()):
            current = have_members.get(member)
            if current is None:
                operations.append(AddDestination(key, member, destination))
            elif current != destination:
                operations.append(EditDestination(key, member, destination))
        for member in sorted(set(have_members) - set(want.members())):
            operations.append(DeleteDestination(key, member))
    for key in sorted(set(actual) - set(desired)):
        operations.append(DeleteService(key))
    return operations


class TableMirror:
    """A table kept up to date operation by operation: how a data plane remembers what it was given."""

    def __init__(self, services: Table | None = None) -> None:
        self.services: dict[ServiceKey, Service] = dict(services or {})

    def table(self) -> Table:
        return dict(self.services)

    def adopt(self, found: Table, managed: Collection[ServiceKey] | None) -> Table:
        """Of what a data plane holds, the services this process manages (all of them if None), remembered as
        applied: later operations on them, and removing them on stop, start from there."""
        held = dict(found) if managed is None else {key: found[key] for key in managed if key in found}
        for key in list(self.services) if managed is None else managed:
            self.services.pop(key, None)
        self.services.update(held)
        return held

    def apply(self, operations: Sequence[Operation]) -> None:
        # Each changed service's members are rebuilt once per batch, not per operation (1,000 real servers).
        members: dict[ServiceKey, dict[DestinationKey, Destination]] = {}

        def editable(key: ServiceKey) -> dict[DestinationKey, Destination]:
            if key not in members:
                members[key] = dict(self.services[key].members())
            return members[key]

        for operation in operations:
            if isinstance(operation, AddService | EditService):
                kept = editable(operation.key) if operation.key in self.services else {}
                self.services[operation.key] = operation.service
                members[operation.key] = kept
            elif isinstance(operation, DeleteService):
                del self.services[operation.key]
                members.pop(operation.key, None)
            elif isinstance(operation, AddDestination | EditDestination):
                editable(operation.service)[operation.key] = operation.destination
            else:
                editable(operation.service).pop(operation.key, None)
        for key, service_members in members.items():
            self.services[key] = with_members(self.services[key], service_members)


def with_members(service: Service, members: Mapping[DestinationKey, Destination]) -> Service:
    return dataclasses.replace(service, destinations=dict(members))


TableData = list[dict[str, Any]]


def table_to_data(table: Table) -> TableData:
    """The table as JSON-ready data: how it leaves the process that holds it."""
    return [
        {
            "key": dataclasses.asdict(key),
            "service": {
                "scheduler": service.scheduler,
                "persistence_timeout": service.persistence_timeout,
                "persistence_granularity": service.persistence_granularity,
                "scheduler_flags": list(service.scheduler_flags),
                "destinations": [
                    {"key": dataclasses.asdict(member), "destination": dataclasses.asdict(destination)}
                    for member, destination in service.members().items()
                ],
            },
        }
        for key, service in table.items()
    ]


def table_from_data(data: TableData) -> Table:
    table: dict[ServiceKey, Service] = {}
    for entry in data:
        service = entry["service"]
        members = {
            DestinationKey(**member["key"]): Destination(**member["destination"]) for member in service["destinations"]
        }
        table[ServiceKey(**entry["key"])] = Service(
            service["scheduler"],
            service["persistence_timeout"],
            service["persistence_granularity"],
            members or None,
            tuple(service.get("scheduler_flags", ())),
        )
    return table
