"""use_vmac: the virtual MAC answers for the VIP, and moves between routers on failover."""

from __future__ import annotations

import signal
import time

from test_vrrp_failover import VIP

from pykeepalived.lab.netns import Lab, Prober, Router, run, vrrp_config

VMAC_DEV = "vrrp.51"
VMAC = "00:00:5e:00:01:33"  # 00:00:5e:00:01:VRID, VRID 51


def wait_for_holder(lab: Lab, router: Router, within: float) -> None:
    deadline = time.monotonic() + within
    while lab.holders(VIP, VMAC_DEV) != [router] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert lab.holders(VIP, VMAC_DEV) == [router]


def wait_for_reply(prober: Prober, since: float, within: float) -> None:
    """Replies leave by the parent interface (Linux routes them there), so any reply counts."""
    deadline = since + within
    while not any(r.at >= since for r in prober.replies) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert any(r.at >= since for r in prober.replies), "the VIP stopped answering pings"


def test_client_learns_the_virtual_mac_and_keeps_it_across_failover(lab: Lab) -> None:
    first, second = lab.routers
    for router, priority in ((first, 200), (second, 100)):
        lab.start_router(router, vrrp_config(router, priority, VIP, 3, 0.1, "use_vmac"))
    wait_for_holder(lab, first, within=5)
    prober = lab.start_prober(VIP, duration=30)
    wait_for_reply(prober, time.monotonic() - 1, within=5)
    assert lab.client_neighbour_mac(VIP) == VMAC
    stopped_at = time.monotonic()
    lab.signal_router(first, signal.SIGTERM)
    wait_for_holder(lab, second, within=2)
    # The client's ARP entry does not change; the VIP answers again, now from r2.
    wait_for_reply(prober, stopped_at + 0.2, within=2)
    assert lab.client_neighbour_mac(VIP) == VMAC
    # The stopped daemon removed its VMAC interface.
    assert VMAC_DEV not in run("ip", "-n", first.namespace, "link", "show", check=False).stdout
