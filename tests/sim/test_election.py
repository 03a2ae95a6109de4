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
