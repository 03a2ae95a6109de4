"""keepalived's garp_interval and gna_interval: on an interface (or on all the interfaces of one garp_group
together) at most one gratuitous ARP, or one unsolicited neighbour advert, per interval. The others wait their
turn and, as in keepalived, an address waits once: the repeats of a burst asked for while it waits are dropped.
The intervals come from `garp_group` blocks, else from global_defs' vrrp_garp_interval and vrrp_gna_interval
(each interface on its own)."""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ..config.model import Config
from ..io.timers import TimerHandle
from ..vrrp.packet import IPAddr


@dataclass(frozen=True)
class GarpDelay:
    """Seconds between two gratuitous ARPs (`garp`) / neighbour adverts (`gna`) of one group; 0: no pacing."""

    garp: float = 0.0
    gna: float = 0.0

    def interval(self, family: int) -> float:
        return self.garp if family == 4 else self.gna


def garp_delays(config: Config, interfaces: list[str], logger: logging.Logger) -> dict[str, tuple[str, GarpDelay]]:
    """Interface name -> (pacing group, delay) for the interfaces that have one."""
    found: dict[str, tuple[str, GarpDelay]] = {}
    groups = [option for option in config.options if option.keyword == "garp_group"]
    for index, group in enumerate(groups):
        values = {"garp_interval": 0.0, "gna_interval": 0.0}
        names: list[str] = []
        in_list = False
        for words in group.items:
            if in_list:
                in_list = "}" not in words
                names += _names(words)
            elif words[0] in values and len(words) > 1:
                try:
                    values[words[0]] = float(Decimal(words[1]))
                except InvalidOperation:
                    logger.warning(f"garp_group {words[0]} '{words[1]}' invalid")
            elif words[0] == "interface" and len(words) > 1:
                names.append(words[1])
            elif words[0] == "interfaces":
                in_list = "}" not in words
                names += _names(words[1:])
        for name in names:
            # keepalived: an interface's first garp_group is its own.
            found.setdefault(name, (f"garp_group {index}", GarpDelay(values["garp_interval"], values["gna_interval"])))
    default = GarpDelay(config.global_defs.vrrp_garp_interval, config.global_defs.vrrp_gna_interval)
    if default != GarpDelay():
        for name in interfaces:
            found.setdefault(name, (name, default))
    return found


def _names(words: tuple[str, ...]) -> list[str]:
    return [word for word in words if word not in ("{", "}")]


# Whose announcement (instance name) of which address.
Pending = tuple[str, IPAddr]


@dataclass
class Pacer:
    """One send at once, then one per interval, in order."""

    interval: float
    clock: Callable[[], float]
    schedule: Callable[[float, Callable[[], None]], TimerHandle]
    next_at: float = 0.0
    waiting: collections.OrderedDict[Pending, Callable[[], None]] = field(default_factory=collections.OrderedDict)
    timer: TimerHandle | None = None

    def send(self, pending: Pending, send: Callable[[], None]) -> None:
        now = self.clock()
        if not self.waiting and now >= self.next_at:
            self._send(send, now)
            return
        self.waiting.setdefault(pending, send)
        if self.timer is None:
            self.timer = self.schedule(self.next_at, self._next)

    def forget(self, owner: str) -> None:
        """An instance that left MASTER: its addresses are not announced any more."""
        for pending in [p for p in self.waiting if p[0] == owner]:
            del self.waiting[pending]

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.waiting.clear()

    def _send(self, send: Callable[[], None], now: float) -> None:
        send()
        self.next_at = now + self.interval

    def _next(self) -> None:
        self.timer = None
        if not self.waiting:
            return
        _, send = self.waiting.popitem(last=False)
        self._send(send, self.clock())
        if self.waiting:
            self.timer = self.schedule(self.next_at, self._next)


class GarpPacing:
    """The pacers of a configuration, by (pacing group, address family)."""

    def __init__(
        self,
        delays: dict[str, tuple[str, GarpDelay]],
        clock: Callable[[], float],
        schedule: Callable[[float, Callable[[], None]], TimerHandle],
    ) -> None:
        self.delays = delays
        self.clock = clock
        self.schedule = schedule
        self.pacers: dict[tuple[str, int], Pacer] = {}

    def send(self, owner: str, interface: str, address: IPAddr, send: Callable[[], None]) -> None:
        group, delay = self.delays.get(interface, ("", GarpDelay()))
        family = address.version
        interval = delay.interval(family)
        if not interval:
            send()
            return
        pacer = self.pacers.get((group, family))
        if pacer is None:
            pacer = self.pacers[(group, family)] = Pacer(interval, self.clock, self.schedule)
        pacer.send((owner, address), send)

    def forget(self, owner: str) -> None:
        for pacer in self.pacers.values():
            pacer.forget(owner)

    def close(self) -> None:
        for pacer in self.pacers.values():
            pacer.close()
