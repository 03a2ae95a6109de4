"""The VRRP state machine with a fake clock: keepalived 2.2.7's behaviour, every (state, event) pair."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.vrrp.instance import (
    TRANSITIONS,
    AddAddresses,
    AdvertIn,
    Fault,
    GroupBackup,
    GroupMaster,
    Instance,
    Log,
    MasterRxLowerPriority,
    Params,
    PriorityChange,
    Reconfigure,
    RemoveAddresses,
    SendAdvert,
    SendGratuitous,
    SplitBrain,
    Start,
    State,
    StateChange,
    Stop,
    Timer,
)
from pykeepalived.vrrp.packet import AUTH_NONE, AUTH_PASS, MCAST_GROUP4, Advert
from pykeepalived.vrrp.validate import Received

VIP = ipaddress.IPv4Address("10.99.1.1")
ME = ipaddress.IPv4Address("10.99.0.12")
PEER = ipaddress.IPv4Address("10.99.0.11")
LOWER_PEER = ipaddress.IPv4Address("10.99.0.13")


def params(**overrides: object) -> Params:
    values: dict[str, object] = {
        "name": "VI_1",
        "vrid": 1,
        "version": 2,
        "priority": 100,
        "advert_int_cs": 100,
        "addresses": (VIP,),
        "primary": ME,
    }
    values.update(overrides)
    return Params(**values)  # type: ignore[arg-type]


def advert_from(
    source: ipaddress.IPv4Address,
    priority: int,
    p: Params,
    *,
    auth_data: bytes | None = None,
    ident: int | None = None,
    **changes: object,
) -> Received:
    fields: dict[str, object] = {
        "version": p.version,
        "vrid": p.vrid,
        "priority": priority,
        "addresses": p.addresses,
        "interval_cs": p.advert_int_cs,
        "auth_type": p.auth_type,
        "auth_data": p.auth_data if auth_data is None else auth_data,
    }
    fields.update(changes)
    return Received(Advert(**fields), source, MCAST_GROUP4, 255, True, ident=ident)  # type: ignore[arg-type]


def logs(actions: Sequence[object]) -> list[str]:
    return [a.message for a in actions if isinstance(a, Log) and not a.detail]


def started(p: Params, now: float = 0.0) -> tuple[Instance, list[object]]:
    instance = Instance(p)
    return instance, list(instance.handle(Start(now)))


def run_until_master(instance: Instance) -> float:
    deadline = instance.next_deadline
    assert deadline is not None
    instance.handle(Timer(deadline))
    assert instance.state is State.MASTER
    return deadline


def test_every_state_and_event_pair_has_a_handler() -> None:
    for state in State:
        for event in (Start, AdvertIn, Timer, Stop, Fault, PriorityChange, GroupMaster, GroupBackup, Reconfigure):
            assert (state, event) in TRANSITIONS


def test_start_enters_backup_and_waits_the_master_down_interval() -> None:
    instance, actions = started(params())
    assert logs(actions) == ["(VI_1) Entering BACKUP STATE (init)"]
    assert actions[0] == RemoveAddresses()  # stale VIPs of ours go first
    assert instance.state is State.BACKUP
    assert instance.next_deadline == pytest.approx(3.609375)  # 3 x 1 s + (256 - 100) / 256 s


def test_state_master_still_starts_in_backup() -> None:
    instance, _ = started(params(want_master=True, priority=200))
    assert instance.state is State.BACKUP
    assert instance.next_deadline == pytest.approx(3.21875)


def test_address_owner_becomes_master_at_once() -> None:
    instance, actions = started(params(want_master=True, priority=255))
    assert logs(actions) == []
    assert instance.next_deadline == pytest.approx(0.000001)
    run_until_master(instance)


def test_v3_fractional_interval_timing() -> None:
    instance, _ = started(params(version=3, priority=200, advert_int_cs=5))
    # 3 x 50 ms + 56 x 5 cs x 625 / 16 us = 160.9375 -> 160937 us (keepalived's integer arithmetic)
    assert instance.next_deadline == pytest.approx(0.160937)


def test_becoming_master_sends_advert_then_addresses_then_garps() -> None:
    instance, _ = started(params())
    actions = [a for a in instance.handle(Timer(3.609375)) if not (isinstance(a, Log) and a.detail)]
    kinds = [type(a).__name__ for a in actions]
    assert kinds == ["SendAdvert", "Log", "AddAddresses", "SendGratuitous", "StateChange"]
    assert logs(actions) == ["(VI_1) Entering MASTER STATE"]
    assert actions[0] == SendAdvert(Advert(2, 1, 100, (VIP,), 100))
    assert SendGratuitous(5) in actions
    assert StateChange(State.BACKUP, State.MASTER, 100) in actions


def test_master_adverts_every_interval_and_second_garp_burst_after_5s() -> None:
    instance, _ = started(params())
    t = run_until_master(instance)
    sent: list[float] = []
    garps: list[float] = []
    while t < 12:
        t = instance.next_deadline  # type: ignore[assignment]
        for action in instance.handle(Timer(t)):
            if isinstance(action, SendAdvert):
                sent.append(round(t - 3.609375, 6))
            if isinstance(action, SendGratuitous):
                garps.append(round(t - 3.609375, 6))
    assert sent[:5] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert garps == [5.0]


def test_higher_priority_advert_takes_master_to_backup() -> None:
    p = params()
    instance, _ = started(p)
    t = run_until_master(instance)
    actions = instance.handle(AdvertIn(advert_from(PEER, 200, p), t + 0.5))
    assert logs(actions) == [
        "(VI_1) Master received advert from 10.99.0.11 with higher priority 200, ours 100",
        "(VI_1) Entering BACKUP STATE",
    ]
    assert RemoveAddresses() in actions
    assert instance.state is State.BACKUP
    assert instance.next_deadline == pytest.approx(t + 0.5 + 3.609375)


def test_backup_discards_lower_priority_and_preempts() -> None:
    p = params(priority=200)
    instance, _ = started(p)
    deadline = instance.next_deadline
    actions = instance.handle(AdvertIn(advert_from(PEER, 100, p), 1.0))
    assert logs(actions) == ["(VI_1) received lower priority (100) advert from 10.99.0.11 - discarding"]
    assert instance.next_deadline == deadline  # the down timer is not restarted
    run_until_master(instance)


def test_nopreempt_backup_accepts_lower_priority_master() -> None:
    p = params(priority=200, preempt=False)
    instance, _ = started(p)
    for second in range(1, 20):
        assert logs(instance.handle(AdvertIn(advert_from(PEER, 100, p), float(second)))) == []
        instance.handle(Timer(float(second) + 0.5))
        assert instance.state is State.BACKUP


def test_preempt_delay_holds_backup_then_preempts() -> None:
    p = params(priority=200, preempt_delay=5.0)
    instance, _ = started(p)
    t = 1.0
    while instance.state is State.BACKUP and t < 30:
        instance.handle(AdvertIn(advert_from(PEER, 100, p), t))
        instance.handle(Timer(t + 0.5))
        t += 1.0
    # Lower-priority adverts keep it in BACKUP for 5 s, then the down timer (3.22 s) runs out.
    assert instance.state is State.MASTER
    assert 8.0 < t < 10.5


def test_priority_zero_gives_takeover_after_skew_time() -> None:
    p = params()
    instance, _ = started(p)
    instance.handle(AdvertIn(advert_from(PEER, 200, p), 1.0))
    instance.handle(AdvertIn(advert_from(PEER, 0, p), 2.0))
    assert instance.next_deadline == pytest.approx(2.609375)


def test_master_answers_lower_priority_advert_at_once() -> None:
    p = params(priority=200)
    instance, _ = started(p)
    t = run_until_master(instance)
    actions = instance.handle(AdvertIn(advert_from(PEER, 100, p), t + 0.3))
    assert logs(actions) == [
        "(VI_1) split brain: 10.99.0.11 (priority 100) is also MASTER for VRID 1; we are 10.99.0.12 (priority 200)",
        "(VI_1) Received advert from 10.99.0.11 with lower priority 100, ours 200, forcing new election",
    ]
    assert instance.counters["split_brain"] == 1
    assert SendAdvert(Advert(2, 1, 200, (VIP,), 100)) in actions
    assert instance.state is State.MASTER
    # keepalived's notify_master_rx_lower_pri event, once per answer.
    assert actions[-1] == MasterRxLowerPriority(PEER, 100, 200)
    again = instance.handle(AdvertIn(advert_from(PEER, 100, p), t + 0.35))
    assert not [a for a in again if isinstance(a, MasterRxLowerPriority)]


def test_master_answers_priority_zero_with_an_advert() -> None:
    p = params()
    instance, _ = started(p)
    t = run_until_master(instance)
    actions = instance.handle(AdvertIn(advert_from(PEER, 0, p), t + 0.2))
    assert [a for a in actions if isinstance(a, SendAdvert)] == [SendAdvert(Advert(2, 1, 100, (VIP,), 100))]


@pytest.mark.parametrize(
    "damage",
    [
        {"auth_data": b"wrongkey"},
        {"ttl": 64},
        {"checksum_ok": False},
        {"interval_cs": 200},
        {"addresses": (ipaddress.IPv4Address("10.99.1.9"),)},
        {"destination": ipaddress.IPv4Address("10.99.0.12")},
    ],
    ids=["password", "ttl", "checksum", "interval", "addresses", "unicast"],
)
def test_invalid_adverts_never_move_the_masters_advert_timer(damage: dict[str, object]) -> None:
    # keepalived re-arms on every packet, so junk at the advert rate silences its master (issue 10).
    p = params(priority=200, auth_type=AUTH_PASS, auth_data=b"secret12")
    instance, _ = started(p)
    t = run_until_master(instance)
    good = advert_from(PEER, 100, p)
    received_fields = {k: v for k, v in damage.items() if k in ("ttl", "checksum_ok", "destination")}
    advert_fields: dict[str, Any] = {k: v for k, v in damage.items() if k not in received_fields}
    bad = advert_from(PEER, 250, p, **advert_fields)
    bad = Received(
        bad.advert,
        PEER,
        received_fields.get("destination", good.destination),  # type: ignore[arg-type]
        received_fields.get("ttl", 255),  # type: ignore[arg-type]
        received_fields.get("checksum_ok", True),  # type: ignore[arg-type]
    )
    for tenth in range(1, 10):
        actions = instance.handle(AdvertIn(bad, t + tenth / 10))
        assert not any(isinstance(a, SendAdvert) for a in actions)
        assert instance.next_deadline == pytest.approx(t + 1.0)
    assert instance.state is State.MASTER
    assert sum(v for k, v in instance.counters.items() if k.startswith("drop_")) == 9


def test_backup_does_not_restart_down_timer_on_rejected_advert() -> None:
    p = params(auth_type=AUTH_PASS, auth_data=b"secret12")
    instance, _ = started(p)
    deadline = instance.next_deadline
    instance.handle(AdvertIn(advert_from(PEER, 200, p, auth_data=b"wrongkey"), 1.0))
    assert instance.next_deadline == deadline


def test_equal_priority_higher_address_wins() -> None:
    p = params()
    instance, _ = started(p)
    t = run_until_master(instance)
    assert ME < LOWER_PEER
    actions = instance.handle(AdvertIn(advert_from(LOWER_PEER, 100, p), t + 0.1))
    assert "same priority 100 but higher IP address than ours" in logs(actions)[0]
    assert instance.state is State.BACKUP
    instance2, _ = started(p)
    t2 = run_until_master(instance2)
    instance2.handle(AdvertIn(advert_from(PEER, 100, p), t2 + 0.1))
    assert instance2.state is State.MASTER


def test_stop_as_master_sends_priority_zero_and_removes_addresses() -> None:
    instance, _ = started(params())
    t = run_until_master(instance)
    actions = instance.handle(Stop(t + 0.1))
    assert actions[0] == SendAdvert(Advert(2, 1, 0, (VIP,), 100))
    assert RemoveAddresses() in actions
    assert instance.state is State.STOP and instance.next_deadline is None


def test_stop_as_backup_sends_nothing() -> None:
    instance, _ = started(params())
    actions = instance.handle(Stop(1.0))
    assert not any(isinstance(a, SendAdvert) for a in actions)


def test_link_down_master_goes_to_fault_and_back() -> None:
    instance, _ = started(params())
    t = run_until_master(instance)
    actions = instance.handle(Fault(True, t + 0.1))
    assert logs(actions) == ["(VI_1) Entering FAULT STATE"]
    assert SendAdvert(Advert(2, 1, 0, (VIP,), 100)) in actions
    assert instance.next_deadline is None
    actions = instance.handle(Fault(False, t + 1))
    assert logs(actions) == ["(VI_1) Entering BACKUP STATE"]
    assert instance.next_deadline == pytest.approx(t + 1 + 3.609375)


def test_adverts_with_wrong_address_list_are_dropped_and_reported() -> None:
    p = params()
    instance, _ = started(p)
    actions = instance.handle(AdvertIn(advert_from(PEER, 200, p, addresses=(ipaddress.IPv4Address("10.99.1.9"),)), 1))
    assert logs(actions) == ["(VI_1) ip address associated with VRID 1 not present in MASTER advert: 10.99.1.1"]
    assert instance.counters["drop_addresses"] == 1


def test_v2_interval_mismatch_is_dropped() -> None:
    p = params()
    instance, _ = started(p)
    actions = instance.handle(AdvertIn(advert_from(PEER, 200, p, interval_cs=200), 1))
    assert logs(actions) == ["(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec"]


def test_v3_backup_adopts_master_interval() -> None:
    p = params(version=3, advert_int_cs=100)
    instance, _ = started(p)
    instance.handle(AdvertIn(advert_from(PEER, 200, p, interval_cs=10), 1.0))
    assert instance.master_adver_int_cs == 10
    assert instance.next_deadline == pytest.approx(1.0 + 0.3 + 156 * 10 * 625 // 16 / 1e6)


def test_ttl_must_be_255_for_multicast() -> None:
    p = params()
    instance, _ = started(p)
    received = advert_from(PEER, 200, p)
    actions = instance.handle(AdvertIn(Received(received.advert, PEER, MCAST_GROUP4, 64, True), 1.0))
    assert logs(actions) == ["(VI_1) invalid TTL/HL. Received 64 and expect 255"]
    assert instance.counters["drop_ttl"] == 1


# ----- properties over arbitrary event sequences -------------------------------------------------

priorities = st.integers(0, 255)
sources = st.sampled_from([PEER, LOWER_PEER, ME])


@st.composite
def event_sequences(draw: st.DrawFn) -> list[tuple[str, float, int, ipaddress.IPv4Address, bool]]:
    events = []
    t = 0.0
    for _ in range(draw(st.integers(1, 40))):
        t += draw(st.floats(0.0, 5.0))
        kind = draw(st.sampled_from(["advert", "timer", "link", "priority", "stop", "start", "reconfigure"]))
        events.append((kind, t, draw(priorities), draw(sources), draw(st.booleans())))
    return events


@settings(max_examples=300, deadline=None)
@given(event_sequences(), st.integers(1, 255), st.sampled_from([2, 3]), st.booleans(), st.booleans())
def test_any_event_sequence_keeps_invariants(events, priority, version, preempt, want_master) -> None:  # type: ignore[no-untyped-def]
    p = params(priority=priority, version=version, preempt=preempt, want_master=want_master)
    instance = Instance(p)
    for kind, t, prio, source, flag in events:
        if kind == "start":
            event: object = Start(t, fault=not flag)
        elif kind == "advert":
            event = AdvertIn(advert_from(source, prio, p), t)
        elif kind == "timer":
            event = Timer(instance.next_deadline if instance.next_deadline is not None else t)
        elif kind == "link":
            event = Fault(flag, t)
        elif kind == "priority":
            event = PriorityChange(prio or 1, t)
        elif kind == "reconfigure":
            event = Reconfigure(params(priority=prio or 1, version=version, advert_int_cs=50 if flag else 100), t)
        else:
            event = Stop(t)
        was_master, advert_due = instance.state is State.MASTER, instance.sands
        actions = instance.handle(event)  # type: ignore[arg-type]
        for action in actions:
            assert isinstance(
                action,
                SendAdvert
                | AddAddresses
                | RemoveAddresses
                | SendGratuitous
                | Log
                | StateChange
                | SplitBrain
                | MasterRxLowerPriority,
            )
        sent = any(isinstance(a, SendAdvert) for a in actions)
        if was_master and instance.state is State.MASTER and not sent and kind != "reconfigure":
            # Only our own adverts move a master's advert timer: nothing received can delay it.
            assert instance.sands == advert_due
        assert instance.vips_set == (instance.state is State.MASTER)
        if instance.state is State.MASTER:
            assert instance.sands is not None
        if instance.state in (State.FAULT, State.STOP, State.INIT):
            assert instance.sands is None or instance.state is State.INIT


def test_auth_none_by_default() -> None:
    assert params().auth_type == AUTH_NONE


def test_a_flood_of_lower_priority_adverts_is_answered_once_per_interval() -> None:
    p = params(priority=200)
    instance, _ = started(p)
    t = run_until_master(instance)
    sent = 0
    for hundredth in range(1, 300):  # 100 adverts a second for 3 s
        actions = instance.handle(AdvertIn(advert_from(PEER, 100, p), t + hundredth / 100))
        sent += sum(isinstance(a, SendAdvert) for a in actions)
        deadline = instance.next_deadline
        if deadline is not None and deadline <= t + hundredth / 100:
            sent += sum(isinstance(a, SendAdvert) for a in instance.handle(Timer(deadline)))
    assert 3 <= sent <= 6, sent  # keepalived sends one per received advert: 299
    assert instance.counters["split_brain"] == 1  # one episode, however many adverts show it
    assert instance.counters["answers_not_sent"] > 290


def test_a_flood_of_priority_zero_adverts_is_answered_once_per_interval() -> None:
    p = params(priority=200)
    instance, _ = started(p)
    t = run_until_master(instance)
    answers = [instance.handle(AdvertIn(advert_from(PEER, 0, p), t + n / 100)) for n in range(1, 100)]
    assert sum(isinstance(a, SendAdvert) for actions in answers for a in actions) == 1


def test_split_brain_is_reported_by_the_lower_priority_side_too() -> None:
    # A silent partition: the backup stops hearing the master and takes over; when the link heals the
    # master's advert may arrive first, and the lower side steps down without a word from the other. Its
    # IP identification went on by one per advert meanwhile: it was MASTER all along.
    p = params(priority=100)
    instance, _ = started(p)
    instance.handle(AdvertIn(advert_from(PEER, 200, p, ident=7000), 1.0))
    t = run_until_master(instance)
    seconds_later = round(t + 5 - 1.0)
    actions = instance.handle(AdvertIn(advert_from(PEER, 200, p, ident=7000 + seconds_later), t + 5))
    assert (
        "(VI_1) split brain: 10.99.0.11 (priority 200) is also MASTER for VRID 1; we are 10.99.0.12 (priority 100)"
        in logs(actions)
    )
    assert SplitBrain(PEER, 200, 100) in actions
    assert instance.counters["split_brain"] == 1
    assert instance.state is State.BACKUP


def test_a_master_that_crashed_and_restarted_is_no_split_brain() -> None:
    # keepalived and pykeepalived count the IP identification from 1 again after a restart.
    p = params(priority=100)
    instance, _ = started(p)
    instance.handle(AdvertIn(advert_from(PEER, 200, p, ident=7000), 1.0))
    t = run_until_master(instance)
    instance.handle(AdvertIn(advert_from(PEER, 200, p, ident=2), t + 30))
    assert instance.counters["split_brain"] == 0
    assert instance.state is State.BACKUP


def test_a_flood_from_changing_sources_is_one_split_brain() -> None:
    p = params(priority=200)
    instance, _ = started(p)
    t = run_until_master(instance)
    for n in range(100):
        source = ipaddress.IPv4Address(f"10.99.0.{100 + n % 2}")
        instance.handle(AdvertIn(advert_from(source, 100, p), t + n / 100))
    assert instance.counters["split_brain"] == 1


def test_a_hand_over_is_not_a_split_brain() -> None:
    p = params(priority=100)
    # The master stepped down with priority 0, then came back: no split.
    instance, _ = started(p)
    instance.handle(AdvertIn(advert_from(PEER, 200, p), 1.0))
    instance.handle(AdvertIn(advert_from(PEER, 0, p), 2.0))
    t = run_until_master(instance)
    instance.handle(AdvertIn(advert_from(PEER, 200, p), t + 5))
    # A higher priority router that appears for the first time preempts: no split either.
    other, _ = started(p)
    t = run_until_master(other)
    other.handle(AdvertIn(advert_from(PEER, 200, p), t + 5))
    assert instance.counters["split_brain"] == other.counters["split_brain"] == 0


def test_a_reload_keeps_a_master_master_with_its_addresses_and_new_settings() -> None:
    instance, _ = started(params())
    now = run_until_master(instance)
    new = params(priority=120, addresses=(VIP, ipaddress.IPv4Address("10.99.1.2")))
    actions = instance.handle(Reconfigure(new, now + 0.5))
    assert instance.state is State.MASTER and instance.vips_set
    assert not any(isinstance(a, StateChange | RemoveAddresses) for a in actions)
    assert instance.next_deadline == now + 1.0  # the advert timer runs on
    instance.handle(PriorityChange(120, now + 0.5))
    adverts = [a for a in instance.handle(Timer(now + 1.0)) if isinstance(a, SendAdvert)]
    assert adverts[0].advert.priority == 120 and adverts[0].advert.addresses == new.addresses


def test_a_reload_that_changes_the_interval_rearms_the_master_s_advert_timer() -> None:
    instance, _ = started(params(version=3))
    now = run_until_master(instance)
    instance.handle(Reconfigure(params(version=3, advert_int_cs=50), now + 0.2))
    assert instance.state is State.MASTER and instance.next_deadline == pytest.approx(now + 0.7)


def test_a_reload_keeps_a_backup_waiting() -> None:
    instance, _ = started(params())
    deadline = instance.next_deadline
    actions = instance.handle(Reconfigure(params(priority=90), 1.0))
    assert instance.state is State.BACKUP and instance.next_deadline == deadline and not actions


def test_a_restarted_process_takes_back_the_addresses_it_finds_held_without_removing_them() -> None:
    instance = Instance(params())
    actions = instance.handle(Start(10.0, held=True))
    assert not any(isinstance(a, RemoveAddresses | StateChange) for a in actions)
    deadline = instance.next_deadline
    assert deadline is not None and deadline == pytest.approx(10.0, abs=1e-5)
    actions = instance.handle(Timer(deadline))
    assert instance.state is State.MASTER and any(isinstance(a, AddAddresses) for a in actions)


def test_held_addresses_do_not_override_a_fault() -> None:
    instance = Instance(params())
    instance.handle(Start(0.0, fault=True, held=True))
    assert instance.state is State.FAULT


def test_startup_delay_holds_the_master_down_timer_until_it_has_passed() -> None:
    instance = Instance(params())
    instance.handle(Start(0.0, delay=5.0))
    assert instance.state is State.BACKUP
    assert instance.next_deadline == pytest.approx(5.0 + 3.609375)
    # An advert heard during the delay re-arms the timer from the end of the delay, as keepalived's sands.
    instance.handle(AdvertIn(advert_from(PEER, 200, params()), 2.0))
    assert instance.next_deadline == pytest.approx(5.0 + 3.609375)
    # Once past, from the advert on.
    instance.handle(AdvertIn(advert_from(PEER, 200, params()), 6.0))
    assert instance.next_deadline == pytest.approx(6.0 + 3.609375)


def test_startup_delay_also_holds_the_address_owner() -> None:
    instance = Instance(params(want_master=True, priority=255))
    instance.handle(Start(0.0, delay=2.0))
    assert instance.next_deadline == pytest.approx(2.000001)
    assert run_until_master(instance) == pytest.approx(2.000001)


def test_a_respawned_process_holding_the_addresses_takes_them_back_without_the_startup_delay() -> None:
    instance = Instance(params())
    instance.handle(Start(0.0, held=True, delay=5.0))
    assert instance.next_deadline == pytest.approx(0.000001)
