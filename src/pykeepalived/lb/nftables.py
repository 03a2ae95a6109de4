"""The load-balancer table as one nftables transaction (libnftables' JSON commands): kernel NAT load balancing.

Each virtual service is one DNAT rule whose target comes from a map indexed by `numgen` (rr, wrr and the
connection-count schedulers) or by `jhash` with a fixed seed (sh, dh, mh), so the same table always yields
the same rules and a reload does not move a source to another server. The map's slots follow the IPVS
schedulers: one interleaved wrr cycle, sh's 256 weighted buckets, dh's 256 buckets, mh's Maglev table; for
lc wlc sed nq ovf lblc lblcr, the next connections as the scheduler would place them given each server's
connection count in conntrack, re-planned as the counts change. A persistent service remembers each
client network in a timed set per real server (which rules add to), and sends it back there.
Replacing the table is one atomic transaction; connections already tracked keep their server (conntrack
holds their NAT binding), which is how a removed server drains.

Over 400 lines: one transaction builder for every scheduler family, DR, persistence and thresholds, which
share the map and set naming; split, they would have to agree on it across modules.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from .granularity import client_mask, mask_text
from .schedulers import (
    CONNECTION_COUNT_SCHEDULERS,
    DestinationHashing,
    Flow,
    MaglevHashing,
    Member,
    SourceHashing,
    make_scheduler,
)
from .table import DestinationKey, Service, ServiceKey, Table

TABLE_NAME = "pykeepalived"
FAMILY = "inet"
# Fixed, so that a reload (a new rule) hashes every source to the same slot as before.
HASH_SEED = 0x706B6C64
# A wrr cycle longer than this is scaled down (weights divided) to keep the map small.
MAX_CYCLE_SLOTS = 4096
CHAINS = (("prerouting", "prerouting", -100), ("output", "output", -100))
# How many connections ahead a connection-count scheduler's map is planned (re-planned from conntrack).
LOAD_AWARE_SLOTS = 64
Load = Mapping[DestinationKey, tuple[int, int]]
# IPVS's connection timeouts (TCP established, TCP closing, UDP), which lvs_timeouts changes: conntrack's own
# (five days for an established TCP connection) would keep a vanished client's entry far too long.
IPVS_TIMEOUTS = (900, 120, 300)
TIMEOUT_CHAINS = (("timeouts", "prerouting"), ("timeouts_out", "output"))
# After conntrack has made the new connection's entry (-200: the timeout is set on it before it is
# confirmed), before DNAT rewrites the destination the rules match (-100).
TIMEOUT_PRIORITY = -150

Command = dict[str, Any]
HASHING_SCHEDULERS = ("sh", "dh", "mh")


def weighted_members(service: Service) -> list[Member]:
    """The destinations that take new connections (weight 0 is quiesced), in the table's order."""
    return [
        Member(key, destination.weight, destination.upper_threshold, destination.lower_threshold)
        for key, destination in sorted(service.members().items())
        if destination.weight > 0
    ]


def has_thresholds(service: Service) -> bool:
    return any(destination.upper_threshold for destination in service.members().values())


def overloaded_servers(
    table: Table, loads: Mapping[ServiceKey, Load], before: Mapping[ServiceKey, AbstractSet[DestinationKey]]
) -> dict[ServiceKey, frozenset[DestinationKey]]:
    """IPVS's thresholds with its hysteresis: a server is overloaded from its upper threshold (active and
    inactive connections) until it falls below its lower one (3/4 of the upper if unset); `before` is the
    last answer."""
    found: dict[ServiceKey, frozenset[DestinationKey]] = {}
    for key, service in table.items():
        if not follows_load(service) or not has_thresholds(service):
            continue
        load = loads.get(key, {})
        members = weighted_members(service)
        for member in members:
            member.active, member.inactive = load.get(member.key, (0, 0))
            member.overloaded = member.key in before.get(key, frozenset())
            member.update_overload()
        found[key] = frozenset(member.key for member in members if member.overloaded)
    return found


def follows_load(service: Service) -> bool:
    """Whether the service's map depends on the servers' connection counts: a connection-count scheduler,
    or connection thresholds (which hashing schedulers do not heed here: see unsupported)."""
    return service.scheduler in CONNECTION_COUNT_SCHEDULERS or (
        has_thresholds(service) and service.scheduler not in HASHING_SCHEDULERS
    )


