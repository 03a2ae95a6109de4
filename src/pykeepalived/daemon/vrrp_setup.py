"""From the configuration model to what the VRRP service runs: engine parameters, interfaces, addresses."""

from __future__ import annotations

import logging
import os
import resource
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..config.global_dump import DEFAULT_INTERFACE, global_option
from ..config.items import Route, Rule, VirtualAddress
from ..config.items import Tracked as TrackedEntry
from ..config.model import AuthType, Config, GlobalDefs, Script, SyncGroup, VrrpInstance
from ..io.netdev import Interface
from ..io.routes import RouteError, route_message, rule_message
from ..vrrp.ah import ah_key
from ..vrrp.firewall import DEFAULT_PRIORITY, DEFAULT_TABLE, Blocked, FirewallSettings, blocked
from ..vrrp.gratuitous import vmac as virtual_mac
from ..vrrp.instance import PRIORITY_OWNER, Params
from ..vrrp.packet import AUTH_AH, AUTH_NONE, AUTH_PASS, IPAddr
from ..vrrp.tracking import Kind, Tracked


class SetupError(Exception):
    """The configuration asks for something this build cannot do on this machine."""


@dataclass(frozen=True)
class InstanceSpec:
    params: Params
    # Where adverts are sent and received: the instance's interface, or its VMAC interface (use_vmac).
    interface: Interface
    # Addresses added on becoming MASTER, each with the interface it goes on.
    addresses: tuple[tuple[VirtualAddress, Interface], ...]
    destinations: tuple[IPAddr, ...]
    source: IPAddr
    # Gratuitous ARP (IPv4) or unsolicited neighbour advert (IPv6) on becoming MASTER: (interface, address).
    garp_targets: tuple[tuple[Interface, IPAddr], ...]
    tracked: tuple[Tracked, ...] = ()
    # The instance's own interface going down is a fault (unless dont_track_primary).
    track_primary: bool = True
    # State name (MASTER, BACKUP, FAULT, STOP) -> script; `notify` gets "INSTANCE name state priority".
    notify_scripts: tuple[tuple[str, Script], ...] = ()
    notify: Script | None = None
    # virtual_routes and virtual_rules: (add message, remove message, what) for netlink.
    routing: tuple[tuple[bytes, bytes, str], ...] = ()
    vmac: str | None = None
    smtp_alert: bool = False
    # Accept mode; without it, what keepalived's firewall drops while this instance is MASTER.
    accept: bool = True
    firewall: tuple[Blocked, ...] = ()
    notify_master_rx_lower_pri: Script | None = None
    # The TTL / hop limit of unicast adverts; None: 255 in IPv4, the kernel's default in IPv6 (keepalived's).
    unicast_ttl: int | None = None


def vmac_name(instance: VrrpInstance) -> str | None:
    """The VMAC interface an instance uses: its own name, or keepalived's default vrrp.VRID."""
    if instance.use_vmac is None:
        return None
    return instance.use_vmac or f"vrrp.{instance.virtual_router_id}"


def routing_messages(
    routes: tuple[Route, ...], rules: tuple[Rule, ...], lookup: Callable[[str], Interface], owner: str
) -> tuple[tuple[bytes, bytes, str], ...]:
    """Netlink messages to add and remove routes and rules; rules first on removal is the caller's order."""
    messages: list[tuple[bytes, bytes, str]] = []
    try:
        for route in routes:
            index = lookup(route.dev).index if route.dev else None
            add, remove = route_message(route, index, True), route_message(route, index, False)
            messages.append((add, remove, f"{owner} route {route.destination}"))
        for rule in rules:
            messages.append((rule_message(rule, True), rule_message(rule, False), f"{owner} rule {rule.preference}"))
    except RouteError as problem:
        raise SetupError(f"{owner} {problem}") from None
    return tuple(messages)


def tracked_objects(config: Config, instance: VrrpInstance | SyncGroup) -> tuple[Tracked, ...]:
    """Tracked objects with the weight that applies: the instance's (or group's), else the object's."""
    defaults: dict[Kind, dict[str, tuple[int, bool]]] = {
        Kind.SCRIPT: {s.name: s.weight for s in config.vrrp_script if s.script},
        Kind.FILE: {f.name: f.weight for f in config.track_file},
        Kind.PROCESS: {p.name: p.weight for p in config.vrrp_track_process},
    }
    written: list[tuple[Kind, TrackedEntry]] = [
        *((Kind.SCRIPT, e) for e in instance.track_script),
        *((Kind.INTERFACE, e) for e in instance.track_interface),
        *((Kind.FILE, e) for e in instance.track_file),
        *((Kind.PROCESS, e) for e in instance.track_process),
    ]
    found: list[Tracked] = []
    for kind, entry in written:
        if kind is Kind.INTERFACE:
            found.append(Tracked(kind, entry.name, entry.weight or 0, entry.reverse))
        elif entry.name in defaults[kind]:
            default, default_reverse = defaults[kind][entry.name]
            weight = default if entry.weight is None else entry.weight
            found.append(Tracked(kind, entry.name, weight, entry.reverse or default_reverse))
    return tuple(found)


