"""track_src_ip on a real kernel, keepalived beside us: keepalived 2.2.7 means to put the instance in FAULT when
its configured source, the interface's last IPv4 address, is removed, but its check compares the address with the
first bytes of a sockaddr and never matches: the instance runs on. pykeepalived marks the keyword as having no
effect and does the same; this test shows both (a keepalived that starts faulting will fail it)."""

from __future__ import annotations

import time

from pykeepalived.lab.netns import Lab, Router, run


def config(router: Router) -> str:
    return (
        f"global_defs {{\n router_id r{router.index}\n}}\n"
        f"vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id {110 + router.index}\n priority 100\n"
        f" advert_int 0.2\n version 3\n mcast_src_ip {source(router)}\n track_src_ip\n"
        f" virtual_ipaddress {{\n  {vip(router)}/32 dev side0\n }}\n}}\n"
    )


def source(router: Router) -> str:
    return router.address


def vip(router: Router) -> str:
    return f"10.99.8.{router.index}"


def holds(lab: Lab, router: Router, wanted: bool, within: float) -> bool:
    deadline = time.monotonic() + within
    while (router in lab.holders(vip(router), "side0")) != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
    return (router in lab.holders(vip(router), "side0")) == wanted


def test_the_instance_runs_on_when_its_source_address_goes_as_keepalived_2_2_7_s(lab: Lab) -> None:
    keepalived_router = lab.routers[0]
    for router in lab.routers:
        run("ip", "-n", router.namespace, "link", "add", "side0", "type", "veth", "peer", "name", "side1")
        for side in ("side0", "side1"):
            run("ip", "-n", router.namespace, "link", "set", side, "up")
        lab.start_router(router, config(router), daemon=["keepalived"] if router is keepalived_router else None)
    for router in lab.routers:
        assert holds(lab, router, True, 5), (router.index, list(lab.log_lines(router))[-10:])
    for router in lab.routers:
        run("ip", "-n", router.namespace, "addr", "del", f"{source(router)}/16", "dev", "eth0")
    time.sleep(2.0)
    for router in lab.routers:
        assert router in lab.holders(vip(router), "side0"), (router.index, list(lab.log_lines(router))[-10:])
        assert not any("FAULT" in line for line in lab.log_lines(router)), router.index
