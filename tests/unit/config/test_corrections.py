"""Each correction keepalived 2.2.7 makes and runs with (issue 13, points 1-4): a warning in keepalived's
words at the line it concerns, naming the value used; the model holds that value; `-t` exits as keepalived
does; and under --strict it is an error that stops the daemon."""

from __future__ import annotations

import ipaddress

from memfs import config_from, messages

from pykeepalived.cli.common import config_test_exit_code
from pykeepalived.config import LoadResult
from pykeepalived.config.model import Config, Forwarding, Protocol, State
from pykeepalived.core.diagnostics import Severity

INSTANCE = (
    "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n priority {prio}\n{extra}"
    " virtual_ipaddress {{\n  {vip}\n }}\n}}\n"
)


def instance(extra: str = "", prio: str = "100", vip: str = "10.99.1.1") -> str:
    return INSTANCE.format(extra="".join(f" {line}\n" for line in extra.splitlines()), prio=prio, vip=vip)


def corrected(text: str, message: str, line: int, interfaces: frozenset[str] | None = None) -> Config:
    """Check the correction `message` at `line` and return the model keepalived would run."""
    result: LoadResult = config_from(text, interfaces=interfaces)
    hits = [d for d in result.diagnostics if message in d.message]
    assert hits, messages(result)
    assert hits[0].severity == Severity.WARNING and hits[0].where is not None, messages(result)
    assert hits[0].where.line == line, messages(result)
    assert result.runnable and result.config is not None
    assert config_test_exit_code(result) == 5
    strict: LoadResult = config_from(text, strict=True, interfaces=interfaces)
    assert any(message in d.message and d.severity == Severity.ERROR for d in strict.diagnostics)
    assert not strict.runnable and config_test_exit_code(strict, strict=True) == 4
    return result.config


# ----- point 1: configurations keepalived runs ----------------------------------------------------------------


def test_nopreempt_with_state_master_runs_with_preempt() -> None:
    config = corrected(
        instance("state MASTER\nnopreempt"),
        "(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing; using preempt",
        6,
    )
    assert config.vrrp_instance[0].nopreempt is False


def test_preempt_delay_with_state_master_is_cleared() -> None:
    config = corrected(
        instance("state MASTER\npreempt_delay 30"),
        "(VI_1) Warning - preempt delay will not work with initial state MASTER - clearing; using preempt_delay 0",
        6,
    )
    assert config.vrrp_instance[0].preempt_delay == 0


def test_authentication_under_vrrp_version_3_is_ignored() -> None:
    config = corrected(
        instance("version 3\nauthentication {\n auth_type PASS\n auth_pass secret\n}"),
        "(VI_1) VRRP version 3 does not support authentication. Ignoring. (runs without authentication)",
        6,
    )
    assert config.vrrp_instance[0].authentication is None


def test_strict_mode_ignores_authentication() -> None:
    text = "global_defs {\n vrrp_strict\n}\n" + instance("authentication {\n auth_type PASS\n auth_pass secret\n}")
    config = corrected(text, "(VI_1) Strict mode does not support authentication. Ignoring.", 8)
    assert config.vrrp_instance[0].authentication is None


def test_persistence_timeout_0_is_ignored() -> None:
    config = corrected(
        "virtual_server 10.99.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n persistence_timeout 0\n}\n",
        "number '0' outside range [1, 2678400]; persistence_timeout invalid - ignoring",
        5,
    )
    assert config.virtual_server[0].persistence_timeout is None


def test_unknown_scheduler_is_ignored_for_the_default() -> None:
    text = "virtual_server 10.99.0.1 80 {\n protocol TCP\n lb_kind DR\n lb_algo loadbalance\n}\n"
    config = corrected(text, "Invalid lvs_scheduler 'loadbalance' - ignoring; using wlc", 4)
    corrected(text, "Virtual server [10.99.0.1]:tcp:80: no scheduler set, setting default 'wlc'", 1)
    assert config.virtual_server[0].lb_algo == "wlc"


