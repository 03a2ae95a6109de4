"""garp_interval / gna_interval: one gratuitous ARP (NA) per interval on an interface or a garp_group, in order."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable

from memfs import config_from

from pykeepalived.daemon.garp_pacing import GarpDelay, GarpPacing, garp_delays
from pykeepalived.io.timers import TimerHandle


class FakeTimers:
    def __init__(self) -> None:
        self.now = 0.0
        self.due: list[TimerHandle] = []

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle(when, callback)
        self.due.append(handle)
        return handle

    def run(self) -> None:
        while self.due:
            self.due.sort(key=lambda handle: handle.when)
            handle = self.due.pop(0)
            self.now = max(self.now, handle.when)
            if not handle.cancelled:
                handle.callback()


LOGGER = logging.getLogger("test")


def test_garp_groups_pace_their_interfaces_together_and_global_defs_each_other_interface() -> None:
    text = (
        "global_defs {\n vrrp_garp_interval 0.5\n}\n"
        "garp_group {\n garp_interval 0.01\n gna_interval 0.02\n interface eth0\n}\n"
        "garp_group {\n garp_interval 0.03\n interfaces {\n  eth1\n  eth2\n }\n}\n"
    )
    result = config_from(text)
    assert not [d for d in result.diagnostics if "garp_group" in d.message]
    delays = garp_delays(result.config, ["eth0", "eth1", "eth3"], LOGGER)
    assert delays == {
        "eth0": ("garp_group 0", GarpDelay(0.01, 0.02)),
        "eth1": ("garp_group 1", GarpDelay(0.03, 0.0)),
        "eth2": ("garp_group 1", GarpDelay(0.03, 0.0)),
        "eth3": ("eth3", GarpDelay(0.5, 0.0)),
    }
    assert garp_delays(config_from("").config, ["eth0"], LOGGER) == {}


A, B, C = (ipaddress.ip_address(f"10.99.1.{i}") for i in (1, 2, 3))
NA = ipaddress.ip_address("fd99::1")


def test_the_first_goes_at_once_the_others_one_per_interval_and_a_leaving_owner_s_are_dropped() -> None:
    timers = FakeTimers()
    sent: list[tuple[str, float]] = []

    def record(what: str) -> Callable[[], None]:
        return lambda: sent.append((what, timers.now))

    pacing = GarpPacing(
        {"eth1": ("g", GarpDelay(0.03)), "eth2": ("g", GarpDelay(0.03))}, lambda: timers.now, timers.call_at
    )
    pacing.send("VI_1", "eth1", A, record("a"))
    pacing.send("VI_1", "eth2", B, record("b"))
    pacing.send("VI_2", "eth1", C, record("c"))
    # The repeat of an address already waiting is dropped (keepalived keeps one flag per address).
    pacing.send("VI_1", "eth2", B, record("b again"))
    # Another family, or an interface without a delay, is not held up.
    pacing.send("VI_1", "eth1", NA, record("na"))
    pacing.send("VI_1", "eth9", A, record("other"))
    pacing.send("VI_3", "eth1", A, record("gone"))
    pacing.forget("VI_3")
    timers.run()
    assert sent == [("a", 0.0), ("na", 0.0), ("other", 0.0), ("b", 0.03), ("c", 0.06)]
    # Once the queue is empty and the interval past, the next goes at once.
    timers.now = 1.0
    pacing.send("VI_1", "eth1", A, record("later"))
    assert sent[-1] == ("later", 1.0)
