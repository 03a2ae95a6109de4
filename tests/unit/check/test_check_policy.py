"""Checker and virtual-server policy with keepalived's semantics; table plans."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.check.policy import CheckerPolicy, Log, Next, Notify, RealServerPolicy, VirtualServerPolicy
from pykeepalived.lb.dataplane import MemoryPlane
from pykeepalived.lb.table import (
    AddDestination,
    DeleteDestination,
    Destination,
    DestinationKey,
    IpProtocol,
    Service,
    ServiceKey,
    plan,
)

VS = ServiceKey(IpProtocol.TCP, "10.99.1.1", 80)


def rs(n: int, weight: int = 1, inhibit: bool = False, up: bool = True) -> RealServerPolicy:
    return RealServerPolicy(DestinationKey(f"10.99.0.{20 + n}", 80), weight, inhibit, [CheckerPolicy(2, up)])


def test_retries_before_going_down_and_one_success_brings_it_back() -> None:
    checker = CheckerPolicy(retry=2, up=True)
    assert checker.result(True) == (True, Next.LOOP)  # first result is always reported
    assert checker.result(False) == (None, Next.RETRY)
    assert checker.result(False) == (None, Next.RETRY)
    assert checker.result(False) == (False, Next.LOOP)
    assert checker.result(False) == (None, Next.RETRY)
    assert checker.result(True) == (True, Next.LOOP)


def test_a_success_during_retries_resets_them() -> None:
    checker = CheckerPolicy(retry=1, up=True, has_run=True)
    assert checker.result(False) == (None, Next.RETRY)
    assert checker.result(True) == (None, Next.LOOP)
    assert checker.result(False) == (None, Next.RETRY)


@given(st.lists(st.booleans(), max_size=60), st.integers(0, 5), st.booleans())
def test_down_only_after_retry_plus_one_consecutive_failures(results: list[bool], retry: int, alpha: bool) -> None:
    checker = CheckerPolicy(retry, up=not alpha)
    failures = 0
    for success in results:
        was_up = checker.up
        changed, _ = checker.result(success)
        failures = 0 if success else failures + 1
        if success:
            assert checker.up
        if was_up and not checker.up:
            assert failures == retry + 1
        assert changed is None or changed == checker.up


def test_removing_and_adding_a_real_server_with_keepalived_s_words() -> None:
    servers = [rs(1), rs(2)]
    vs = VirtualServerPolicy(VS, "wrr", servers, quorum=1)
    servers[0].checkers[0].up = False
    effects = vs.checker_changed(servers[0])
    assert effects == [
        Log("Removing service [10.99.0.21]:tcp:80 from VS [10.99.1.1]:tcp:80"),
        Notify("rs_down", servers[0].key),
    ]
    assert set(vs.desired().members()) == {servers[1].key}


def test_inhibit_keeps_the_server_with_weight_zero() -> None:
    servers = [rs(1, weight=3, inhibit=True)]
    vs = VirtualServerPolicy(VS, "wrr", servers, quorum=1)
    servers[0].checkers[0].up = False
    effects = vs.checker_changed(servers[0])
    assert effects[0] == Log("Disabling service [10.99.0.21]:tcp:80 of VS [10.99.1.1]:tcp:80")
    assert vs.desired().members() == {servers[0].key: Destination(0)}


def test_quorum_with_hysteresis_and_the_sorry_server() -> None:
    servers = [rs(1, weight=2), rs(2, weight=2)]
    sorry = DestinationKey("10.99.0.99", 80)
    vs = VirtualServerPolicy(VS, "rr", servers, quorum=2, hysteresis=1, sorry_server=sorry)
    servers[0].checkers[0].up = False
    assert not any("quorum" in str(e) for e in vs.checker_changed(servers[0]))  # 2 >= 2 - 1: kept
    servers[1].checkers[0].up = False
    lost = vs.checker_changed(servers[1])
    assert Log("Lost quorum 2-1=1 > 0 for VS [10.99.1.1]:tcp:80") in lost
    assert Log("Adding sorry server [10.99.0.99]:tcp:80 to VS [10.99.1.1]:tcp:80") in lost
    assert Notify("quorum_down") in lost
    assert vs.desired().members() == {sorry: Destination(1)}
    servers[0].checkers[0].up = True
    assert Notify("quorum_up") not in vs.checker_changed(servers[0])  # 2 < 2 + 1: not yet
    servers[1].checkers[0].up = True
    gained = vs.checker_changed(servers[1])
    assert Log("Gained quorum 2+1=3 <= 4 for VS [10.99.1.1]:tcp:80") in gained
    assert Notify("quorum_up") in gained
    assert set(vs.desired().members()) == {servers[0].key, servers[1].key}


def test_starting_with_quorum_down() -> None:
    vs = VirtualServerPolicy(VS, "rr", [rs(1, up=False)], quorum=1, sorry_server=DestinationKey("10.99.0.99", 80))
    effects = vs.start()
    assert effects[0] == Log("Starting with quorum down 1-0=1 > 0 for VS [10.99.1.1]:tcp:80")


def test_plan_is_empty_when_nothing_changed_and_minimal_otherwise() -> None:
    a, b = DestinationKey("10.99.0.21", 80), DestinationKey("10.99.0.22", 80)
    desired = {VS: Service("wrr", destinations={a: Destination(1), b: Destination(2)})}
    backend = MemoryPlane()
    backend.apply(plan(desired, backend.read()))
    assert backend.read() == desired
    assert plan(desired, backend.read()) == []
    smaller = {VS: Service("wrr", destinations={b: Destination(2)})}
    assert plan(smaller, backend.read()) == [DeleteDestination(VS, a)]
    bigger = {
        VS: Service(
            "wrr", destinations={a: Destination(1), b: Destination(2), DestinationKey("10.99.0.99", 1): Destination(1)}
        )
    }
    assert plan(bigger, backend.read()) == [AddDestination(VS, DestinationKey("10.99.0.99", 1), Destination(1))]


def test_a_reload_keeps_the_state_of_the_real_servers_it_keeps() -> None:
    before = VirtualServerPolicy(VS, "rr", [rs(1), rs(2)], quorum=2)
    before.start()
    before.real_servers[1].checkers[0].result(False)
    before.real_servers[1].checkers[0].result(False)
    before.real_servers[1].checkers[0].result(False)
    lost = before.checker_changed(before.real_servers[1])
    assert Notify("quorum_down") in lost
    after = VirtualServerPolicy(VS, "rr", [rs(1, weight=2), rs(2), rs(3)], quorum=2)
    effects = after.take_over(before)
    # rs2 stays down; the new rs3 starts up (no alpha); rs1's new weight and rs3 bring the quorum back.
    assert after.rs_alive == {rs(1).key: True, rs(2).key: False, rs(3).key: True}
    assert set(after.desired().members()) == {rs(1).key, rs(3).key}
    assert after.desired().members()[rs(1).key].weight == 2
    assert Notify("quorum_up") in effects