def test_ipv6_route_via_with_a_prefix_length_is_dropped() -> None:
    text = instance("virtual_routes {\n ::/0 via fe80::1/64 dev eth0\n 10.99.5.0/24 dev eth0\n}", vip="fe80::10")
    config = corrected(
        text,
        "VRRP parsed invalid IP fe80::1/64. skipping IP...; invalid route via address fe80::1/64",
        6,
    )
    assert [str(r.destination) for r in config.vrrp_instance[0].virtual_routes] == ["10.99.5.0/24"]


def test_track_script_naming_an_undefined_script_is_dropped() -> None:
    config = corrected(
        instance("track_script {\n chk_nginx\n}"), "(VI_1) track script chk_nginx not found, ignoring...", 6
    )
    assert config.vrrp_instance[0].track_script == ()


def test_undefined_sync_group_member_is_dropped() -> None:
    text = instance() + instance().replace("VI_1", "VI_2").replace("51", "52").replace("10.99.1.1", "10.99.1.2")
    config = corrected(
        text + "vrrp_sync_group G {\n group {\n  VI_1\n  VI_2\n  VI_9\n }\n}\n",
        "Virtual router VI_9 specified in sync group G doesn't exist - ignoring",
        17,
    )
    assert config.vrrp_sync_group[0].members == ("VI_1", "VI_2")


def test_sync_group_of_one_instance_is_reported() -> None:
    corrected(
        instance() + "vrrp_sync_group G {\n group {\n  VI_1\n }\n}\n",
        "Sync group G has only 1 virtual router(s) - this probably isn't what you want",
        9,
    )


def test_fractional_advert_int_with_vrrp_version_2_is_rounded() -> None:
    config = corrected(
        instance("advert_int 0.5"),
        "(VI_1) VRRPv2 advertisement interval 0.500000s must be an integer. rounding; using advert_int 1",
        5,
    )
    assert config.vrrp_instance[0].advert_int == 1.0
    rounded = config_from(instance("advert_int 2.5")).config
    assert rounded is not None and rounded.vrrp_instance[0].advert_int == 3.0
    kept = config_from(instance("version 3\nadvert_int 0.5"))
    assert kept.diagnostics == () and kept.config is not None and kept.config.vrrp_instance[0].advert_int == 0.5


def test_invalid_priority_runs_with_100() -> None:
    config = corrected(
        instance("state MASTER", prio="0"),
        "(VI_1) Priority not valid! must be between 1 & 255. Using default 100",
        4,
    )
    assert config.vrrp_instance[0].effective_priority == 100
    assert config.vrrp_instance[0].state is State.MASTER


# ----- point 2: valid files are not refused -------------------------------------------------------------------


def test_dynamic_interfaces_allow_if_changes_is_accepted() -> None:
    result = config_from("global_defs {\n dynamic_interfaces allow_if_changes\n}\n" + instance())
    assert result.runnable and result.config is not None and result.config.global_defs.dynamic_interfaces
    # keepalived says nothing, and -t exits 0 as keepalived's does.
    assert result.diagnostics == ()
    assert config_test_exit_code(result) == 0


def test_virtual_server_group_entry_with_a_prefix_is_a_range() -> None:
    result = config_from("virtual_server_group G {\n 10.99.4.0/30 80\n 10.99.4.9/32 443\n}\n")
    assert result.diagnostics == ()
    assert result.config is not None
    members = [(str(m.address), str(m.last), m.port) for m in result.config.virtual_server_group[0].members]
    assert members == [("10.99.4.0", "10.99.4.3", 80), ("10.99.4.9", "10.99.4.9", 443)]
    bad = config_from("virtual_server_group G {\n 10.99.4.1/30 80\n}\n")
    assert messages(bad) == [
        "/etc/keepalived/keepalived.conf:2: warning: Address mask bits not empty - 10.99.4.1/30 - skipping"
    ]


def test_route_marked_no_track_is_not_warned_about() -> None:
    result = config_from("static_routes {\n 10.99.5.0/24 via 10.99.0.254 no_track\n}\n")
    assert result.diagnostics == ()


# ----- point 3: checks keepalived makes ---------------------------------------------------------------------------


def test_route_without_interface_is_not_tracked() -> None:
    text = "static_routes {\n 0.0.0.0/0 table 100 nexthop via 10.99.0.254 dev eth0 onlink\n}\n"
    config = corrected(text, "Warning - cannot track route 0.0.0.0/0 with no interface specified, not tracking", 2)
    assert config.static_routes[0].tracked is False


