"""What a cluster should do after a trouble, from the configuration's intent rather than from the engine,
and why it did not: the priorities, the weights that would fail over, the adverts dropped.

The intent: the highest priority that can serve holds each virtual router; a node whose tracked object
failed gives up the routers that track it (with their sync group); a preempting backup of higher priority
takes over; one master per router, per side of a partition.
"""

from __future__ import annotations

from dataclasses import replace

from ..vrrp.tracking import Kind, Tracked, evaluate
from .cluster import PairKey
from .lan import Lan, Running, SimNode
from .troubles import Trouble, healthy


def running_of(lan: Lan, node: str, key: PairKey) -> Running | None:
    return next((r for r in lan.nodes[node].running.values() if r.key == key), None)


def _candidates(lan: Lan, key: PairKey, side: set[str]) -> dict[str, tuple[int, bytes, bool]]:
    """The nodes that can serve this router: (effective priority, address, preempts) of each."""
    found: dict[str, tuple[int, bytes, bool]] = {}
    for name in side:
        node = lan.nodes[name]
        running = running_of(lan, name, key)
        if running is None or not node.alive:
            continue
        priority, fault = lan.health(node, running)
        group = node.group_of.get(running.member.name)
        if group is not None:
            siblings = [r for r in node.running.values() if node.group_of.get(r.member.name) is group]
            fault = fault or any(lan.health(node, r)[1] for r in siblings)
        if not fault:
            params = running.member.spec.params
            found[name] = (priority, params.primary.packed, params.preempt)
    return found


def _elect(candidates: dict[str, tuple[int, bytes, bool]], current: str | None) -> str | None:
    """Who ends up master: the current master unless a preempting backup outranks it; without a master, the
    highest priority (then the highest address), whose down timer runs out first."""
    if not candidates:
        return None
    if current not in candidates:
        current = max(candidates, key=lambda n: candidates[n][:2])
    while True:
        better = [n for n, c in candidates.items() if c[2] and c[0] > candidates[current][0]]
        if not better:
            return current
        current = max(better, key=lambda n: candidates[n][:2])


def _affected(lan: Lan, trouble: Trouble | None, key: PairKey, holder: str) -> bool:
    """Whether the trouble is one the holder must give this router up for."""
    if trouble is None or trouble.node != holder:
        return False
    running = running_of(lan, holder, key)
    if running is None or trouble.kind in ("power", "stop", "partition"):
        return trouble.kind in ("power", "stop")
    node = lan.nodes[holder]
    group = node.group_of.get(running.member.name)
    members = [r for r in node.running.values() if group is not None and node.group_of.get(r.member.name) is group]
    for member in members or [running]:
        spec = member.member.spec
        if trouble.kind == "link" and spec.interface.name == trouble.interface and spec.track_primary:
            return True
        wanted = trouble.tracked or (Kind.INTERFACE, trouble.interface or "")
        if any((t.kind, t.name) == wanted for t in spec.tracked):
            return True
    return False


def intended(lan: Lan, trouble: Trouble | None, key: PairKey, before: tuple[str, ...], breaking: bool) -> list[str]:
    names = set(lan.nodes)
    sides = [names]
    if lan.cut and trouble is not None:
        sides = [{trouble.node}, names - {trouble.node}]
    expected: list[str] = []
    for side in sides:
        candidates = _candidates(lan, key, side)
        serving = [h for h in before if h in candidates]
        current = max(serving, key=lambda n: candidates[n][:2]) if serving else None
        if current is None:
            current = next((h for h in before if h in side), None)
        if breaking and current is not None and _affected(lan, trouble, key, current):
            others = {n: c for n, c in candidates.items() if n != current}
            if others or current not in candidates:
                candidates, current = others, None
        winner = _elect(candidates, current)
        if winner is not None:
            expected.append(winner)
    return sorted(expected)


def _priority_text(lan: Lan, node: str, key: PairKey) -> str:
    running = running_of(lan, node, key)
    if running is None:
        return f"{node} has no instance"
    state = running.engine.state.value if lan.nodes[node].alive else "off"
    extra = "" if running.member.spec.params.preempt else " nopreempt"
    return f"{node} {state} {running.engine.effective_priority}{extra}"


