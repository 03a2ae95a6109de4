"""Several VRRP engines on a simulated LAN: elections, failover bounds, recovery from loss and partitions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simlan import Lan


def skew(priority: int, version: int, interval: float) -> float:
    return (256 - priority) / 256 * (interval if version == 3 else 1.0)


def master_down(priority: int, version: int, interval: float) -> float:
    return 3 * interval + skew(priority, version, interval)


@pytest.mark.parametrize("version", [2, 3])
def test_highest_priority_wins_and_is_the_only_master(version: int) -> None:
    lan = Lan()
    nodes = [lan.add(p, version) for p in (100, 200, 150)]
    lan.start_all()
    lan.run_until(10)
    assert lan.masters() == [nodes[1]]


@pytest.mark.parametrize(("version", "interval_cs"), [(2, 100), (3, 100), (3, 10), (3, 5)])
def test_failover_within_master_down_interval(version: int, interval_cs: int) -> None:
    lan = Lan()
    primary, backup = lan.add(200, version, interval_cs), lan.add(100, version, interval_cs)
    lan.start_all()
    lan.run_until(10)
    assert lan.masters() == [primary]
    crash_at = lan.now
    lan.crash(primary)
    lan.run_until(crash_at + 10)
    took = lan.became_master_at(backup.name, crash_at)
    assert took is not None
    interval = interval_cs / 100
    assert took - crash_at <= master_down(100, version, interval) + 0.002


def test_graceful_stop_hands_over_after_skew_time() -> None:
    lan = Lan()
    primary, backup = lan.add(200), lan.add(100)
    lan.start_all()
    lan.run_until(10)
    stop_at = lan.now
    lan.stop(primary)
    lan.run_until(stop_at + 5)
    took = lan.became_master_at(backup.name, stop_at)
    assert took is not None and took - stop_at <= skew(100, 3, 1.0) + 0.002


def test_preempt_returns_to_the_higher_priority() -> None:
    lan = Lan()
    primary, backup = lan.add(200), lan.add(100)
    lan.start_all()
    lan.run_until(10)
    lan.crash(primary)
    lan.run_until(20)
    assert lan.masters() == [backup]
    lan.start(primary)
    lan.run_until(30)
    assert lan.masters() == [primary]


def test_nopreempt_keeps_the_current_master() -> None:
    lan = Lan()
    primary, backup = lan.add(200, preempt=False), lan.add(100, preempt=False)
    lan.start(backup)
    lan.run_until(10)
    lan.start(primary)
    lan.run_until(30)
    assert lan.masters() == [backup]


def test_partition_gives_two_masters_and_healing_gives_one() -> None:
    lan = Lan()
    a = lan.add(200)
    lan.add(150)
    lan.add(100)
    lan.start_all()
    lan.run_until(10)
    lan.cut = {frozenset(("r1", "r2")), frozenset(("r1", "r3"))}
    lan.run_until(20)
    assert sorted(n.name for n in lan.masters()) == ["r1", "r2"]
    lan.cut = set()
    lan.run_until(30)
    assert lan.masters() == [a]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 254), min_size=2, max_size=5, unique=True),
    st.sampled_from([2, 3]),
    st.floats(0.0, 0.3),
    st.integers(0, 10_000),
)
def test_after_healing_exactly_one_master_the_highest(priorities, version, loss, seed) -> None:  # type: ignore[no-untyped-def]
    lan = Lan(seed=seed, loss=loss, delay=(0.0001, 0.02))
    nodes = [lan.add(p, version) for p in priorities]
    lan.start_all()
    lan.run_until(15)
    # Heal: no more loss; within a few master-down intervals the best router holds the address alone.
    lan.loss = 0.0
    lan.run_until(30)
    best = max(nodes, key=lambda n: n.instance.params.priority)
    assert lan.masters() == [best]


@pytest.mark.parametrize(("weight", "fails_over"), [(-30, False), (-60, True)])
def test_tracked_weight_moves_the_master_only_past_the_priority_gap(weight: int, fails_over: bool) -> None:
    lan = Lan()
    master, backup = lan.add(200), lan.add(150)
    lan.start_all()
    lan.run_until(10)
    lan.set_priority(master, 200 + weight)
    lan.run_until(20)
    assert lan.masters() == [backup if fails_over else master]
    lan.set_priority(master, 200)
    lan.run_until(30)
    assert lan.masters() == [master]


@pytest.mark.parametrize(("version", "interval_cs"), [(2, 100), (3, 100), (3, 10)])
@pytest.mark.parametrize("stall", [0.5, 3.0, 3.8, 5.0])
def test_a_stalled_master_never_leaves_the_vip_without_holder(version: int, interval_cs: int, stall: float) -> None:
    lan = Lan(delay=(0.0001, 0.0005))
    master = lan.add(200, version=version, advert_int_cs=interval_cs)
    lan.add(100, version=version, advert_int_cs=interval_cs)
    lan.start_all()
    lan.run_until(10)
    assert lan.masters() == [master]
    for offset in (0.0, 0.37 * interval_cs / 100, 0.93 * interval_cs / 100):
        at = lan.now + offset
        lan.run_until(at)
        lan.stall(master, stall * interval_cs / 100)
        assert lan.longest_time_without_holder(at, at + stall * interval_cs / 100 + 2) == 0.0
        lan.run_until(lan.now + 10)
        assert lan.masters() == [master]


@pytest.mark.parametrize(("version", "interval_cs"), [(2, 100), (3, 100), (3, 10)])
def test_a_crashed_masters_vip_goes_when_the_backup_takes_over_not_before(version: int, interval_cs: int) -> None:
    lan = Lan(delay=(0.0001, 0.0005))
    master = lan.add(200, version=version, advert_int_cs=interval_cs)
    backup = lan.add(100, version=version, advert_int_cs=interval_cs)
    lan.start_all()
    lan.run_until(10.05)
    lan.crash(master)
    crashed_at = lan.now
    assert lan.longest_time_without_holder(crashed_at, crashed_at + 6) == 0.0
    took_over = lan.became_master_at(backup.name, crashed_at)
    assert took_over is not None
    assert master.lifetime.expires_at is not None
    # Gone within the kernel's whole second past the backup's takeover.
    assert took_over <= master.lifetime.expires_at <= took_over + 1.0


def test_both_sides_of_a_healed_partition_report_the_split_brain() -> None:
    for seed in range(20):
        lan = Lan(seed=seed)
        high = lan.add(200)
        low = lan.add(100)
        lan.start_all()
        lan.run_until(10 + seed / 20)
        lan.cut = {frozenset(("r1", "r2"))}
        lan.run_until(20 + seed / 20)
        assert len(lan.masters()) == 2
        lan.cut = set()
        lan.run_until(30)
        assert lan.masters() == [high]
        # Whichever advert crosses first, the lower side reports it; the higher one when it hears the lower.
        assert low.instance.counters["split_brain"] == 1, seed
        assert high.instance.counters["split_brain"] <= 1


def test_a_master_that_crashes_and_restarts_is_no_split_brain() -> None:
    for restart_after in (0.5, 2.0, 8.0, 60.0):
        lan = Lan()
        high = lan.add(200)
        low = lan.add(100)
        lan.start_all()
        lan.run_until(10)
        lan.crash(high)
        lan.run_until(10 + restart_after)
        lan.start(high)
        lan.run_until(lan.now + 10)
        assert lan.masters() == [high]
        assert low.instance.counters["split_brain"] == high.instance.counters["split_brain"] == 0
