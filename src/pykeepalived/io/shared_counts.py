"""Active and inactive connections per real server, shared by the proxy's worker processes.

SO_REUSEPORT spreads the clients over the workers, but lc, wlc and the other connection-count schedulers
(and the thresholds) must see every worker's connections. Each (service, real server) pair has a slot,
given by the checker process that feeds the workers; each worker writes only its own column of a file in
/dev/shm that all of them map, so no write is ever shared and no lock is needed.
"""

from __future__ import annotations

import mmap
import os

SLOTS = 1 << 16
COUNTER_BYTES = 8
# Per slot and worker: active connections (TCP), inactive ones (UDP flows).
KINDS = 2


class SharedCounts:
    def __init__(self, path: str, workers: int, index: int) -> None:
        self.path = path
        self.workers = workers
        self.index = index
        size = SLOTS * workers * KINDS * COUNTER_BYTES
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(descriptor).st_size < size:
                os.ftruncate(descriptor, size)
            self.memory = mmap.mmap(descriptor, size)
        finally:
            os.close(descriptor)
        self.counters = memoryview(self.memory).cast("q")

    def publish(self, slot: int, active: int, inactive: int) -> None:
        """This worker's active and inactive connections to the slot's real server."""
        start = (slot * self.workers + self.index) * KINDS
        self.counters[start] = active
        self.counters[start + 1] = inactive

    def others(self, slot: int) -> tuple[int, int]:
        """The other workers' active and inactive connections to the slot's real server."""
        start = slot * self.workers * KINDS
        row = self.counters[start : start + self.workers * KINDS]
        mine = self.index * KINDS
        return sum(row[0::2]) - row[mine], sum(row[1::2]) - row[mine + 1]

    def totals(self, slot: int) -> tuple[int, int]:
        """Every worker's active and inactive connections to the slot's real server."""
        start = slot * self.workers * KINDS
        row = self.counters[start : start + self.workers * KINDS]
        return sum(row[0::2]), sum(row[1::2])

    def close(self) -> None:
        self.counters.release()
        self.memory.close()
