"""keepalived's accept-mode firewall as nft commands: set up at the first address of a family, elements that
follow the VIPs, tables removed at stop."""

from __future__ import annotations

import ipaddress

from pykeepalived.vrrp.firewall import Blocked, FirewallRules, FirewallSettings, blocked

V4 = blocked(ipaddress.IPv4Address("10.99.1.1"), "eth0", False)
V6 = blocked(ipaddress.IPv6Address("fd99::5"), "eth0", False)
LINK_LOCAL = blocked(ipaddress.IPv6Address("fe80::100"), "eth0", False)


def test_only_link_local_addresses_keep_their_interface() -> None:
    assert (Blocked("10.99.1.1"), Blocked("fd99::5")) == (V4, V6)
    assert Blocked("fe80::100", "eth0") == LINK_LOCAL and LINK_LOCAL.set_name == "vips_link_local"
    by_name = blocked(ipaddress.IPv6Address("fe80::100"), "eth0", True)
    assert by_name.set_name == "vips_link_local_name" and by_name.element == 'fe80::100 . "eth0"'


def test_the_ipv4_table_is_set_up_once_as_keepalived_sets_it_up() -> None:
    rules = FirewallRules(FirewallSettings())
    first = rules.change([V4])
    assert first == [
        "add table ip keepalived",
        "add chain ip keepalived out { type filter hook output priority -1; policy accept; }",
        "add chain ip keepalived in { type filter hook input priority -1; policy accept; }",
        "add set ip keepalived vips { type ipv4_addr; }",
        "add rule ip keepalived in ip daddr @vips drop",
        "add rule ip keepalived out ip saddr @vips drop",
        "add element ip keepalived vips { 10.99.1.1 }",
    ]
    assert rules.change([]) == ["delete element ip keepalived vips { 10.99.1.1 }"]
    assert rules.change([V4]) == ["add element ip keepalived vips { 10.99.1.1 }"]
    assert rules.change([V4]) == []
    assert rules.teardown() == ["delete table ip keepalived"]


def test_ipv6_lets_neighbour_discovery_through_and_matches_link_local_addresses_with_their_interface() -> None:
    rules = FirewallRules(FirewallSettings("vrrp_fw", -5, counters=True))
    commands = rules.change([V6, LINK_LOCAL])
    assert "add rule ip6 vrrp_fw in icmpv6 type @neighbor-discovery counter accept" in commands
    assert "add rule ip6 vrrp_fw in ip6 daddr fe80::/10 counter goto in_link_local" in commands
    assert "add set ip6 vrrp_fw vips_link_local { type ipv6_addr . iface_index; }" in commands
    assert "add rule ip6 vrrp_fw in_link_local ip6 daddr . iif @vips_link_local counter drop" in commands
    assert [c for c in commands if c.startswith("add element")] == [
        "add element ip6 vrrp_fw vips { fd99::5 }",
        'add element ip6 vrrp_fw vips_link_local { fe80::100 . "eth0" }',
    ]
    assert "add chain ip6 vrrp_fw in { type filter hook input priority -5; policy accept; }" in commands
    assert rules.teardown() == ["delete table ip6 vrrp_fw"]


def test_cleanup_removes_tables_left_by_an_earlier_run_whether_or_not_they_exist() -> None:
    assert FirewallRules(FirewallSettings()).cleanup() == [
        "add table ip keepalived\ndelete table ip keepalived",
        "add table ip6 keepalived\ndelete table ip6 keepalived",
    ]
