"""IPVS's schedulers as the kernel defines them, checked on the sequences and proportions ipvsadm(8) promises."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.lb.schedulers import (
    SCHEDULERS,
    Flow,
    LocalityLeastConnectionReplicated,
    Member,
    Scheduler,
    make_scheduler,
)
from pykeepalived.lb.table import DestinationKey


def members(*weights: int) -> list[Member]:
    return [Member(DestinationKey(f"10.99.1.{i + 1}", 80), weight) for i, weight in enumerate(weights)]


def names(picked: list[Member | None]) -> str:
    return "".join("-" if m is None else "ABCDEFGH"[int(m.key.address.rsplit(".", 1)[1]) - 1] for m in picked)


def run(name: str, group: list[Member], count: int) -> str:
    scheduler = make_scheduler(name)
    scheduler.update(group)
    return run_with(scheduler, group, Flow("10.99.2.1"), count)


def test_rr_cycles_and_skips_quiesced_and_overloaded_servers() -> None:
    group = members(1, 1, 1, 1)
    assert run("rr", group, 8) == "ABCDABCD"
    group[1].weight = 0
    group[3].overloaded = True
    assert run("rr", group, 4) == "ACAC"


def test_rr_goes_on_after_the_last_pick_when_the_members_change() -> None:
    group = members(1, 1, 1, 1)
    flow = Flow("10.99.2.1")
    for removed, expected in ((0, "CDB"), (1, "CDA")):
        scheduler = make_scheduler("rr")
        scheduler.update(group)
        assert run_with(scheduler, group, flow, 2) == "AB"
        # Removing A moves B to the front, and C still comes next; removing B (the last one picked)
        # goes on from the one before it, as IPVS does.
        rest = group[:removed] + group[removed + 1 :]
        scheduler.update(rest)
        assert run_with(scheduler, rest, flow, 3) == expected


def test_wrr_interleaves_by_weight_as_ipvs_does() -> None:
    assert run("wrr", members(4, 3, 2), 9) == "AABABCABC"
    assert Counter(run("wrr", members(50, 30, 20), 1000)) == {"A": 500, "B": 300, "C": 200}


def test_lc_counts_an_active_connection_as_256_inactive_ones() -> None:
    group = members(1, 1)
    group[0].active = 1
    group[1].inactive = 255
    assert run("lc", group, 1) == "B"
    group[1].inactive = 256
    assert run("lc", group, 1) == "A"


def test_wlc_divides_by_weight_and_first_wins_a_tie() -> None:
    group = members(1, 3)
    group[0].active, group[1].active = 1, 3
    assert run("wlc", group, 1) == "A"
    group[1].active = 2
    assert run("wlc", group, 1) == "B"


def test_nq_sends_to_an_idle_server_before_a_faster_busy_one() -> None:
    group = members(10, 1)
    group[0].active = 1
    assert run("sed", group, 1) == "A"
    assert run("nq", group, 1) == "B"


def test_fo_and_ovf_use_the_heaviest_server_first() -> None:
    group = members(5, 10, 1)
    assert run("fo", group, 3) == "BBB"
    group[1].weight = 0
    assert run("fo", group, 1) == "A"
    group = members(2, 3)
    group[1].active = 3
    assert run("ovf", group, 1) == "A"
    group[0].active = 2
    assert run("ovf", group, 1) == "-"


def sources(count: int) -> list[Flow]:
    return [Flow(f"10.99.{i // 250}.{i % 250 + 1}", 40000 + i) for i in range(count)]


def test_sh_keeps_a_source_on_its_server_and_shares_buckets_by_weight() -> None:
    scheduler = make_scheduler("sh")
    group = members(3, 1)
    scheduler.update(group)
    first = [scheduler.pick(group, flow) for flow in sources(2000)]
    assert first == [scheduler.pick(group, flow) for flow in sources(2000)]
    shares = Counter(names(first))
    assert shares["A"] / len(first) == pytest.approx(0.75, abs=0.05)


def test_sh_refuses_when_the_server_is_down_unless_sh_fallback() -> None:
    plain, fallback = make_scheduler("sh"), make_scheduler("sh", ["sh-fallback"])
    group = members(1, 1)
    for scheduler in (plain, fallback):
        scheduler.update(group)
    flow = next(f for f in sources(50) if names([plain.pick(group, f)]) == "A")
    group[0].weight = 0
    assert plain.pick(group, flow) is None
    assert names([fallback.pick(group, flow)]) == "B"


def test_sh_port_spreads_one_source_over_its_ports() -> None:
    scheduler = make_scheduler("sh", ["sh-port"])
    group = members(1, 1, 1)
    scheduler.update(group)
    picks = names([scheduler.pick(group, Flow("10.99.2.1", port)) for port in range(40000, 40300)])
    assert set(picks) == {"A", "B", "C"}


def test_dh_maps_a_destination_address_to_one_server() -> None:
    scheduler = make_scheduler("dh")
    group = members(1, 1, 1)
    scheduler.update(group)
    for last in range(1, 30):
        picks = {names([scheduler.pick(group, Flow(f"10.99.2.{n}", 0, f"10.99.3.{last}"))]) for n in range(1, 20)}
        assert len(picks) == 1


def test_mh_is_weighted_and_moves_only_the_flows_of_a_removed_server() -> None:
    scheduler = make_scheduler("mh")
    group = members(1, 1, 1, 1, 4)
    scheduler.update(group)
    flows = sources(5000)
    before = names([scheduler.pick(group, flow) for flow in flows])
    assert Counter(before)["E"] / len(flows) == pytest.approx(0.5, abs=0.06)
    smaller = [m for m in group if m.key.address != "10.99.1.2"]
    scheduler.update(smaller)
    after = names([scheduler.pick(smaller, flow) for flow in flows])
    kept = sum(1 for old, new in zip(before, after, strict=True) if old != "B" and old == new)
    assert kept / sum(1 for old in before if old != "B") > 0.9


def test_lblc_keeps_a_destination_on_its_server_until_it_is_busy() -> None:
    scheduler = make_scheduler("lblc")
    group = members(2, 2)
    scheduler.update(group)
    flow = Flow("10.99.2.1", 0, "10.99.3.7")
    assert run_with(scheduler, group, flow, 3) == "AAA"
    group[0].active = 3
    assert run_with(scheduler, group, flow, 1) == "B"


def test_lblcr_grows_the_set_when_busy_and_sheds_after_a_day() -> None:
    scheduler = LocalityLeastConnectionReplicated()
    group = members(2, 2, 2)
    flow = Flow("10.99.2.1", 0, "10.99.3.7", now=0.0)
    assert run_with(scheduler, group, flow, 1) == "A"
    group[0].active = 3
    assert run_with(scheduler, group, flow, 1) == "B"
    assert scheduler.sets[flow.target][0] == [group[0].key, group[1].key]
    scheduler.pick(group, Flow("10.99.2.1", 0, "10.99.3.7", now=24 * 3600 + 1))
    assert scheduler.sets[flow.target][0] == [group[1].key]


def run_with(scheduler: Scheduler, group: list[Member], flow: Flow, count: int) -> str:
    return names([scheduler.pick(group, flow) for _ in range(count)])


def test_thresholds_set_and_clear_overload_as_ipvs_does() -> None:
    member = Member(DestinationKey("10.99.1.1", 80), 1, upper_threshold=8)
    member.active = 8
    member.update_overload()
    assert member.overloaded
    member.active = 6
    member.update_overload()
    assert member.overloaded
    member.active = 5
    member.update_overload()
    assert not member.overloaded


def test_unknown_scheduler_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown scheduler 'xx': expected one of dh, fo, lblc"):
        make_scheduler("xx")


@given(
    name=st.sampled_from(sorted(SCHEDULERS)),
    weights=st.lists(st.integers(0, 5), min_size=0, max_size=6),
    loads=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20), st.booleans()), min_size=6, max_size=6),
    source=st.integers(1, 250),
)
def test_no_scheduler_picks_a_quiesced_or_overloaded_server(
    name: str, weights: list[int], loads: list[tuple[int, int, bool]], source: int
) -> None:
    group = members(*weights)
    for member, (active, inactive, overloaded) in zip(group, loads, strict=False):
        member.active, member.inactive, member.overloaded = active, inactive, overloaded
    scheduler = make_scheduler(name)
    scheduler.update(group)
    picked = scheduler.pick(group, Flow(f"10.99.2.{source}", 0, f"10.99.3.{source}"))
    assert picked is None or picked.usable()
