"""The real-server side of LVS-DR and LVS-TUN, which keepalived and ipvsadm leave to the operator.

DR: the director sends the client's frames to this host's MAC address unchanged; this host takes them
because it holds the VIP on `lo` (/32, /128), and must not answer ARP for it (arp_ignore=1: answer only
for addresses of the interface asked on) nor announce it (arp_announce=2: ARP requests carry the
interface's own address), or the LAN sends the VIP's traffic here instead of to the director.
TUN: the director tunnels the packets (IPIP, IPv6-in-IPv6) to this host, which holds the VIP on the
kernel's catch-all tunnel device (tunl0, ip6tnl0); the decapsulated packets come in on that device from
clients reached through another, so strict reverse-path filtering must not apply there; ARP as for DR.

What `setup` changes is recorded in a state file under /run (one per network namespace: it lives as
long as what it records, which a reboot resets too), so that `teardown` puts back what was there before.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from .arp_probe import ArpProbe, ProbeUnavailable

MODES = ("dr", "tun")
LOOPBACK = "lo"
# The catch-all tunnel devices the ipip and ip6_tunnel modules create in every namespace, and their kinds.
TUNNELS = {4: ("tunl0", "ipip"), 6: ("ip6tnl0", "ip6tnl")}
ARP_IGNORE, ARP_ANNOUNCE = 1, 2
RP_STRICT, RP_LOOSE, RP_OFF = 1, 2, 0
IFF_LOOPBACK = 0x8
STATE_DIRECTORY = "/run/pykeepalived"
SO_NETNS_COOKIE = 71  # Linux 5.14; not in Python's socket module


class RealServerError(Exception):
    """What stops setup or teardown before it changes anything (the reason is the message)."""


def default_state_file() -> str:
    """The state file of this network namespace, named after its cookie, which the kernel never gives another
    namespace (an inode number is reused once a namespace is gone); by inode before Linux 5.14."""
    try:
        with socket.socket(socket.AF_UNIX) as probe:
            (cookie,) = struct.unpack("Q", probe.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))
    except OSError:
        return f"{STATE_DIRECTORY}/realserver-netns-inode{os.stat('/proc/self/ns/net').st_ino}.json"
    return f"{STATE_DIRECTORY}/realserver-netns{cookie}.json"


def vip_interface(mode: str, version: int) -> str:
    return LOOPBACK if mode == "dr" else TUNNELS[version][0]


def ipv4_conf(interface: str, name: str) -> Path:
    return Path(f"/proc/sys/net/ipv4/conf/{interface}/{name}")


def sysctl_name(path: Path) -> str:
    """sysctl's name for a /proc/sys path (a dot in an interface name is a slash there)."""
    parts = path.relative_to("/proc/sys").parts
    return ".".join(part.replace(".", "/") for part in parts)


def read_value(path: Path) -> int:
    return int(path.read_text().strip())


@dataclass
class Address:
    interface: str
    address: str
    prefix: int

    @property
    def version(self) -> int:
        return ipaddress.ip_address(self.address).version

    def __str__(self) -> str:
        return f"{self.address}/{self.prefix} on {self.interface}"


@dataclass
class State:
    """What setup changed: the values sysctls had before, the VIPs it added, the tunnels it brought up."""

    sysctls: dict[str, int] = field(default_factory=dict)
    vips: dict[str, str] = field(default_factory=dict)
    raised: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: str) -> State | None:
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise RealServerError(f"{path}: unreadable state file: {error}") from error
        return cls(dict(data["sysctls"]), dict(data["vips"]), list(data["raised"]))

    def save(self, path: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        temporary = f"{path}.new"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"sysctls": self.sysctls, "vips": self.vips, "raised": self.raised}, handle, indent=1)
        os.replace(temporary, path)


def canonical_vips(vips: Sequence[str]) -> list[str]:
    """The VIPs as the kernel writes them; a bad one is an error naming it."""
    canonical = []
    for vip in vips:
        try:
            canonical.append(str(ipaddress.ip_address(vip)))
        except ValueError as error:
            raise RealServerError(f"--vip {vip}: not an IPv4 or IPv6 address") from error
    return canonical