def _cycle_weights(members: Sequence[Member]) -> list[int]:
    divisor = math.gcd(*(member.weight for member in members))
    weights = [member.weight // divisor for member in members]
    while sum(weights) > MAX_CYCLE_SLOTS:
        weights = [max(weight // 2, 1) for weight in weights]
    return weights


def round_robin_slots(members: Sequence[Member]) -> list[DestinationKey]:
    """One whole cycle of IPVS's interleaved wrr (rr when the weights are equal): the current weight steps
    down from the largest by the weights' gcd, and each step takes, in order, every server at least as heavy."""
    weights = _cycle_weights(members)
    return [
        member.key
        for current in range(max(weights), 0, -1)
        for member, weight in zip(members, weights, strict=True)
        if weight >= current
    ]


def hashed_slots(scheduler_name: str, members: Sequence[Member]) -> list[DestinationKey]:
    """sh's, dh's or mh's bucket table, as the IPVS scheduler fills it."""
    scheduler = make_scheduler(scheduler_name)
    assert isinstance(scheduler, SourceHashing | DestinationHashing | MaglevHashing)
    scheduler.update(members)
    return [bucket for bucket in scheduler.buckets if bucket is not None]


def load_aware_slots(key: ServiceKey, members: Sequence[Member], scheduler_name: str) -> list[DestinationKey]:
    """The servers IPVS's scheduler would give the next LOAD_AWARE_SLOTS connections, from the load each server
    has now (conntrack's counts in the members), each connection counted as it is placed."""
    scheduler = make_scheduler(scheduler_name)
    scheduler.update(members)
    flow = Flow(source="0.0.0.0", source_port=0, target=key.address or "0.0.0.0", now=0.0)
    placed: list[DestinationKey] = []
    for _ in range(LOAD_AWARE_SLOTS):
        member = scheduler.pick(members, flow)
        if member is None:
            break
        member.active += 1
        member.update_overload()
        placed.append(member.key)
    return placed


def slots(
    service: Service,
    key: ServiceKey | None = None,
    load: Load | None = None,
    overloaded: AbstractSet[DestinationKey] = frozenset(),
) -> list[DestinationKey]:
    """Which real server each map slot sends a new connection to; with the servers' `load`, the
    connection-count schedulers place the next connections as IPVS would; `overloaded` servers (see
    overloaded_servers) get none."""
    members = weighted_members(service)
    if load is not None and follows_load(service):
        for member in members:
            member.active, member.inactive = load.get(member.key, (0, 0))
            member.overloaded = member.key in overloaded
    if service.scheduler in CONNECTION_COUNT_SCHEDULERS and key is not None and load is not None:
        return load_aware_slots(key, members, service.scheduler)
    if service.scheduler in HASHING_SCHEDULERS:
        return hashed_slots(service.scheduler, members) if members else []
    members = [member for member in members if not member.overloaded]
    if not members:
        return []
    if service.scheduler == "fo":
        heaviest = max(members, key=lambda member: member.weight)
        return [heaviest.key]
    return round_robin_slots(members)


def _match(protocol: str, field: str, value: object) -> Command:
    return {"match": {"op": "==", "left": {"payload": {"protocol": protocol, "field": field}}, "right": value}}


def _ip_family(address: str) -> str:
    return "ip6" if ipaddress.ip_address(address).version == 6 else "ip"


def _slot_key(service: Service, family: str, modulus: int) -> Command:
    """What picks the slot: the source address (sh, mh), the destination address (dh), or a counter."""
    if service.scheduler in HASHING_SCHEDULERS:
        field = "daddr" if service.scheduler == "dh" else "saddr"
        return {"jhash": {"mod": modulus, "seed": HASH_SEED, "expr": {"payload": {"protocol": family, "field": field}}}}
    return {"numgen": {"mode": "inc", "mod": modulus}}


def _service_matches(key: ServiceKey, family: str) -> list[Command]:
    """What selects a service's packets: its address and port, or the firewall's mark."""
    if key.fwmark:
        nfproto = "ipv6" if family == "ip6" else "ipv4"
        return [
            {"match": {"op": "==", "left": {"meta": {"key": "nfproto"}}, "right": nfproto}},
            {"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": key.fwmark}},
        ]
    return [_match(family, "daddr", key.address), _match(key.protocol.lower(), "dport", key.port)]


def _service_family(key: ServiceKey, service: Service) -> str:
    """A fwmark service has no address: its real servers' say which family it carries."""
    if key.fwmark:
        return _ip_family(min(service.members()).address) if service.members() else "ip"
    return _ip_family(key.address)


def _target(key: ServiceKey, member: DestinationKey) -> Any:
    """Where DNAT sends a connection: a fwmark service's real servers have no port (the packet's is kept)."""
    return member.address if key.fwmark else {"concat": [member.address, member.port]}


def _rule(chain: str, expressions: list[Command], comment: str | None = None) -> Command:
    rule: Command = {"family": FAMILY, "table": TABLE_NAME, "chain": chain, "expr": expressions}
    if comment is not None:
        rule["comment"] = comment
    return {"add": {"rule": rule}}


def service_rule(
    key: ServiceKey,
    service: Service,
    chain: str,
    load: Load | None = None,
    overloaded: AbstractSet[DestinationKey] = frozenset(),
) -> Command | None:
    """The DNAT rule of one service, or None when no real server takes new connections."""
    targets = slots(service, key, load, overloaded)
    if not targets:
        return None
    family = _service_family(key, service)
    data: list[list[Any]] = [[index, _target(key, target)] for index, target in enumerate(targets)]
    slot_key = _slot_key(service, family, len(targets))
    dnat = {"dnat": {"family": family, "addr": {"map": {"key": slot_key, "data": {"set": data}}}}}
    return _rule(chain, [*_service_matches(key, family), dnat], f"{key} {service.scheduler}")


def persistence_set_name(key: ServiceKey, member: DestinationKey) -> str:
    """The set of client networks that persist to `member` (and the chain that sends new ones there); stable
    across reloads, so a reload keeps what clients were given."""
    return "persist-" + hashlib.sha256(f"{key}|{member}".encode()).hexdigest()[:16]


def persistence_sets(table: Table) -> dict[str, str]:
    """Each persistent service's sets, by name, with their element type."""
    return {
        persistence_set_name(key, member): "ipv6_addr" if _service_family(key, service) == "ip6" else "ipv4_addr"
        for key, service in table.items()
        if service.persistence_timeout and not is_direct_routing(service)
        for member in service.members()
    }


def persistence_set_commands(names: Mapping[str, str]) -> str:
    """The sets as nft commands: the flag that lets rules add to a set has no JSON form in libnftables 1.0.6."""
    commands = [f"add table {FAMILY} {TABLE_NAME}"]
    for name, element_type in sorted(names.items()):
        commands.append(f"add set {FAMILY} {TABLE_NAME} {name} {{ type {element_type}; flags dynamic,timeout; }}")
    return "; ".join(commands)


def _client_network(service: Service, family: str) -> Any:
    """The client's address under the persistence granularity (a netmask, or an IPv6 prefix length)."""
    source = _payload(family, "saddr")
    version = 6 if family == "ip6" else 4
    mask = client_mask(service.persistence_granularity, version)
    return source if mask is None else {"&": [source, mask_text(mask, version)]}


def persistence_commands(
    key: ServiceKey,
    service: Service,
    load: Load | None = None,
    overloaded: AbstractSet[DestinationKey] = frozenset(),
) -> tuple[list[Command], list[Command]]:
    """IPVS's persistence: the chains that send a client to a real server and remember it there (for
    persistence_timeout), and the service's rules for each NAT hook chain: a client remembered goes back
    to its server (quiesced or not, as in IPVS), a new one is scheduled."""
    family = _service_family(key, service)
    client = _client_network(service, family)
    chains: list[Command] = []
    rules: dict[str, list[Command]] = {chain: [] for chain, _, _ in CHAINS}
    for member in sorted(service.members()):
        name = persistence_set_name(key, member)
        chains.append({"add": {"chain": {"family": FAMILY, "table": TABLE_NAME, "name": name}}})
        remember = {"set": {"op": "update", "elem": {"elem": {"val": client, "timeout": service.persistence_timeout}},
                            "set": f"@{name}"}}  # fmt: skip
        protocol = [] if key.fwmark else [{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}},
                                                     "right": key.protocol.lower()}}]  # fmt: skip
        dnat = {"dnat": {"family": family, "addr": member.address, **({} if key.fwmark else {"port": member.port})}}
        chains.append(_rule(name, [remember, *protocol, dnat]))
        for chain in rules:
            known = {"match": {"op": "==", "left": client, "right": f"@{name}"}}
            rules[chain].append(_rule(chain, [*_service_matches(key, family), known, {"jump": {"target": name}}]))
    targets = slots(service, key, load, overloaded)
    if targets:
        jumps = [
            [index, {"jump": {"target": persistence_set_name(key, target)}}] for index, target in enumerate(targets)
        ]
        pick = {"vmap": {"key": _slot_key(service, family, len(targets)), "data": {"set": jumps}}}
        for chain in rules:
            rules[chain].append(_rule(chain, [*_service_matches(key, family), pick], f"{key} {service.scheduler}"))
    return chains, [rule for chain_rules in rules.values() for rule in chain_rules]


