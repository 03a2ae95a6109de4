"""From the configuration model to what the VRRP service runs: engine parameters, interfaces, addresses."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..config.items import VirtualAddress
from ..config.model import AuthType, Config, VrrpInstance
from ..io.netdev import Interface
from ..vrrp.instance import Params
from ..vrrp.packet import AUTH_NONE, AUTH_PASS, MCAST_GROUP4


class SetupError(Exception):
    """The configuration asks for something this build cannot do on this machine."""


@dataclass(frozen=True)
class InstanceSpec:
    params: Params
    interface: Interface
    # Addresses added on becoming MASTER, each with the interface it goes on.
    addresses: tuple[tuple[VirtualAddress, Interface], ...]
    destinations: tuple[ipaddress.IPv4Address, ...]
    source: ipaddress.IPv4Address
    # Ethernet frames for gratuitous ARP: (interface, address).
    garp_targets: tuple[tuple[Interface, ipaddress.IPv4Address], ...]


T = TypeVar("T")


def _instance_or_global(value: T | None, fallback: T) -> T:
    """An instance keyword overrides its global_defs counterpart only where it was written."""
    return fallback if value is None else value


def instance_spec(config: Config, instance: VrrpInstance, lookup: Callable[[str], Interface]) -> InstanceSpec:
    name = instance.name
    global_defs = config.global_defs
    if instance.family != 4:
        raise SetupError(f"({name}) IPv6 instances are not supported by this build yet")
    if instance.use_vmac is not None:
        raise SetupError(f"({name}) use_vmac is not supported by this build yet")
    if instance.interface is None:
        raise SetupError(f"({name}) an interface is required")
    interface = lookup(instance.interface)
    auth = instance.authentication
    auth_type, auth_data = AUTH_NONE, bytes(8)
    if auth is not None and auth.auth_type is AuthType.AH:
        raise SetupError(f"({name}) auth_type AH is not supported by this build yet")
    if auth is not None and auth.auth_type is AuthType.PASS and auth.auth_pass:
        auth_type, auth_data = AUTH_PASS, auth.auth_pass.encode().ljust(8, b"\0")[:8]
    version = instance.effective_version(global_defs.vrrp_version)
    advert_int_cs = round(instance.advert_int * 100)
    if version == 2 and advert_int_cs % 100:
        raise SetupError(f"({name}) VRRPv2 needs a whole number of seconds for advert_int")
    source = instance.unicast_src_ip or instance.mcast_src_ip or interface.address
    if not isinstance(source, ipaddress.IPv4Address):
        raise SetupError(f"({name}) interface {interface.name} has no IPv4 address to send adverts from")
    peers = tuple(p.address for p in instance.unicast_peer)
    if any(not isinstance(p, ipaddress.IPv4Address) for p in peers):
        raise SetupError(f"({name}) unicast peers must be IPv4 addresses")
    destinations = tuple(p for p in peers if isinstance(p, ipaddress.IPv4Address)) or (MCAST_GROUP4,)
    placed = tuple(
        (vip, lookup(vip.dev) if vip.dev else interface)
        for vip in (*instance.virtual_ipaddress, *instance.virtual_ipaddress_excluded)
    )
    garp_targets = tuple(
        (where, vip.address.ip) for vip, where in placed if isinstance(vip.address.ip, ipaddress.IPv4Address)
    )
    strict = _instance_or_global(instance.strict_mode, global_defs.vrrp_strict)
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
        priority=instance.effective_priority,
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
        garp_lower_prio_repeat=0 if strict else lower_repeat,
        garp_lower_prio_delay=0 if strict else lower_delay,
        lower_prio_no_advert=strict
        or _instance_or_global(instance.lower_prio_no_advert, global_defs.vrrp_lower_prio_no_advert),
        higher_prio_send_advert=_instance_or_global(
            instance.higher_prio_send_advert, global_defs.vrrp_higher_prio_send_advert
        ),
    )
    return InstanceSpec(params, interface, placed, destinations, source, garp_targets)
