"""The scenarios a cluster must survive, run on the simulated LAN, each judged against what a cluster is for.

Each scenario starts the whole cluster, lets it settle, breaks one thing (a node, a tracked object, a link,
the network between nodes) and lets it settle again, then mends it and lets it settle once more. The
expectation is written from the configuration's intent, not from the engine: the highest priority that can
serve holds each virtual router, a node whose tracked object failed gives up the routers that track it, a
preempting backup of higher priority takes over, one master per router (one per side of a partition), the
members of a sync group on one node, and nothing moves back and forth within a phase.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..vrrp.tracking import Kind, Tracked, evaluate
from .cluster import Cluster, PairKey
from .lan import Change, Lan, Running, SimNode

# How long a script's failure takes to be seen is its fall x interval; files and processes are polled.
POLL_SECONDS = 1.0
# A phase never runs longer than this in virtual time: a cluster still changing by then is flapping.
PHASE_LIMIT = 600.0


@dataclass(frozen=True)
class Trouble:
    """One thing a scenario breaks, and how it is mended."""

    kind: str  # power, stop, tracked, link, partition
    title: str
    mended: str
    node: str
    tracked: tuple[Kind, str] | None = None
    interface: str | None = None


@dataclass(frozen=True)
class GroupOutcome:
    name: str
    key: PairKey
    before: tuple[str, ...]
    expected: tuple[str, ...]
    observed: tuple[str, ...]
    # Virtual seconds from the trouble (as it happened, before anything noticed) to the last change of holder.
    moved_after: float | None
    flapped: bool
    why: str = ""

    @property
    def ok(self) -> bool:
        return self.expected == self.observed and not self.flapped


@dataclass(frozen=True)
class Outcome:
    scenario: str
    phase: str
    started: float
    ended: float
    groups: tuple[GroupOutcome, ...]

    @property
    def ok(self) -> bool:
        return all(g.ok for g in self.groups)


@dataclass(frozen=True)
class Run:
    """A scenario's phases and everything that changed state, for a timeline."""

    scenario: str
    outcomes: tuple[Outcome, ...]
    history: tuple[Change, ...]
    nodes: tuple[str, ...]


def troubles(cluster: Cluster) -> list[Trouble]:
    """Every scenario that matters for this cluster, after start-up."""
    found: list[Trouble] = []
    names = [n.name for n in cluster.nodes]
    for node in cluster.nodes:
        found.append(Trouble("power", f"{node.name} powered off", f"{node.name} back", node.name))
        found.append(Trouble("stop", f"{node.name} daemon stopped", f"{node.name} daemon started", node.name))
        tracked = dict.fromkeys((t.kind, t.name) for m in node.members for t in m.spec.tracked)
        for kind, name in tracked:
            if kind is Kind.INTERFACE:
                continue
            what = {Kind.SCRIPT: "fails", Kind.FILE: "reads its failing value", Kind.PROCESS: "stops"}[kind]
            back = {Kind.SCRIPT: "recovers", Kind.FILE: "reads 0 again", Kind.PROCESS: "runs again"}[kind]
            found.append(
                Trouble(
                    "tracked",
                    f"{kind.value} {name} {what} on {node.name}",
                    f"{kind.value} {name} {back} on {node.name}",
                    node.name,
                    tracked=(kind, name),
                )
            )
        interfaces = dict.fromkeys(
            [m.spec.interface.name for m in node.members]
            + [t.name for m in node.members for t in m.spec.tracked if t.kind is Kind.INTERFACE]
        )
        for interface in interfaces:
            found.append(
                Trouble(
                    "link",
                    f"{interface} link down on {node.name}",
                    f"{interface} link up on {node.name}",
                    node.name,
                    interface=interface,
                )
            )
        if len(names) > 2 or node is cluster.nodes[0]:
            rest = ", ".join(n for n in names if n != node.name)
            found.append(
                Trouble("partition", f"{node.name} cut off from {rest}", f"{node.name} heard again", node.name)
            )
    return found


def _quiet_seconds(cluster: Cluster) -> float:
    """How long nothing must change for a phase to be settled: twice the longest down timer, plus delays."""
    longest = 1.0
    for node in cluster.nodes:
        for member in node.members:
            params = member.spec.params
            down = 3 * params.advert_int_cs / 100 + 1.0
            longest = max(longest, 2 * down + params.preempt_delay)
        for script in node.config.vrrp_script:
            longest = max(longest, (max(script.rise, script.fall) + 1) * script.interval)
    return longest


def _settle(lan: Lan, quiet: float) -> None:
    started = lan.now
    step = 0.25
    while lan.now - started < PHASE_LIMIT:
        lan.run_until(lan.now + step)
        last = lan.history[-1].at if lan.history else 0.0
        if lan.now - max(last, started) >= quiet:
            return


def _failing_status(lan: Lan, node: SimNode, kind: Kind, name: str) -> bool | int:
    """The status that counts against the instances tracking it (a reversed track fails while OK)."""
    tracked = next(t for r in node.running.values() for t in r.member.spec.tracked if (t.kind, t.name) == (kind, name))
    if kind is Kind.FILE:
        return 1 if tracked.weight <= 0 else -1
    return tracked.reverse