@dataclass(frozen=True)
class DirectRouting:
    """Where a direct-routing service's packets leave: the director's device and MAC address there, and
    each real server's MAC address (those not resolved yet take no connections)."""

    device: str
    mac: str
    member_macs: Mapping[DestinationKey, str]


def is_direct_routing(service: Service) -> bool:
    return bool(service.members()) and all(d.forwarding == "DR" for d in service.members().values())


def direct_routing_rule(key: ServiceKey, service: Service, route: DirectRouting) -> Command | None:
    """LVS-DR without IPVS: at the device's ingress, the frame for the virtual service gets a real server's
    MAC address and goes back out. There is no conntrack at ingress, so each connection is hashed (source
    address and port) over mh's Maglev table: it stays on its server, and a server's removal moves only
    its own connections."""
    if key.fwmark:
        return None
    family = _ip_family(key.address)
    members = [
        member
        for member in weighted_members(service)
        if member.key in route.member_macs and _ip_family(member.key.address) == family
    ]
    if not members:
        return None
    targets = hashed_slots("mh", members)
    protocol = key.protocol.lower()
    source, source_port = _payload(family, "saddr"), _payload(protocol, "sport")
    slot = {"jhash": {"mod": len(targets), "seed": HASH_SEED, "expr": {"concat": [source, source_port]}}}
    macs = {"map": {"key": slot, "data": {"set": [[i, route.member_macs[t]] for i, t in enumerate(targets)]}}}
    expressions = [
        _match(family, "daddr", key.address),
        _match(protocol, "dport", key.port),
        {"mangle": {"key": _payload("ether", "saddr"), "value": route.mac}},
        {"mangle": {"key": _payload("ether", "daddr"), "value": macs}},
        {"fwd": {"dev": route.device}},
    ]
    return {
        "add": {
            "rule": {
                "family": "netdev",
                "table": TABLE_NAME,
                "chain": _ingress_chain(route.device),
                "comment": f"{key} {service.scheduler} DR",
                "expr": expressions,
            }
        }
    }