def test_tracked_route_with_another_protocol_is_given_keepalived_s() -> None:
    config = corrected(
        "static_routes {\n 10.99.5.0/24 dev eth0 protocol boot\n}\n",
        "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol",
        2,
    )
    assert ("protocol", "keepalived") in config.static_routes[0].options


def test_tracking_the_instance_s_own_interface_is_dropped() -> None:
    config = corrected(
        instance("track_interface {\n eth0\n eth1\n}"), "(VI_1) Ignoring track_interface eth0 since own interface", 6
    )
    assert [t.name for t in config.vrrp_instance[0].track_interface] == ["eth1"]


def test_loopback_interface_is_ignored() -> None:
    text = instance("unicast_src_ip 10.99.0.1\nunicast_peer {\n 10.99.0.2\n}").replace("eth0", "lo")
    config = corrected(
        text,
        "(VI_1) cannot use a loopback interface (lo) for vrrp - ignoring; the instance has no interface",
        2,
        interfaces=frozenset({"lo", "eth0"}),
    )
    assert config.vrrp_instance[0].interface is None


def test_native_ipv6_after_ipv4_addresses_is_ignored() -> None:
    text = instance().replace(" }\n}\n", " }\n native_ipv6\n}\n")
    config = corrected(text, "(VI_1) Cannot specify native_ipv6 with IPv4 addresses; native_ipv6 ignored", 8)
    assert config.vrrp_instance[0].native_ipv6 is False and config.vrrp_instance[0].family == 4


def test_address_of_the_other_family_is_dropped() -> None:
    text = instance(vip="10.99.1.1\n  2001:db8::1")
    config = corrected(text, "(VI_1): address family must match VRRP instance [2001:db8::1/128] - ignoring", 7)
    assert [str(v.address) for v in config.vrrp_instance[0].virtual_ipaddress] == ["10.99.1.1/32"]


def test_scope_on_an_ipv6_address_is_ignored() -> None:
    text = instance(vip="fe80::10/64 dev eth0 scope link")
    config = corrected(text, "Cannot specify scope for IPv6 addresses (fe80::10/64) - ignoring scope", 6)
    assert config.vrrp_instance[0].virtual_ipaddress[0].scope is None


def test_http_get_without_url_is_dropped() -> None:
    text = (
        "virtual_server 10.99.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n"
        " real_server 10.99.0.2 80 {\n  HTTP_GET {\n   connect_timeout 3\n  }\n }\n}\n"
    )
    config = corrected(text, "HTTP/SSL_GET checker has no urls specified - ignoring", 8)
    assert config.virtual_server[0].real_server[0].http_checks == ()


def test_virtual_server_defaults_are_announced_and_used() -> None:
    text = "virtual_server 10.99.0.1 53 {\n real_server 10.99.0.2 53 {\n }\n}\n"
    config = corrected(text, "Virtual server [10.99.0.1]:tcp:53: no protocol set - defaulting to UDP", 1)
    corrected(text, "Virtual server [10.99.0.1]:udp:53: no scheduler set, setting default 'wlc'", 1)
    corrected(text, "Virtual server [10.99.0.1]:udp:53: no forwarding method set, setting default NAT", 1)
    server = config.virtual_server[0]
    assert (server.protocol, server.lb_algo, server.lb_kind) == (Protocol.UDP, "wlc", Forwarding.NAT)


def test_port_of_a_fwmark_service_real_server_is_cleared_and_its_checks_keep_it() -> None:
    text = (
        "virtual_server fwmark 7 {\n lb_algo rr\n lb_kind DR\n real_server 10.99.0.2 443 {\n"
        "  TCP_CHECK {\n  }\n  TCP_CHECK {\n   connect_port 8443\n  }\n }\n}\n"
    )
    config = corrected(
        text,
        "WARNING - fwmark virtual server FWM 7, real server [10.99.0.2]:none:443 has port specified - clearing; "
        "using port 0",
        4,
    )
    real = config.virtual_server[0].real_server[0]
    assert real.port == 0
    # keepalived's checks took the address, port included, before the port was cleared.
    assert [check.connect_port for check in real.tcp_checks] == [443, 8443]