def _detection(lan: Lan, node: str, trouble: Trouble, breaking: bool) -> float:
    assert trouble.tracked is not None
    kind, name = trouble.tracked
    if kind is Kind.SCRIPT:
        script = next(s for s in lan.cluster.node(node).config.vrrp_script if s.name == name)
        return (script.fall if breaking else script.rise) * script.interval
    if kind is Kind.PROCESS:
        process = next(p for p in lan.cluster.node(node).config.vrrp_track_process if p.name == name)
        return POLL_SECONDS + ((process.delay or 0.0) if breaking else 0.0)
    return POLL_SECONDS


def _break(lan: Lan, trouble: Trouble) -> None:
    node = trouble.node
    if trouble.kind == "power":
        lan.power_off(node)
    elif trouble.kind == "stop":
        lan.stop_daemon(node)
    elif trouble.kind == "tracked":
        assert trouble.tracked is not None
        kind, name = trouble.tracked
        status = _failing_status(lan, lan.nodes[node], kind, name)
        lan.run_until(lan.now + _detection(lan, node, trouble, True))
        lan.set_status(node, kind, name, status)
    elif trouble.kind == "link":
        assert trouble.interface is not None
        lan.set_link(node, trouble.interface, False)
    else:
        lan.cut |= {frozenset((node, other)) for other in lan.nodes if other != node}


def _mend(lan: Lan, trouble: Trouble) -> None:
    node = trouble.node
    if trouble.kind in ("power", "stop"):
        lan.start(node)
    elif trouble.kind == "tracked":
        assert trouble.tracked is not None
        kind, name = trouble.tracked
        healthy = not _failing_status(lan, lan.nodes[node], kind, name) if kind is not Kind.FILE else 0
        lan.run_until(lan.now + _detection(lan, node, trouble, False))
        lan.set_status(node, kind, name, healthy)
    elif trouble.kind == "link":
        assert trouble.interface is not None
        lan.set_link(node, trouble.interface, True)
    else:
        lan.cut = set()


# ----- expectations -------------------------------------------------------------------------------------


def _running(lan: Lan, node: str, key: PairKey) -> Running | None:
    return next((r for r in lan.nodes[node].running.values() if r.key == key), None)


def _candidates(lan: Lan, key: PairKey, side: set[str]) -> dict[str, tuple[int, bytes, bool]]:
    """The nodes that can serve this router: (effective priority, address, preempts) of each."""
    found: dict[str, tuple[int, bytes, bool]] = {}
    for name in side:
        node = lan.nodes[name]
        running = _running(lan, name, key)
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
    running = _running(lan, holder, key)
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


def _expected(lan: Lan, trouble: Trouble | None, key: PairKey, before: tuple[str, ...], breaking: bool) -> list[str]:
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


# ----- running and judging ---------------------------------------------------------------------------


def _flapped(log: list[tuple[float, tuple[str, ...]]], since: float) -> bool:
    """A holder that gives a router up and takes it back within one phase."""
    seen: list[tuple[str, ...]] = []
    for at, holders in log:
        if at < since or not holders:
            continue
        if holders in seen and seen[-1] != holders:
            return True
        if not seen or seen[-1] != holders:
            seen.append(holders)
    return False


def _moved_after(log: list[tuple[float, tuple[str, ...]]], since: float, before: tuple[str, ...]) -> float | None:
    changes = [at for at, _ in log if at >= since]
    if not changes or (log[-1][1] == before):
        return None
    return changes[-1] - since


def _group_name(lan: Lan, key: PairKey) -> str:
    names = dict.fromkeys(r.member.name for n in lan.nodes.values() for r in n.running.values() if r.key == key)
    return "/".join(names)


def _judge(
    lan: Lan,
    trouble: Trouble | None,
    phase: str,
    started: float,
    before: dict[PairKey, tuple[str, ...]],
    expected: dict[PairKey, list[str]],
    scenario: str,
) -> Outcome:
    groups: list[GroupOutcome] = []
    for key in sorted(expected, key=lambda k: (k[0], k[1], k[2] or "")):
        log = lan.held.get(key, [])
        observed = tuple(sorted(lan.holders(key)))
        outcome = GroupOutcome(
            _group_name(lan, key),
            key,
            before[key],
            tuple(expected[key]),
            observed,
            _moved_after(log, started, before[key]),
            _flapped(log, started),
        )
        if not outcome.ok:
            outcome = replace(outcome, why=explain(lan, trouble, key, outcome))
        groups.append(outcome)
    # A sync group whose members settled on different nodes split.
    for node in lan.nodes.values():
        for group in node.groups:
            keys = [r.key for r in node.running.values() if node.group_of.get(r.member.name) is group]
            placed = {tuple(sorted(lan.holders(k))) for k in keys}
            if len(placed) > 1:
                text = ", ".join(f"{_group_name(lan, k)} on {'+'.join(lan.holders(k)) or 'nobody'}" for k in keys)
                groups.append(
                    GroupOutcome(
                        f"sync group {group.name}",
                        keys[0],
                        (),
                        ("one node",),
                        tuple(sorted({h for k in keys for h in lan.holders(k)})),
                        None,
                        False,
                        f"sync group {group.name} of {node.name} split: {text}",
                    )
                )
    return Outcome(scenario, phase, started, lan.now, tuple(groups))


