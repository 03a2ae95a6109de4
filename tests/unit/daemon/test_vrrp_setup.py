"""From keepalived.conf to the VRRP engine's parameters: keepalived's defaults and what is refused."""

from __future__ import annotations

import ipaddress

import pytest
from memfs import config_from

from pykeepalived.daemon.vrrp_setup import SetupError, default_interface, firewall_settings, instance_spec
from pykeepalived.io.netdev import Interface
from pykeepalived.vrrp.firewall import Blocked, FirewallSettings
from pykeepalived.vrrp.packet import AUTH_PASS, MCAST_GROUP4

ETH0 = Interface("eth0", 2, bytes.fromhex("029900000001"), ipaddress.IPv4Address("10.99.0.11"))
ETH1 = Interface("eth1", 3, bytes.fromhex("029900000002"), ipaddress.IPv4Address("10.98.0.11"))


def lookup(name: str) -> Interface:
    known = {"eth0": ETH0, "eth1": ETH1}
    if name not in known:
        raise OSError(f"no such device: {name}")
    return known[name]


def spec(body: str, global_defs: str = ""):  # type: ignore[no-untyped-def]
    text = (
        f"global_defs {{\n{global_defs}\n}}\nvrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 7\n{body}\n}}\n"
    )
    result = config_from(text)
    assert result.runnable, [str(d) for d in result.diagnostics]
    return instance_spec(result.config, result.config.vrrp_instance[0], lookup)


def test_defaults_follow_keepalived() -> None:
    s = spec(" virtual_ipaddress {\n  10.99.1.1/24\n  10.99.1.2 dev eth1 label eth1:v\n }")
    p = s.params
    assert (p.version, p.priority, p.advert_int_cs, p.preempt) == (2, 100, 100, True)
    assert (p.garp_delay, p.garp_repeat, p.garp_lower_prio_delay, p.garp_lower_prio_repeat) == (5, 5, 5, 5)
    assert p.primary == ETH0.address and s.destinations == (MCAST_GROUP4,)
    assert p.addresses == (ipaddress.IPv4Address("10.99.1.1"), ipaddress.IPv4Address("10.99.1.2"))
    assert [where.name for _, where in s.addresses] == ["eth0", "eth1"]


def test_unicast_and_password() -> None:
    s = spec(
        " unicast_src_ip 10.99.0.11\n unicast_peer {\n  10.99.0.12\n }\n"
        " authentication {\n  auth_type PASS\n  auth_pass pw\n }\n virtual_ipaddress {\n  10.99.1.1\n }"
    )
    assert s.params.unicast and s.destinations == (ipaddress.IPv4Address("10.99.0.12"),)
    assert (s.params.auth_type, s.params.auth_data) == (AUTH_PASS, b"pw\0\0\0\0\0\0")


def test_global_settings_apply_unless_the_instance_overrides() -> None:
    s = spec(" garp_master_repeat 2\n virtual_ipaddress {\n 10.99.1.1\n }",
             " vrrp_garp_master_delay 9\n vrrp_garp_master_repeat 3\n vrrp_version 3")  # fmt: skip
    p = s.params
    assert (p.version, p.garp_delay, p.garp_repeat, p.garp_lower_prio_delay, p.garp_lower_prio_repeat) == (
        3,
        9,
        2,
        9,
        2,
    )


def test_use_vmac_puts_adverts_and_addresses_on_the_vmac() -> None:
    s = spec(" use_vmac\n virtual_ipaddress {\n  10.99.1.1 dev eth0\n  10.99.1.2 dev eth1\n }")
    assert s.vmac == "vrrp.7" and s.interface.name == "vrrp.7" and s.interface.mac == bytes.fromhex("00005e000107")
    assert [where.name for _, where in s.addresses] == ["vrrp.7", "eth1"]
    assert s.params.primary == ETH0.address  # adverts still come from the parent's address


def test_strict_mode_sends_no_lower_priority_garps_or_adverts() -> None:
    s = spec(" virtual_ipaddress {\n 10.99.1.1\n }", " vrrp_strict")
    assert s.params.garp_lower_prio_repeat == 0 and s.params.lower_prio_no_advert


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (" version 3\n virtual_ipaddress {\n  2001:db8::1\n }", "no IPv6 link-local address"),
        (" version 3\n use_vmac\n virtual_ipaddress {\n  fe80::1\n }", "use_vmac with IPv6 is not supported"),
    ],
)
def test_what_this_build_cannot_do_is_refused(body: str, message: str) -> None:
    with pytest.raises(SetupError, match=message):
        spec(body)


VIPS = " virtual_ipaddress {\n  10.99.1.1/24\n  10.99.1.2 dev eth1\n }"


@pytest.mark.parametrize(
    ("body", "global_defs", "blocked"),
    [
        ("", "", False),
        ("", "vrrp_strict\nvrrp_version 3", True),
        (" accept", "vrrp_strict\nvrrp_version 3", False),
        (" no_accept", "", True),
        # The address owner always accepts.
        (" priority 255", "vrrp_strict\nvrrp_version 3", False),
        # VRRPv2 in strict mode: accept is reset (RFC 3768 has no accept mode).
        (" accept", "vrrp_strict", True),
    ],
)
def test_a_master_without_accept_mode_blocks_its_addresses(body: str, global_defs: str, blocked: bool) -> None:
    s = spec(f"{body}\n{VIPS}", global_defs)
    expected = (Blocked("10.99.1.1"), Blocked("10.99.1.2")) if blocked else ()
    assert s.firewall == expected


def test_firewall_settings_follow_the_nftables_keywords() -> None:
    assert firewall_settings(config_from("global_defs {\n}\n").config.global_defs) == FirewallSettings()
    text = "global_defs {\n nftables vrrp_fw\n nftables_priority -10\n nftables_counters\n nftables_ifindex\n}\n"
    assert firewall_settings(config_from(text).config.global_defs) == FirewallSettings("vrrp_fw", -10, True, True)


def test_adverts_go_to_the_instance_group_else_the_global_group_of_its_family() -> None:
    group = ipaddress.IPv4Address("224.0.0.19")
    assert spec(f" mcast_dst_ip 224.0.0.19\n{VIPS}").destinations == (group,)
    assert spec(VIPS, "vrrp_mcast_group4 224.0.0.20").destinations == (ipaddress.IPv4Address("224.0.0.20"),)
    assert spec(f" mcast_dst_ip 224.0.0.19\n{VIPS}", "vrrp_mcast_group4 224.0.0.20").destinations == (group,)


def test_unicast_ttl_applies_to_unicast_instances() -> None:
    s = spec(f" unicast_ttl 7\n unicast_peer {{\n  10.99.0.12\n }}\n{VIPS}")
    assert s.unicast_ttl == 7
    assert spec(f" unicast_peer {{\n  10.99.0.12\n }}\n{VIPS}").unicast_ttl is None


def test_garp_master_refresh_repeat_comes_from_the_instance_else_global_defs() -> None:
    assert spec(VIPS).params.garp_refresh_repeat == 1
    assert spec(VIPS, "vrrp_garp_master_refresh_repeat 3").params.garp_refresh_repeat == 3
    assert (
        spec(f" garp_master_refresh_repeat 2\n{VIPS}", "vrrp_garp_master_refresh_repeat 3").params.garp_refresh_repeat
        == 2
    )


def test_static_addresses_without_dev_go_on_default_interface_else_eth0() -> None:
    assert default_interface(config_from("global_defs {\n}\n").config.global_defs) == "eth0"
    text = "global_defs {\n default_interface eth1\n}\n"
    assert default_interface(config_from(text).config.global_defs) == "eth1"
