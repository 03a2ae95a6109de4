"""keepalived's accept-mode firewall, as nft commands: a MASTER that is not the address owner and runs without
`accept` drops traffic to and from its VIPs (RFC 5798's Accept_Mode False).

The tables, sets, chains and rules are those keepalived 2.2.7 installs with nftables (Debian's build): table
`ip KEEPALIVED` (set `vips`, chains `in` and `out` at filter priority - 1) and, for IPv6, table `ip6 KEEPALIVED`,
where neighbour discovery stays allowed and link-local VIPs are matched with their interface. Tables are set
up at the first address of their family, their elements follow the VIPs, and the tables go at stop.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from dataclasses import dataclass

from .packet import IPAddr

DEFAULT_TABLE = "keepalived"
DEFAULT_PRIORITY = -1


@dataclass(frozen=True)
class FirewallSettings:
    """global_defs `nftables [TABLE]`, `nftables_priority`, `nftables_counters`, `nftables_ifindex`."""

    table: str = DEFAULT_TABLE
    priority: int = DEFAULT_PRIORITY
    counters: bool = False
    # Link-local VIPs matched by interface index even where keepalived would match the name.
    by_ifindex: bool = False


@dataclass(frozen=True, order=True)
class Blocked:
    """A VIP whose traffic is dropped; a link-local one only on its interface (by name or by index)."""

    address: str
    interface: str = ""
    by_name: bool = False

    @property
    def family(self) -> str:
        return "ip6" if ":" in self.address else "ip"

    @property
    def set_name(self) -> str:
        if not self.interface:
            return "vips"
        return "vips_link_local_name" if self.by_name else "vips_link_local"

    @property
    def element(self) -> str:
        return f'{self.address} . "{self.interface}"' if self.interface else self.address


def blocked(address: IPAddr, interface: str, by_name: bool) -> Blocked:
    """The firewall entry of a VIP placed on `interface`."""
    link_local = isinstance(address, ipaddress.IPv6Address) and address.is_link_local
    return Blocked(str(address), interface if link_local else "", by_name and link_local)


class FirewallRules:
    """What nft must be told to go from the addresses it blocks to the ones wanted."""

    def __init__(self, settings: FirewallSettings) -> None:
        self.settings = settings
        self.held: set[Blocked] = set()
        self.tables: set[str] = set()
        self.sets: set[tuple[str, str]] = set()

    def cleanup(self) -> list[str]:
        """Tables of this name left by an earlier run: removed, as keepalived does when it starts."""
        table = self.settings.table
        return [f"add table {family} {table}\ndelete table {family} {table}" for family in ("ip", "ip6")]

    def change(self, wanted: Collection[Blocked]) -> list[str]:
        """The commands, one transaction, that make the blocked addresses `wanted`."""
        wanted = set(wanted)
        commands: list[str] = []
        for entry in sorted(wanted - self.held):
            commands += self._set_up(entry)
            commands.append(f"add element {entry.family} {self.settings.table} {entry.set_name} {{ {entry.element} }}")
        for entry in sorted(self.held - wanted):
            commands.append(
                f"delete element {entry.family} {self.settings.table} {entry.set_name} {{ {entry.element} }}"
            )
        self.held = wanted
        return commands

    def teardown(self) -> list[str]:
        """Remove the tables this run set up."""
        commands = [f"delete table {family} {self.settings.table}" for family in sorted(self.tables)]
        self.held.clear()
        self.tables.clear()
        self.sets.clear()
        return commands

    def _set_up(self, entry: Blocked) -> list[str]:
        commands: list[str] = []
        family = entry.family
        if family not in self.tables:
            self.tables.add(family)
            commands += self._table(family)
        if (family, entry.set_name) not in self.sets:
            self.sets.add((family, entry.set_name))
            if entry.interface:
                commands += self._link_local(entry.set_name, entry.by_name)
        return commands

    def _table(self, family: str) -> list[str]:
        table, count = self.settings.table, self._counter()
        hook = f"type filter hook {{}} priority {self.settings.priority}; policy accept;"
        commands = [
            f"add table {family} {table}",
            f"add chain {family} {table} out {{ {hook.format('output')} }}",
            f"add chain {family} {table} in {{ {hook.format('input')} }}",
        ]
        if family == "ip":
            return [
                *commands,
                f"add set ip {table} vips {{ type ipv4_addr; }}",
                f"add rule ip {table} in ip daddr @vips {count}drop",
                f"add rule ip {table} out ip saddr @vips {count}drop",
            ]
        # Neighbour discovery for the VIPs must go on, or no host could find them once we accept again.
        return [
            *commands,
            f"add chain ip6 {table} in_link_local",
            f"add chain ip6 {table} out_link_local",
            f"add set ip6 {table} vips {{ type ipv6_addr; }}",
            f"add set ip6 {table} neighbor-discovery {{ type icmpv6_type; flags constant; "
            "elements = { nd-neighbor-solicit, nd-neighbor-advert }; }",
            f"add rule ip6 {table} in icmpv6 type @neighbor-discovery {count}accept",
            f"add rule ip6 {table} in ip6 daddr fe80::/10 {count}goto in_link_local",
            f"add rule ip6 {table} in ip6 daddr @vips {count}drop",
            f"add rule ip6 {table} out icmpv6 type @neighbor-discovery {count}accept",
            f"add rule ip6 {table} out ip6 saddr fe80::/10 {count}goto out_link_local",
            f"add rule ip6 {table} out ip6 saddr @vips {count}drop",
        ]

    def _link_local(self, set_name: str, by_name: bool) -> list[str]:
        table, count = self.settings.table, self._counter()
        kind, incoming, outgoing = ("ifname", "iifname", "oifname") if by_name else ("iface_index", "iif", "oif")
        return [
            f"add set ip6 {table} {set_name} {{ type ipv6_addr . {kind}; }}",
            f"add rule ip6 {table} in_link_local ip6 daddr . {incoming} @{set_name} {count}drop",
            f"add rule ip6 {table} out_link_local ip6 saddr . {outgoing} @{set_name} {count}drop",
        ]

    def _counter(self) -> str:
        return "counter " if self.settings.counters else ""