class Host:
    """This network namespace's addresses, links and sysctls, through rtnetlink and /proc/sys."""

    def __init__(self, routing: IPRoute) -> None:
        self.routing = routing

    def names(self) -> dict[int, str]:
        return {link["index"]: link.get_attr("IFLA_IFNAME") for link in self.routing.get_links()}

    def addresses(self) -> list[Address]:
        names = self.names()
        return [
            Address(names[entry["index"]], str(ipaddress.ip_address(entry.get_attr("IFA_ADDRESS"))), entry["prefixlen"])
            for entry in self.routing.get_addr()
        ]

    def lan_interfaces(self) -> list[str]:
        """The interfaces ARP is answered on: every one with an IPv4 address but the loopback and tunnels."""
        loopbacks = {link["index"] for link in self.routing.get_links() if link["flags"] & IFF_LOOPBACK}
        names = self.names()
        tunnels = {name for name, _ in TUNNELS.values()}
        found = {
            names[entry["index"]]
            for entry in self.routing.get_addr(family=socket.AF_INET)
            if entry["index"] not in loopbacks and names[entry["index"]] not in tunnels
        }
        return sorted(found)

    def link_index(self, name: str) -> int | None:
        found = self.routing.link_lookup(ifname=name)
        return found[0] if found else None

    def is_up(self, name: str) -> bool:
        index = self.link_index(name)
        return index is not None and bool(self.routing.get_links(index)[0]["flags"] & 0x1)

    def add_address(self, interface: str, vip: str) -> None:
        prefix = 32 if ipaddress.ip_address(vip).version == 4 else 128
        self.routing.addr("add", index=self.link_index(interface), address=vip, prefixlen=prefix)

    def remove_address(self, address: Address) -> None:
        self.routing.addr(
            "del", index=self.link_index(address.interface), address=address.address, prefixlen=address.prefix
        )

    def ensure_tunnel(self, version: int) -> None:
        """The catch-all tunnel device: loading the module (on the first tunnel added) creates it."""
        name, kind = TUNNELS[version]
        if self.link_index(name) is not None:
            return
        with contextlib.suppress(NetlinkError):
            self.routing.link("add", ifname=name, kind=kind)
        if self.link_index(name) is None:
            raise RealServerError(
                f"this kernel has no {kind} tunnels ({name} cannot be created): LVS-TUN needs "
                f"the {'ipip' if version == 4 else 'ip6_tunnel'} module"
            )

    def set_up(self, name: str, up: bool) -> None:
        self.routing.link("set", index=self.link_index(name), state="up" if up else "down")


@contextlib.contextmanager
def opened_host() -> Iterator[Host]:
    with IPRoute() as routing:
        yield Host(routing)


def wanted_sysctls(host: Host, mode: str, vips: Sequence[str]) -> list[tuple[Path, int, str]]:
    """(sysctl, value, why) for these VIPs: ARP on `all` and every LAN interface, rp_filter for TUN."""
    wanted: list[tuple[Path, int, str]] = []
    if any(ipaddress.ip_address(vip).version == 4 for vip in vips):
        for interface in ("all", *host.lan_interfaces()):
            wanted.append((ipv4_conf(interface, "arp_ignore"), ARP_IGNORE, "ignore"))
            wanted.append((ipv4_conf(interface, "arp_announce"), ARP_ANNOUNCE, "announce"))
        if mode == "tun":
            wanted.append((ipv4_conf(TUNNELS[4][0], "rp_filter"), RP_OFF, "rp_filter"))
            wanted.append((ipv4_conf("all", "rp_filter"), RP_LOOSE, "rp_filter"))
    return wanted


