"""VRRP virtual MAC interfaces (use_vmac): a macvlan on the instance's interface with 00:00:5e:00:01:VRID.

The interface settings are keepalived's: on the VMAC interface accept_local=1 (hear the other routers),
arp_ignore=1 and rp_filter=0; on its parent arp_ignore=1 and arp_filter=1 (and arp_announce=2), so that
only the VMAC answers ARP for the virtual addresses, with the virtual MAC.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

VMAC_SETTINGS = {"accept_local": "1", "arp_ignore": "1", "rp_filter": "0"}
# arp_announce=2 is ours: otherwise the parent's own ARP requests (for replies sent from a VIP) carry the
# VIP as sender address with the parent's MAC, and teach the LAN the wrong MAC for the VIP.
PARENT_SETTINGS = {"arp_ignore": "1", "arp_filter": "1", "arp_announce": "2"}


def _set_ipv4_conf(interface: str, settings: dict[str, str]) -> None:
    for name, value in settings.items():
        Path(f"/proc/sys/net/ipv4/conf/{interface}/{name}").write_text(value)


def create_vmac(parent: str, name: str, mac: bytes) -> None:
    """(Re)create the VMAC interface `name` on `parent`, configure it as keepalived does, and bring it up."""
    address = ":".join(f"{b:02x}" for b in mac)
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=parent)
        if not found:
            raise OSError(f"cannot make {name}: no interface {parent}")
        parent_index = found[0]
        for stale in ipr.link_lookup(ifname=name):
            ipr.link("del", index=stale)
        ipr.link("add", ifname=name, kind="macvlan", link=parent_index, macvlan_mode="private", address=address)
        _set_ipv4_conf(name, VMAC_SETTINGS)
        _set_ipv4_conf(parent, PARENT_SETTINGS)
        # No IPv6 on an IPv4 VMAC: a backup's link-local traffic would teach the switches the virtual MAC.
        Path(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6").write_text("1")
        ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")


def remove_vmac(name: str) -> None:
    with IPRoute() as ipr, contextlib.suppress(NetlinkError, IndexError):
        ipr.link("del", index=ipr.link_lookup(ifname=name)[0])
