"""Health-check policy with keepalived 2.2.7's semantics, as pure state machines.

A checker's attempt fails `retry` more times (each after delay_before_retry) before the checker goes DOWN;
one success brings it UP. A real server is alive when all its checkers are up (alpha: they start down).
A virtual server has quorum while the weights of its alive real servers reach `quorum` (with `hysteresis`
around it); without quorum, a sorry server replaces the real servers. inhibit_on_failure keeps a dead real
server in the table with weight 0 instead of removing it (ldirectord's quiescent).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ..lb.table import Destination, DestinationKey, Service, ServiceKey


class Next(enum.Enum):
    """When the checker runs again."""

    LOOP = "delay_loop"
    RETRY = "delay_before_retry"


@dataclass
class CheckerPolicy:
    retry: int
    up: bool
    has_run: bool = False
    attempts_failed: int = 0

    def result(self, success: bool) -> tuple[bool | None, Next]:
        """Record one attempt: (new up/down state if it changed or is first known, when to run again)."""
        if not success and self.attempts_failed < self.retry:
            self.attempts_failed += 1
            self.has_run = True
            return None, Next.RETRY
        self.attempts_failed = 0
        changed: bool | None = None
        if success and (not self.up or not self.has_run):
            changed = True
        elif not success and (self.up or not self.has_run):
            changed = False
        if changed is not None:
            self.up = changed
        self.has_run = True
        return changed, Next.LOOP


@dataclass(frozen=True)
class Log:
    message: str


@dataclass(frozen=True)
class Notify:
    """A real server came up or went down, or a virtual server gained or lost quorum."""

    what: str  # "rs_up", "rs_down", "quorum_up", "quorum_down"
    real_server: DestinationKey | None = None


Effect = Log | Notify


@dataclass
class RealServerPolicy:
    key: DestinationKey
    weight: int
    inhibit: bool
    checkers: list[CheckerPolicy]
    forwarding: str = "NAT"
    upper_threshold: int = 0
    lower_threshold: int = 0
    # misc_dynamic: the weight a MISC_CHECK's exit code set, replacing the configured one.
    dynamic_weight: int | None = None

    def destination(self, weight: int) -> Destination:
        return Destination(weight, self.forwarding, self.upper_threshold, self.lower_threshold)

    @property
    def alive(self) -> bool:
        return all(c.up for c in self.checkers)

    @property
    def effective_weight(self) -> int:
        return self.weight if self.dynamic_weight is None else self.dynamic_weight


@dataclass
class VirtualServerPolicy:
    key: ServiceKey
    scheduler: str
    real_servers: list[RealServerPolicy]
    quorum: int = 1
    hysteresis: int = 0
    sorry_server: DestinationKey | None = None
    sorry_inhibit: bool = False
    persistence_timeout: int = 0
    persistence_granularity: str | None = None
    scheduler_flags: tuple[str, ...] = ()
    quorum_up: bool = True
    sorry_active: bool = False
    rs_alive: dict[DestinationKey, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rs_alive = {rs.key: rs.alive for rs in self.real_servers}
        self.quorum_up = self.live_weight() >= self.quorum + self.hysteresis

    def live_weight(self) -> int:
        return sum(rs.effective_weight for rs in self.real_servers if self.rs_alive.get(rs.key))

    def start(self) -> list[Effect]:
        """keepalived's start-up: with quorum down, say so and bring the sorry server in."""
        if self.quorum_up:
            return []
        return self._lose_quorum(self.quorum + self.hysteresis, starting=True)

    def checker_changed(self, rs: RealServerPolicy) -> list[Effect]:
        """A checker of `rs` changed state: update the server's aliveness and the quorum."""
        alive = rs.alive
        if self.rs_alive.get(rs.key) == alive:
            return []
        self.rs_alive[rs.key] = alive
        verb = ("Enabl" if rs.inhibit else "Add") if alive else ("Disabl" if rs.inhibit else "Remov")
        preposition = "of" if rs.inhibit else ("to" if alive else "from")
        effects: list[Effect] = [
            Log(f"{verb}ing service {rs.key.text(self.key.protocol)} {preposition} VS {self.key}"),
            Notify("rs_up" if alive else "rs_down", rs.key),
        ]
        return effects + self._update_quorum()

    def take_over(self, previous: VirtualServerPolicy) -> list[Effect]:
        """A reload: the real servers kept in the new configuration keep their checkers' state, so the table
        changes only where the configuration did; the quorum is then what the kept states make it."""
        before = {rs.key: rs for rs in previous.real_servers}
        for rs in self.real_servers:
            old = before.get(rs.key)
            if old is None:
                continue
            if len(old.checkers) == len(rs.checkers):
                for checker, old_checker in zip(rs.checkers, old.checkers, strict=True):
                    checker.up, checker.has_run = old_checker.up, old_checker.has_run
                    checker.attempts_failed = old_checker.attempts_failed
            rs.dynamic_weight = old.dynamic_weight
            self.rs_alive[rs.key] = previous.rs_alive.get(rs.key, rs.alive)
        self.quorum_up, self.sorry_active = previous.quorum_up, previous.sorry_active
        return self._update_quorum()

    def _update_quorum(self) -> list[Effect]:
        weight = self.live_weight()
        threshold = self.quorum + (-1 if self.quorum_up else 1) * self.hysteresis
        if not self.quorum_up and weight >= threshold:
            self.quorum_up = True
            effects: list[Effect] = [
                Log(f"Gained quorum {self.quorum}+{self.hysteresis}={threshold} <= {weight} for VS {self.key}")
            ]
            if self.sorry_server is not None and self.sorry_active:
                verb = "Disabling" if self.sorry_inhibit else "Removing"
                effects.append(
                    Log(f"{verb} sorry server {self.sorry_server.text(self.key.protocol)} from VS {self.key}")
                )
                effects.append(Log(f"Adding alive servers to the pool for VS {self.key}"))
                self.sorry_active = False
            return [*effects, Notify("quorum_up")]
        if self.quorum_up and (not weight or weight < threshold):
            return self._lose_quorum(threshold, starting=False)
        return []

    def _lose_quorum(self, threshold: int, starting: bool) -> list[Effect]:
        self.quorum_up = False
        reason = "Starting with quorum down" if starting else "Lost quorum"
        effects: list[Effect] = [
            Log(f"{reason} {self.quorum}-{self.hysteresis}={threshold} > {self.live_weight()} for VS {self.key}")
        ]
        if self.sorry_server is not None and not self.sorry_active:
            verb = "Enabling" if self.sorry_inhibit else "Adding"
            effects.append(Log(f"{verb} sorry server {self.sorry_server.text(self.key.protocol)} to VS {self.key}"))
            self.sorry_active = True
        return [*effects, Notify("quorum_down")]

    def desired(self) -> Service:
        """What the data plane should hold for this virtual server now."""
        members: dict[DestinationKey, Destination] = {}
        if self.sorry_server is not None and self.sorry_active:
            members[self.sorry_server] = Destination(1)
        else:
            if self.sorry_server is not None and self.sorry_inhibit:
                members[self.sorry_server] = Destination(0)
            for rs in self.real_servers:
                if self.rs_alive.get(rs.key):
                    members[rs.key] = rs.destination(rs.effective_weight)
                elif rs.inhibit:
                    members[rs.key] = rs.destination(0)
        granularity = self.persistence_granularity if self.persistence_timeout else None
        return Service(self.scheduler, self.persistence_timeout, granularity, members, self.scheduler_flags)