def needs_change(current: int, wanted: int, why: str) -> bool:
    if why == "ignore":
        # 2 (subnet too), 3 and 8 (never) answer even less than 1: left as they are.
        return current < wanted
    if why == "rp_filter":
        # Strict on `all` would be strict on the tunnel too (the kernel takes the larger); loose lets the
        # tunnelled packets in (their source is reachable), so only strict is relaxed.
        return current == RP_STRICT
    return current != wanted


def setup(mode: str, vips: Sequence[str], state_file: str) -> list[str]:
    """Prepare this host as a real server for `vips`; the changes made, in words (none: already done)."""
    state = State.load(state_file) or State()
    changes: list[str] = []
    with opened_host() as host:
        refuse_misplaced(host, mode, vips)
        try:
            make_changes(host, mode, vips, state, changes)
        except (NetlinkError, OSError) as error:
            raise RealServerError(f"{error} (after {len(changes)} changes: {'; '.join(changes) or 'none'})") from error
        finally:
            # What was changed before a failure is recorded too: teardown puts it back.
            if changes:
                state.save(state_file)
    return changes


def refuse_misplaced(host: Host, mode: str, vips: Sequence[str]) -> None:
    """A VIP held elsewhere, or with a wider prefix, is the operator's to remove: nothing is changed."""
    for address in host.addresses():
        if address.address not in vips:
            continue
        target = vip_interface(mode, address.version)
        full = 32 if address.version == 4 else 128
        if address.interface != target or address.prefix != full:
            raise RealServerError(
                f"{address.address} is already held as {address}: remove it there first (a {mode.upper()} real "
                f"server holds it as /{full} on {target} only)"
            )


def make_changes(host: Host, mode: str, vips: Sequence[str], state: State, changes: list[str]) -> None:
    if mode == "tun":
        for version in sorted({ipaddress.ip_address(vip).version for vip in vips}):
            host.ensure_tunnel(version)
            tunnel = TUNNELS[version][0]
            if not host.is_up(tunnel):
                host.set_up(tunnel, True)
                if tunnel not in state.raised:
                    state.raised.append(tunnel)
                changes.append(f"brought {tunnel} up")
    for path, value, why in wanted_sysctls(host, mode, vips):
        current = read_value(path)
        if needs_change(current, value, why):
            path.write_text(str(value))
            state.sysctls.setdefault(str(path), current)
            changes.append(f"{sysctl_name(path)}: {current} -> {value}")
    held = {address.address for address in host.addresses()}
    for vip in vips:
        target = vip_interface(mode, ipaddress.ip_address(vip).version)
        if vip not in held:
            host.add_address(target, vip)
            state.vips[vip] = target
            changes.append(f"added {vip} to {target}")


def teardown(mode: str, vips: Sequence[str], state_file: str) -> list[str]:
    """Remove `vips`; once no VIP of setup's is left, put back the sysctls and links it changed."""
    state = State.load(state_file)
    try:
        with opened_host() as host:
            return restore(host, mode, vips, state, state_file)
    except (NetlinkError, OSError) as error:
        raise RealServerError(str(error)) from error


def restore(host: Host, mode: str, vips: Sequence[str], state: State | None, state_file: str) -> list[str]:
    """teardown's work: the VIPs removed, then, when setup's last VIP is gone, what setup changed put back."""
    changes: list[str] = []
    recorded = state.vips if state is not None else {}
    for address in host.addresses():
        where = {recorded.get(address.address), vip_interface(mode, address.version)}
        if address.address in vips and address.interface in where:
            host.remove_address(address)
            changes.append(f"removed {address}")
    if state is None:
        return changes
    for vip in vips:
        state.vips.pop(vip, None)
    if state.vips:
        state.save(state_file)
        return changes
    for name, value in state.sysctls.items():
        path = Path(name)
        if path.exists() and read_value(path) != value:
            path.write_text(str(value))
            changes.append(f"{sysctl_name(path)}: {value} restored")
    for tunnel in state.raised:
        if host.is_up(tunnel):
            host.set_up(tunnel, False)
            changes.append(f"brought {tunnel} down")
    os.unlink(state_file)
    return changes


