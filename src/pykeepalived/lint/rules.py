"""The rules between node configurations, each finding with file:line on each side.

keepalived -t reads one file; what these rules find is between files (the nodes disagree on what a virtual
router is, or how it is reached) or in the weight arithmetic (a tracked object fails and nothing moves).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..config.model import State
from ..core.diagnostics import Location, Severity
from ..vrrp.packet import AUTH_AH, AUTH_NONE, AUTH_PASS
from ..vrrp.tracking import Kind, Tracked, evaluate
from .cluster import Cluster, Member, PairKey, describe
from .judge import failover_rule
from .troubles import failing, healthy

AUTH_NAMES = {AUTH_NONE: "none", AUTH_PASS: "PASS", AUTH_AH: "AH"}


@dataclass(frozen=True)
class Finding:
    severity: Severity
    rule: str
    message: str
    # Where on each node: (node, location, what is written there).
    where: tuple[tuple[str, Location, str], ...] = ()


def _at(member: Member, keyword: str | None, what: str) -> tuple[str, Location, str]:
    return member.node, member.where(keyword), what


def _priorities(members: list[Member]) -> dict[str, int]:
    """Each member's priority with everything it tracks working."""
    return {m.node: evaluate(m.spec.params.priority, [(t, healthy(t)) for t in m.spec.tracked])[0] for m in members}


def _preferred(members: list[Member]) -> Member:
    """The member that wins the election with everything working: highest priority, then address."""
    priorities = _priorities(members)
    return max(members, key=lambda m: (priorities[m.node], m.spec.params.primary.packed))


def _tracked_where(member: Member, tracked: Tracked) -> Location:
    entries = {
        Kind.SCRIPT: member.instance.track_script,
        Kind.INTERFACE: member.instance.track_interface,
        Kind.FILE: member.instance.track_file,
        Kind.PROCESS: member.instance.track_process,
    }[tracked.kind]
    return next((e.where for e in entries if e.name == tracked.name), member.where())


def weight_rules(key: PairKey, members: list[Member]) -> Iterator[Finding]:
    """A tracked object failing on the master must put a rival above it; weight 0 is a fault, not a change."""
    if len(members) < 2:
        return
    master = _preferred(members)
    others = [m for m in members if m is not master]
    priorities = _priorities(members)
    for tracked in master.spec.tracked:
        if tracked.weight == 0:
            continue
        name = (tracked.kind, tracked.name)
        items = [(t, failing(t) if (t.kind, t.name) == name else healthy(t)) for t in master.spec.tracked]
        rival = max(others, key=lambda m: (priorities[m.node], m.spec.params.primary.packed))
        why = failover_rule(
            name,
            master.node,
            master.spec.params.priority,
            items,
            rival.node,
            rival.spec.params.priority,
            [(t, healthy(t)) for t in rival.spec.tracked],
        )
        if why is not None:
            yield Finding(
                Severity.ERROR,
                "weight",
                f"({master.name}) {why}",
                (
                    (master.node, _tracked_where(master, tracked), f"tracks {tracked.name} weight {tracked.weight}"),
                    _at(master, "priority", f"priority {master.spec.params.priority}"),
                    _at(rival, "priority", f"priority {rival.spec.params.priority}"),
                ),
            )
    weights: dict[tuple[Kind, str], dict[str, tuple[Member, Tracked]]] = {}
    for member in members:
        for tracked in member.spec.tracked:
            weights.setdefault((tracked.kind, tracked.name), {})[member.node] = (member, tracked)
    for (kind, tracked_name), by_node in weights.items():
        zero = [(m, t) for m, t in by_node.values() if t.weight == 0]
        weighted = [(m, t) for m, t in by_node.values() if t.weight != 0]
        if zero and weighted:
            yield Finding(
                Severity.WARNING,
                "weight",
                f"({zero[0][0].name}) {kind.value} {tracked_name} has weight 0 on {', '.join(m.node for m, _ in zero)} "
                f"(its failure is a FAULT) but weight {weighted[0][1].weight} on {weighted[0][0].node} "
                "(a priority change): one of them is not what was meant",
                tuple((m.node, _tracked_where(m, t), f"weight {t.weight}") for m, t in by_node.values()),
            )


def preempt_rules(key: PairKey, members: list[Member]) -> Iterator[Finding]:
    """nopreempt works on the node that would preempt: the one with the highest priority."""
    for member in members:
        # The model holds what keepalived runs (nopreempt cleared): what was written is in its lines.
        if "nopreempt" in member.instance.lines and member.instance.effective_state is State.MASTER:
            yield Finding(
                Severity.WARNING,
                "nopreempt",
                f"({member.name}) nopreempt with state MASTER on {member.node}: keepalived clears it (nopreempt "
                "needs state BACKUP), so this node takes the addresses back whenever it can",
                (_at(member, "nopreempt", "nopreempt"), _at(member, "state", "state MASTER")),
            )
    if len(members) < 2:
        return
    master = _preferred(members)
    holding = [m for m in members if m is not master and m.instance.nopreempt]
    if holding and not master.instance.nopreempt:
        names = ", ".join(m.node for m in holding)
        yield Finding(
            Severity.WARNING,
            "nopreempt",
            f"({master.name}) nopreempt on {names} has no effect: {master.node} has the highest priority and "
            f"preempts, so it takes the addresses back when it returns; write nopreempt on {master.node} "
            "(on every node, with state BACKUP) to keep them where they are",
            (
                *(_at(m, "nopreempt", "nopreempt") for m in holding),
                _at(master, "priority", f"priority {master.spec.params.priority}, preempts"),
            ),
        )


