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
from pykeepalived.vrrp.packet import MCAST_GROUP4, encode, encode_ipv4
from pykeepalived.vrrp.validate import parse_ipv4

VIP = ipaddress.IPv4Address("10.99.1.1")


@dataclass
class Node:
    name: str
    instance: Instance
    alive: bool = True
    timer_version: int = 0


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
        node = Node(f"r{index}", Instance(params))
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
        node.timer_version += 1
        deadline = node.instance.next_deadline
        if deadline is not None:
            self._push(max(deadline, self.now), "timer", node, node.timer_version)

    def _broadcast(self, sender: Node, action: SendAdvert) -> None:
        source = sender.instance.params.primary
        wire = encode_ipv4(encode(action.advert, source, MCAST_GROUP4), source, MCAST_GROUP4, 1)
        for node in self.nodes:
            if node is sender or frozenset((sender.name, node.name)) in self.cut:
                continue
            if self.rng.random() < self.loss:
                continue
            self._push(self.now + self.rng.uniform(*self.delay), "packet", node, wire)

    def start(self, node: Node) -> None:
        node.alive = True
        node.instance = Instance(node.instance.params)
        self._feed(node, Start(self.now))

    def start_all(self) -> None:
        for node in self.nodes:
            self.start(node)

    def set_priority(self, node: Node, priority: int) -> None:
        self._feed(node, PriorityChange(priority, self.now))

    def crash(self, node: Node) -> None:
        node.alive = False

    def stop(self, node: Node) -> None:
        self._feed(node, Stop(self.now))
        node.alive = False

    def run_until(self, until: float) -> None:
        while self.queue and self.queue[0][0] <= until:
            at, _, kind, node, payload = heapq.heappop(self.queue)
            self.now = at
            if not node.alive:
                continue
            if kind == "timer":
                if payload == node.timer_version:
                    self._feed(node, Timer(at))
            else:
                self._feed(node, AdvertIn(parse_ipv4(payload), at))  # type: ignore[arg-type]
        self.now = until

    def masters(self) -> list[Node]:
        return [n for n in self.nodes if n.alive and n.instance.state is State.MASTER]

    def became_master_at(self, name: str, after: float) -> float | None:
        for at, who, state in self.history:
            if who == name and state is State.MASTER and at >= after:
                return at
        return None
