"""The lint's scenarios on the simulated LAN: who holds each router after each trouble, how long the move took
in virtual time, and the verdict against the configuration's intent."""

from __future__ import annotations

import time
from pathlib import Path

from lint_configs import cluster, instance, script

from pykeepalived.lint.rules import check
from pykeepalived.lint.scenarios import Outcome, Run, run_all, run_scenario
from pykeepalived.lint.timeline import spans, write_png
from pykeepalived.lint.troubles import troubles
from pykeepalived.vrrp.instance import State


def phases(runs: list[Run]) -> dict[str, Outcome]:
    return {o.phase: o for run in runs for o in run.outcomes}


def test_the_weight_mistake_fails_the_scenario_with_the_arithmetic(tmp_path: Path) -> None:
    found = phases(run_all(cluster(tmp_path, script() + instance(150, track="chk"), script() + instance(100))))
    failing = found["script chk fails on lb1"]
    assert not failing.ok
    (router,) = failing.groups
    assert (router.before, router.expected, router.observed) == (("lb1",), ("lb2",), ("lb1",))
    assert router.why.startswith("script chk fails on lb1: lb1 150-20=130 still >= lb2 100: no failover")
    assert "weight must be < -50" in router.why
    others = [o for phase, o in found.items() if phase != "script chk fails on lb1"]
    assert all(o.ok for o in others)


def test_the_fixed_weight_moves_the_address_and_back(tmp_path: Path) -> None:
    nodes = cluster(tmp_path, script(weight=-60, fall=2, rise=2) + instance(150, track="chk"), instance(100))
    found = phases(run_all(nodes))
    assert all(o.ok for o in found.values())
    (moved,) = found["script chk fails on lb1"].groups
    assert moved.observed == ("lb2",)
    # Seen after fall x interval (2 s); lb1 drops to 90, and lb2 (100) discards its adverts as of lower
    # priority without re-arming its down timer: it takes over when that runs out (3 adverts and the skew).
    assert moved.moved_after is not None and 2.0 + 3.0 <= moved.moved_after <= 2.0 + 3.7
    (back,) = found["script chk recovers on lb1"].groups
    assert back.observed == ("lb1",)


def test_start_up_elects_the_highest_priority_and_a_stopped_daemon_hands_over_at_once(tmp_path: Path) -> None:
    found = phases(run_all(cluster(tmp_path, instance(100), instance(150), instance(120))))
    (start,) = found["start-up"].groups
    assert start.observed == ("lb2",)
    (stopped,) = found["lb2 daemon stopped"].groups
    assert stopped.observed == ("lb3",)
    # The priority-0 advert: lb3 takes over after its skew time, (256 - 120) / 256 s in VRRPv2.
    assert stopped.moved_after is not None and stopped.moved_after < 0.6
    (off,) = found["lb2 powered off"].groups
    # Powered off, nothing tells the backups: 3 adverts and the skew time.
    assert off.observed == ("lb3",) and off.moved_after is not None and 2.5 < off.moved_after < 3.6


def test_weight_zero_puts_the_master_in_fault(tmp_path: Path) -> None:
    nodes = cluster(tmp_path, script(weight=None) + instance(150, track="chk"), instance(100))
    trouble = next(t for t in troubles(nodes) if t.title == "script chk fails on lb1")
    run = run_scenario(nodes, trouble)
    assert run.outcomes[0].ok and run.outcomes[0].groups[0].observed == ("lb2",)
    assert any(c.node == "lb1" and c.state is State.FAULT for c in run.history)


def test_mismatched_passwords_make_two_masters_and_say_why(tmp_path: Path) -> None:
    def auth(password: str) -> str:
        return f"    authentication {{\n        auth_type PASS\n        auth_pass {password}\n    }}\n"

    found = phases(run_all(cluster(tmp_path, instance(150, extra=auth("one")), instance(100, extra=auth("two")))))
    (start,) = found["start-up"].groups
    assert start.observed == ("lb1", "lb2") and not start.ok
    assert "2 masters" in start.why and "received an invalid passwd!" in start.why


def test_unicast_peers_that_miss_each_other_make_two_masters(tmp_path: Path) -> None:
    def unicast(source: str, peer: str) -> str:
        return f"    unicast_src_ip {source}\n    unicast_peer {{\n        {peer}\n    }}\n"

    wrong = cluster(
        tmp_path,
        instance(150, extra=unicast("10.99.0.1", "10.99.0.2")),
        instance(100, extra=unicast("10.99.0.3", "10.99.0.1")),
    )
    assert run_scenario(wrong, None).outcomes[0].groups[0].observed == ("lb1", "lb2")
    right = cluster(
        tmp_path,
        instance(150, extra=unicast("10.99.0.1", "10.99.0.2")),
        instance(100, extra=unicast("10.99.0.2", "10.99.0.1")),
    )
    assert all(o.ok for o in phases(run_all(right)).values())


