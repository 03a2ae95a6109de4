"""NodeEngines: an event runs through its instance, then its sync group; tracking feeds priority, then fault."""

from __future__ import annotations

import ipaddress

from pykeepalived.vrrp.instance import Action, Instance, Params, PriorityChange, State, StateChange, Timer
from pykeepalived.vrrp.node import NodeEngines
from pykeepalived.vrrp.sync_group import Reaction, SyncGroup


def engine(name: str, vrid: int, in_group: bool) -> Instance:
    address = ipaddress.IPv4Address(f"10.99.1.{vrid}")
    params = Params(name, vrid, 3, 100, 100, (address,), ipaddress.IPv4Address("10.99.0.12"), in_sync_group=in_group)
    return Instance(params)


def build(health: dict[str, tuple[int, bool]]) -> tuple[NodeEngines, list[tuple[str, str]], list[str]]:
    engines = {"VI_1": engine("VI_1", 1, True), "VI_2": engine("VI_2", 2, True), "VI_3": engine("VI_3", 3, False)}
    seen: list[tuple[str, str]] = []
    settled: list[str] = []
    logs: list[str] = []

    def act(name: str, actions: list[Action]) -> None:
        seen.extend((name, a.new.value) for a in actions if isinstance(a, StateChange))

    def changed(group: SyncGroup, reaction: Reaction) -> None:
        if reaction.log:
            logs.append(reaction.log)

    node = NodeEngines(engines, [("G", ("VI_1", "VI_2"))], act, lambda name, _: settled.append(name), changed)
    node.start(lambda name: health[name], 0.0)
    return node, seen, logs


def test_start_feeds_each_priority_then_start() -> None:
    node, seen, _ = build({"VI_1": (120, False), "VI_2": (100, False), "VI_3": (90, True)})
    assert node.engines["VI_1"].effective_priority == 120
    assert seen == [("VI_1", "BACKUP"), ("VI_2", "BACKUP"), ("VI_3", "FAULT")]


def test_one_member_timing_out_takes_the_group_to_master_together() -> None:
    health = {"VI_1": (100, False), "VI_2": (100, False), "VI_3": (100, False)}
    node, seen, logs = build(health)
    seen.clear()
    for name in ("VI_1", "VI_2"):
        node.feed(name, Timer(10.0))
    assert seen == [("VI_1", "MASTER"), ("VI_2", "MASTER")]
    assert logs == ["VRRP_Group(G) Syncing instances to MASTER state"]


def test_a_members_fault_is_the_groups_and_priority_comes_first() -> None:
    health = {"VI_1": (100, False), "VI_2": (100, False), "VI_3": (100, False)}
    node, seen, _ = build(health)
    seen.clear()
    health["VI_2"] = (80, True)
    node.reevaluate("VI_2", lambda name: health[name], 1.0)
    assert node.engines["VI_2"].effective_priority == 80
    assert {state for _, state in seen} == {"FAULT"} and {name for name, _ in seen} == {"VI_1", "VI_2"}
    assert node.engines["VI_3"].state is State.BACKUP
    health["VI_2"] = (100, False)
    node.reevaluate("VI_2", lambda name: health[name], 2.0)
    assert node.engines["VI_1"].state is State.BACKUP and node.engines["VI_2"].state is State.BACKUP
    node.feed("VI_3", PriorityChange(50, 3.0))
    assert node.engines["VI_3"].effective_priority == 50
