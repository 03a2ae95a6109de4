"""vrrp_sync_group: instances that move together, with keepalived 2.2.7's rules.

- A member whose down timer runs out only becomes MASTER once every member wants to (no thrashing);
  then they all become MASTER together.
- A member that goes MASTER takes the others with it; one that drops to BACKUP (a higher priority
  router appeared) takes the others down with it.
- While any member is in fault, every member is in FAULT.
"""

from __future__ import annotations

from dataclasses import dataclass

from .instance import Action, Event, Fault, GroupBackup, GroupMaster, Instance, State, StateChange, WantMaster


@dataclass(frozen=True)
class Reaction:
    events: tuple[tuple[Instance, Event], ...] = ()
    log: str | None = None
    # The group's new state, for the group's notify scripts and FIFO line.
    new_state: State | None = None


@dataclass
class SyncGroup:
    name: str
    members: list[Instance]
    state: State = State.INIT

    def react(self, member: Instance, actions: list[Action], now: float) -> Reaction:
        """What the other members must do after `member` produced `actions`."""
        for action in actions:
            if isinstance(action, WantMaster) and self._all_want_master():
                return self._sync_to(State.MASTER, now, exclude=None)
            if isinstance(action, StateChange):
                if action.new is State.MASTER:
                    return self._sync_to(State.MASTER, now, exclude=member)
                if action.new is State.BACKUP and action.old is State.MASTER:
                    return self._sync_to(State.BACKUP, now, exclude=member)
                if action.new is State.BACKUP and all(m.state is State.BACKUP for m in self.members):
                    return self._enter(State.BACKUP)
        return Reaction()

    def fault(self, active: bool, now: float) -> Reaction:
        """Any member's fault is the whole group's; clear it for all once none has one."""
        events = tuple((m, Fault(active, now)) for m in self.members if m.faulted != active)
        if not events:
            return Reaction()
        if active and self.state is not State.FAULT:
            self.state = State.FAULT
            return Reaction(events, f"VRRP_Group({self.name}) Syncing instances to FAULT state", State.FAULT)
        return Reaction(events)

    def _all_want_master(self) -> bool:
        return all(m.wants_master or m.state is State.MASTER for m in self.members)

    def _enter(self, state: State) -> Reaction:
        if self.state is state:
            return Reaction()
        self.state = state
        return Reaction(new_state=state)

    def _sync_to(self, state: State, now: float, exclude: Instance | None) -> Reaction:
        if self.state is state:
            return Reaction()
        self.state = state
        events: tuple[tuple[Instance, Event], ...]
        if state is State.MASTER:
            events = tuple((m, GroupMaster(now)) for m in self.members if m is not exclude and m.state is State.BACKUP)
        else:
            events = tuple((m, GroupBackup(now)) for m in self.members if m is not exclude and m.state is State.MASTER)
        return Reaction(events, f"VRRP_Group({self.name}) Syncing instances to {state.value} state", state)
