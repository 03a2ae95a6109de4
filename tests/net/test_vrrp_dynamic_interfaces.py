"""dynamic_interfaces on a real kernel, keepalived beside us: an instance whose interface does not exist at start
waits for it, and runs once the interface is there."""

from __future__ import annotations

import time

from pykeepalived.lab.netns import Lab, Router, run


def config(router: Router) -> str:
    return (
        f"global_defs {{\n router_id r{router.index}\n dynamic_interfaces\n}}\n"
        f"vrrp_instance PRESENT {{\n interface eth0\n virtual_router_id {120 + router.index}\n priority 100\n"
        f" advert_int 0.2\n version 3\n virtual_ipaddress {{\n  10.99.9.{router.index}/32\n }}\n}}\n"
        f"vrrp_instance LATE {{\n interface late0\n virtual_router_id {130 + router.index}\n priority 100\n"
        f" advert_int 0.2\n version 3\n virtual_ipaddress {{\n  10.99.10.{router.index}/32\n }}\n}}\n"
    )


def holds(lab: Lab, router: Router, vip: str, dev: str, within: float) -> bool:
    deadline = time.monotonic() + within
    while router not in lab.holders(vip, dev) and time.monotonic() < deadline:
        time.sleep(0.05)
    return router in lab.holders(vip, dev)


def test_an_instance_waits_for_its_interface_as_keepalived_s(lab: Lab) -> None:
    keepalived_router = lab.routers[0]
    for router in lab.routers:
        lab.start_router(router, config(router), daemon=["keepalived"] if router is keepalived_router else None)
    for router in lab.routers:
        # The other instance runs meanwhile.
        assert holds(lab, router, f"10.99.9.{router.index}", "eth0", 5), (router.index, list(lab.log_lines(router)))
    for router in lab.routers:
        run("ip", "-n", router.namespace, "link", "add", "late0", "type", "veth", "peer", "name", "late1")
        run("ip", "-n", router.namespace, "addr", "add", f"10.98.0.{router.index}/24", "dev", "late0")
        for side in ("late0", "late1"):
            run("ip", "-n", router.namespace, "link", "set", side, "up")
    for router in lab.routers:
        assert holds(lab, router, f"10.99.10.{router.index}", "late0", 5), (router.index, list(lab.log_lines(router)))
