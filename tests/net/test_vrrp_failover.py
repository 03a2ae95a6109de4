"""pykeepalived routers in network namespaces: failover as a client on the LAN sees it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from pykeepalived.lab.netns import Lab, Router, vrrp_config

VIP = "10.99.1.1"


def master_down(priority: int, version: int, advert_int: float) -> float:
    return 3 * advert_int + (256 - priority) / 256 * (advert_int if version == 3 else 1.0)


def start_pair(lab: Lab, version: int = 3, advert_int: float = 0.1, extra: str = "", unicast: bool = False) -> None:
    for router, priority in zip(lab.routers, (200, 100), strict=True):
        peers = [r.address for r in lab.routers if r is not router] if unicast else None
        lab.start_router(router, vrrp_config(router, priority, VIP, version, advert_int, extra, peers))


def expect_holder(lab: Lab, router: Router, within: float) -> float:
    started = time.monotonic()
    holder = lab.wait_for_holder(VIP, within, router)
    assert holder is router, f"expected r{router.index} to hold {VIP}, holders: {[r.index for r in lab.holders(VIP)]}"
    return time.monotonic() - started


def client_switches_to(lab: Lab, router: Router, since: float, within: float) -> float:
    prober = lab.probers[-1]
    deadline = since + within
    while time.monotonic() < deadline:
        seen = prober.first_reply_from(router.mac, since)
        if seen is not None:
            return seen - since
        time.sleep(0.01)
    raise AssertionError(f"the client's pings were not answered by r{router.index} ({router.mac}) within {within} s")


def settled_master(lab: Lab, version: int = 3, advert_int: float = 0.1) -> tuple[Router, Router]:
    first, second = lab.routers
    expect_holder(lab, first, within=3 * master_down(200, version, advert_int) + 3)
    prober = lab.start_prober(VIP, duration=60)
    client_switches_to(lab, first, time.monotonic() - 1, within=5)
    assert prober.replies
    return first, second


@pytest.mark.parametrize("how", ["kill", "stop", "linkdown"])
def test_failover_when_the_master_fails(lab: Lab, how: str) -> None:
    start_pair(lab)
    first, second = settled_master(lab)
    fault_at = time.monotonic()
    if how == "kill":
        lab.signal_router(first, signal.SIGKILL)
    elif how == "stop":
        lab.signal_router(first, signal.SIGSTOP)
    else:
        lab.set_link(first, up=False)
    took = client_switches_to(lab, second, fault_at, within=master_down(100, 3, 0.1) + 0.5)
    assert took <= master_down(100, 3, 0.1) + 0.1
    assert lab.client_neighbour_mac(VIP) == second.mac
    assert second in lab.holders(VIP)
    if how == "linkdown":
        # The old master's interface is down: it went to FAULT and released the address.
        assert first not in lab.holders(VIP)
        assert any("(VI_1) Entering FAULT STATE" in line for line in lab.log_lines(first))
    if how == "stop":
        # Woken up, the old master asserts priority 200 again and the backup yields.
        lab.signal_router(first, signal.SIGCONT)
        back_at = time.monotonic()
        client_switches_to(lab, first, back_at, within=2)
        expect_holder(lab, first, within=2)


def test_link_back_up_preempts(lab: Lab) -> None:
    start_pair(lab)
    first, second = settled_master(lab)
    lab.set_link(first, up=False)
    expect_holder(lab, second, within=2)
    lab.set_link(first, up=True)
    expect_holder(lab, first, within=2 * master_down(200, 3, 0.1) + 1)
    assert "(VI_1) Entering BACKUP STATE" in "\n".join(lab.log_lines(first))


def test_graceful_stop_hands_over_in_skew_time_and_releases(lab: Lab) -> None:
    start_pair(lab)
    first, second = settled_master(lab)
    stop_at = time.monotonic()
    lab.signal_router(first, signal.SIGTERM)
    took = client_switches_to(lab, second, stop_at, within=1)
    assert took <= (256 - 100) / 256 * 0.1 + 0.1
    expect_holder(lab, second, within=1)


def test_restarted_master_preempts_and_backup_logs_it(lab: Lab) -> None:
    start_pair(lab)
    first, second = settled_master(lab)
    lab.signal_router(first, signal.SIGTERM)
    expect_holder(lab, second, within=1)
    time.sleep(0.3)
    lab.start_router(first, vrrp_config(first, 200, VIP, 3, 0.1))
    expect_holder(lab, first, within=2 * master_down(200, 3, 0.1) + 2)
    lines = "\n".join(lab.log_lines(second))
    assert "(VI_1) Master received advert from 10.99.0.11 with higher priority 200, ours 100" in lines
    assert "(VI_1) Entering BACKUP STATE" in lines


def test_nopreempt_keeps_the_running_master(lab: Lab) -> None:
    first, second = lab.routers
    lab.start_router(second, vrrp_config(second, 100, VIP, 3, 0.1, "nopreempt"))
    expect_holder(lab, second, within=2)
    lab.start_router(first, vrrp_config(first, 200, VIP, 3, 0.1, "nopreempt"))
    time.sleep(3 * master_down(200, 3, 0.1) + 1)
    assert lab.holders(VIP) == [second]


def test_unicast_failover(lab: Lab) -> None:
    start_pair(lab, unicast=True)
    first, second = settled_master(lab)
    fault_at = time.monotonic()
    lab.set_link(first, up=False)
    assert client_switches_to(lab, second, fault_at, within=1) <= master_down(100, 3, 0.1) + 0.1


def test_v2_with_password(lab: Lab) -> None:
    start_pair(lab, version=2, advert_int=1, extra="authentication {\n    auth_type PASS\n    auth_pass s3cret\n}")
    first, second = settled_master(lab, version=2, advert_int=1)
    fault_at = time.monotonic()
    lab.signal_router(first, signal.SIGKILL)
    took = client_switches_to(lab, second, fault_at, within=master_down(100, 2, 1) + 0.5)
    assert took <= master_down(100, 2, 1) + 0.1


def test_v3_fast_adverts(lab: Lab) -> None:
    start_pair(lab, version=3, advert_int=0.05)
    first, second = settled_master(lab, version=3, advert_int=0.05)
    fault_at = time.monotonic()
    lab.set_link(first, up=False)
    took = client_switches_to(lab, second, fault_at, within=1)
    assert took <= master_down(100, 3, 0.05) + 0.05


def test_wrong_password_is_logged_and_both_become_master(lab: Lab) -> None:
    first, second = lab.routers
    for router, priority, password in ((first, 200, "secret12"), (second, 100, "wrongkey")):
        auth = f"authentication {{\n    auth_type PASS\n    auth_pass {password}\n}}"
        lab.start_router(router, vrrp_config(router, priority, VIP, 2, 1, auth))
    time.sleep(master_down(100, 2, 1) + 1.5)
    assert sorted(r.index for r in lab.holders(VIP)) == [1, 2]
    assert "(VI_1) received an invalid passwd!" in "\n".join(lab.log_lines(second))


@pytest.mark.parametrize("advert_int", [0.1, 1.0])
def test_no_orphaned_vip_after_the_whole_daemon_is_killed(lab: Lab, advert_int: float) -> None:
    # keepalived leaves a killed daemon's VIP in place; ours expires, when the backup takes over, not before.
    start_pair(lab, version=3, advert_int=advert_int)
    first, second = settled_master(lab, version=3, advert_int=advert_int)
    prober = lab.probers[-1]
    killed_at = time.monotonic()
    lab.signal_router(first, signal.SIGKILL)
    bound = master_down(100, 3, advert_int) + 1.3
    while first in lab.holders(VIP) and time.monotonic() - killed_at < bound + 2:
        time.sleep(0.01)
    gone_after = time.monotonic() - killed_at
    assert first not in lab.holders(VIP), "the killed master still holds the VIP"
    assert gone_after <= bound, f"the VIP stayed {gone_after:.3f} s on the killed master (bound {bound:.2f} s)"
    expect_holder(lab, second, within=1)
    time.sleep(0.1)
    assert prober.longest_gap(killed_at) < 0.1, "the VIP had no holder between the old master and the new"


# Pauses the backup never outlasts (it last heard the master up to one interval before; at 0.1 s, 0.15 s
# leaves 110 ms for a loaded machine's scheduling) and pauses it does.
@pytest.mark.parametrize(
    ("version", "advert_int", "pause"), [(2, 1.0, 2.5), (2, 1.0, 5.0), (3, 0.1, 0.15), (3, 0.1, 5.0)]
)
def test_a_paused_master_never_leaves_the_vip_without_holder(
    lab: Lab, version: int, advert_int: float, pause: float
) -> None:
    # SIGSTOP stands for CPU starvation, swap or a debugger: a stalled master's VIP must outlast the
    # backup's master-down interval, so the client is answered throughout (issue 10).
    start_pair(lab, version=version, advert_int=advert_int)
    first, second = settled_master(lab, version=version, advert_int=advert_int)
    prober = lab.probers[-1]
    # The backup may have been MASTER for a moment at start-up, before the first router's process was up.
    before = sum("(VI_1) Entering MASTER STATE" in line for line in lab.log_lines(second))
    paused_at = time.monotonic()
    lab.signal_router(first, signal.SIGSTOP)
    time.sleep(pause)
    lab.signal_router(first, signal.SIGCONT)
    expect_holder(lab, first, within=2 * master_down(200, version, advert_int) + 2)
    time.sleep(0.2)
    gap = prober.longest_gap(paused_at)
    assert gap < 0.1, f"the client's pings to {VIP} went unanswered for {gap * 1000:.0f} ms"
    took_over = sum("(VI_1) Entering MASTER STATE" in line for line in lab.log_lines(second)) > before
    assert took_over == (pause > master_down(100, version, advert_int))


def test_sigusr2_writes_keepalived_s_stats_file(lab: Lab) -> None:
    start_pair(lab)
    first, _ = settled_master(lab)
    stats = Path("/tmp/keepalived.stats")
    stats.unlink(missing_ok=True)
    os.kill(lab.router_pids(first)[0], signal.SIGUSR2)
    deadline = time.monotonic() + 3
    while not stats.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    lines = stats.read_text().splitlines()
    stats.unlink()
    assert lines[0] == "VRRP Instance: VI_1"
    assert lines[1:3] == ["  Advertisements:", lines[2]] and lines[2].startswith("    Received: ")
    sent = int(lines[3].removeprefix("    Sent: "))
    assert sent > 0 and lines[4] == "  Became master: 1"
