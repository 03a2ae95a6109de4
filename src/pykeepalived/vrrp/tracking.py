"""Tracked objects and their weights, with keepalived 2.2.7's rules.

An instance tracks scripts, interfaces, files and processes. Each contributes a priority change or a
fault; the instance's effective priority is its base priority plus the contributions, kept within
[1, 254]; the address owner (255) is never changed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

PRIORITY_OWNER = 255
FILE_FAULT_BELOW = -253


class Kind(enum.Enum):
    SCRIPT = "script"
    INTERFACE = "interface"
    FILE = "file"
    PROCESS = "process"


@dataclass(frozen=True)
class Tracked:
    """One object an instance tracks, with the weight that applies to this instance."""

    kind: Kind
    name: str
    weight: int
    reverse: bool = False


def contribution(tracked: Tracked, status: bool | int) -> tuple[int, bool]:
    """(priority change, fault) for one tracked object in `status` (OK/up/running, or a file's value).

    weight 0: failure is a fault. weight > 0: added while OK (reverse: while failing). weight < 0: added
    while failing (reverse: while OK). Files: value x weight is added; 0 weight makes a non-zero value a
    fault; a result below -253 is a fault.
    """
    weight = tracked.weight
    if tracked.kind is Kind.FILE:
        value = int(status)
        if weight == 0:
            return 0, value != 0
        result = -value * weight if tracked.reverse else value * weight
        return (0, True) if result < FILE_FAULT_BELOW else (result, False)
    ok = bool(status)
    if weight == 0:
        return 0, not ok
    good = ok != tracked.reverse
    if weight > 0:
        return (weight if good else 0), False
    return (0 if good else weight), False


def evaluate(base_priority: int, items: list[tuple[Tracked, bool | int]]) -> tuple[int, bool]:
    """(effective priority, fault) from every tracked object's status."""
    total = 0
    fault = False
    for tracked, status in items:
        change, failed = contribution(tracked, status)
        total += change
        fault = fault or failed
    if base_priority == PRIORITY_OWNER:
        return PRIORITY_OWNER, fault
    return min(PRIORITY_OWNER - 1, max(1, base_priority + total)), fault


def instance_health(
    base_priority: int,
    tracked: Iterable[Tracked],
    status: Callable[[Tracked], bool | int],
    track_primary: bool,
    link_up: bool,
) -> tuple[int, bool]:
    """(effective priority, fault) of an instance: what it tracks, and its own interface's link unless it
    does not track it (dont_track_primary)."""
    priority, fault = evaluate(base_priority, [(t, status(t)) for t in tracked])
    return priority, fault or (track_primary and not link_up)


@dataclass
class RiseFall:
    """A script's status: `rise` successes in a row make it OK, `fall` failures in a row make it fail.

    The first result decides at once (keepalived does not wait for rise/fall at start-up).
    """

    rise: int
    fall: int
    ok: bool | None = None
    streak: int = 0

    def result(self, success: bool) -> bool:
        """Record one run; return True if the status changed."""
        if self.ok is None:
            self.ok = success
            return True
        if success == self.ok:
            self.streak = 0
            return False
        self.streak += 1
        if self.streak >= (self.rise if success else self.fall):
            self.ok = success
            self.streak = 0
            return True
        return False
