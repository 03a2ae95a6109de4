"""Facts about network interfaces, read from the kernel with ioctls (cheap, no netlink round trip)."""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct
from dataclasses import dataclass

SIOCGIFFLAGS = 0x8913
SIOCGIFADDR = 0x8915
SIOCGIFHWADDR = 0x8927
SIOCGIFMTU = 0x8921
IFF_UP = 0x1
IFF_RUNNING = 0x40
ARPHRD_ETHER = 1
IFA_F_TENTATIVE = 0x40


@dataclass(frozen=True)
class Interface:
    name: str
    index: int
    mac: bytes
    address: ipaddress.IPv4Address | None
    link_local: ipaddress.IPv6Address | None = None

    @property
    def mac_text(self) -> str:
        return ":".join(f"{b:02x}" for b in self.mac)


def _ioctl(name: str, request: int) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        return fcntl.ioctl(probe.fileno(), request, struct.pack("256s", name.encode()[:15]))


def interface(name: str) -> Interface:
    """The interface's index, MAC address and first IPv4 address. Raises OSError if it does not exist."""
    index = socket.if_nametoindex(name)
    mac = _ioctl(name, SIOCGIFHWADDR)[18:24]
    try:
        address: ipaddress.IPv4Address | None = ipaddress.IPv4Address(_ioctl(name, SIOCGIFADDR)[20:24])
    except OSError:
        address = None
    return Interface(name, index, mac, address, link_local(name))


def link_local(name: str) -> ipaddress.IPv6Address | None:
    """The interface's IPv6 link-local address, once usable (VRRPv3 over IPv6 adverts come from it)."""
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as table:
            for line in table:
                fields = line.split()
                usable = not int(fields[4], 16) & IFA_F_TENTATIVE if len(fields) == 6 else False
                if usable and fields[5] == name and fields[3] == "20":
                    return ipaddress.IPv6Address(bytes.fromhex(fields[0]))
    except OSError:
        return None
    return None


def is_up(name: str) -> bool:
    """Administratively up and with carrier (keepalived's IF_ISUP)."""
    flags = struct.unpack_from("H", _ioctl(name, SIOCGIFFLAGS), 16)[0]
    return bool(flags & IFF_UP and flags & IFF_RUNNING)


@dataclass(frozen=True)
class Link:
    """What keepalived's dump lists of an interface: index, flags (IFF_*), MTU, hardware type (ARPHRD_*) and
    addresses (the MAC and its broadcast for Ethernet)."""

    name: str
    index: int
    flags: int
    mtu: int
    hardware_type: int
    mac: bytes | None
    broadcast: bytes | None
    address: ipaddress.IPv4Address | None
    link_local: ipaddress.IPv6Address | None
    # Its IPv4 settings (net.ipv4.conf.NAME.*): arp_ignore, arp_filter, promote_secondaries, rp_filter.
    arp_ignore: int = 0
    arp_filter: int = 0
    promote_secondaries: int = 0
    rp_filter: int = 0


def ipv4_setting(name: str, setting: str, family: str = "ipv4") -> int:
    """net.ipv4.conf.NAME.SETTING (or ipv6's), 0 if it cannot be read."""
    try:
        with open(f"/proc/sys/net/{family}/conf/{name}/{setting}", encoding="ascii") as value:
            return int(value.read())
    except (OSError, ValueError):
        return 0


def _broadcast(name: str) -> bytes | None:
    try:
        with open(f"/sys/class/net/{name}/broadcast", encoding="ascii") as text:
            return bytes.fromhex(text.read().strip().replace(":", ""))
    except (OSError, ValueError):
        return None


def links() -> list[Link]:
    """Every interface of this network namespace, by index; one that vanishes meanwhile is left out."""
    found = []
    for index, name in sorted(socket.if_nameindex()):
        try:
            flags = struct.unpack_from("H", _ioctl(name, SIOCGIFFLAGS), 16)[0]
            mtu = struct.unpack_from("i", _ioctl(name, SIOCGIFMTU), 16)[0]
            hardware = _ioctl(name, SIOCGIFHWADDR)
            facts = interface(name)
        except OSError:
            continue
        hardware_type = struct.unpack_from("H", hardware, 16)[0]
        ethernet = hardware_type == ARPHRD_ETHER
        found.append(
            Link(
                name,
                index,
                flags,
                mtu,
                hardware_type,
                facts.mac if ethernet else None,
                _broadcast(name) if ethernet else None,
                facts.address,
                facts.link_local,
                *(ipv4_setting(name, s) for s in ("arp_ignore", "arp_filter", "promote_secondaries", "rp_filter")),
            )
        )
    return found
