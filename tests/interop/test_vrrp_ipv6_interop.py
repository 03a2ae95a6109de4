"""VRRPv3 over IPv6 with Debian's keepalived in the group, both ways round, in a namespace lab."""

from __future__ import annotations

import secrets
import signal
import time

import pytest

from pykeepalived.lab.netns import Lab, Router, run

VIP = "2001:db8:99::1"
CONFIG = """vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 1
    priority {priority}
    advert_int 0.1
    version 3
    virtual_ipaddress {{
        fe80::1/64 dev eth0
        {vip}/64 dev eth0
    }}
}}
"""
KEEPALIVED = ["keepalived"]


def expect_sole_holder(lab: Lab, router: Router, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if lab.holders(VIP) == [router]:
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"r{router.index} is not the only holder of {VIP}: {[r.index for r in lab.holders(VIP)]}")


def wait_until_backup(lab: Lab, router: Router) -> None:
    """Our daemon starts slower than keepalived: the failover time only counts once the backup has heard adverts."""
    deadline = time.monotonic() + 5
    while not any("Entering BACKUP STATE" in line for line in lab.log_lines(router)):
        assert time.monotonic() < deadline, f"r{router.index} never entered BACKUP"
        time.sleep(0.02)
    time.sleep(0.2)


@pytest.mark.parametrize("ours", [1, 2])
def test_ipv6_group_with_keepalived(ours: int) -> None:
    with Lab(f"p6{secrets.token_hex(2)}") as lab:
        first, second = lab.routers
        daemons = {r.index: (None if r.index == ours else KEEPALIVED) for r in lab.routers}
        configs = {1: CONFIG.format(priority=200, vip=VIP), 2: CONFIG.format(priority=100, vip=VIP)}
        for router in lab.routers:
            lab.start_router(router, configs[router.index], daemon=daemons[router.index])
        expect_sole_holder(lab, first, within=5)
        wait_until_backup(lab, second)
        # The master crashes (link down, daemon killed): the backup takes over within its master-down interval.
        lab.set_link(first, up=False)
        lab.signal_router(first, signal.SIGKILL)
        assert expect_sole_holder(lab, second, within=1.5) < 0.5
        # It comes back and preempts.
        run("ip", "-n", first.namespace, "-6", "addr", "flush", "dev", "eth0", "scope", "global", check=False)
        lab.set_link(first, up=True)
        lab.start_router(first, configs[1], daemon=daemons[1])
        expect_sole_holder(lab, first, within=5)
        # Graceful stop: a priority-0 advert hands over within the skew time.
        lab.signal_router(first, signal.SIGTERM)
        assert expect_sole_holder(lab, second, within=1.5) < 0.4
        log = "\n".join(lab.log_lines(lab.routers[ours - 1]))
        assert "(VI_1) Entering MASTER STATE" in log
        if ours == 2:
            assert "(VI_1) Master received advert from fe80::99:ff:fe00:1 with higher priority 200, ours 100" in log
