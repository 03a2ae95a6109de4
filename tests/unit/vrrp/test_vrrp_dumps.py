"""keepalived's VRRP dump files from a snapshot: .stats line for line, the .data instance section's lines
and values, the JSON's keys and kinds (tests/interop/test_dump_files.py compares them with keepalived's)."""

from __future__ import annotations

import ipaddress
import json

from memfs import config_from

from pykeepalived.config.global_dump import ProcessFacts, data_file, tmp_dir
from pykeepalived.daemon.vrrp_setup import instance_spec
from pykeepalived.io.netdev import Interface
from pykeepalived.vrrp.dumps import (
    InstanceView,
    LinkView,
    NotifyView,
    SyncGroupView,
    VrrpSnapshot,
    command_text,
    data_text,
    json_text,
    link_lines,
    script_result,
    stats_text,
)
from pykeepalived.vrrp.instance import Fault, Instance, Start, State, Timer

ETH0 = Interface("eth0", 2, bytes.fromhex("029900000001"), ipaddress.IPv4Address("10.99.0.11"))
FACTS = ProcessFacts("host1", 0o177, (0, 0), vrrp=True)
CONFIG = """global_defs {
    router_id golden1
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    version 2
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress {
        10.99.1.1/32 dev eth0
        10.99.2.1/24
    }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 120
    advert_int 0.5
    version 3
    unicast_src_ip 10.99.0.11
    unicast_peer {
        10.99.0.12
    }
    virtual_ipaddress {
        10.99.1.2
    }
}
"""


def snapshot(text: str = CONFIG, fault: bool = False) -> VrrpSnapshot:
    result = config_from(text)
    assert result.runnable, [str(d) for d in result.diagnostics]
    config = result.config
    views = []
    for configured in config.vrrp_instance:
        spec = instance_spec(config, configured, lambda name: ETH0)
        engine = Instance(spec.params)
        engine.handle(Start(100.0, fault=fault))
        engine.handle(Timer(200.0))
        notify = (NotifyView("MASTER", "'/bin/echo' 'up'", 0, 0),)
        views.append(
            InstanceView(
                configured, engine, "eth0", spec.source, 7, (), 0, None, None, False, notify, 0.0, accept=spec.accept
            )
        )
    return VrrpSnapshot(config, FACTS, tuple(views))


def test_stats_are_keepalived_s_lines_with_our_counters() -> None:
    taken = snapshot()
    engine = taken.instances[0].engine
    engine.counters.update({"adverts_received": 4, "drop_ttl": 2, "drop_auth": 1, "drop_auth_mismatch": 3})
    lines = stats_text(taken.instances).splitlines()
    assert lines[:19] == [
        "VRRP Instance: VI_1",
        "  Advertisements:",
        "    Received: 4",
        f"    Sent: {engine.counters['adverts_sent']}",
        "  Became master: 1",
        "  Released master: 0",
        "  Packet Errors:",
        "    Length: 0",
        "    TTL: 2",
        "    Invalid Type: 0",
        "    Advertisement Interval: 0",
        "    Address List: 0",
        "  Authentication Errors:",
        "    Invalid Type: 0",
        "    Type Mismatch: 3",
        "    Failure: 1",
        "  Priority Zero:",
        "    Received: 0",
        "    Sent: 0",
    ]
    assert lines[19] == "VRRP Instance: VI_2" and len(lines) == 38


def test_data_instance_section_in_keepalived_s_order_and_spelling() -> None:
    text = data_text(snapshot())
    assert text.startswith("------< Global definitions >------\n Network namespace = (default)\n")
    topology = text.split("------< VRRP Topology >------\n")[1].splitlines()
    first = topology[: topology.index(" VRRP Instance = VI_2")]
    keys = [line.split(" = ")[0] for line in first]
    assert keys[:8] == [" VRRP Instance", "   VRRP Version", "   State", "   Flags: none", "   Wantstate",
                        "   Number of config faults", "   Number of interface and track script faults",
                        "   Number of track scripts init"]  # fmt: skip
    assert "   State = MASTER" in first and "   Advert interval = 1 sec" in first
    assert "   Authentication type = SIMPLE_PASSWORD" in first and "   Password = secret" in first
    assert first[first.index("   Virtual IP (2):") + 1 :][:2] == [
        "     10.99.1.1 dev eth0 scope global set",
        "     10.99.2.1/24 dev eth0 scope global set",
    ]
    assert "   Master state transition script = '/bin/echo' 'up', uid:gid 0:0" in first
    second = topology[topology.index(" VRRP Instance = VI_2") :]
    assert second[3:5] == ["   Flags:", "     Using unicast"]
    assert "   Using src_ip = 10.99.0.11 (from configuration)" in second
    assert "   Advert interval = 500 milli-sec" in second
    assert "   Unicast Peer :" in second and "     10.99.0.12 min_ttl 0 max_ttl 255" in second