T = TypeVar("T")


def _instance_or_global(value: T | None, fallback: T) -> T:
    """An instance keyword overrides its global_defs counterpart only where it was written."""
    return fallback if value is None else value


def instance_spec(config: Config, instance: VrrpInstance, lookup: Callable[[str], Interface]) -> InstanceSpec:
    name = instance.name
    global_defs = config.global_defs
    if instance.interface is None:
        raise SetupError(f"({name}) an interface is required")
    interface = lookup(instance.interface)
    auth = instance.authentication
    auth_type, auth_data = AUTH_NONE, bytes(8)
    if auth is not None and auth.auth_pass:
        auth_type = AUTH_AH if auth.auth_type is AuthType.AH else AUTH_PASS
        auth_data = ah_key(auth.auth_pass.encode())
    version = instance.effective_version(global_defs.vrrp_version)
    advert_int_cs = round(instance.advert_int * 100)
    if version == 2 and advert_int_cs % 100:
        raise SetupError(f"({name}) VRRPv2 needs a whole number of seconds for advert_int")
    family = instance.family
    vmac = vmac_name(instance)
    if vmac is not None and family == 6:
        raise SetupError(f"({name}) use_vmac with IPv6 is not supported by this build yet")
    own_address = interface.address if family == 4 else interface.link_local
    source = instance.unicast_src_ip or instance.mcast_src_ip or own_address
    if source is None or source.version != family:
        kind = "IPv4" if family == 4 else "IPv6 link-local"
        raise SetupError(f"({name}) interface {interface.name} has no {kind} address to send adverts from")
    peers = tuple(p.address for p in instance.unicast_peer)
    if any(p.version != family for p in peers):
        raise SetupError(f"({name}) unicast peers must be of the instance's address family")
    # keepalived: the instance's mcast_dst_ip, else the global group of its family.
    advert_group = instance.mcast_dst_ip or (
        global_defs.vrrp_mcast_group4 if family == 4 else global_defs.vrrp_mcast_group6
    )
    if advert_group.version != family:
        raise SetupError(f"({name}) the multicast group {advert_group} is not of the instance's address family")
    destinations = peers or (advert_group,)
    vmac_interface = None
    if vmac is not None:
        try:
            vmac_interface = lookup(vmac)
        except OSError:
            # Not created yet (the VRRP process creates it before it starts): a stand-in to check the rest.
            vmac_interface = Interface(vmac, 0, virtual_mac(instance.virtual_router_id or 0, family), None)
    # Addresses on the instance's own interface go on its VMAC interface, as in keepalived.
    home = vmac_interface or interface
    placed = tuple(
        (vip, lookup(vip.dev) if vip.dev and vip.dev != interface.name else home)
        for vip in (*instance.virtual_ipaddress, *instance.virtual_ipaddress_excluded)
    )
    garp_targets = tuple((where, vip.address.ip) for vip, where in placed)
    strict = _instance_or_global(instance.strict_mode, global_defs.vrrp_strict)
    priority = instance.effective_priority
    # keepalived: unset, accept mode is off in strict mode except for the address owner, which always accepts.
    accept = priority == PRIORITY_OWNER or _instance_or_global(instance.accept, not strict)
    by_name = not firewall_settings(global_defs).by_ifindex and instance.dont_track_primary
    firewall = (
        () if accept else tuple(blocked(vip.address.ip, where.name, by_name and where is home) for vip, where in placed)
    )
    garp_delay = _instance_or_global(instance.garp_master_delay, global_defs.vrrp_garp_master_delay)
    garp_repeat = _instance_or_global(instance.garp_master_repeat, global_defs.vrrp_garp_master_repeat)
    # keepalived: unset lower-priority GARP settings follow the master ones; strict mode sends none.
    lower_repeat = _instance_or_global(
        instance.garp_lower_prio_repeat, _instance_or_global(global_defs.vrrp_garp_lower_prio_repeat, garp_repeat)
    )
    lower_delay = _instance_or_global(
        instance.garp_lower_prio_delay, _instance_or_global(global_defs.vrrp_garp_lower_prio_delay, garp_delay)
    )
    params = Params(
        name=name,
        vrid=instance.virtual_router_id or 0,
        version=version,
        priority=priority,
        advert_int_cs=advert_int_cs,
        addresses=tuple(vip.address.ip for vip in instance.virtual_ipaddress),
        primary=source,
        want_master=instance.effective_state.value == "MASTER",
        preempt=not instance.nopreempt,
        preempt_delay=instance.preempt_delay,
        auth_type=auth_type,
        auth_data=auth_data,
        unicast=bool(peers),
        unicast_peers=peers,
        skip_check_adv_addr=_instance_or_global(instance.skip_check_adv_addr, global_defs.vrrp_skip_check_adv_addr),
        garp_delay=garp_delay,
        garp_repeat=garp_repeat,
        garp_refresh=_instance_or_global(instance.garp_master_refresh, global_defs.vrrp_garp_master_refresh),
        garp_refresh_repeat=_instance_or_global(
            instance.garp_master_refresh_repeat, global_defs.vrrp_garp_master_refresh_repeat
        ),
        garp_lower_prio_repeat=0 if strict else lower_repeat,
        garp_lower_prio_delay=0 if strict else lower_delay,
        lower_prio_no_advert=strict
        or _instance_or_global(instance.lower_prio_no_advert, global_defs.vrrp_lower_prio_no_advert),
        higher_prio_send_advert=_instance_or_global(
            instance.higher_prio_send_advert, global_defs.vrrp_higher_prio_send_advert
        ),
        in_sync_group=any(name in g.members for g in config.vrrp_sync_group),
    )
    group = next((g for g in config.vrrp_sync_group if name in g.members), None)
    tracked = tracked_objects(config, instance) + (tracked_objects(config, group) if group else ())
    notify_scripts = tuple(
        (state, script)
        for state, script in (
            ("MASTER", instance.notify_master),
            ("BACKUP", instance.notify_backup),
            ("FAULT", instance.notify_fault),
            ("STOP", instance.notify_stop),
        )
        if script is not None
    )
    # With a VMAC, adverts travel on it both ways: the macvlan driver hands frames from our own virtual MAC
    # (another router's adverts) to the VMAC interface only. vmac_xmit_base keeps them on the parent.
    advert_interface = interface if instance.vmac_xmit_base or vmac_interface is None else vmac_interface
    return InstanceSpec(
        params,
        advert_interface,
        placed,
        destinations,
        source,
        garp_targets,
        tracked=tracked,
        track_primary=not instance.dont_track_primary,
        notify_scripts=notify_scripts,
        notify=instance.notify,
        routing=routing_messages(instance.virtual_routes, instance.virtual_rules, lookup, f"({name})"),
        vmac=vmac,
        smtp_alert=_instance_or_global(
            instance.smtp_alert if instance.smtp_alert is not None else (group.smtp_alert if group else None),
            global_defs.smtp_alert_vrrp or global_defs.smtp_alert,
        ),
        accept=accept,
        firewall=firewall,
        unicast_ttl=instance.unicast_ttl if peers else None,
        notify_master_rx_lower_pri=instance.notify_master_rx_lower_pri,
    )


