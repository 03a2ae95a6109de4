"""A sync group of two instances in namespaces: they fail over together and share a fault."""

from __future__ import annotations

import signal
import time

from pykeepalived.lab.netns import Lab, Router, run

VIPS = ("10.99.1.1", "10.99.2.1")


def group_config(router: Router, priority: int) -> str:
    instances = "".join(
        f"""vrrp_instance VI_{n} {{
    state BACKUP
    interface eth0
    virtual_router_id {50 + n}
    priority {priority}
    advert_int 0.1
    version 3
    virtual_ipaddress {{
        {vip}/32 dev eth0
    }}
}}
"""
        for n, vip in enumerate(VIPS, start=1)
    )
    return instances + "vrrp_sync_group G1 {\n    group {\n        VI_1\n        VI_2\n    }\n}\n"


def holders(lab: Lab) -> dict[str, list[int]]:
    return {vip: [r.index for r in lab.holders(vip)] for vip in VIPS}


def wait_for(lab: Lab, expected: dict[str, list[int]], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if holders(lab) == expected:
            return
        time.sleep(0.02)
    raise AssertionError(f"expected {expected}, holders are {holders(lab)}")


def test_sync_group_fails_over_together(lab: Lab) -> None:
    first, second = lab.routers
    lab.start_router(first, group_config(first, 200))
    lab.start_router(second, group_config(second, 100))
    wait_for(lab, {VIPS[0]: [1], VIPS[1]: [1]}, within=5)
    lab.signal_router(first, signal.SIGTERM)
    wait_for(lab, {VIPS[0]: [2], VIPS[1]: [2]}, within=2)
    assert "VRRP_Group(G1) Syncing instances to MASTER state" in "\n".join(lab.log_lines(second))


def test_one_tracked_interface_fault_takes_the_whole_group(lab: Lab) -> None:
    first, second = lab.routers
    config = group_config(first, 200).replace(
        "    virtual_ipaddress {\n        10.99.1.1",
        "    track_interface {\n        lo\n    }\n    virtual_ipaddress {\n        10.99.1.1",
    )
    lab.start_router(first, config)
    lab.start_router(second, group_config(second, 100))
    wait_for(lab, {VIPS[0]: [1], VIPS[1]: [1]}, within=5)
    run("ip", "-n", first.namespace, "link", "set", "lo", "down")
    wait_for(lab, {VIPS[0]: [2], VIPS[1]: [2]}, within=2)
    log = "\n".join(lab.log_lines(first))
    assert "VRRP_Group(G1) Syncing instances to FAULT state" in log
    assert "(VI_2) Entering FAULT STATE" in log
    run("ip", "-n", first.namespace, "link", "set", "lo", "up")
    wait_for(lab, {VIPS[0]: [1], VIPS[1]: [1]}, within=3)
