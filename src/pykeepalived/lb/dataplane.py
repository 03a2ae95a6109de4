"""The contract every data plane keeps (memory, IPVS, nftables, the userspace proxy).

One convention for all: synchronous calls from the checker's event loop, each a short request (a netlink
transaction, a datagram to a worker). The checker plans from what it has applied (`plan(desired, held)`)
and asks the data plane itself (`read`) only to reconcile, at start and on reload: so a restart, or a
service changed by hand with ipvsadm or nft, is put back as the configuration says.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from .table import DestinationKey, Operation, ServiceKey, Table, TableMirror


@dataclass(frozen=True)
class Connections:
    """A real server's connections as IPVS counts them: established TCP is active, the rest inactive."""

    active: int = 0
    inactive: int = 0


Stats = Mapping[ServiceKey, Mapping[DestinationKey, Connections]]


class DataPlane(Protocol):
    name: str

    def read(self, managed: Collection[ServiceKey] | None = None) -> Table:
        """The services the data plane holds now, as it holds them (not what it was last told): those named
        in `managed` (all if None), which it manages from then on (close() removes them). Services someone
        else put in stay out of it, as keepalived leaves them alone."""
        ...

    def apply(self, operations: Sequence[Operation]) -> None:
        """Carry out the operations in order; one the data plane refuses is logged and the others go on."""
        ...

    def stats(self) -> Stats:
        """Connections per real server of the services it holds."""
        ...

    def close(self) -> None:
        """Remove what this process put in (as keepalived removes its virtual servers on stop) and let go."""
        ...


class MemoryPlane:
    """A data plane that only remembers: checks run, nothing carries traffic (--dataplane memory, tests)."""

    name = "memory"

    def __init__(self) -> None:
        self.mirror = TableMirror()

    def read(self, managed: Collection[ServiceKey] | None = None) -> Table:
        return self.mirror.adopt(self.mirror.table(), managed)

    def apply(self, operations: Sequence[Operation]) -> None:
        self.mirror.apply(operations)

    def stats(self) -> Stats:
        return {key: dict.fromkeys(service.members(), Connections()) for key, service in self.mirror.services.items()}

    def close(self) -> None:
        self.mirror = TableMirror()
