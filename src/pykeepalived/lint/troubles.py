"""The troubles a scenario inflicts on a cluster on the simulated LAN, and how each is mended.

A tracked script's failure is seen after fall x interval runs (its recovery after rise x interval); track
files and processes are polled every second, as the VRRP process polls them; a link goes down at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..vrrp.tracking import Kind, Tracked
from .cluster import Cluster
from .lan import Lan

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Trouble:
    """One thing a scenario breaks, and how it is mended."""

    kind: str  # power, stop, tracked, link, partition
    title: str
    mended: str
    node: str
    tracked: tuple[Kind, str] | None = None
    interface: str | None = None


def troubles(cluster: Cluster) -> list[Trouble]:
    """Every scenario that matters for this cluster, after start-up."""
    found: list[Trouble] = []
    names = [n.name for n in cluster.nodes]
    for node in cluster.nodes:
        found.append(Trouble("power", f"{node.name} powered off", f"{node.name} back", node.name))
        found.append(Trouble("stop", f"{node.name} daemon stopped", f"{node.name} daemon started", node.name))
        tracked = {(t.kind, t.name): t for m in node.members for t in m.spec.tracked}
        for (kind, name), first in tracked.items():
            if kind is Kind.INTERFACE:
                continue
            what = {Kind.SCRIPT: "fails", Kind.FILE: f"reads {failing(first)}", Kind.PROCESS: "stops"}[kind]
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


def healthy(tracked: Tracked) -> bool | int:
    """The status of a tracked object that is working: a file reads 0, a reversed track is not OK."""
    return 0 if tracked.kind is Kind.FILE else not tracked.reverse


def failing(tracked: Tracked) -> bool | int:
    """The status that counts against its instances: a file reads 1 (-1 for a positive weight)."""
    if tracked.kind is Kind.FILE:
        return 1 if tracked.weight <= 0 else -1
    return tracked.reverse


def _tracked(lan: Lan, node: str, kind: Kind, name: str) -> Tracked:
    return next(
        t for r in lan.nodes[node].running.values() for t in r.member.spec.tracked if (t.kind, t.name) == (kind, name)
    )


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


def inflict(lan: Lan, trouble: Trouble) -> None:
    node = trouble.node
    if trouble.kind == "power":
        lan.power_off(node)
    elif trouble.kind == "stop":
        lan.stop_daemon(node)
    elif trouble.kind == "tracked":
        assert trouble.tracked is not None
        kind, name = trouble.tracked
        status = failing(_tracked(lan, node, kind, name))
        lan.run_until(lan.now + _detection(lan, node, trouble, True))
        lan.set_status(node, kind, name, status)
    elif trouble.kind == "link":
        assert trouble.interface is not None
        lan.set_link(node, trouble.interface, False)
    else:
        lan.cut |= {frozenset((node, other)) for other in lan.nodes if other != node}


def mend(lan: Lan, trouble: Trouble) -> None:
    node = trouble.node
    if trouble.kind in ("power", "stop"):
        lan.start(node)
    elif trouble.kind == "tracked":
        assert trouble.tracked is not None
        kind, name = trouble.tracked
        status = healthy(_tracked(lan, node, kind, name))
        lan.run_until(lan.now + _detection(lan, node, trouble, False))
        lan.set_status(node, kind, name, status)
    elif trouble.kind == "link":
        assert trouble.interface is not None
        lan.set_link(node, trouble.interface, True)
    else:
        lan.cut = set()
