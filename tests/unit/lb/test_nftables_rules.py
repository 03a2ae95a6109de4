"""The table as nftables rules: which real server each map slot holds, and the transaction's shape."""

from __future__ import annotations

import logging
import math
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.io.nftables import ConntrackWatch
from pykeepalived.lb import nftables
from pykeepalived.lb.schedulers import Flow, Member, make_scheduler
from pykeepalived.lb.table import Destination, DestinationKey, IpProtocol, Service, ServiceKey

A, B, C = DestinationKey("10.99.0.12", 8080), DestinationKey("10.99.0.13", 8080), DestinationKey("10.99.0.14", 80)
VS = ServiceKey(IpProtocol.TCP, "10.99.1.1", 80)


def service(scheduler: str, weights: dict[DestinationKey, int]) -> Service:
    return Service(scheduler, destinations={key: Destination(weight) for key, weight in weights.items()})


def test_rr_cycle_takes_each_server_once() -> None:
    assert nftables.slots(service("rr", {A: 1, B: 1, C: 1})) == [A, B, C]


def test_wrr_cycle_interleaves_like_ipvs() -> None:
    assert nftables.slots(service("wrr", {A: 1, B: 3})) == [B, B, A, B]
    assert Counter(nftables.slots(service("wrr", {A: 200, B: 600}))) == {A: 1, B: 3}


def test_a_quiesced_server_holds_no_slot_and_no_server_means_no_rule() -> None:
    assert nftables.slots(service("wrr", {A: 0, B: 2})) == [B]
    assert nftables.service_rule(VS, service("rr", {A: 0}), "prerouting") is None


def test_hashing_schedulers_fill_ipvs_bucket_tables() -> None:
    sh = nftables.slots(service("sh", {A: 1, B: 3}))
    assert len(sh) == 256 and Counter(sh) == {A: 64, B: 192}
    assert len(nftables.slots(service("dh", {A: 1, B: 1}))) == 256
    mh = nftables.slots(service("mh", {A: 1, B: 1}))
    assert len(mh) == 251 and set(mh) == {A, B}


def test_fo_sends_everything_to_the_heaviest() -> None:
    assert nftables.slots(service("fo", {A: 1, B: 5, C: 2})) == [B]


def test_sh_hashes_the_source_with_a_fixed_seed_and_rr_counts() -> None:
    sh_rule = nftables.service_rule(VS, service("sh", {A: 1, B: 1}), "prerouting")
    assert sh_rule is not None
    key = sh_rule["add"]["rule"]["expr"][2]["dnat"]["addr"]["map"]["key"]
    source = {"payload": {"protocol": "ip", "field": "saddr"}}
    assert key == {"jhash": {"mod": 256, "seed": nftables.HASH_SEED, "expr": source}}
    rr_rule = nftables.service_rule(VS, service("rr", {A: 1, B: 1}), "prerouting")
    assert rr_rule is not None
    assert rr_rule["add"]["rule"]["expr"][2]["dnat"]["addr"]["map"]["key"] == {"numgen": {"mode": "inc", "mod": 2}}


def test_the_transaction_replaces_the_whole_table_and_is_deterministic() -> None:
    table = {VS: service("rr", {A: 1, B: 1}), ServiceKey(IpProtocol.UDP, "2001:db8::1", 53): service("rr", {C: 1})}
    commands = nftables.transaction(table)
    assert commands[:2] == [
        {"add": {"table": {"family": "inet", "name": "pykeepalived"}}},
        {"flush": {"table": {"family": "inet", "name": "pykeepalived"}}},
    ]
    rules = [command["add"]["rule"] for command in commands if "rule" in command.get("add", {})]
    assert len(rules) == 4  # two services, in prerouting and output
    udp = next(rule for rule in rules if ":udp:" in rule["comment"])
    assert udp["expr"][0]["match"]["left"]["payload"]["protocol"] == "ip6"
    assert udp["expr"][2]["dnat"]["family"] == "ip6"
    assert nftables.transaction(dict(reversed(table.items()))) == commands


def test_what_the_data_plane_does_not_do_is_reported() -> None:
    mixed = {A: Destination(1, forwarding="DR"), B: Destination(1)}
    direct = {A: Destination(1, forwarding="DR")}
    table = {
        ServiceKey(IpProtocol.TCP, fwmark=7): Service("rr", destinations=direct),
        VS: Service("rr", persistence_timeout=300, destinations=mixed),
        ServiceKey(IpProtocol.TCP, "10.99.1.2", 80): Service("rr", persistence_timeout=300, destinations=direct),
    }
    problems = nftables.unsupported(table)
    assert len(problems) == 3
    assert any("routes directly (DR) only address:port services" in problem for problem in problems)
    assert any("persistence_timeout is not kept by the nftables data plane in DR mode" in p for p in problems)
    assert any("uses DR" in problem for problem in problems)


