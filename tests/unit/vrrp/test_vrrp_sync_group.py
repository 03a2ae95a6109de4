"""Sync groups: members become MASTER together, step down together, and share faults."""

from __future__ import annotations

import ipaddress

from pykeepalived.vrrp.instance import (
    AdvertIn,
    Event,
    Instance,
    Params,
    Start,
    State,
    StateChange,
    Timer,
)
from pykeepalived.vrrp.packet import MCAST_GROUP4, Advert
from pykeepalived.vrrp.sync_group import SyncGroup
from pykeepalived.vrrp.validate import Received

PEER = ipaddress.IPv4Address("10.99.0.11")


def member(name: str, vrid: int, priority: int = 100) -> Instance:
    params = Params(name, vrid, 3, priority, 100, (ipaddress.IPv4Address(f"10.99.1.{vrid}"),),
                    ipaddress.IPv4Address("10.99.0.12"), in_sync_group=True)  # fmt: skip
    return Instance(params)


def feed(group: SyncGroup, instance: Instance, event: Event, log: list[str]) -> None:
    """Feed one event and everything the group makes of it, as the VRRP service does."""
    queue = [(instance, event)]
    while queue:
        target, next_event = queue.pop(0)
        actions = target.handle(next_event)
        reaction = group.react(target, actions, 0.0)
        if reaction.log:
            log.append(reaction.log)
        queue.extend(reaction.events)


def started_pair() -> tuple[SyncGroup, Instance, Instance, list[str]]:
    """Group G of VI_1 and VI_2, both started in BACKUP, and the group's log so far."""
    a, b = member("VI_1", 1), member("VI_2", 2)
    group = SyncGroup("G", [a, b])
    log: list[str] = []
    for instance in (a, b):
        feed(group, instance, Start(0.0), log)
    return group, a, b, log


def test_members_become_master_only_together() -> None:
    group, a, b, log = started_pair()
    # VI_1's timer runs out first: it waits for VI_2.
    feed(group, a, Timer(a.next_deadline or 0), log)
    assert (a.state, b.state) == (State.BACKUP, State.BACKUP) and a.wants_master
    feed(group, b, Timer(b.next_deadline or 0), log)
    assert (a.state, b.state) == (State.MASTER, State.MASTER)
    assert log == ["VRRP_Group(G) Syncing instances to MASTER state"]


def test_one_member_losing_master_takes_the_group_to_backup() -> None:
    group, a, b, log = started_pair()
    feed(group, a, Timer(a.next_deadline or 0), log)
    feed(group, b, Timer(b.next_deadline or 0), log)
    higher = Received(Advert(3, 1, 200, a.params.addresses, 100), PEER, MCAST_GROUP4, 255, True)
    feed(group, a, AdvertIn(higher, 10.0), log)
    assert (a.state, b.state) == (State.BACKUP, State.BACKUP)
    assert log[-1] == "VRRP_Group(G) Syncing instances to BACKUP state"


def test_a_fault_in_one_member_is_the_groups() -> None:
    group, a, b, log = started_pair()
    reaction = group.fault(True, 1.0)
    for target, event in reaction.events:
        feed(group, target, event, log)
    assert (a.state, b.state) == (State.FAULT, State.FAULT)
    assert reaction.log == "VRRP_Group(G) Syncing instances to FAULT state"
    for target, event in group.fault(False, 2.0).events:
        feed(group, target, event, log)
    assert (a.state, b.state) == (State.BACKUP, State.BACKUP)


def test_state_change_is_reported_for_group_notify() -> None:
    a = member("VI_1", 1)
    group = SyncGroup("G", [a])
    reaction = group.react(a, [StateChange(State.BACKUP, State.MASTER, 100)], 0.0)
    assert reaction.new_state is State.MASTER
