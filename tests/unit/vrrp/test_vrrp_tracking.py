"""Tracking weights, keepalived's rules, and what they do to an election."""

from __future__ import annotations

import pytest

from pykeepalived.vrrp.tracking import Kind, RiseFall, Tracked, contribution, evaluate


@pytest.mark.parametrize(
    ("weight", "reverse", "ok", "expected"),
    [
        (0, False, True, (0, False)),
        (0, False, False, (0, True)),
        (10, False, True, (10, False)),
        (10, False, False, (0, False)),
        (10, True, True, (0, False)),
        (10, True, False, (10, False)),
        (-10, False, True, (0, False)),
        (-10, False, False, (-10, False)),
        (-10, True, True, (-10, False)),
        (-10, True, False, (0, False)),
    ],
)
def test_script_and_interface_weights(weight: int, reverse: bool, ok: bool, expected: tuple[int, bool]) -> None:
    for kind in (Kind.SCRIPT, Kind.INTERFACE, Kind.PROCESS):
        assert contribution(Tracked(kind, "x", weight, reverse), ok) == expected


@pytest.mark.parametrize(
    ("weight", "reverse", "value", "expected"),
    [
        (0, False, 0, (0, False)),
        (0, False, 3, (0, True)),
        (1, False, 25, (25, False)),
        (-2, False, 25, (-50, False)),
        (2, True, 25, (-50, False)),
        (1, False, -254, (0, True)),
        (1, False, -253, (-253, False)),
    ],
)
def test_file_weights(weight: int, reverse: bool, value: int, expected: tuple[int, bool]) -> None:
    assert contribution(Tracked(Kind.FILE, "f", weight, reverse), value) == expected


def test_effective_priority_is_clamped_and_owner_untouched() -> None:
    down = Tracked(Kind.SCRIPT, "s", -200)
    up = Tracked(Kind.SCRIPT, "u", 200)
    assert evaluate(100, [(down, False)]) == (1, False)
    assert evaluate(100, [(up, True)]) == (254, False)
    assert evaluate(255, [(down, False)]) == (255, False)
    assert evaluate(100, [(down, False), (Tracked(Kind.INTERFACE, "eth1", 0), False)]) == (1, True)


@pytest.mark.parametrize(("weight", "fails_over"), [(-30, False), (-49, False), (-51, True), (-60, True)])
def test_negative_weight_moves_the_master_only_when_it_exceeds_the_gap(weight: int, fails_over: bool) -> None:
    # master 200, backup 150: failover only when |200 - 150| < |weight|.
    master, _ = evaluate(200, [(Tracked(Kind.SCRIPT, "chk", weight), False)])
    assert (master < 150) == fails_over


def test_rise_and_fall() -> None:
    status = RiseFall(rise=2, fall=3)
    assert status.result(True) and status.ok is True
    assert not status.result(False) and not status.result(False)
    assert status.result(False) and status.ok is False
    assert not status.result(True)
    assert not status.result(False)  # a failure resets the rise count
    assert not status.result(True)
    assert status.result(True) and status.ok is True


def test_notify_fifo_lines_are_keepalived_s() -> None:
    from pykeepalived.daemon.notifier import notify_fifo_line

    assert notify_fifo_line("INSTANCE", "VI_1", "MASTER", 100) == 'INSTANCE "VI_1" MASTER 100\n'
    assert notify_fifo_line("GROUP", "G1", "BACKUP", 0) == 'GROUP "G1" BACKUP 0\n'
