"""`pykeepalivedctl lab demo`: a real failover on this machine, measured from a client."""

from __future__ import annotations

import signal
import time

from ..lab.netns import Lab, vrrp_config

VIP = "10.99.1.1"
ADVERT_INT = 0.1
PRIORITIES = (200, 100)


def master_down_interval(priority: int, advert_int: float) -> float:
    return 3 * advert_int + (256 - priority) * advert_int / 256


def say(text: str) -> None:
    print(text, flush=True)


def demo(prefix: str = "pkdemo") -> int:
    say(f"lab: namespaces {prefix}-sw (bridge), {prefix}-r1, {prefix}-r2 (routers), {prefix}-c (client); "
        "10.99.0.0/16, not linked to this machine's interfaces")  # fmt: skip
    with Lab(prefix) as lab:
        first, second = lab.routers
        for router, priority in zip(lab.routers, PRIORITIES, strict=True):
            lab.start_router(router, vrrp_config(router, priority, VIP, version=3, advert_int=ADVERT_INT))
            say(f"r{router.index} ({router.address}, {router.mac}): pykeepalived, VRRPv3, priority {priority}, "
                f"advert_int {ADVERT_INT} s, VIP {VIP}")  # fmt: skip
        holder = lab.wait_for_holder(VIP, timeout=10, expected=first)
        if holder is not first:
            say(f"FAILED: expected r1 to become master, VIP holders: {[r.index for r in lab.holders(VIP)]}")
            return 1
        prober = lab.start_prober(VIP, duration=30)
        deadline = time.monotonic() + 5
        while prober.first_reply_from(first.mac, 0) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        say(f"r1 is MASTER: the client's pings to {VIP} are answered by {first.mac}")
        time.sleep(0.5)
        say("crash r1: its link goes down and its pykeepalived is killed (SIGKILL)")
        crash_at = time.monotonic()
        lab.set_link(first, up=False)
        lab.signal_router(first, signal.SIGKILL)
        deadline = crash_at + 5
        took_over: float | None = None
        while took_over is None and time.monotonic() < deadline:
            took_over = prober.first_reply_from(second.mac, crash_at)
            time.sleep(0.01)
        if took_over is None:
            say("FAILED: r2 did not take over within 5 s")
            return 1
        theory = master_down_interval(PRIORITIES[1], ADVERT_INT)
        say(f"r2 took over: the client's pings are answered by {second.mac} "
            f"{(took_over - crash_at) * 1000:.1f} ms after the crash "
            f"(longest gap between replies {prober.longest_gap(crash_at - 0.1) * 1000:.1f} ms; "
            f"RFC 5798 master-down interval for priority {PRIORITIES[1]}: {theory * 1000:.1f} ms, counted by "
            "r2 from r1's last advert, up to one advert interval before the crash)")  # fmt: skip
        say(f"client's ARP entry for {VIP}: {lab.client_neighbour_mac(VIP)}")
        say("r2's log:")
        for line in lab.log_lines(second):
            if "(VI_1)" in line:
                say(f"    {line}")
        say("cleaning up the lab")
    say("done")
    return 0
