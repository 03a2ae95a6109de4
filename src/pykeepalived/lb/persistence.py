"""IPVS's persistence for data planes that keep their own: a client (its address masked by the granularity)
goes back to the real server it last used, as long as it comes back within the timeout."""

from __future__ import annotations

import ipaddress

from .granularity import client_mask, masked
from .table import DestinationKey

# Expired clients are swept once this many have been remembered since the last sweep.
SWEEP_EVERY = 4096


class Persistence:
    def __init__(self, timeout: float, granularity: str | None) -> None:
        self.timeout = timeout
        self.masks = {version: client_mask(granularity, version) for version in (4, 6)}
        self.clients: dict[str, tuple[DestinationKey, float]] = {}
        self.since_sweep = 0

    def client(self, source: str) -> str:
        """The source address under the granularity."""
        address = ipaddress.ip_address(source)
        return masked(address, self.masks[address.version])

    def lookup(self, source: str, now: float) -> DestinationKey | None:
        entry = self.clients.get(self.client(source))
        if entry is None or entry[1] <= now:
            return None
        return entry[0]

    def remember(self, source: str, member: DestinationKey, now: float) -> None:
        self.clients[self.client(source)] = (member, now + self.timeout)
        self.since_sweep += 1
        if self.since_sweep >= SWEEP_EVERY:
            self.since_sweep = 0
            self.clients = {client: entry for client, entry in self.clients.items() if entry[1] > now}

    def forget(self, member: DestinationKey) -> None:
        """A real server left the service: its clients are scheduled afresh."""
        self.clients = {client: entry for client, entry in self.clients.items() if entry[0] != member}
