"""The lint's rules between node configurations: each on a pair of small configs that shows it, and on one
that does not."""

from __future__ import annotations

from pathlib import Path

from lint_configs import cluster, instance, script

from pykeepalived.core.diagnostics import Severity
from pykeepalived.lint.rules import Finding, check


def findings(tmp_path: Path, *texts: str, rule: str | None = None) -> list[Finding]:
    found = check(cluster(tmp_path, *texts))
    return [f for f in found if rule is None or f.rule == rule]


def test_a_clean_pair_has_no_finding(tmp_path: Path) -> None:
    assert findings(tmp_path, script(weight=-60) + instance(150, track="chk"), script(weight=-60) + instance(100)) == []


def test_negative_weight_too_small_to_fail_over(tmp_path: Path) -> None:
    found = findings(tmp_path, script() + instance(150, track="chk"), script() + instance(100, track="chk"))
    assert [(f.severity, f.rule) for f in found] == [(Severity.ERROR, "weight")]
    assert "script chk fails on lb1: lb1 150-20=130 still >= lb2 100: no failover; weight must be < -50" in (
        found[0].message
    )
    # Where: the track_script line and both priorities, each on its own node's file.
    assert [(node, where.line) for node, where, _ in found[0].where] == [("lb1", 18), ("lb1", 12), ("lb2", 12)]
    assert found[0].where[2][1].file.endswith("lb2.conf")


def test_the_rule_is_strict_an_equal_priority_is_no_failover(tmp_path: Path) -> None:
    assert findings(tmp_path, script(weight=-50) + instance(150, track="chk"), instance(100), rule="weight")
    assert not findings(tmp_path, script(weight=-51) + instance(150, track="chk"), instance(100), rule="weight")


def test_positive_weight_on_the_backup_that_never_lifts_it(tmp_path: Path) -> None:
    both = script(weight=5)
    found = findings(tmp_path, both + instance(110, track="chk"), both + instance(100, track="chk"), rule="weight")
    assert len(found) == 1
    assert "lb1 115-5=110 still >= lb2 105: no failover; weight must be > 10" in found[0].message
    enough = script(weight=20)
    assert not findings(tmp_path, enough + instance(110, track="chk"), enough + instance(100, track="chk"))


def test_weight_zero_on_one_node_and_a_weight_on_the_other(tmp_path: Path) -> None:
    found = findings(
        tmp_path,
        script(weight=None) + instance(150, track="chk"),
        script(weight=-60) + instance(100, track="chk"),
        rule="weight",
    )
    assert len(found) == 1 and found[0].severity is Severity.WARNING
    assert "has weight 0 on lb1 (its failure is a FAULT) but weight -60 on lb2" in found[0].message
    # Weight 0 everywhere is a fault by design: no finding.
    both = script(weight=None)
    assert not findings(tmp_path, both + instance(150, track="chk"), both + instance(100, track="chk"))


def test_nopreempt_on_the_node_that_never_preempts(tmp_path: Path) -> None:
    found = findings(tmp_path, instance(150), instance(100, extra="    nopreempt\n"), rule="nopreempt")
    assert len(found) == 1
    assert "nopreempt on lb2 has no effect: lb1 has the highest priority and preempts" in found[0].message
    both = "    nopreempt\n"
    assert not findings(tmp_path, instance(150, extra=both), instance(100, extra=both), rule="nopreempt")


def test_nopreempt_with_state_master(tmp_path: Path) -> None:
    found = findings(
        tmp_path,
        instance(150, extra="    nopreempt\n", state="MASTER"),
        instance(100, extra="    nopreempt\n"),
        rule="nopreempt",
    )
    assert any("nopreempt with state MASTER on lb1" in f.message for f in found)


def test_different_vrids_for_one_instance_name(tmp_path: Path) -> None:
    found = findings(tmp_path, instance(150), instance(100, vrid=52), rule="vrid")
    assert len(found) == 1 and "VI_1 has different VRIDs on the nodes" in found[0].message
    assert "lb1 51, lb2 52" in found[0].message
    assert not findings(tmp_path, instance(150), instance(100), rule="vrid")


def test_advert_int_differs(tmp_path: Path) -> None:
    slow = instance(100).replace("advert_int 1", "advert_int 2")
    found = findings(tmp_path, instance(150), slow, rule="advert_int")
    assert len(found) == 1 and found[0].severity is Severity.ERROR
    assert [w.line for _, w, _ in found[0].where] == [6, 6]


def test_version_differs(tmp_path: Path) -> None:
    found = findings(tmp_path, instance(150), instance(100, extra="    version 3\n"), rule="version")
    assert len(found) == 1 and "lb1 2, lb2 3" in found[0].message


