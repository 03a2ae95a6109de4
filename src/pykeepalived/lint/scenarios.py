"""The scenarios a cluster must survive, run on the simulated LAN, each phase judged against the intent.

Each scenario starts the whole cluster, lets it settle, inflicts one trouble (a node, a tracked object, a
link, the network between nodes), lets it settle again, then mends it and lets it settle once more.
Within a phase nothing may move back and forth, and a sync group's members end on one node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .cluster import Cluster, PairKey
from .judge import explain, intended
from .lan import Change, Lan
from .troubles import Trouble, inflict, mend, troubles

# A phase never runs longer than this in virtual time: a cluster still changing by then is flapping.
PHASE_LIMIT = 600.0


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
            outcome = replace(
                outcome,
                why=explain(lan, trouble, key, outcome.before, outcome.expected, outcome.observed, outcome.flapped),
            )
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
    start_expected = {k: intended(lan, None, k, (), False) for k in keys}
    _settle(lan, quiet)
    title = trouble.title if trouble else "start-up"
    outcomes = [_judge(lan, None, "start-up", 0.0, nobody, start_expected, title)]
    if trouble is not None:
        outcomes = []
        for breaking in (True, False):
            before = {k: tuple(sorted(lan.holders(k))) for k in keys}
            started = lan.now
            (inflict if breaking else mend)(lan, trouble)
            expected = {k: intended(lan, trouble, k, before[k], breaking) for k in keys}
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
