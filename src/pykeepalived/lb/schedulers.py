"""IPVS's schedulers, as the kernel defines them, for data planes that pick real servers themselves.

Each scheduler sees the service's members in configuration order, with their weights and connection
counts, and picks one for a new connection (or None: the connection is refused, as IPVS does).

Over 400 lines: IPVS's thirteen schedulers, one small class each, kept side by side to compare with ip_vs_*.c.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from .table import DestinationKey

HASH_BUCKETS = 256
MAGLEV_TABLE_SIZE = 251
GOLDEN_RATIO_32 = 0x61C88647
KNUTH_MULTIPLIER = 2654435761
LBLCR_SHRINK_AFTER = 24 * 3600.0


@dataclass(frozen=True)
class Flow:
    """What hashing schedulers look at in a new connection."""

    source: str
    source_port: int = 0
    target: str = ""
    # The data plane's clock, in seconds: lblcr ages its server sets by it.
    now: float = 0.0


@dataclass
class Member:
    """A real server as a scheduler sees it: IPVS's weight, thresholds and connection counters."""

    key: DestinationKey
    weight: int
    upper_threshold: int = 0
    lower_threshold: int = 0
    active: int = 0
    inactive: int = 0
    overloaded: bool = False

    def usable(self) -> bool:
        return self.weight > 0 and not self.overloaded

    def update_overload(self) -> None:
        """IPVS sets the overload flag at the upper threshold and clears it below the lower (or 3/4 of the upper)."""
        if not self.upper_threshold:
            self.overloaded = False
            return
        connections = self.active + self.inactive
        if connections >= self.upper_threshold:
            self.overloaded = True
        elif self.overloaded:
            lower = self.lower_threshold or self.upper_threshold * 3 // 4
            if connections < lower:
                self.overloaded = False

    def overhead(self) -> int:
        """IPVS's cost of a server for lc and wlc: an active connection weighs 256 inactive ones."""
        return self.active * 256 + self.inactive


def folded_address(address: str) -> int:
    """IPVS folds an IPv6 address into 32 bits by xor of its words."""
    value = int(ipaddress.ip_address(address))
    folded = 0
    while value:
        folded ^= value & 0xFFFFFFFF
        value >>= 32
    return folded


class Scheduler:
    name = ""

    def update(self, members: Sequence[Member]) -> None:
        """The service's members changed (added, removed, reweighted)."""

    def pick(self, members: Sequence[Member], flow: Flow) -> Member | None:
        raise NotImplementedError


def _least(members: Sequence[Member], cost: Callable[[Member], int]) -> Member | None:
    """The usable member with the least cost per weight; the first in order wins a tie, as in IPVS."""
    least: Member | None = None
    least_cost = 0
    for member in members:
        if not member.usable():
            continue
        member_cost = cost(member)
        if least is None or least_cost * member.weight > member_cost * least.weight:
            least, least_cost = member, member_cost
    return least


class RoundRobin(Scheduler):
    name = "rr"

    def __init__(self) -> None:
        self.last: DestinationKey | None = None
        self.last_index = -1
        self.order: list[DestinationKey] = []

    def update(self, members: Sequence[Member]) -> None:
        keys = [member.key for member in members]
        if self.last is not None and self.last not in keys and self.last in self.order:
            # As IPVS does when the last one picked is removed: go on from the one before it in the list.
            kept = set(keys)
            earlier = self.order[: self.order.index(self.last)]
            self.last = next((key for key in reversed(earlier) if key in kept), None)
        self.order = keys

    def pick(self, members: Sequence[Member], flow: Flow) -> Member | None:
        if not members:
            return None
        if 0 <= self.last_index < len(members) and members[self.last_index].key == self.last:
            start = self.last_index + 1
        else:
            # The members changed since the last pick: go on after the last one picked, wherever it is now.
            start = next((i + 1 for i, member in enumerate(members) if member.key == self.last), 0)
        for offset in range(len(members)):
            index = (start + offset) % len(members)
            member = members[index]
            if member.usable():
                self.last, self.last_index = member.key, index
                return member
        return None


