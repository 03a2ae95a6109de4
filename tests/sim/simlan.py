"""A simulated LAN for VRRP engines: a virtual clock, per-packet loss and delay, partitions, crashes."""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import random
from dataclasses import dataclass, field

from pykeepalived.vrrp.instance import (
    AdvertIn,
    Instance,
    Params,
    PriorityChange,
    SendAdvert,
    Start,
    State,
    Stop,
    Timer,
)
from pykeepalived.vrrp.lifetime import AddressLifetime
from pykeepalived.vrrp.packet import MCAST_GROUP4, encode, encode_ipv4
from pykeepalived.vrrp.validate import parse_ipv4

VIP = ipaddress.IPv4Address("10.99.1.1")


@dataclass
class Node:
    name: str
    instance: Instance
    # The VIP's kernel lifetime, renewed by the master's adverts as the daemon does; the kernel keeps
    # the address until it expires, whatever happens to the daemon.
    lifetime: AddressLifetime
    alive: bool = True
    # A stalled daemon (SIGSTOP, starvation): what reaches it waits until then.
    stalled_until: float = 0.0
    timer_version: int = 0
    # The IPv4 identification of its adverts: counted per instance from 1 at start, as keepalived does.
    ip_ident: int = 0

    def holds_vip(self, at: float) -> bool:
        return self.lifetime.expires_at is not None and at < self.lifetime.expires_at


@dataclass
class Lan:
    seed: int = 0
    loss: float = 0.0
    delay: tuple[float, float] = (0.0001, 0.001)
    now: float = 0.0
    nodes: list[Node] = field(default_factory=list)
    # Pairs of node names that cannot hear each other.
    cut: set[frozenset[str]] = field(default_factory=set)
    history: list[tuple[float, str, State]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.queue: list[tuple[float, int, str, Node, object]] = []
        self.counter = itertools.count()

    def add(self, priority: int, version: int = 3, advert_int_cs: int = 100, preempt: bool = True) -> Node:
        index = len(self.nodes) + 1
        params = Params(
            name="VI_1",
            vrid=1,
            version=version,
            priority=priority,
            advert_int_cs=advert_int_cs,
            addresses=(VIP,),
            primary=ipaddress.IPv4Address(f"10.99.0.{10 + index}"),
            preempt=preempt,
        )
        node = Node(f"r{index}", Instance(params), AddressLifetime.for_instance(version, advert_int_cs))
        self.nodes.append(node)
        return node

    def _push(self, at: float, kind: str, node: Node, payload: object = None) -> None:
        heapq.heappush(self.queue, (at, next(self.counter), kind, node, payload))

    def _feed(self, node: Node, event: object) -> None:
        before = node.instance.state
        actions = node.instance.handle(event)  # type: ignore[arg-type]
        if node.instance.state is not before:
            self.history.append((self.now, node.name, node.instance.state))
        for action in actions:
            if isinstance(action, SendAdvert):
                self._broadcast(node, action)
        # The kernel's copy of the VIP: what the daemon's adapter does with the same policy.
        node.lifetime.follow(actions, node.instance.vips_set, self.now)
        node.timer_version += 1
        deadline = node.instance.next_deadline
        if deadline is not None:
            self._push(max(deadline, self.now), "timer", node, node.timer_version)

    def _broadcast(self, sender: Node, action: SendAdvert) -> None:
        source = sender.instance.params.primary
        assert isinstance(source, ipaddress.IPv4Address)
        sender.ip_ident += 1
        wire = encode_ipv4(encode(action.advert, source, MCAST_GROUP4), source, MCAST_GROUP4, sender.ip_ident)
        for node in self.nodes:
            if node is sender or frozenset((sender.name, node.name)) in self.cut:
                continue
            if self.rng.random() < self.loss:
                continue
            self._push(self.now + self.rng.uniform(*self.delay), "packet", node, wire)

    def start(self, node: Node) -> None:
        node.alive = True
        node.ip_ident = 0
        node.instance = Instance(node.instance.params)
        self._feed(node, Start(self.now))

    def start_all(self) -> None:
        for node in self.nodes:
            self.start(node)

    def set_priority(self, node: Node, priority: int) -> None:
        self._feed(node, PriorityChange(priority, self.now))

    def crash(self, node: Node) -> None:
        node.alive = False

    def stall(self, node: Node, seconds: float) -> None:
        node.stalled_until = self.now + seconds

    def stop(self, node: Node) -> None:
        self._feed(node, Stop(self.now))
        node.alive = False

    def run_until(self, until: float) -> None:
        while self.queue and self.queue[0][0] <= until:
            at, _, kind, node, payload = heapq.heappop(self.queue)
            self.now = at
            if not node.alive:
                continue
            if at < node.stalled_until:
                self._push(node.stalled_until, kind, node, payload)
                continue
            if kind == "timer":
                if payload == node.timer_version:
                    self._feed(node, Timer(at))
            else:
                self._feed(node, AdvertIn(parse_ipv4(payload), at))  # type: ignore[arg-type]
        self.now = until

    def longest_time_without_holder(self, start: float, end: float, step: float = 0.001) -> float:
        """Run to `end`, sampling who holds the VIP every `step`; the longest stretch with nobody."""
        longest = current = 0.0
        t = start
        while t < end:
            self.run_until(t)
            if any(n.holds_vip(t) for n in self.nodes):
                current = 0.0
            else:
                current += step
                longest = max(longest, current)
            t += step
        return longest

    def masters(self) -> list[Node]:
        return [n for n in self.nodes if n.alive and n.instance.state is State.MASTER]

    def became_master_at(self, name: str, after: float) -> float | None:
        for at, who, state in self.history:
            if who == name and state is State.MASTER and at >= after:
                return at
        return None
