"""The cluster a lint checks: every node's configuration read by the real reader, and each instance as the
VRRP process would build it (`instance_spec`), paired with its counterparts on the other nodes.

Interfaces are not read from this machine: each node's interface gets its unicast_src_ip (or mcast_src_ip)
when an instance on it names one; else, for a unicast instance, the one address every other node lists
as a peer and it does not; else an address from TEST-NET-3 by node order (203.0.113.1 for the first node,
fe80::1 for IPv6), which then decides ties between equal priorities as the node's real address would.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..config import load
from ..config.model import Config, VrrpInstance
from ..core.diagnostics import Diagnostic, Location, Severity
from ..daemon.vrrp_setup import InstanceSpec, SetupError, instance_spec
from ..io.files import FileSystem
from ..io.netdev import Interface
from ..vrrp.packet import IPAddr

# An instance's counterparts on the other nodes share its VRID and address family (and its interface name,
# where one node has that VRID twice).
PairKey = tuple[int, int, str | None]


class LintError(Exception):
    """A node's configuration cannot be linted (it does not load, or cannot run)."""


@dataclass(frozen=True)
class Member:
    """One vrrp_instance on one node."""

    node: str
    instance: VrrpInstance
    spec: InstanceSpec
    # Whether its primary address was assumed (no unicast_src_ip or mcast_src_ip on that interface).
    assumed_address: bool

    @property
    def name(self) -> str:
        return self.instance.name

    def where(self, keyword: str | None = None) -> Location:
        """Where a keyword was written in this instance, or the instance's header line."""
        if keyword is not None and keyword in self.instance.lines:
            return self.instance.lines[keyword]
        return self.instance.where


@dataclass(frozen=True)
class Node:
    name: str
    path: str
    config: Config
    members: tuple[Member, ...]
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class Cluster:
    nodes: tuple[Node, ...]

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def groups(self) -> dict[PairKey, list[Member]]:
        """Instances that form one virtual router across the nodes, in node order."""
        ambiguous = {
            (m.spec.params.vrid, m.spec.params.primary.version)
            for node in self.nodes
            for i, m in enumerate(node.members)
            if any(_vrid_family(m) == _vrid_family(o) for o in node.members[:i])
        }
        found: dict[PairKey, list[Member]] = {}
        for node in self.nodes:
            for member in node.members:
                vrid, family = _vrid_family(member)
                interface = member.spec.interface.name if (vrid, family) in ambiguous else None
                found.setdefault((vrid, family, interface), []).append(member)
        return found


def _vrid_family(member: Member) -> tuple[int, int]:
    return member.spec.params.vrid, member.spec.params.primary.version


def describe(key: PairKey) -> str:
    vrid, family, interface = key
    return f"VRID {vrid}" + (" (IPv6)" if family == 6 else "") + (f" on {interface}" if interface else "")


def _interfaces(
    config: Config, index: int, known: Mapping[tuple[str, int], IPAddr]
) -> dict[str, tuple[Interface, set[int]]]:
    """A stand-in for each interface the node's instances use, with the address families whose address on it
    was assumed."""
    found: dict[str, tuple[Interface, set[int]]] = {}
    named: dict[tuple[str, int], IPAddr] = dict(known)
    for instance in config.vrrp_instance:
        source = instance.unicast_src_ip or instance.mcast_src_ip
        if instance.interface and source is not None:
            named.setdefault((instance.interface, source.version), source)
    names = [i.interface for i in config.vrrp_instance if i.interface]
    names += [
        v.dev for i in config.vrrp_instance for v in (*i.virtual_ipaddress, *i.virtual_ipaddress_excluded) if v.dev
    ]
    for position, name in enumerate(dict.fromkeys(names)):
        ipv4 = named.get((name, 4), ipaddress.IPv4Address(f"203.0.113.{index + 1}"))
        link_local = named.get((name, 6), ipaddress.IPv6Address(f"fe80::{index + 1:x}"))
        assert isinstance(ipv4, ipaddress.IPv4Address) and isinstance(link_local, ipaddress.IPv6Address)
        mac = bytes((2, 0, 0, 0, index + 1, position + 1))
        assumed = {family for family in (4, 6) if (name, family) not in named}
        found[name] = (Interface(name, position + 1, mac, ipv4, link_local), assumed)
    return found


def read_node(
    path: str,
    config_id: str | None,
    index: int,
    name: str | None = None,
    known: Mapping[tuple[str, int], IPAddr] | None = None,
) -> Node:
    """Read one node's file as that node would (its config id for '@' lines) and build its instances;
    `known` gives interfaces addresses learnt from the other nodes."""
    result = load(path, FileSystem(), config_id, None)
    if result.config is None:
        errors = [str(d) for d in result.diagnostics if d.severity is Severity.ERROR]
        raise LintError(f"{path}{f' (-i {config_id})' if config_id else ''}: {'; '.join(errors) or 'unreadable'}")
    config = result.config
    node_name = name or config_id or config.global_defs.router_id or f"node{index + 1}"
    interfaces = _interfaces(config, index, known or {})

    def lookup(interface_name: str) -> Interface:
        if interface_name not in interfaces:
            raise SetupError(f"interface {interface_name} is not named by any instance")
        return interfaces[interface_name][0]

    members: list[Member] = []
    for instance in config.vrrp_instance:
        try:
            spec = instance_spec(config, instance, lookup)
        except SetupError as problem:
            raise LintError(f"{instance.where}: {node_name}: {problem}") from None
        named = instance.unicast_src_ip or instance.mcast_src_ip
        assumed = named is None and spec.params.primary.version in interfaces[spec.interface.name][1]
        members.append(Member(node_name, instance, spec, assumed))
    return Node(node_name, path, config, tuple(members), result.diagnostics)


def read_cluster(paths: Sequence[str], config_ids: Sequence[str | None]) -> Cluster:
    """One node per (file, config id) pair; node names are the config ids, else router_id, else nodeN."""
    nodes = tuple(
        read_node(path, config_id, i) for i, (path, config_id) in enumerate(zip(paths, config_ids, strict=True))
    )
    names = [n.name for n in nodes]
    if len(set(names)) != len(names):
        names = [f"{n.name}#{i + 1}" for i, n in enumerate(nodes)]
    learnt = _addresses_from_peers(Cluster(nodes))
    nodes = tuple(
        read_node(n.path, cid, i, names[i], learnt.get(n.name, {}))
        for i, (n, cid) in enumerate(zip(nodes, config_ids, strict=True))
    )
    return Cluster(nodes)


def _addresses_from_peers(cluster: Cluster) -> dict[str, dict[tuple[str, int], IPAddr]]:
    """node -> (interface, family) -> address, for a unicast instance that names no unicast_src_ip: the one address
    every other node lists as a unicast peer, that is not one of its own peers nor another node's."""
    found: dict[str, dict[tuple[str, int], IPAddr]] = {}
    for members in cluster.groups().values():
        known = {m.spec.source for m in members if not m.assumed_address}
        for member in members:
            others = [o for o in members if o is not member and o.spec.params.unicast]
            if not member.assumed_address or not member.spec.params.unicast or not others:
                continue
            common = set.intersection(*(set(o.spec.params.unicast_peers) for o in others))
            common -= set(member.spec.params.unicast_peers) | known
            if len(common) == 1:
                address = common.pop()
                found.setdefault(member.node, {}).setdefault((member.spec.interface.name, address.version), address)
    return found
