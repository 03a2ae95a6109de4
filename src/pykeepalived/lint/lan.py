"""A simulated LAN with a virtual clock for a whole cluster: each node's instances are the engines the VRRP
process runs (`vrrp.instance.Instance`), wired with their sync groups and tracking as it wires them
(`vrrp.node.NodeEngines`, `vrrp.tracking.instance_health`); adverts cross it as encoded packets and are
parsed and judged by the same code as on a real socket.

Faults: a node powered off (its addresses go with it), its daemon stopped (priority 0 advert), a tracked
object's status, an interface's link, and partitions (pairs of nodes that cannot hear each other).
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..vrrp.ah import encode_ah_ipv4
from ..vrrp.instance import (
    Action,
    AdvertIn,
    Event,
    Instance,
    Log,
    SendAdvert,
    State,
    StateChange,
    Stop,
    Timer,
)
from ..vrrp.node import NodeEngines
from ..vrrp.packet import AUTH_AH, DecodeError, IPAddr, encode, encode_ipv4
from ..vrrp.sync_group import SyncGroup
from ..vrrp.tracking import Kind, instance_health
from ..vrrp.validate import parse_ipv4, parse_ipv6
from .cluster import Cluster, Member, PairKey

Status = bool | int


@dataclass
class Running:
    member: Member
    key: PairKey
    engine: Instance
    timer_version: int = 0
    ip_ident: int = 0
    drops_seen: int = 0


@dataclass
class SimNode:
    name: str
    running: dict[str, Running]
    # Tracked objects' statuses (scripts, files, processes, interfaces by name).
    status: dict[tuple[Kind, str], Status]
    links: dict[str, bool]
    engines: NodeEngines | None = None
    alive: bool = True

    @property
    def groups(self) -> list[SyncGroup]:
        return self.engines.groups if self.engines else []

    @property
    def group_of(self) -> dict[str, SyncGroup]:
        return self.engines.group_of if self.engines else {}


@dataclass(frozen=True)
class Change:
    """One instance changed state (or lost its addresses with its node)."""

    at: float
    node: str
    instance: str
    state: State
    priority: int


@dataclass
class Lan:
    cluster: Cluster
    seed: int = 0
    # One-way delay of a packet: the simulation does not model load, only order.
    delay: tuple[float, float] = (0.0002, 0.002)
    now: float = 0.0
    cut: set[frozenset[str]] = field(default_factory=set)
    history: list[Change] = field(default_factory=list)
    # Who held each virtual router's addresses, after every change of state.
    held: dict[PairKey, list[tuple[float, tuple[str, ...]]]] = field(default_factory=dict)
    # The first reason each instance dropped adverts for, with how many it dropped.
    drops: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.queue: list[tuple[float, int, str, str, str, object]] = []
        self.counter = itertools.count()
        keys = {id(m): key for key, members in self.cluster.groups().items() for m in members}
        self.nodes: dict[str, SimNode] = {}
        for node in self.cluster.nodes:
            running = {m.name: Running(m, keys[id(m)], Instance(m.spec.params)) for m in node.members}
            status: dict[tuple[Kind, str], Status] = {}
            for script in node.config.vrrp_script:
                status[(Kind.SCRIPT, script.name)] = not script.init_fail
            for track in node.config.track_file:
                status[(Kind.FILE, track.name)] = track.init_file[0] if track.init_file else 0
            links = {r.member.spec.interface.name: True for r in running.values()}
            self.nodes[node.name] = SimNode(node.name, running, status, links)
            self._wire(self.nodes[node.name])

    # ----- the daemon's wiring ----------------------------------------------------------------------

    def health(self, node: SimNode, running: Running) -> tuple[int, bool]:
        """As the daemon's Tracker: the effective priority and fault from everything the instance tracks."""
        spec = running.member.spec
        return instance_health(
            spec.params.priority,
            spec.tracked,
            lambda t: self._status(node, t.kind, t.name),
            spec.track_primary,
            node.links[spec.interface.name],
        )

    def _status(self, node: SimNode, kind: Kind, name: str) -> Status:
        if kind is Kind.INTERFACE:
            return node.links.get(name, True)
        return node.status.get((kind, name), True)

    def _wire(self, node: SimNode) -> None:
        """The node's engines and sync groups, wired as the VRRP process wires them (NodeEngines)."""

        def act(instance: str, actions: list[Action]) -> None:
            running = node.running[instance]
            if _drops(running.engine) != running.drops_seen:
                running.drops_seen = _drops(running.engine)
                self._note_drop(node, running, actions)
            for action in actions:
                self._do(node, running, action)

        def settle(instance: str, actions: list[Action]) -> None:
            running = node.running[instance]
            running.timer_version += 1
            deadline = running.engine.next_deadline
            if deadline is not None:
                self._push(max(deadline, self.now), "timer", node.name, instance, running.timer_version)

        configured = self.cluster.node(node.name).config.vrrp_sync_group
        node.engines = NodeEngines(
            {name: r.engine for name, r in node.running.items()},
            [(g.name, g.members) for g in configured],
            act,
            settle,
        )

    def _health_of(self, node: SimNode) -> Callable[[str], tuple[int, bool]]:
        return lambda instance: self.health(node, node.running[instance])

    def reevaluate(self, node: SimNode, running: Running) -> None:
        assert node.engines is not None
        node.engines.reevaluate(running.member.name, self._health_of(node), self.now)

    def _feed(self, node: SimNode, running: Running, event: Event) -> None:
        assert node.engines is not None
        node.engines.feed(running.member.name, event)

    def _note_drop(self, node: SimNode, running: Running, actions: list[Action]) -> None:
        key = (node.name, running.member.name)
        message, count = self.drops.get(key, ("", 0))
        if not message:
            message = next((a.message for a in actions if isinstance(a, Log)), "")
        self.drops[key] = (message, count + 1)

    def _log_holders(self, key: PairKey) -> None:
        log = self.held.setdefault(key, [])
        holders = tuple(self.holders(key))
        if not log or log[-1][1] != holders:
            log.append((self.now, holders))

    def _do(self, node: SimNode, running: Running, action: Action) -> None:
        if isinstance(action, StateChange):
            self.history.append(Change(self.now, node.name, running.member.name, action.new, action.priority))
            self._log_holders(running.key)
        elif isinstance(action, SendAdvert):
            self._send(node, running, action)

    # ----- the wire ---------------------------------------------------------------------------------

    def _send(self, node: SimNode, running: Running, action: SendAdvert) -> None:
        spec = running.member.spec
        if not node.links[spec.interface.name]:
            return
        for destination in spec.destinations:
            payload = encode(action.advert, spec.source, destination)
            wire: bytes = payload
            if isinstance(spec.source, ipaddress.IPv4Address) and isinstance(destination, ipaddress.IPv4Address):
                running.ip_ident = running.ip_ident % 0xFFFF + 1
                if action.ah_sequence is None:
                    wire = encode_ipv4(payload, spec.source, destination, running.ip_ident)
                else:
                    wire = encode_ah_ipv4(
                        payload,
                        spec.source,
                        destination,
                        running.ip_ident,
                        action.ah_sequence,
                        spec.params.auth_data,
                        spec.params.unicast,
                    )
            for receiver in self._receivers(node, running, destination):
                at = self.now + self.rng.uniform(*self.delay)
                self._push(at, "packet", receiver[0], receiver[1], (wire, spec.source, destination))

    def _receivers(self, sender: SimNode, running: Running, destination: IPAddr) -> Iterable[tuple[str, str]]:
        """The instances an advert reaches: its counterparts on the nodes that hear the sender, multicast to
        all of them, unicast to the one whose address it is sent to, if the protocols match (AH or VRRP)."""
        protocol = running.member.spec.params.auth_type == AUTH_AH
        multicast = destination.is_multicast
        for node in self.nodes.values():
            if node is sender or frozenset((sender.name, node.name)) in self.cut:
                continue
            for other in node.running.values():
                other_spec = other.member.spec
                if other.key != running.key or (other_spec.params.auth_type == AUTH_AH) != protocol:
                    continue
                if (multicast and destination in other_spec.destinations) or other_spec.source == destination:
                    yield node.name, other.member.name

    def _push(self, at: float, kind: str, node: str, instance: str, payload: object) -> None:
        heapq.heappush(self.queue, (at, next(self.counter), kind, node, instance, payload))

    # ----- running ----------------------------------------------------------------------------------

    def run_until(self, until: float) -> None:
        while self.queue and self.queue[0][0] <= until:
            at, _, kind, node_name, instance, payload = heapq.heappop(self.queue)
            self.now = at
            node = self.nodes[node_name]
            if not node.alive:
                continue
            running = node.running[instance]
            if kind == "timer":
                if payload == running.timer_version:
                    self._feed(node, running, Timer(at))
                continue
            if not node.links[running.member.spec.interface.name]:
                continue
            assert isinstance(payload, tuple)
            wire, source, destination = payload
            try:
                if isinstance(source, ipaddress.IPv4Address):
                    received = parse_ipv4(wire)
                else:
                    received = parse_ipv6(wire, source, destination, 255)
            except DecodeError:
                continue
            self._feed(node, running, AdvertIn(received, at))
        self.now = max(self.now, until)

    def start(self, name: str) -> None:
        """The daemon starts as VrrpService.start does: each instance's priority, then Start (in fault or not)."""
        node = self.nodes[name]
        node.alive = True
        for instance, running in list(node.running.items()):
            fresh = Running(running.member, running.key, Instance(running.member.spec.params))
            node.running[instance] = fresh
        self._wire(node)
        assert node.engines is not None
        node.engines.start(self._health_of(node), self.now)

    def start_all(self) -> None:
        for name in self.nodes:
            self.start(name)

    def power_off(self, name: str) -> None:
        """The node is gone, and its addresses with it."""
        node = self.nodes[name]
        node.alive = False
        for running in node.running.values():
            if running.engine.state is not State.STOP:
                self.history.append(Change(self.now, name, running.member.name, State.STOP, 0))
            self._log_holders(running.key)

    def stop_daemon(self, name: str) -> None:
        node = self.nodes[name]
        for running in node.running.values():
            self._feed(node, running, Stop(self.now))
        node.alive = False

    def set_status(self, name: str, kind: Kind, tracked: str, status: Status) -> None:
        node = self.nodes[name]
        if kind is Kind.INTERFACE:
            self.set_link(name, tracked, bool(status))
            return
        node.status[(kind, tracked)] = status
        self._reevaluate_tracking(node, kind, tracked)

    def set_link(self, name: str, interface: str, up: bool) -> None:
        node = self.nodes[name]
        node.links[interface] = up
        for running in node.running.values():
            tracks = any(t.kind is Kind.INTERFACE and t.name == interface for t in running.member.spec.tracked)
            if running.member.spec.interface.name == interface or tracks:
                self.reevaluate(node, running)

    def _reevaluate_tracking(self, node: SimNode, kind: Kind, tracked: str) -> None:
        for running in node.running.values():
            if any(t.kind is kind and t.name == tracked for t in running.member.spec.tracked):
                self.reevaluate(node, running)

    # ----- what happened ----------------------------------------------------------------------------

    def holders(self, key: PairKey) -> list[str]:
        """The nodes holding this virtual router's addresses now."""
        return [
            node.name
            for node in self.nodes.values()
            if node.alive
            for running in node.running.values()
            if running.key == key and running.engine.vips_set
        ]

    def states(self) -> dict[tuple[str, str], tuple[State, int]]:
        return {
            (node.name, instance): (
                running.engine.state if node.alive else State.STOP,
                running.engine.effective_priority,
            )
            for node in self.nodes.values()
            for instance, running in node.running.items()
        }


def _drops(engine: Instance) -> int:
    return sum(count for name, count in engine.counters.items() if name.startswith("drop_"))