def effective(interface: str, name: str) -> tuple[int, str]:
    """The value the kernel uses on `interface` (the larger of `all` and the interface's), and how it got it."""
    both = {scope: read_value(ipv4_conf(scope, name)) for scope in ("all", interface)}
    return max(both.values()), ", ".join(f"{sysctl_name(ipv4_conf(scope, name))}={v}" for scope, v in both.items())


def check(mode: str, vips: Sequence[str], probe: bool = True) -> tuple[list[str], list[str]]:
    """(problems, notes) of this host as a real server for `vips`, each in words."""
    problems: list[str] = []
    notes: list[str] = []
    with opened_host() as host:
        present = host.addresses()
        lan = host.lan_interfaces()
        for vip in vips:
            version = ipaddress.ip_address(vip).version
            target = vip_interface(mode, version)
            full = 32 if version == 4 else 128
            held = [address for address in present if address.address == vip]
            if not any(address.interface == target for address in held):
                problems.append(f"{vip} is not on {target}: this server drops what the director sends to the VIP")
            for address in held:
                if address.interface == target and address.prefix != full:
                    problems.append(
                        f"{vip} is on {target} as /{address.prefix}, not /{full}: this server takes "
                        f"every address of {ipaddress.ip_interface(f'{vip}/{address.prefix}').network} "
                        "for its own"
                    )
                elif address.interface != target:
                    problems.append(
                        f"{vip} is on {address.interface}: this server answers ARP or neighbour "
                        "solicitations for it there, and takes the VIP's traffic from the director"
                    )
        if mode == "tun":
            for version in sorted({ipaddress.ip_address(vip).version for vip in vips}):
                tunnel = TUNNELS[version][0]
                if host.link_index(tunnel) is None:
                    problems.append(f"there is no {tunnel}: the tunnelled packets are not taken")
                elif not host.is_up(tunnel):
                    problems.append(f"{tunnel} is down: the tunnelled packets are not taken")
                elif version == 4:
                    value, how = effective(tunnel, "rp_filter")
                    if value == RP_STRICT:
                        problems.append(
                            f"rp_filter is strict on {tunnel} ({how}): the tunnelled packets come from "
                            "clients reached through another interface, and are dropped"
                        )
        ipv4_vips = [vip for vip in vips if ipaddress.ip_address(vip).version == 4]
        if not ipv4_vips:
            return problems, notes
        for interface in lan:
            value, how = effective(interface, "arp_ignore")
            if value < ARP_IGNORE:
                problems.append(
                    f"arp_ignore is {value} on {interface} ({how}): it answers ARP requests for every "
                    "address of this host, the VIPs too"
                )
            value, how = effective(interface, "arp_announce")
            if value != ARP_ANNOUNCE:
                problems.append(
                    f"arp_announce is {value} on {interface} ({how}): this host's ARP requests may carry "
                    "a VIP as sender address and teach the LAN its MAC address for the VIP"
                )
        if probe and lan:
            problems += probe_arp(lan, ipv4_vips, notes)
    return problems, notes


def probe_arp(lan: Sequence[str], vips: Sequence[str], notes: list[str]) -> list[str]:
    """Ask for each VIP by ARP, as each LAN interface would be asked: the answers are the problems."""
    settings = {interface: read_value(ipv4_conf(interface, "arp_ignore")) for interface in lan}
    problems = []
    try:
        with ArpProbe().opened() as probe:
            for value in sorted(set(settings.values())):
                interfaces = [interface for interface, own in settings.items() if own == value]
                for vip in vips:
                    if probe.answers(vip, value):
                        problems.append(
                            f"{', '.join(interfaces)} answered an ARP request for {vip} (asked from a "
                            "probe namespace, on a link with the same ARP settings): hosts on that LAN "
                            "may send the VIP's traffic here instead of to the director"
                        )
    except (ProbeUnavailable, OSError, NetlinkError) as error:
        notes.append(f"ARP not probed ({error}): judged from the sysctls alone")
    return problems