class WeightedRoundRobin(Scheduler):
    """Interleaved weighted round robin: the current weight steps down by the weights' gcd."""

    name = "wrr"

    def __init__(self) -> None:
        self.index = -1
        self.current_weight = 0

    def update(self, members: Sequence[Member]) -> None:
        self.index = -1
        self.current_weight = 0

    def pick(self, members: Sequence[Member], flow: Flow) -> Member | None:
        weights = [member.weight for member in members if member.weight > 0]
        if not weights:
            return None
        step, top = math.gcd(*weights), max(weights)
        self.current_weight = min(self.current_weight, top)
        for _ in range(len(members) * (top // step + 1)):
            self.index = (self.index + 1) % len(members)
            if self.index == 0:
                self.current_weight -= step
                if self.current_weight <= 0:
                    self.current_weight = top
            member = members[self.index]
            if member.weight >= self.current_weight and member.usable():
                return member
        return None


class LeastConnection(Scheduler):
    name = "lc"

    def pick(self, members: Sequence[Member], flow: Flow) -> Member | None:
        least: Member | None = None
        for member in members:
            if member.usable() and (least is None or member.overhead() < least.overhead()):
                least = member
        return least


class WeightedLeastConnection(Scheduler):
    name = "wlc"

    def pick(self, members: Sequence[Member], flow: Flow) -> Member | None:
        return _least(members, Member.overhead)


class ShortestExpectedDelay(Scheduler):
    name = "sed"

    def pick(self, members: Sequence[Member], flow: Flow) -> Member | None:
        return _least(members, lambda member: member.active + 1)


class NeverQueue(Scheduler):
    """An idle server first; otherwise the shortest expected delay."""

    name = "nq"

    def pick(self, members: Sequence[Member], flow: Flow) -> Member | None:
        for member in members:
            if member.usable() and member.active == 0:
                return member
        return _least(members, lambda member: member.active + 1)


class WeightedFailover(Scheduler):
    """The usable server of highest weight takes every connection."""

    name = "fo"

    def pick(self, members: Sequence[Member], flow: Flow) -> Member | None:
        return _heaviest(member for member in members if member.usable())


class WeightedOverflow(Scheduler):
    """The highest-weight server until its active connections reach its weight, then the next."""

    name = "ovf"

    def pick(self, members: Sequence[Member], flow: Flow) -> Member | None:
        return _heaviest(member for member in members if member.usable() and member.active < member.weight)


def _heaviest(candidates: Iterable[Member]) -> Member | None:
    """The candidate of highest weight; the first in order wins a tie, as in IPVS."""
    best: Member | None = None
    for member in candidates:
        if best is None or member.weight > best.weight:
            best = member
    return best


def _usable_by_key(members: Sequence[Member], key: DestinationKey | None) -> Member | None:
    member = next((m for m in members if m.key == key), None) if key is not None else None
    return member if member is not None and member.usable() else None


class SourceHashing(Scheduler):
    """256 buckets filled in order, each server taking as many consecutive buckets as its weight (one at 0)."""

    name = "sh"

    def __init__(self, fallback: bool = False, with_port: bool = False) -> None:
        self.fallback = fallback
        self.with_port = with_port
        self.buckets: list[DestinationKey | None] = [None] * HASH_BUCKETS

    def update(self, members: Sequence[Member]) -> None:
        self.buckets = [None] * HASH_BUCKETS
        if not members:
            return
        index, used = 0, 0
        for bucket in range(HASH_BUCKETS):
            member = members[index]
            self.buckets[bucket] = member.key
            used += 1
            if used >= member.weight:
                index, used = (index + 1) % len(members), 0

    def bucket(self, flow: Flow, offset: int = 0) -> int:
        value = (folded_address(flow.source) + (flow.source_port if self.with_port else 0)) & 0xFFFFFFFF
        return (offset + (((value * GOLDEN_RATIO_32) & 0xFFFFFFFF) >> (32 - 8))) % HASH_BUCKETS

    def pick(self, members: Sequence[Member], flow: Flow) -> Member | None:
        for offset in range(HASH_BUCKETS if self.fallback else 1):
            member = _usable_by_key(members, self.buckets[self.bucket(flow, offset)])
            if member is not None:
                return member
        return None


class DestinationHashing(Scheduler):
    """256 buckets dealt round robin to the servers, indexed by the connection's destination address."""

    name = "dh"

    def __init__(self) -> None:
        self.buckets: list[DestinationKey | None] = [None] * HASH_BUCKETS

    def update(self, members: Sequence[Member]) -> None:
        self.buckets = [members[i % len(members)].key if members else None for i in range(HASH_BUCKETS)]

    def pick(self, members: Sequence[Member], flow: Flow) -> Member | None:
        return _usable_by_key(members, self.buckets[(folded_address(flow.target) * KNUTH_MULTIPLIER) % HASH_BUCKETS])


class MaglevHashing(Scheduler):
    """Maglev consistent hashing over IPVS's 251-entry table, keyed on the source (and port with mh-port).

    The slots follow Maglev's permutations with fixed keys, so a table is the same after every reload;
    the hash function is BLAKE2b rather than the kernel's hsiphash, so slot positions differ from IPVS's.
    """

    name = "mh"

    def __init__(self, fallback: bool = False, with_port: bool = False) -> None:
        self.fallback = fallback
        self.with_port = with_port
        self.buckets: list[DestinationKey | None] = [None] * MAGLEV_TABLE_SIZE

    @staticmethod
    def _hash(text: str, key: bytes) -> int:
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8, key=key).digest(), "big")

    def update(self, members: Sequence[Member]) -> None:
        self.buckets = [None] * MAGLEV_TABLE_SIZE
        weighted = [member for member in members if member.weight > 0]
        if not weighted:
            return
        divisor = math.gcd(*(member.weight for member in weighted))
        turns = [member.weight // divisor for member in weighted]
        while sum(turns) > MAGLEV_TABLE_SIZE:
            turns = [max(turn // 2, 1) for turn in turns]
        offsets = [self._hash(str(m.key), b"offset") % MAGLEV_TABLE_SIZE for m in weighted]
        skips = [self._hash(str(m.key), b"skip") % (MAGLEV_TABLE_SIZE - 1) + 1 for m in weighted]
        tried = [0] * len(weighted)
        filled = 0
        while True:
            for index, member in enumerate(weighted):
                for _ in range(turns[index]):
                    slot = (offsets[index] + tried[index] * skips[index]) % MAGLEV_TABLE_SIZE
                    while self.buckets[slot] is not None:
                        tried[index] += 1
                        slot = (offsets[index] + tried[index] * skips[index]) % MAGLEV_TABLE_SIZE
                    self.buckets[slot] = member.key
                    filled += 1
                    if filled == MAGLEV_TABLE_SIZE:
                        return

    def pick(self, members: Sequence[Member], flow: Flow) -> Member | None:
        source = f"{flow.source}:{flow.source_port}" if self.with_port else flow.source
        start = self._hash(source, b"flow") % MAGLEV_TABLE_SIZE
        for offset in range(MAGLEV_TABLE_SIZE if self.fallback else 1):
            member = _usable_by_key(members, self.buckets[(start + offset) % MAGLEV_TABLE_SIZE])
            if member is not None:
                return member
        return None


def _busy(member: Member, members: Sequence[Member]) -> bool:
    """IPVS's lblc/lblcr overload test: over its weight while some other server is under half of its own."""
    if member.active <= member.weight:
        return False
    return any(other.active * 2 < other.weight for other in members)


class LocalityLeastConnection(Scheduler):
    """A destination address keeps its server until that server is busy; new ones go by weighted least load."""

    name = "lblc"

    def __init__(self) -> None:
        self.assigned: dict[str, DestinationKey] = {}

    def update(self, members: Sequence[Member]) -> None:
        keys = {member.key for member in members}
        self.assigned = {target: key for target, key in self.assigned.items() if key in keys}

    def pick(self, members: Sequence[Member], flow: Flow) -> Member | None:
        member = _usable_by_key(members, self.assigned.get(flow.target))
        if member is not None and not _busy(member, members):
            return member
        chosen = _least(members, Member.overhead)
        if chosen is not None:
            self.assigned[flow.target] = chosen.key
        return chosen


class LocalityLeastConnectionReplicated(Scheduler):
    """A destination address has a set of servers; the set grows when its least loaded member is busy,
    and sheds its most loaded member when it has not changed for a day (IPVS's lblcr_expiration)."""

    name = "lblcr"

    def __init__(self) -> None:
        self.sets: dict[str, tuple[list[DestinationKey], float]] = {}

    def update(self, members: Sequence[Member]) -> None:
        keys = {member.key for member in members}
        self.sets = {target: ([k for k in ks if k in keys], at) for target, (ks, at) in self.sets.items()}

    def pick(self, members: Sequence[Member], flow: Flow) -> Member | None:
        now = flow.now
        keys, changed_at = self.sets.get(flow.target, ([], now))
        by_key = {member.key: member for member in members}
        in_set = [by_key[key] for key in keys if key in by_key]
        chosen = _least(in_set, Member.overhead)
        if len(in_set) > 1 and now - changed_at > LBLCR_SHRINK_AFTER:
            most = max(in_set, key=lambda m: Fraction(m.overhead(), max(m.weight, 1)))
            keys = [key for key in keys if key != most.key]
            changed_at = now
        if chosen is None or _busy(chosen, members):
            chosen = _least(members, Member.overhead)
            if chosen is None:
                return None
            if chosen.key not in keys:
                keys = [*keys, chosen.key]
                changed_at = now
        self.sets[flow.target] = (keys, changed_at)
        return chosen


# The schedulers that pick by the servers' connection counts (the others need no counts to pick).
CONNECTION_COUNT_SCHEDULERS = frozenset({"lc", "wlc", "sed", "nq", "ovf", "lblc", "lblcr"})

SCHEDULERS: dict[str, Callable[[], Scheduler]] = {
    cls.name: cls
    for cls in (
        RoundRobin,
        WeightedRoundRobin,
        LeastConnection,
        WeightedLeastConnection,
        ShortestExpectedDelay,
        NeverQueue,
        WeightedFailover,
        WeightedOverflow,
        SourceHashing,
        DestinationHashing,
        MaglevHashing,
        LocalityLeastConnection,
        LocalityLeastConnectionReplicated,
    )
}


def make_scheduler(name: str, flags: Sequence[str] = ()) -> Scheduler:
    """A scheduler by its ipvsadm name; sh and mh take keepalived's sh-fallback/sh-port (mh-*) flags."""
    if name in ("sh", "mh"):
        hashing = SourceHashing if name == "sh" else MaglevHashing
        return hashing(fallback=f"{name}-fallback" in flags, with_port=f"{name}-port" in flags)
    try:
        return SCHEDULERS[name]()
    except KeyError:
        raise ValueError(f"unknown scheduler {name!r}: expected one of {', '.join(sorted(SCHEDULERS))}") from None