def firewall_settings(global_defs: GlobalDefs) -> FirewallSettings:
    """The accept-mode firewall: global_defs `nftables [TABLE]` (vrrp_iptables also means nftables on Debian's
    keepalived), `nftables_priority`, `nftables_counters`, `nftables_ifindex`."""
    table = global_option(global_defs, "nftables")
    priority = global_option(global_defs, "nftables_priority")
    try:
        chain_priority = int(priority[0]) if priority else DEFAULT_PRIORITY
    except ValueError:
        chain_priority = DEFAULT_PRIORITY
    return FirewallSettings(
        table[0] if table else DEFAULT_TABLE,
        chain_priority,
        global_option(global_defs, "nftables_counters") is not None,
        global_option(global_defs, "nftables_ifindex") is not None,
    )


def default_interface(global_defs: GlobalDefs) -> str:
    """Where a static address without `dev` goes: global_defs' default_interface, else keepalived's eth0."""
    name = global_option(global_defs, "default_interface")
    return name[0] if name else DEFAULT_INTERFACE


def firewall_configured(global_defs: GlobalDefs) -> bool:
    return global_option(global_defs, "nftables") is not None or global_defs.vrrp_iptables is not None


# keepalived's default vrrp_rlimit_rttime: 10 ms of CPU without blocking.
DEFAULT_RLIMIT_RTTIME_US = 10_000


def apply_scheduling(global_defs: GlobalDefs, logger: logging.Logger) -> None:
    """keepalived's vrrp_priority (nice) and vrrp_rt_priority (SCHED_RR, bounded by vrrp_rlimit_rttime)."""
    try:
        if global_defs.vrrp_rt_priority is not None:
            # A realtime process that never blocks would starve the machine: cap its CPU time per burst.
            rttime = global_defs.vrrp_rlimit_rttime or DEFAULT_RLIMIT_RTTIME_US
            resource.setrlimit(resource.RLIMIT_RTTIME, (rttime, rttime + 1000))
            os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(global_defs.vrrp_rt_priority))
        elif global_defs.vrrp_priority is not None:
            os.setpriority(os.PRIO_PROCESS, 0, global_defs.vrrp_priority)
    except OSError as error:
        logger.warning(f"VRRP: cannot set the scheduling priority: {error}")