def _payload(protocol: str, field: str) -> Command:
    return {"payload": {"protocol": protocol, "field": field}}


def _ingress_chain(device: str) -> str:
    return f"ingress_{device}"


def _direct_routing_commands(table: Table, routing: Mapping[ServiceKey, DirectRouting]) -> list[Command]:
    """The netdev table, rebuilt whole: its chains are bound to devices, which may come and go."""
    identity = {"family": "netdev", "name": TABLE_NAME}
    commands: list[Command] = [{"add": {"table": identity}}, {"delete": {"table": identity}}]
    rules = [
        (route.device, rule)
        for key, route in sorted(routing.items())
        if key in table and (rule := direct_routing_rule(key, table[key], route)) is not None
    ]
    if not rules:
        return commands
    commands.append({"add": {"table": identity}})
    for device in sorted({device for device, _ in rules}):
        chain = {"family": "netdev", "table": TABLE_NAME, "name": _ingress_chain(device), "type": "filter",
                 "hook": "ingress", "dev": device, "prio": 0, "policy": "accept"}  # fmt: skip
        commands.append({"add": {"chain": chain}})
    commands.extend(rule for _, rule in rules)
    return commands


def timeout_name(protocol: str, family: str, timeouts: tuple[int, int, int]) -> str:
    """A ct timeout object's name; it carries the values, so new values make a new object."""
    tcp, tcp_fin, udp = timeouts
    return f"ipvs-{protocol}-{family}-" + (f"{tcp}-{tcp_fin}" if protocol == "tcp" else f"{udp}")


def timeout_objects(timeouts: tuple[int, int, int]) -> str:
    """The ct timeout objects, as nft commands: libnftables 1.0.6's JSON reader drops their policy."""
    tcp, tcp_fin, udp = timeouts
    policies = {
        "tcp": f"established: {tcp}, fin_wait: {tcp_fin}, close_wait: {tcp_fin}, last_ack: {tcp_fin}, "
        f"time_wait: {tcp_fin}",
        "udp": f"unreplied: {udp}, replied: {udp}",
    }
    commands = [f"add table {FAMILY} {TABLE_NAME}"]
    for protocol, policy in policies.items():
        for family in ("ip", "ip6"):
            name = timeout_name(protocol, family, timeouts)
            commands.append(
                f"add ct timeout {FAMILY} {TABLE_NAME} {name} {{ protocol {protocol}; l3proto {family}; "
                f"policy = {{ {policy} }}; }}"
            )
    return "; ".join(commands)