def test_nopreempt_keeps_the_address_where_it_went(tmp_path: Path) -> None:
    keep = "    nopreempt\n"
    found = phases(run_all(cluster(tmp_path, instance(150, extra=keep), instance(100, extra=keep))))
    (back,) = found["lb1 back"].groups
    assert back.expected == back.observed == ("lb2",)


def test_a_partition_gives_each_side_a_master_and_the_heal_one(tmp_path: Path) -> None:
    found = phases(run_all(cluster(tmp_path, instance(150), instance(100))))
    (cut,) = found["lb1 cut off from lb2"].groups
    assert cut.observed == ("lb1", "lb2") and cut.ok
    (healed,) = found["lb1 heard again"].groups
    assert healed.observed == ("lb1",) and healed.moved_after is not None and healed.moved_after < 1.1


def test_a_sync_group_whose_members_prefer_different_nodes_fails(tmp_path: Path) -> None:
    group = "vrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}\n"
    second = {"name": "VI_2", "vrid": 52, "vips": ("192.0.2.20/24",)}
    found = phases(
        run_all(
            cluster(
                tmp_path,
                group + instance(150) + instance(100, **second),  # type: ignore[arg-type]
                group + instance(100) + instance(150, **second),  # type: ignore[arg-type]
            )
        )
    )
    assert not all(o.ok for o in found.values())


def test_three_nodes_ten_instances_in_seconds(tmp_path: Path) -> None:
    def node(number: int) -> str:
        text = script("chk_web", weight=-60)
        for i in range(1, 11):
            text += instance(
                200 - 50 * ((number + i) % 3), name=f"VI_{i}", vrid=10 + i, vips=(f"192.0.2.{i}/24",), track="chk_web"
            )
        return text

    nodes = cluster(tmp_path, node(0), node(1), node(2))
    started = time.monotonic()
    runs = run_all(nodes)
    elapsed = time.monotonic() - started
    found = phases(runs)
    assert len(found) == 1 + 3 * 2 * 5, sorted(found)
    assert all(o.ok for o in found.values())
    assert elapsed < 10.0


def test_the_timeline_picture(tmp_path: Path) -> None:
    nodes = cluster(tmp_path, script() + instance(150, track="chk"), instance(100))
    run = next(r for r in run_all(nodes) if r.scenario == "lb1 powered off")
    lanes = spans(run)
    assert [state for _, _, state in lanes[("lb1", "VI_1")]][:3] == [State.BACKUP, State.MASTER, State.STOP]
    picture = tmp_path / "timeline.png"
    write_png(run, str(picture))
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ipv6_ah_a_track_file_and_a_tracked_second_interface(tmp_path: Path) -> None:
    def node(priority: int) -> str:
        v6 = instance(priority, name="V6", vrid=61, vips=("2001:db8::10/64",))
        ah = instance(
            priority,
            name="AH",
            vrid=62,
            vips=("192.0.2.62/24",),
            extra="    authentication {\n        auth_type AH\n        auth_pass secret\n    }\n"
            "    track_file {\n        f1\n    }\n    track_interface {\n        eth1 weight -60\n    }\n",
        )
        return "track_file f1 {\n    file /nonexistent\n    weight -60\n}\n" + v6 + ah

    found = phases(run_all(cluster(tmp_path, node(150), node(100))))
    assert all(o.ok for o in found.values()), [o.phase for o in found.values() if not o.ok]
    assert [g.observed for g in found["start-up"].groups] == [("lb1",), ("lb1",)]
    # Only the AH instance tracks the file and eth1: the IPv6 one stays.
    assert {g.name: g.observed for g in found["file f1 reads 1 on lb1"].groups} == {"V6": ("lb1",), "AH": ("lb2",)}
    assert {g.name: g.observed for g in found["eth1 link down on lb1"].groups} == {"V6": ("lb1",), "AH": ("lb2",)}
    assert {g.name: g.observed for g in found["lb1 daemon stopped"].groups} == {"V6": ("lb2",), "AH": ("lb2",)}


def test_unicast_peers_without_unicast_src_ip_give_each_node_its_address(tmp_path: Path) -> None:
    # Three nodes whose interface addresses only their peers' lists tell: each is the address every other
    # node lists and it does not.
    addresses = ["10.99.0.1", "10.99.0.2", "10.99.0.3"]

    def node(number: int) -> str:
        peers = "".join(f"        {a}\n" for i, a in enumerate(addresses) if i != number)
        return instance(150 - 20 * number, extra=f"    unicast_peer {{\n{peers}    }}\n")

    nodes = cluster(tmp_path, node(0), node(1), node(2))
    assert [str(n.members[0].spec.source) for n in nodes.nodes] == addresses
    assert not [f for f in check(nodes) if f.rule == "unicast"]
    assert all(o.ok for o in phases(run_all(nodes)).values())