def test_a_direct_routing_service_rewrites_the_frame_at_the_device_ingress() -> None:
    direct = {A: Destination(1, forwarding="DR"), B: Destination(1, forwarding="DR")}
    table = {VS: Service("wrr", destinations=direct)}
    route = nftables.DirectRouting("eth0", "02:99:00:00:00:01", {A: "02:99:00:00:00:02"})
    commands = nftables.transaction(table, routing={VS: route})
    assert not any("rule" in c.get("add", {}) and c["add"]["rule"]["family"] == "inet" for c in commands)
    chain = next(c["add"]["chain"] for c in commands if c.get("add", {}).get("chain", {}).get("family") == "netdev")
    assert (chain["hook"], chain["dev"]) == ("ingress", "eth0")
    rule = next(c["add"]["rule"] for c in commands if c.get("add", {}).get("rule", {}).get("family") == "netdev")
    macs = rule["expr"][3]["mangle"]["value"]["map"]["data"]["set"]
    assert {mac for _, mac in macs} == {"02:99:00:00:00:02"}  # B's MAC is not known yet: no slot
    assert rule["expr"][2]["mangle"]["value"] == "02:99:00:00:00:01"
    assert rule["expr"][4] == {"fwd": {"dev": "eth0"}}


def test_an_ipv6_direct_routing_service_matches_ipv6_and_hashes_its_source() -> None:
    vs6, real6 = ServiceKey(IpProtocol.TCP, "2001:db8:1::1", 80), DestinationKey("2001:db8::2", 80)
    table = {vs6: Service("rr", destinations={real6: Destination(1, forwarding="DR"), A: Destination(1, "DR")})}
    route = nftables.DirectRouting("eth0", "02:99:00:00:00:01", {real6: "02:99:00:00:00:02", A: "02:99:00:00:00:03"})
    rule = nftables.direct_routing_rule(vs6, table[vs6], route)
    assert rule is not None
    expressions = rule["add"]["rule"]["expr"]
    assert expressions[0]["match"]["left"] == {"payload": {"protocol": "ip6", "field": "daddr"}}
    macs = expressions[3]["mangle"]["value"]["map"]
    assert macs["key"]["jhash"]["expr"]["concat"][0] == {"payload": {"protocol": "ip6", "field": "saddr"}}
    assert {mac for _, mac in macs["data"]["set"]} == {"02:99:00:00:00:02"}  # the IPv4 real server is left out


@given(st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=6))
def test_the_wrr_map_is_one_cycle_of_the_wrr_scheduler(weights: list[int]) -> None:
    members = [Member(key=DestinationKey(f"10.99.0.{10 + i}", 80), weight=w) for i, w in enumerate(weights)]
    scheduler = make_scheduler("wrr")
    flow = Flow(source="10.99.0.100", source_port=1, target="10.99.1.1", now=0.0)
    cycle = sum(weights) // math.gcd(*weights)
    picked = [scheduler.pick(members, flow) for _ in range(cycle)]
    assert nftables.round_robin_slots(members) == [member.key for member in picked if member is not None]


def test_connection_count_schedulers_place_the_next_connections_from_the_load() -> None:
    placed = nftables.slots(service("wlc", {A: 1, B: 1}), VS, {A: (10, 0), B: (0, 0)})
    assert len(placed) == nftables.LOAD_AWARE_SLOTS
    assert placed[:10] == [B] * 10
    assert placed[10:14] == [A, B, A, B]
    # Without counts yet, the map keeps the weights.
    assert nftables.slots(service("wlc", {A: 1, B: 3})) == [B, B, A, B]
    assert nftables.slots(service("ovf", {A: 2, B: 1}), VS, {A: (0, 0), B: (0, 0)})[:3] == [A, A, B]


def test_a_load_change_changes_only_the_load_aware_maps() -> None:
    table = {VS: service("lc", {A: 1, B: 1}), ServiceKey(IpProtocol.TCP, "10.99.1.1", 443): service("rr", {A: 1, B: 1})}
    quiet = nftables.transaction(table, {VS: {A: (0, 0), B: (0, 0)}})
    busy = nftables.transaction(table, {VS: {A: (5, 0), B: (0, 0)}})
    changed = [after["add"]["rule"]["comment"] for before, after in zip(quiet, busy, strict=True) if before != after]
    assert changed == [f"{VS} lc", f"{VS} lc"]  # its rule in prerouting and in output


def test_a_fwmark_service_dnats_marked_packets_to_addresses_only() -> None:
    rule = nftables.service_rule(ServiceKey(IpProtocol.TCP, fwmark=5), service("rr", {A: 1, B: 1}), "prerouting")
    assert rule is not None
    expressions = rule["add"]["rule"]["expr"]
    assert expressions[:2] == [
        {"match": {"op": "==", "left": {"meta": {"key": "nfproto"}}, "right": "ipv4"}},
        {"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": 5}},
    ]
    assert expressions[2]["dnat"]["addr"]["map"]["data"]["set"] == [[0, A.address], [1, B.address]]