def _timeout_rules(key: ServiceKey, timeouts: tuple[int, int, int]) -> list[Command]:
    """Rules giving the service's new connections IPVS's timeouts (fwmark services keep conntrack's: the
    mark is set at the same priority, in an order nftables does not promise)."""
    protocol = key.protocol.lower()
    if key.fwmark or protocol not in ("tcp", "udp"):
        return []
    family = _ip_family(key.address)
    name = timeout_name(protocol, family, timeouts)
    matches = [_match(family, "daddr", key.address), _match(protocol, "dport", key.port)]
    expressions = [*matches, {"ct timeout": name}]
    return [
        {"add": {"rule": {"family": FAMILY, "table": TABLE_NAME, "chain": chain, "expr": expressions}}}
        for chain, _ in TIMEOUT_CHAINS
    ]


def transaction(
    table: Table,
    loads: Mapping[ServiceKey, Load] | None = None,
    routing: Mapping[ServiceKey, DirectRouting] | None = None,
    timeouts: tuple[int, int, int] | None = None,
    retired_sets: Sequence[str] = (),
    overloaded: Mapping[ServiceKey, AbstractSet[DestinationKey]] | None = None,
) -> list[Command]:
    """Replace our nftables tables with `table`'s rules: one atomic transaction. `loads` (active and
    inactive connections per real server) steer the connection-count schedulers; `routing` says where the
    direct-routing services' frames go; with `timeouts` (whose objects timeout_objects made), the services'
    connections get them. Persistent services use the sets persistence_set_commands made; `retired_sets`
    (with their chains) are no longer used and go; `overloaded` servers (overloaded_servers) get no new
    connections."""
    identity = {"family": FAMILY, "name": TABLE_NAME}
    commands: list[Command] = [{"add": {"table": identity}}, {"flush": {"table": identity}}]
    if timeouts is not None:
        for chain, hook in TIMEOUT_CHAINS:
            settings = {"type": "filter", "hook": hook, "prio": TIMEOUT_PRIORITY, "policy": "accept"}
            commands.append({"add": {"chain": {"family": FAMILY, "table": TABLE_NAME, "name": chain, **settings}}})
    for chain, hook, priority in CHAINS:
        commands.append(
            {
                "add": {
                    "chain": {
                        "family": FAMILY,
                        "table": TABLE_NAME,
                        "name": chain,
                        "type": "nat",
                        "hook": hook,
                        "prio": priority,
                        "policy": "accept",
                    }
                }
            }
        )
    for key, service in sorted(table.items()):
        if is_direct_routing(service):
            continue
        if timeouts is not None:
            commands += _timeout_rules(key, timeouts)
        if service.persistence_timeout:
            heavy = (overloaded or {}).get(key, frozenset())
            chains, rules = persistence_commands(key, service, (loads or {}).get(key), heavy)
            commands += chains + rules
            continue
        for chain, _, _ in CHAINS:
            rule = service_rule(key, service, chain, (loads or {}).get(key), (overloaded or {}).get(key, frozenset()))
            if rule is not None:
                commands.append(rule)
    for name in retired_sets:
        for kind in ("chain", "set"):
            commands.append({"delete": {kind: {"family": FAMILY, "table": TABLE_NAME, "name": name}}})
    return commands + _direct_routing_commands(table, routing or {})


def table_exists_command() -> str:
    """Succeeds only while the kernel has our table."""
    return f"list table {FAMILY} {TABLE_NAME}"


def removal() -> list[Command]:
    """Both tables gone (adding first makes deleting one that is not there harmless)."""
    commands: list[Command] = []
    for family in (FAMILY, "netdev"):
        identity = {"family": family, "name": TABLE_NAME}
        commands += [{"add": {"table": identity}}, {"delete": {"table": identity}}]
    return commands


def unsupported(table: Mapping[ServiceKey, Service]) -> list[str]:
    """What in `table` this data plane does not do (yet), one line each, for the log."""
    problems = []
    for key, service in table.items():
        direct = is_direct_routing(service)
        if has_thresholds(service) and service.scheduler in HASHING_SCHEDULERS:
            problems.append(f"{key}: the nftables data plane does not apply thresholds to {service.scheduler}")
        if direct and service.persistence_timeout:
            problems.append(f"{key}: persistence_timeout is not kept by the nftables data plane in DR mode")
        if direct and key.fwmark:
            problems.append(f"{key}: the nftables data plane routes directly (DR) only address:port services")
        for destination_key, destination in service.members().items():
            if not direct and destination.forwarding != "NAT":
                problems.append(
                    f"{key}: {destination_key.text(key.protocol.lower())} uses {destination.forwarding}; "
                    "the nftables data plane forwards with NAT, or DR when every real server of a service uses it"
                )
    return problems
