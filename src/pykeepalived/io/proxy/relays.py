"""The proxy inside a worker process: the table's operations become listening services, and a real server
taken out of the table only stops getting new connections: the open ones finish (IPVS's drain)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ...lb.schedulers import Member, make_scheduler
from ...lb.table import (
    AddDestination,
    AddService,
    DeleteService,
    Destination,
    DestinationKey,
    EditDestination,
    EditService,
    Operation,
    Service,
    ServiceKey,
    Table,
    service_of,
    with_members,
)
from ..errors import UnsupportedService
from ..shared_counts import SharedCounts
from .service import (
    Closable,
    Counters,
    ProxiedMember,
    ProxyService,
    persistence_of,
    persistence_settings,
)
from .tcp import TcpProxyService
from .udp import UdpProxyService


def proxy_service(
    key: ServiceKey, service: Service, loop: asyncio.AbstractEventLoop, shared: SharedCounts | None
) -> ProxyService:
    if key.fwmark:
        raise UnsupportedService(f"the proxy data plane cannot carry firewall-mark services ({key})")
    kinds: dict[str, type[ProxyService]] = {"TCP": TcpProxyService, "UDP": UdpProxyService}
    kind = kinds.get(key.protocol.upper())
    if kind is None:
        raise UnsupportedService(f"the proxy data plane carries TCP and UDP services, not {key}")
    return kind(key, service, loop, shared)


ErrorHandler = Callable[[ServiceKey, Exception], None]


class ProxyRelays:
    """The data plane as user-space relays in this process's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, shared: SharedCounts | None = None) -> None:
        self.loop = loop
        self.shared = shared
        self.services: dict[ServiceKey, ProxyService] = {}
        self.listening: dict[ServiceKey, asyncio.Task[Closable]] = {}
        self.slots: dict[tuple[ServiceKey, DestinationKey], int] = {}

    def set_slots(self, slots: dict[tuple[ServiceKey, DestinationKey], int]) -> None:
        """Where each (service, real server) counts its connections in the shared counts."""
        self.slots = slots
        for key, proxy in self.services.items():
            for member_key, proxied in proxy.members.items():
                proxied.slot = slots.get((key, member_key))

    def read(self) -> Table:
        return {
            key: with_members(proxy.service, {member_key: p.destination for member_key, p in proxy.members.items()})
            for key, proxy in self.services.items()
        }

    def apply(self, operations: list[Operation], on_error: ErrorHandler | None = None) -> None:
        """Carry out the operations; with `on_error`, a service that cannot be served is reported and skipped
        (with its members, until a later table) instead of stopping the batch."""
        changed: dict[ServiceKey, ProxyService] = {}
        try:
            for operation in operations:
                service = service_of(operation)
                if on_error is None:
                    self._apply_one(operation, changed)
                elif isinstance(operation, AddService) or service in self.services:
                    try:
                        self._apply_one(operation, changed)
                    except (OSError, ValueError) as error:
                        on_error(service, error)
        finally:
            # Once per service and batch: rebuilding sh/mh tables per member would make a reload quadratic.
            for key, proxy in changed.items():
                if self.services.get(key) is proxy:
                    proxy.members_changed()

    def _apply_one(self, operation: Operation, changed: dict[ServiceKey, ProxyService]) -> None:
        if isinstance(operation, AddService):
            proxy = proxy_service(operation.key, operation.service, self.loop, self.shared)
            self.listening[operation.key] = proxy.listen()
            self.services[operation.key] = proxy
        elif isinstance(operation, EditService):
            proxy = self.services[operation.key]
            scheduling = (operation.service.scheduler, operation.service.scheduler_flags)
            if scheduling != (proxy.service.scheduler, proxy.service.scheduler_flags):
                proxy.scheduler = make_scheduler(*scheduling)
            if persistence_settings(operation.service) != persistence_settings(proxy.service):
                proxy.persistence = persistence_of(operation.service)
            proxy.service = operation.service
            changed[operation.key] = proxy
        elif isinstance(operation, DeleteService):
            self.services.pop(operation.key).close()
            self.listening.pop(operation.key).add_done_callback(lambda task: task.result().close())
        elif isinstance(operation, AddDestination | EditDestination):
            changed[operation.service] = self._set_member(operation.service, operation.key, operation.destination)
        else:
            proxy = self.services[operation.service]
            proxy.members.pop(operation.key, None)
            if proxy.persistence is not None:
                proxy.persistence.forget(operation.key)
            changed[operation.service] = proxy

    def _set_member(self, service: ServiceKey, key: DestinationKey, destination: Destination) -> ProxyService:
        proxy = self.services[service]
        proxied = proxy.members.get(key)
        if proxied is None:
            proxied = ProxiedMember(Member(key, destination.weight), destination, slot=self.slots.get((service, key)))
            proxy.members[key] = proxied
        proxied.destination = destination
        proxied.member.weight = destination.weight
        proxied.member.upper_threshold = destination.upper_threshold
        proxied.member.lower_threshold = destination.lower_threshold
        proxied.member.update_overload()
        return proxy

    def stats(self) -> dict[ServiceKey, dict[DestinationKey, tuple[Member, Counters]]]:
        """Members (their active connections across the workers) and this process's counters."""
        for proxy in self.services.values():
            proxy.refresh_totals()
        return {
            key: {member_key: (p.member, p.counters) for member_key, p in proxy.members.items()}
            for key, proxy in self.services.items()
        }

    async def close(self) -> None:
        for task in self.listening.values():
            (await task).close()
        for proxy in self.services.values():
            proxy.close()
        self.listening.clear()
        self.services.clear()