def _disagree(
    members: list[Member], rule: str, keyword: str, value: object, text: str, severity: Severity = Severity.ERROR
) -> Iterator[Finding]:
    """One finding when the members do not all have the same `value` (a callable of the member)."""
    assert callable(value)
    values = {m.node: value(m) for m in members}
    if len(set(values.values())) > 1:
        listed = ", ".join(f"{node} {shown}" for node, shown in values.items())
        yield Finding(
            severity,
            rule,
            f"({members[0].name}) {text}: {listed}",
            tuple(_at(m, keyword, f"{keyword} {values[m.node]}") for m in members),
        )


def agreement_rules(key: PairKey, members: list[Member]) -> Iterator[Finding]:
    """The nodes must agree on what the virtual router is and how its adverts travel."""
    if len(members) < 2:
        if members:
            yield Finding(
                Severity.WARNING,
                "alone",
                f"({members[0].name}) {describe(key)} is configured on {members[0].node} only: nothing takes "
                "over from it",
                (_at(members[0], "virtual_router_id", "virtual_router_id"),),
            )
        return
    params = [m.spec.params for m in members]
    versions = {p.version for p in params}
    yield from _disagree(
        members,
        "version",
        "version",
        lambda m: m.spec.params.version,
        "VRRP versions differ: each node drops the other's adverts ('wrong version') and both become MASTER",
    )
    if versions == {2}:
        yield from _disagree(
            members,
            "advert_int",
            "advert_int",
            lambda m: m.spec.params.advert_int_cs / 100,
            "advert_int differs: VRRPv2 drops adverts of another interval ('advertisement interval mismatch') "
            "and both become MASTER",
        )
        yield from _disagree(
            members,
            "authentication",
            "authentication",
            lambda m: AUTH_NAMES[m.spec.params.auth_type],
            "authentication types differ: adverts are dropped and both become MASTER",
        )
        if len({p.auth_type for p in params}) == 1 and {p.auth_data for p in params} != {params[0].auth_data}:
            yield Finding(
                Severity.ERROR,
                "authentication",
                f"({members[0].name}) auth_pass differs (only its first 8 characters count): adverts are dropped "
                "('received an invalid passwd!') and both become MASTER",
                tuple(_at(m, "authentication", "auth_pass") for m in members),
            )
    else:
        yield from _disagree(
            members,
            "advert_int",
            "advert_int",
            lambda m: m.spec.params.advert_int_cs / 100,
            "advert_int differs: a VRRPv3 backup follows its master's interval, but the down timers and the time a "
            "failover takes differ by node",
            Severity.WARNING,
        )
    addresses = {m.node: frozenset(m.spec.params.addresses) for m in members}
    if len(set(addresses.values())) > 1:
        names = {m.name for m in members}
        two_groups = len(names) > 1 and not (frozenset.intersection(*addresses.values()))
        head = (
            f"{describe(key)} is used by {', '.join(sorted(names))} with different addresses: two virtual routers "
            "on one VRID"
            if two_groups
            else f"({members[0].name}) the virtual addresses differ"
        )
        listed = "; ".join(f"{n} {' '.join(sorted(map(str, a), key=str)) or 'none'}" for n, a in addresses.items())
        yield Finding(
            Severity.ERROR,
            "vrid" if two_groups else "addresses",
            f"{head}: {listed} (a backup drops the master's adverts: 'ip address associated with VRID not present "
            "in MASTER advert')",
            tuple(_at(m, "virtual_ipaddress", "virtual_ipaddress") for m in members),
        )
    yield from _disagree(
        members,
        "unicast",
        "unicast_peer",
        lambda m: "unicast" if m.spec.params.unicast else "multicast",
        "one node sends unicast and another multicast: each drops the other's adverts",
    )
    if all(p.unicast for p in params):
        yield from _unicast_peers(members)
    priorities = _priorities(members)
    top = max(priorities.values())
    tied = [m for m in members if priorities[m.node] == top]
    if len(tied) > 1:
        yield Finding(
            Severity.WARNING,
            "priority",
            f"({members[0].name}) {', '.join(m.node for m in tied)} have the same priority {top}: the higher "
            "interface address wins, and which that is depends on the machines",
            tuple(_at(m, "priority", f"priority {m.spec.params.priority}") for m in tied),
        )


