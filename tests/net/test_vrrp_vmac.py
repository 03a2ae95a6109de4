"""use_vmac: the virtual MAC answers for the VIP, and moves between routers on failover."""

from __future__ import annotations

import os
import secrets
import signal
import time
from collections.abc import Callable

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


ADDED_VIP = "10.99.1.3"
ADDED_DEV, ADDED_VMAC = "vrrp.52", "00:00:5e:00:01:34"


def vmac_exists(router: Router, name: str) -> bool:
    return run("ip", "-n", router.namespace, "link", "show", name, check=False).returncode == 0


def reload_with(lab: Lab, second_instance: bool) -> None:
    for router in lab.routers:
        priority = 150 if router.index == 1 else 100
        text = vrrp_config(router, priority, VIP)
        if second_instance:
            text += (
                "vrrp_instance VI_2 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 52\n"
                f"    priority {priority}\n    advert_int 0.1\n    version 3\n    use_vmac\n"
                f"    virtual_ipaddress {{\n        {ADDED_VIP}/32 dev eth0\n    }}\n}}\n"
            )
        (lab.workdir / f"r{router.index}.conf").write_text(text)
        os.kill(lab.router_pids(router)[0], signal.SIGHUP)


def wait_until(condition: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def added_and_removed_by_reload(daemon: list[str] | None) -> dict[str, object]:
    """Start a pair without VMAC, reload in an instance with use_vmac, then reload it out again."""
    seen: dict[str, object] = {}
    with Lab(f"vm{secrets.token_hex(3)}", routers=2) as lab:
        first, second = lab.routers
        lab.start_router(second, vrrp_config(second, 100, VIP), daemon=daemon)
        lab.start_router(first, vrrp_config(first, 150, VIP), daemon=daemon)
        assert lab.wait_for_holder(VIP, 10, first) is first
        reload_with(lab, second_instance=True)
        seen["added: master holds the VIP on its VMAC"] = wait_until(
            lambda: lab.holders(ADDED_VIP, ADDED_DEV) == [first], 5
        )
        seen["added: VMAC on both routers"] = all(vmac_exists(r, ADDED_DEV) for r in lab.routers)
        prober = lab.start_prober(ADDED_VIP, duration=2)
        seen["added: the client answered"] = wait_until(lambda: bool(prober.replies), 2)
        seen["added: the client's MAC for the VIP"] = lab.client_neighbour_mac(ADDED_VIP)
        reload_with(lab, second_instance=False)
        seen["removed: VMAC gone from both routers"] = wait_until(
            lambda: not any(vmac_exists(r, ADDED_DEV) for r in lab.routers), 5
        )
        seen["removed: the VIP held by nobody"] = not lab.holders(ADDED_VIP, ADDED_DEV) + lab.holders(ADDED_VIP)
        seen["the first instance's VIP stayed on r1"] = lab.holders(VIP) == [first]
    return seen


def test_a_reload_adds_and_removes_a_use_vmac_instance_as_keepalived_does() -> None:
    theirs = added_and_removed_by_reload(["keepalived"])
    ours = added_and_removed_by_reload(None)
    print("keepalived:", theirs, "pykeepalived:", ours, sep="\n")
    # keepalived 2.2.7 leaves the parent's arp_announce at 0: its ARP requests for the client, answering from
    # the VIP, carry the VIP with the router's own MAC, and the client learns that one (at a failover it
    # must learn another: what VMAC is for). Ours sets arp_announce=2 (io/vmac.py): the virtual MAC stays.
    mac = "added: the client's MAC for the VIP"
    assert ours.pop(mac) == ADDED_VMAC and theirs.pop(mac) is not None
    assert ours == theirs