def test_authentication_type_and_password(tmp_path: Path) -> None:
    def auth(kind: str, password: str) -> str:
        return f"    authentication {{\n        auth_type {kind}\n        auth_pass {password}\n    }}\n"

    kinds = findings(tmp_path, instance(150, extra=auth("PASS", "s3cret")), instance(100), rule="authentication")
    assert len(kinds) == 1 and "lb1 PASS, lb2 none" in kinds[0].message
    passwords = findings(
        tmp_path, instance(150, extra=auth("PASS", "s3cret")), instance(100, extra=auth("PASS", "secret")), rule=None
    )
    assert [f.rule for f in passwords] == ["authentication"]
    # keepalived reads 8 characters: passwords that differ after them are the same password.
    assert not findings(
        tmp_path,
        instance(150, extra=auth("PASS", "12345678a")),
        instance(100, extra=auth("PASS", "12345678b")),
        rule="authentication",
    )


def test_virtual_addresses_differ(tmp_path: Path) -> None:
    found = findings(tmp_path, instance(150), instance(100, vips=("192.0.2.10/24", "192.0.2.11/24")), rule=None)
    assert [f.rule for f in found] == ["addresses"]
    assert "not present in MASTER advert" in found[0].message


def test_one_vrid_used_by_two_virtual_routers(tmp_path: Path) -> None:
    found = findings(
        tmp_path, instance(150, name="VI_WEB"), instance(100, name="VI_DB", vips=("192.0.2.20/24",)), rule="vrid"
    )
    assert len(found) == 1 and "VRID 51 is used by VI_DB, VI_WEB with different addresses" in found[0].message


def test_unicast_peers_that_do_not_point_at_each_other(tmp_path: Path) -> None:
    def unicast(source: str, peer: str) -> str:
        return f"    unicast_src_ip {source}\n    unicast_peer {{\n        {peer}\n    }}\n"

    wrong = findings(
        tmp_path,
        instance(150, extra=unicast("10.99.0.1", "10.99.0.2")),
        instance(100, extra=unicast("10.99.0.3", "10.99.0.1")),
        rule="unicast",
    )
    assert len(wrong) == 1
    assert "lb1's unicast peers do not include lb2's address 10.99.0.3" in wrong[0].message
    assert not findings(
        tmp_path,
        instance(150, extra=unicast("10.99.0.1", "10.99.0.2")),
        instance(100, extra=unicast("10.99.0.2", "10.99.0.1")),
        rule="unicast",
    )
    mixed = findings(tmp_path, instance(150, extra=unicast("10.99.0.1", "10.99.0.2")), instance(100), rule="unicast")
    assert len(mixed) == 1 and "one node sends unicast and another multicast" in mixed[0].message


def test_sync_group_whose_members_prefer_different_nodes(tmp_path: Path) -> None:
    group = "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}\n"
    split = findings(
        tmp_path,
        group + instance(150) + instance(100, name="VI_2", vrid=52, vips=("192.0.2.20/24",)),
        group + instance(100) + instance(150, name="VI_2", vrid=52, vips=("192.0.2.20/24",)),
        rule="sync_group",
    )
    assert len(split) == 1 and "VI_1 prefers lb1, VI_2 prefers lb2" in split[0].message
    one_side = findings(
        tmp_path,
        group + instance(150) + instance(150, name="VI_2", vrid=52, vips=("192.0.2.20/24",)),
        instance(100) + instance(100, name="VI_2", vrid=52, vips=("192.0.2.20/24",)),
        rule="sync_group",
    )
    assert len(one_side) == 1 and "on lb1 but not on lb2" in one_side[0].message
    assert not findings(
        tmp_path,
        group + instance(150) + instance(150, name="VI_2", vrid=52, vips=("192.0.2.20/24",)),
        group + instance(100) + instance(100, name="VI_2", vrid=52, vips=("192.0.2.20/24",)),
        rule="sync_group",
    )


def test_vrrp_strict_without_accept(tmp_path: Path) -> None:
    strict = "global_defs {\n    vrrp_strict\n}\n"
    served = "virtual_server 192.0.2.10 80 {\n    real_server 10.99.0.20 80 {\n    }\n}\n"
    warned = findings(tmp_path, strict + instance(150), strict + instance(100), rule="strict")
    assert [f.severity for f in warned] == [Severity.WARNING, Severity.WARNING]
    errors = findings(tmp_path, strict + instance(150) + served, strict + instance(100) + served, rule="strict")
    assert [f.severity for f in errors] == [Severity.ERROR, Severity.ERROR]
    assert "virtual_server 192.0.2.10 on them gets no packets" in errors[0].message
    # keepalived resets accept under VRRPv2 (not in RFC 3768): only v3 keeps it.
    accept = "    accept\n    version 3\n"
    assert not findings(
        tmp_path, strict + instance(150, extra=accept), strict + instance(100, extra=accept), rule="strict"
    )


def test_equal_priorities_and_an_instance_on_one_node_only(tmp_path: Path) -> None:
    tied = findings(tmp_path, instance(100), instance(100), rule="priority")
    assert len(tied) == 1 and "lb1, lb2 have the same priority 100" in tied[0].message
    alone = findings(tmp_path, instance(150) + instance(150, name="VI_2", vrid=60), instance(100), rule="alone")
    assert len(alone) == 1 and "VRID 60 is configured on lb1 only" in alone[0].message