def test_unicast_ttl_without_peers_is_reset() -> None:
    config = corrected(instance("unicast_ttl 2"), "(VI_1): Cannot use unicast_ttl without unicast peers - resetting", 9)
    assert config.vrrp_instance[0].unicast_ttl is None


def test_vrrp_iptables_is_replaced_by_nftables_as_in_debian_s_build() -> None:
    corrected(
        "global_defs {\n vrrp_iptables KEEPALIVED\n}\n" + instance(),
        "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with "
        "'nftables' config option",
        2,
    )


def test_empty_notification_email_block_is_reported_where_it_closes() -> None:
    corrected("global_defs {\n notification_email {\n }\n}\n", "Warning - empty notification_email block", 3)


# ----- point 4: exit statuses -------------------------------------------------------------------------------------


def test_exit_statuses_are_keepalived_s() -> None:
    assert config_test_exit_code(config_from(instance())) == 0
    assert config_test_exit_code(config_from("bogus 1\n" + instance())) == 5
    gave_up = config_from(instance("preempt_delay"))
    assert config_test_exit_code(gave_up) == 2 and not gave_up.runnable
    missing_interface = config_from(instance(), interfaces=frozenset({"lo"}))
    assert config_test_exit_code(missing_interface) == 5 and not missing_interface.runnable


def test_a_missing_instance_interface_under_dynamic_interfaces_is_waited_for() -> None:
    result = config_from("global_defs {\n dynamic_interfaces\n}\n" + instance(), interfaces=frozenset({"lo"}))
    assert config_test_exit_code(result) == 0
    assert result.runnable
    assert any("dynamic_interfaces: the instance waits for it" in m for m in messages(result))


def test_other_missing_interfaces_under_dynamic_interfaces_are_not_counted_but_stop_pykeepalived() -> None:
    text = "global_defs {\n dynamic_interfaces\n}\n" + instance("track_interface {\n eth7\n}")
    result = config_from(text, interfaces=frozenset({"lo", "eth0"}))
    assert config_test_exit_code(result) == 0
    assert not result.runnable
    assert any("dynamic_interfaces: pykeepalived does not wait for it" in m for m in messages(result))


def test_virtual_server_group_ranges_keep_their_addresses() -> None:
    result = config_from("virtual_server_group G {\n 10.99.4.8/29 80\n}\n")
    assert result.config is not None
    member = result.config.virtual_server_group[0].members[0]
    assert (member.address, member.last) == (ipaddress.ip_address("10.99.4.8"), ipaddress.ip_address("10.99.4.15"))


def test_mcast_dst_ip_that_is_not_a_multicast_group_is_skipped() -> None:
    config = corrected(instance("mcast_dst_ip 10.1.1.1"), "(VI_1) mcast_dst_ip 10.1.1.1 not multicast. Skipping...", 5)
    assert config.vrrp_instance[0].mcast_dst_ip is None
    text = instance("native_ipv6\nmcast_dst_ip ff05::12", vip="fd99::1")
    config = corrected(text, "(VI_1) mcast_dst_ip ff05::12 not link-local multicast. Skipping...", 6)
    assert config.vrrp_instance[0].mcast_dst_ip is None


def test_mcast_dst_ip_of_another_family_than_the_addresses_above_it_is_skipped() -> None:
    text = instance(vip="10.99.1.1") + "vrrp_instance VI_2 {\n interface eth0\n virtual_router_id 52\n"
    text += " virtual_ipaddress {\n  10.99.1.2\n }\n mcast_dst_ip ff02::19\n}\n"
    config = corrected(text, "(VI_2) mcast dest address ff02::19 MUST match VRRP instance family. Skipping...", 15)
    assert config.vrrp_instance[1].mcast_dst_ip is None


def test_mcast_dst_ip_with_unicast_peers_is_ignored() -> None:
    text = instance("mcast_dst_ip 224.0.0.19\nunicast_peer {\n 10.99.0.2\n}")
    config = corrected(text, "(VI_1) multicast destination specified with unicast - ignoring", 5)
    assert config.vrrp_instance[0].mcast_dst_ip is None


