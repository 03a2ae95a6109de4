"""One node's VRRP instances and sync groups, wired as the VRRP process runs them (sans I/O).

An event for one instance runs through its engine; its actions are carried out by the caller (`act`); its
sync group reacts, which may feed the group's other members; then the caller settles what follows from the
actions (the VIP lifetime, the next timer). A change in what an instance tracks feeds the engine its new
priority first, then its fault: its own, or, in a sync group, the group's (any member's).

The daemon (`daemon/vrrp_service.py`) and the lint's simulated LAN (`lint/lan.py`) both run this.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence

from .instance import Action, Event, Fault, Instance, PriorityChange, Start
from .sync_group import Reaction, SyncGroup

# The instance's effective priority and whether it is in fault, from everything it tracks.
Health = Callable[[str], tuple[int, bool]]


class NodeEngines:
    def __init__(
        self,
        engines: dict[str, Instance],
        sync_groups: Iterable[tuple[str, Sequence[str]]],
        act: Callable[[str, list[Action]], None],
        settle: Callable[[str, list[Action]], None],
        group_changed: Callable[[SyncGroup, Reaction], None] = lambda group, reaction: None,
    ) -> None:
        self.engines = engines
        self.act = act
        self.settle = settle
        self.group_changed = group_changed
        self.groups: list[SyncGroup] = []
        self.group_of: dict[str, SyncGroup] = {}
        self.name_of = {id(engine): name for name, engine in engines.items()}
        for group_name, members in sync_groups:
            group = SyncGroup(group_name, [engines[m] for m in members if m in engines])
            self.groups.append(group)
            self.group_of.update({m: group for m in members})

    def members(self, group: SyncGroup) -> list[str]:
        return [self.name_of[id(engine)] for engine in group.members]

    def feed(self, name: str, event: Event) -> None:
        engine = self.engines[name]
        actions = engine.handle(event)
        self.act(name, actions)
        group = self.group_of.get(name)
        if group is not None:
            self._apply(group, group.react(engine, actions, event.now))
        self.settle(name, actions)

    def _apply(self, group: SyncGroup, reaction: Reaction) -> None:
        self.group_changed(group, reaction)
        for engine, event in reaction.events:
            self.feed(self.name_of[id(engine)], event)

    def start(self, health: Health, now: float, held: Collection[str] = (), delay: float = 0.0) -> None:
        """Every instance's priority from what it tracks, then Start, in fault or not; `held`: the instances
        whose addresses a VRRP process of ours that ran before left set; `delay`: vrrp_startup_delay."""
        for name in self.engines:
            priority, fault = health(name)
            self.feed(name, PriorityChange(priority, now))
            self.feed(name, Start(now, fault=fault, held=name in held, delay=delay))

    def reevaluate(self, name: str, health: Health, now: float) -> None:
        priority, fault = health(name)
        engine = self.engines[name]
        if priority != engine.effective_priority:
            self.feed(name, PriorityChange(priority, now))
        group = self.group_of.get(name)
        if group is None:
            if fault != engine.faulted:
                self.feed(name, Fault(fault, now))
            return
        self._apply(group, group.fault(any(health(m)[1] for m in self.members(group)), now))
