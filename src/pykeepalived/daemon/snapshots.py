"""The VRRP and checker processes' state as `pykeepalivedctl status --json` shows it and the metrics read it."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..io.probes.base import Result
from ..vrrp.dumps import keepalived_counters
from ..vrrp.instance import State
from ..vrrp.tracking import Kind
from .status import Snapshot

if TYPE_CHECKING:
    from .check_service import CheckService
    from .vrrp_service import VrrpService


@dataclass
class CheckCounts:
    """One checker type's checks: how many, how long they took, and why they failed."""

    checks: int = 0
    seconds: float = 0.0
    failures: collections.Counter[str] = field(default_factory=collections.Counter)

    def count(self, result: Result, seconds: float) -> None:
        self.checks += 1
        self.seconds += seconds
        if not result.ok:
            self.failures[failure_reason(result)] += 1


def failure_reason(result: Result) -> str:
    """A failed check's cause in a few words fit for a metric label (the log has the whole detail)."""
    if result.raised is not None:
        return "probe_raised"
    detail = result.detail.lower()
    for reason, words in (
        ("timeout", ("timeout", "timed out")),
        ("refused", ("refused",)),
        ("unreachable", ("unreachable",)),
    ):
        if any(word in detail for word in words):
            return reason
    return "bad_answer"


def vrrp_snapshot(service: VrrpService) -> Snapshot:
    instances = []
    for running in service.running:
        spec, engine = running.spec, running.engine
        master = engine.master_source if engine.state is not State.MASTER else spec.source
        instances.append(
            {
                "name": spec.params.name,
                "state": engine.state.value,
                "interface": spec.interface.name,
                "vrid": spec.params.vrid,
                "version": spec.params.version,
                "priority": spec.params.priority,
                "effective_priority": engine.effective_priority,
                "master": str(master) if master is not None else None,
                "vips": [str(vip.address.ip) for vip, _ in spec.addresses],
                "vips_set": engine.vips_set,
                "tracking": [
                    {
                        "kind": tracked.kind.value,
                        "name": tracked.name,
                        "weight": tracked.weight,
                        "status": service.tracker.status.get((tracked.kind, tracked.name)),
                    }
                    for tracked in spec.tracked
                ],
                # keepalived's counters by its names (its .stats and JSON), then all of ours.
                "stats": keepalived_counters(engine),
                "counters": dict(engine.counters),
            }
        )
    return {
        "instances": instances,
        "sync_groups": {group.name: group.state.value for group in service.engines.groups},
        "scripts": {name: status for (kind, name), status in service.tracker.status.items() if kind is Kind.SCRIPT},
        "undecodable_packets": dict(service.dropped),
    }


def checker_snapshot(service: CheckService) -> Snapshot:
    stats = service.plane.stats()
    virtual_servers = []
    for policy in service.policies:
        held = service.held.get(policy.key)
        members = held.members() if held is not None else {}
        connections = stats.get(policy.key, {})
        virtual_servers.append(
            {
                "service": str(policy.key),
                "protocol": policy.key.protocol.value,
                "address": policy.key.address,
                "port": policy.key.port,
                "fwmark": policy.key.fwmark,
                "quorum_up": policy.quorum_up,
                "sorry_server_active": policy.sorry_active,
                "real_servers": [
                    {
                        "address": rs.key.address,
                        "port": rs.key.port,
                        "alive": policy.rs_alive.get(rs.key),
                        "weight": rs.effective_weight,
                        "in_table": rs.key in members,
                        "active_connections": connections[rs.key].active if rs.key in connections else 0,
                        "inactive_connections": connections[rs.key].inactive if rs.key in connections else 0,
                    }
                    for rs in policy.real_servers
                ],
            }
        )
    checks = {
        label: {"checks": counts.checks, "seconds": counts.seconds, "failures": dict(counts.failures)}
        for label, counts in service.check_counts.items()
    }
    return {"dataplane": service.plane.name, "virtual_servers": virtual_servers, "checks": checks}