def _unicast_peers(members: list[Member]) -> Iterator[Finding]:
    for member in members:
        peers = set(member.spec.params.unicast_peers)
        for other in members:
            if other is member:
                continue
            if other.assumed_address:
                yield Finding(
                    Severity.NOTICE,
                    "unicast",
                    f"({member.name}) {other.node} names no unicast_src_ip: whether {member.node}'s unicast peers "
                    "include its address cannot be checked here",
                    (_at(other, "unicast_peer", "unicast_peer"),),
                )
            elif other.spec.source not in peers:
                yield Finding(
                    Severity.ERROR,
                    "unicast",
                    f"({member.name}) {member.node}'s unicast peers do not include {other.node}'s address "
                    f"{other.spec.source}: its adverts never reach {other.node}",
                    (
                        _at(member, "unicast_peer", "unicast_peer " + " ".join(map(str, sorted(peers, key=str)))),
                        _at(other, "unicast_src_ip", f"unicast_src_ip {other.spec.source}"),
                    ),
                )


def sync_group_rules(cluster: Cluster, groups: dict[PairKey, list[Member]]) -> Iterator[Finding]:
    """A sync group's members must prefer the same node, and be grouped alike on every node."""
    key_of = {(m.node, m.name): key for key, members in groups.items() for m in members}
    # The same group on several nodes is one finding.
    reported: set[frozenset[PairKey]] = set()
    for node in cluster.nodes:
        for group in node.config.vrrp_sync_group:
            keys = [key_of[(node.name, n)] for n in group.members if (node.name, n) in key_of]
            preferred = {key: _preferred(groups[key]) for key in keys if len(groups[key]) > 1}
            if len({m.node for m in preferred.values()}) > 1 and frozenset(keys) not in reported:
                reported.add(frozenset(keys))
                listed = ", ".join(f"{m.name} prefers {m.node}" for m in preferred.values())
                yield Finding(
                    Severity.ERROR,
                    "sync_group",
                    f"sync group {group.name} on {node.name}: {listed}; the group moves as one, so the members "
                    "fight over which node holds them all",
                    tuple(_at(m, "priority", f"priority {m.spec.params.priority}") for m in preferred.values()),
                )
            for other in cluster.nodes:
                if other is node:
                    continue
                mine = {key_of[(node.name, n)] for n in group.members if (node.name, n) in key_of}
                theirs = [
                    {key_of[(other.name, n)] for n in g.members if (other.name, n) in key_of}
                    for g in other.config.vrrp_sync_group
                ]
                present = {k for k in mine if any(m.node == other.name for m in groups[k])}
                if len(present) > 1 and not any(present <= t for t in theirs):
                    yield Finding(
                        Severity.WARNING,
                        "sync_group",
                        f"sync group {group.name} groups {', '.join(describe(k) for k in sorted(present))} on "
                        f"{node.name} but not on {other.name}: there they move one by one, and the group can end "
                        "split across the nodes",
                        ((node.name, group.where, f"vrrp_sync_group {group.name}"),),
                    )


def strict_rules(cluster: Cluster) -> Iterator[Finding]:
    """vrrp_strict without accept: the addresses take no traffic sent to them."""
    for node in cluster.nodes:
        served = {vs.address for vs in node.config.virtual_server if vs.address is not None}
        for member in node.members:
            instance = member.instance
            strict = instance.strict_mode if instance.strict_mode is not None else node.config.global_defs.vrrp_strict
            if not strict or instance.accept or member.spec.params.priority == 255:
                continue
            used = [a for a in member.spec.params.addresses if a in served]
            severity = Severity.ERROR if used else Severity.WARNING
            text = (
                f"virtual_server {', '.join(map(str, used))} on them gets no packets"
                if used
                else "nothing can ping them or reach a service bound to them"
            )
            yield Finding(
                severity,
                "strict",
                f"({member.name}) vrrp_strict without accept on {node.name}: the master drops packets sent to its "
                f"virtual addresses, so {text}; add accept",
                (_at(member, "strict_mode", "strict mode"),),
            )


def check(cluster: Cluster) -> list[Finding]:
    groups = cluster.groups()
    findings: list[Finding] = []
    for node in cluster.nodes:
        for diagnostic in node.diagnostics:
            if diagnostic.severity is Severity.ERROR:
                where = ((node.name, diagnostic.where, ""),) if diagnostic.where else ()
                findings.append(
                    Finding(Severity.ERROR, "config", f"{node.name}: {diagnostic.message} (will not run)", where)
                )
    by_name: dict[str, list[Member]] = {}
    for members in groups.values():
        for member in members:
            by_name.setdefault(member.name, []).append(member)
    for name, members in by_name.items():
        findings += _disagree(
            members,
            "vrid",
            "virtual_router_id",
            lambda m: m.spec.params.vrid,
            f"{name} has different VRIDs on the nodes, so they are not one virtual router",
        )
    for key, members in groups.items():
        findings += agreement_rules(key, members)
        findings += weight_rules(key, members)
        findings += preempt_rules(key, members)
    findings += sync_group_rules(cluster, groups)
    findings += strict_rules(cluster)
    return findings