def test_garp_master_refresh_repeat_zero_runs_as_one() -> None:
    config = corrected(
        instance("garp_master_refresh_repeat 0"), "(VI_1): garp_master_refresh_repeat must be greater than 0", 5
    )
    assert config.vrrp_instance[0].garp_master_refresh_repeat == 1
    text = "global_defs {\n vrrp_garp_master_refresh_repeat 0\n}\n" + instance()
    config = corrected(text, "vrrp_garp_master_refresh_repeat must be greater than 0, setting to 1", 2)
    assert config.global_defs.vrrp_garp_master_refresh_repeat == 1


def test_vrrp_ipsets_is_unknown_to_debian_s_build() -> None:
    result = config_from("global_defs {\n vrrp_ipsets\n}\n" + instance())
    assert messages(result) == ["/etc/keepalived/keepalived.conf:2: warning: Unknown keyword 'vrrp_ipsets'"]


def test_vrrp_mcast_groups_keepalived_skips_keep_the_default() -> None:
    for written, message, used in (
        ("vrrp_mcast_group4 10.1.1.1", "vrrp_mcast_group4 [10.1.1.1] is not multicast. Skipping", "224.0.0.18"),
        ("vrrp_mcast_group4 ff02::12", "vrrp_mcast_group4 [ff02::12] is not IPv4. Skipping", "224.0.0.18"),
        ("vrrp_mcast_group6 224.0.0.19", "vrrp_mcast_group6 [224.0.0.19] is not IPv6. Skipping", "ff02::12"),
        ("vrrp_mcast_group6 ff05::12", "vrrp_mcast_group6 [ff05::12] should be link-local multicast.", "ff05::12"),
    ):
        config = corrected(f"global_defs {{\n {written}\n}}\n" + instance(), message, 2)
        groups = {4: config.global_defs.vrrp_mcast_group4, 6: config.global_defs.vrrp_mcast_group6}
        assert str(groups[ipaddress.ip_address(used).version]) == used


VIRTUAL_SERVER = (
    "virtual_server {address} 80 {{\n lb_algo rr\n lb_kind NAT\n protocol TCP\n{extra}"
    " real_server {real} 80 {{\n }}\n}}\n"
)


def virtual_server(extra: str, address: str = "10.99.0.100", real: str = "10.99.0.11") -> str:
    return VIRTUAL_SERVER.format(address=address, real=real, extra="".join(f" {line}\n" for line in extra.splitlines()))


def test_an_ipv4_granularity_is_read_as_inet_aton_reads_it() -> None:
    text = virtual_server("persistence_timeout 60\npersistence_granularity 64")
    result = config_from(text)
    assert messages(result) == [
        "/etc/keepalived/keepalived.conf:6: warning: persistence_granularity 64 is read as netmask 0.0.0.64, "
        "as keepalived reads it"
    ]
    assert result.config is not None and result.config.virtual_server[0].persistence_granularity == "0.0.0.64"
    assert config_test_exit_code(result) == 0  # keepalived says nothing of it
    assert config_test_exit_code(config_from(text, strict=True), strict=True) == 4


def test_a_granularity_of_the_other_family_is_reported_and_ignored() -> None:
    config = corrected(
        virtual_server("persistence_timeout 60\npersistence_granularity 255.255.255.0", "fd00::100", "fd00::11"),
        "Invalid IPv6 persistence_granularity specified - 255.255.255.0",
        6,
    )
    assert config.virtual_server[0].persistence_granularity is None
    result = config_from(virtual_server("persistence_granularity 200", "fd00::100", "fd00::11"))
    assert "/etc/keepalived/keepalived.conf:5: warning: number '200' outside range [1, 128]" in messages(result)
    assert result.config is not None and result.config.virtual_server[0].persistence_timeout is None


def test_a_granularity_makes_the_service_persistent_as_keepalived_does() -> None:
    result = config_from(virtual_server("persistence_granularity 255.255.255.0"))
    assert result.config is not None and result.config.virtual_server[0].persistence_timeout == 360
    [notice] = [d for d in result.diagnostics if "makes it persistent" in d.message]
    assert notice.severity == Severity.NOTICE and notice.where is not None and notice.where.line == 5
    assert config_test_exit_code(result) == 0