def test_connections_get_ipvs_timeouts_not_conntrack_s() -> None:
    timeouts = (900, 120, 300)
    objects = nftables.timeout_objects(timeouts)
    assert "add ct timeout inet pykeepalived ipvs-tcp-ip-900-120 { protocol tcp; l3proto ip;" in objects
    assert "established: 900, fin_wait: 120" in objects and "unreplied: 300, replied: 300" in objects
    table = {VS: service("rr", {A: 1}), ServiceKey(IpProtocol.TCP, fwmark=5): service("rr", {A: 1})}
    commands = nftables.transaction(table, timeouts=timeouts)
    added = [command["add"] for command in commands if "add" in command]
    chains = [entry["chain"] for entry in added if "chain" in entry and entry["chain"]["prio"] == -150]
    assert [(c["name"], c["hook"]) for c in chains] == [("timeouts", "prerouting"), ("timeouts_out", "output")]
    timed = [entry["rule"] for entry in added if entry.get("rule", {}).get("chain", "").startswith("timeouts")]
    assert [rule["expr"][-1] for rule in timed] == [{"ct timeout": "ipvs-tcp-ip-900-120"}] * 2  # not for the fwmark one


def test_a_persistent_service_sends_a_known_client_network_back_and_remembers_new_ones() -> None:
    table = {VS: Service("wrr", 300, "255.255.255.0", {A: Destination(1), B: Destination(3)})}
    sets = nftables.persistence_sets(table)
    assert sets == {
        nftables.persistence_set_name(VS, A): "ipv4_addr",
        nftables.persistence_set_name(VS, B): "ipv4_addr",
    }
    assert "flags dynamic,timeout" in nftables.persistence_set_commands(sets)
    commands = nftables.transaction(table)
    rules = [command["add"]["rule"] for command in commands if "rule" in command.get("add", {})]
    client = {"&": [{"payload": {"protocol": "ip", "field": "saddr"}}, "255.255.255.0"]}
    for member in (A, B):
        name = nftables.persistence_set_name(VS, member)
        remember, _, dnat = next(rule["expr"] for rule in rules if rule["chain"] == name)
        assert remember == {
            "set": {"op": "update", "elem": {"elem": {"val": client, "timeout": 300}}, "set": f"@{name}"}
        }
        assert dnat == {"dnat": {"family": "ip", "addr": member.address, "port": member.port}}
        known = [rule for rule in rules if rule["chain"] == "prerouting" and {"jump": {"target": name}} in rule["expr"]]
        assert known and known[0]["expr"][2] == {"match": {"op": "==", "left": client, "right": f"@{name}"}}
    pick = [rule for rule in rules if rule["chain"] == "prerouting"][-1]["expr"][-1]["vmap"]
    assert Counter(slot[1]["jump"]["target"] for slot in pick["data"]["set"]) == {
        nftables.persistence_set_name(VS, A): 1,
        nftables.persistence_set_name(VS, B): 3,
    }
    retired = nftables.transaction(table, retired_sets=["persist-0123456789abcdef"])
    assert {
        "delete": {"set": {"family": "inet", "table": "pykeepalived", "name": "persist-0123456789abcdef"}}
    } in retired


def test_a_server_over_its_upper_threshold_gets_no_slot_until_below_its_lower() -> None:
    limited = {A: Destination(1, upper_threshold=10, lower_threshold=4), B: Destination(1)}
    service = Service("rr", destinations=limited)
    assert nftables.follows_load(service)
    overloaded: dict[ServiceKey, frozenset[DestinationKey]] = {}
    seen = []
    # IPVS counts active and inactive connections; the lower threshold ends the overload.
    for counts in ((9, 0), (8, 2), (6, 0), (4, 0), (3, 0)):
        load = {VS: {A: counts}}
        overloaded = nftables.overloaded_servers({VS: service}, load, overloaded)
        seen.append(nftables.slots(service, VS, load[VS], overloaded.get(VS, frozenset())))
    assert seen == [[A, B], [B], [B], [B], [A, B]]
    hashed = Service("sh", destinations=limited)
    assert not nftables.follows_load(hashed)
    assert nftables.slots(hashed, VS, {A: (20, 0)}) == nftables.slots(hashed, VS)
    assert any("does not apply thresholds to sh" in problem for problem in nftables.unsupported({VS: hashed}))


def test_conntrack_fullness_is_reported_once_per_crossing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    watch = ConntrackWatch(logging.getLogger("conntrack"), str(tmp_path / "nf_conntrack_{}"))
    (tmp_path / "nf_conntrack_max").write_text("1000\n")
    for count in (100, 900, 950, 850, 790, 920):
        (tmp_path / "nf_conntrack_count").write_text(f"{count}\n")
        with caplog.at_level(logging.INFO):
            watch.check()
    assert [record.getMessage().split(":")[1].strip() for record in caplog.records] == [
        "conntrack's table is 90% full (900 of 1000 entries)",
        "conntrack's table is 79% full again",
        "conntrack's table is 92% full (920 of 1000 entries)",
    ]