def _weighted(
    items: list[tuple[Tracked, bool | int]], name: tuple[Kind, str], weight: int
) -> list[tuple[Tracked, bool | int]]:
    return [(replace(t, weight=weight) if (t.kind, t.name) == name else t, s) for t, s in items]


def _items(lan: Lan, node: SimNode, running: Running) -> list[tuple[Tracked, bool | int]]:
    return [(t, lan._status(node, t.kind, t.name)) for t in running.member.spec.tracked]


Items = list[tuple[Tracked, bool | int]]


def failover_rule(
    name: tuple[Kind, str], holder: str, base: int, items: Items, rival: str, rival_base: int, rival_items: Items
) -> str | None:
    """None if `name` failing on the holder (its status in `items`) puts the rival above it; else why not,
    and the weight that would: 'script chk fails on lb1: lb1 100-20=80 still >= lb2 70: no failover; weight
    must be < -30'. The rival's statuses are as in `rival_items`; a weight found is tried on both nodes."""
    well = [(t, healthy(t) if (t.kind, t.name) == name else s) for t, s in items]
    before, _ = evaluate(base, well)
    after, fault = evaluate(base, items)
    theirs, rival_fault = evaluate(rival_base, rival_items)
    if fault or rival_fault or after < theirs:
        return None
    weight = next(t.weight for t, _ in items if (t.kind, t.name) == name)
    change = f"{before}{after - before:+d}={after}"
    head = f"{name[0].value} {name[1]} fails on {holder}: {holder} {change} still >= {rival} {theirs}"
    sign = -1 if weight < 0 else 1
    for magnitude in range(1, 254):
        trial = sign * magnitude
        mine, _ = evaluate(base, _weighted(items, name, trial))
        other, _ = evaluate(rival_base, _weighted(rival_items, name, trial))
        if mine < other:
            bound = f"< {trial + 1}" if sign < 0 else f"> {trial - 1}"
            return f"{head}: no failover; weight must be {bound}"
    return f"{head}: no failover; no weight of that sign moves it"


def weight_advice(lan: Lan, trouble: Trouble, key: PairKey, holder: str) -> str:
    """Why a tracked object's failure left the holder with this router (see failover_rule)."""
    assert trouble.tracked is not None
    running = running_of(lan, holder, key)
    assert running is not None
    others = {
        n: (r, lan.health(lan.nodes[n], r)[0])
        for n in lan.nodes
        if n != holder and (r := running_of(lan, n, key)) is not None and lan.nodes[n].alive
    }
    if not others:
        return f"{trouble.title}: no other node has {running.member.name}"
    rival = max(others, key=lambda n: others[n][1])
    rival_running = others[rival][0]
    why = failover_rule(
        trouble.tracked,
        holder,
        running.member.spec.params.priority,
        _items(lan, lan.nodes[holder], running),
        rival,
        rival_running.member.spec.params.priority,
        _items(lan, lan.nodes[rival], rival_running),
    )
    return why or f"{trouble.title}: {holder} falls below {rival}, yet kept the addresses"


def explain(
    lan: Lan,
    trouble: Trouble | None,
    key: PairKey,
    before: tuple[str, ...],
    wanted: tuple[str, ...],
    observed: tuple[str, ...],
    flapped: bool,
) -> str:
    parts: list[str] = []
    stuck = [h for h in observed if h in before and h not in wanted]
    if trouble is not None and trouble.tracked is not None and trouble.node in stuck:
        parts.append(weight_advice(lan, trouble, key, trouble.node))
    if len(observed) > len(wanted):
        parts.append(f"{len(observed)} masters")
    elif not observed:
        parts.append("no master")
    if flapped:
        parts.append("the addresses moved away and back within the phase")
    parts.append(", ".join(_priority_text(lan, n, key) for n in lan.nodes if running_of(lan, n, key)))
    for (node, instance), (message, count) in sorted(lan.drops.items()):
        running = lan.nodes[node].running[instance]
        if running.key == key and message:
            parts.append(f"{node} dropped {count} adverts: {message}")
    return "; ".join(parts)