def test_accept_mode_is_the_one_that_runs() -> None:
    assert "   Accept = enabled\n" in data_text(snapshot())
    text = data_text(snapshot(CONFIG.replace("virtual_router_id", "no_accept\n    virtual_router_id", 1)))
    assert "   Accept = disabled\n" in text


def test_a_faulted_instance_says_state_fault() -> None:
    # OpenShift's liveness check greps keepalived.data for this line.
    assert "   State = FAULT\n" in data_text(snapshot(fault=True))


def test_backup_shows_its_master() -> None:
    taken = snapshot()
    engine = taken.instances[0].engine
    engine.handle(Fault(True, 300.0))
    engine.handle(Fault(False, 301.0))
    assert engine.state is State.BACKUP
    engine.master_source, engine.master_priority = ipaddress.IPv4Address("10.99.0.12"), 200
    text = data_text(taken)
    assert "   Master router = 10.99.0.12\n   Master priority = 200\n" in text


def test_sync_group_section() -> None:
    taken = snapshot()
    group = SyncGroupView("SG_1", State.MASTER, ("VI_1", "VI_2"))
    text = data_text(VrrpSnapshot(taken.config, FACTS, taken.instances, (group,)))
    assert text.split("------< VRRP Sync groups >------\n")[1].splitlines() == [
        " VRRP Sync Group = SG_1, MASTER",
        "   Num member fault 0, num member init 0",
        "   VRRP member instances :",
        "     VI_1",
        "     VI_2",
        "   Using smtp notification = no",
    ]


def test_json_keys_kinds_and_layout() -> None:
    text = json_text(snapshot())
    assert text.endswith("]\n") and ", " not in text
    first, second = json.loads(text)
    assert list(first["data"])[:6] == ["iname", "dont_track_primary", "skip_check_adv_addr", "strict_mode",
                                       "vmac_ifname", "ifp_ifname"]  # fmt: skip
    assert first["data"]["state"] == 2 and first["data"]["auth_type"] == 1 and first["data"]["auth_data"] == "secret"
    assert first["data"]["adver_int"] == 1 and second["data"]["adver_int"] == 0.5
    assert first["data"]["script_master"] == "'/bin/echo' 'up'"
    assert "auth_data" not in second["data"]
    assert list(first["stats"]) == ["advert_rcvd", "advert_sent", "become_master", "release_master",
                                    "packet_len_err", "advert_interval_err", "ip_ttl_err", "invalid_type_rcvd",
                                    "addr_list_err", "invalid_authtype", "authtype_mismatch", "auth_failure",
                                    "pri_zero_rcvd", "pri_zero_sent"]  # fmt: skip


def test_file_names_follow_keepalived_s_rules() -> None:
    assert tmp_dir(None) == "/tmp" and tmp_dir("relative") == "/tmp" and tmp_dir("/var/run/k") == "/var/run/k"
    plain = config_from("instance blue\nnet_namespace red\n").config
    assert data_file("/tmp", plain, "keepalived.data") == "/tmp/keepalived.data"
    named = config_from("instance blue\nnet_namespace red\nglobal_defs {\n data_use_instance\n}\n").config
    assert data_file("/tmp", named, "keepalived.data") == "/tmp/keepalived.red_blue.data"
    assert data_file("/tmp", named, "keepalived_check.data") == "/tmp/keepalived_check.red_blue.data"


def test_command_quoting_and_script_result() -> None:
    assert command_text(["/usr/bin/true"]) == "'/usr/bin/true'"
    assert command_text([">/tmp/flag", "x"]) == ">/tmp/flag 'x'"
    assert script_result(2, 3, True, 0) == 4 and script_result(2, 3, True, 1) == 3
    assert script_result(2, 3, False, 1) == 1 and script_result(2, 3, None, 0) == 0


def test_interface_lines() -> None:
    loopback = LinkView("lo", 1, 0x1 | 0x8 | 0x40, 65536, 772, None, None, ipaddress.IPv4Address("127.0.0.1"), None)
    assert link_lines(loopback)[:5] == [
        " Name = lo",
        "   index = 1",
        "   IPv4 address = 127.0.0.1",
        "   IPv6 address = (none)",
        "   State = UP, RUNNING, no broadcast, loopback, no multicast",
    ]
    mac = bytes.fromhex("029900000001")
    eth0 = LinkView("eth0", 2, 0x1 | 0x2 | 0x1000, 1500, 1, mac, b"\xff" * 6, None, None, (("VI_1", 0, False),))
    lines = link_lines(eth0)
    assert lines[4:7] == [
        "   MAC = 02:99:00:00:00:01",
        "   MAC broadcast = ff:ff:ff:ff:ff:ff",
        "   State = UP, not RUNNING",
    ]
    assert "   HW Type = ETHERNET" in lines and lines[-2:] == ["   Tracking VRRP instances :", "     VI_1, weight 0"]