def run_scenario(cluster: Cluster, trouble: Trouble | None, seed: int = 0) -> Run:
    lan = Lan(cluster, seed=seed)
    quiet = _quiet_seconds(cluster)
    keys = list(cluster.groups())
    nobody: dict[PairKey, tuple[str, ...]] = {k: () for k in keys}
    lan.start_all()
    start_expected = {k: _expected(lan, None, k, (), False) for k in keys}
    _settle(lan, quiet)
    title = trouble.title if trouble else "start-up"
    outcomes = [_judge(lan, None, "start-up", 0.0, nobody, start_expected, title)]
    if trouble is not None:
        outcomes = []
        for breaking in (True, False):
            before = {k: tuple(sorted(lan.holders(k))) for k in keys}
            started = lan.now
            (_break if breaking else _mend)(lan, trouble)
            expected = {k: _expected(lan, trouble, k, before[k], breaking) for k in keys}
            _settle(lan, quiet)
            phase = trouble.title if breaking else trouble.mended
            outcomes.append(_judge(lan, trouble, phase, started, before, expected, trouble.title))
    return Run(title, tuple(outcomes), tuple(lan.history), tuple(lan.nodes))


def run_all(cluster: Cluster, progress: Callable[[str], None] | None = None) -> list[Run]:
    runs = []
    for trouble in [None, *troubles(cluster)]:
        if progress is not None:
            progress(trouble.title if trouble else "start-up")
        runs.append(run_scenario(cluster, trouble))
    return runs


# ----- why ------------------------------------------------------------------------------------------------


def _priority_text(lan: Lan, node: str, key: PairKey) -> str:
    running = _running(lan, node, key)
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


def weight_advice(lan: Lan, trouble: Trouble, key: PairKey, holder: str) -> str:
    """'check fails on lb1: lb1 100-20=80 still >= lb2 70: no failover; weight must be < -30'."""
    assert trouble.tracked is not None
    kind, name = trouble.tracked
    node = lan.nodes[holder]
    running = _running(lan, holder, key)
    assert running is not None
    items = _items(lan, node, running)
    healthy = [(t, not s if (t.kind, t.name) == trouble.tracked and kind is not Kind.FILE else s) for t, s in items]
    if kind is Kind.FILE:
        healthy = [(t, 0 if (t.kind, t.name) == trouble.tracked else s) for t, s in items]
    base = running.member.spec.params.priority
    before, _ = evaluate(base, healthy)
    after, _ = evaluate(base, items)
    others = {
        n: (r, lan.health(lan.nodes[n], r)[0])
        for n in lan.nodes
        if n != holder and (r := _running(lan, n, key)) is not None and lan.nodes[n].alive
    }
    if not others:
        return f"{name} fails on {holder}: no other node has {running.member.name}"
    rival = max(others, key=lambda n: others[n][1])
    rival_running, rival_priority = others[rival]
    weight = next(t.weight for t, _ in items if (t.kind, t.name) == trouble.tracked)
    change = after - before
    head = (
        f"{kind.value} {name} fails on {holder}: {holder} {before}{change:+d}={after} still >= {rival} {rival_priority}"
    )
    if weight == 0:
        return head + ": no failover"
    sign = -1 if weight < 0 else 1
    for magnitude in range(1, 254):
        trial = sign * magnitude
        mine, _ = evaluate(base, _weighted(items, trouble.tracked, trial))
        rival_items = _weighted(_items(lan, lan.nodes[rival], rival_running), trouble.tracked, trial)
        theirs, _ = evaluate(rival_running.member.spec.params.priority, rival_items)
        if mine < theirs:
            bound = f"< {trial + 1}" if sign < 0 else f"> {trial - 1}"
            return f"{head}: no failover; weight must be {bound}"
    return f"{head}: no failover; no weight of that sign can move it"


def explain(lan: Lan, trouble: Trouble | None, key: PairKey, outcome: GroupOutcome) -> str:
    parts: list[str] = []
    stuck = [h for h in outcome.observed if h in outcome.before and h not in outcome.expected]
    if trouble is not None and trouble.tracked is not None and trouble.node in stuck:
        parts.append(weight_advice(lan, trouble, key, trouble.node))
    if len(outcome.observed) > len(outcome.expected):
        parts.append(f"{len(outcome.observed)} masters")
    elif not outcome.observed:
        parts.append("no master")
    if outcome.flapped:
        parts.append("the addresses moved away and back within the phase")
    parts.append(", ".join(_priority_text(lan, n, key) for n in lan.nodes if _running(lan, n, key)))
    for (node, instance), (message, count) in sorted(lan.drops.items()):
        running = lan.nodes[node].running[instance]
        if running.key == key and message:
            parts.append(f"{node} dropped {count} adverts: {message}")
    return "; ".join(parts)
