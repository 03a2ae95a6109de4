"""notify_master_rx_lower_pri on a real kernel, keepalived beside us: a MASTER that hears a lower priority
advert (from a router deaf to it, which became MASTER too) runs the script."""

from __future__ import annotations

import time

from pykeepalived.lab.netns import Lab, Router, run


def instance(name: str, vrid: int, priority: int, vip: str, script: str | None) -> str:
    notify = f' notify_master_rx_lower_pri "/usr/bin/touch {script}"\n' if script else ""
    return (
        f"vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n priority {priority}\n"
        f" advert_int 0.2\n version 3\n{notify} virtual_ipaddress {{\n  {vip}/32\n }}\n}}\n"
    )


def deaf_to(router: Router, other: Router, vrid: int) -> None:
    """`router` drops `other`'s adverts for `vrid`: it becomes MASTER beside it."""
    rules = (
        "add table ip deaf\n"
        "add chain ip deaf in { type filter hook input priority -10; }\n"
        f"add rule ip deaf in ip saddr {other.address} ip protocol vrrp @th,8,8 {vrid} drop\n"
    )
    run("ip", "netns", "exec", router.namespace, "nft", rules)


def test_a_master_hearing_a_lower_priority_advert_runs_its_script_as_keepalived_does(lab: Lab) -> None:
    keepalived_router, our_router = lab.routers
    marks = {router.index: lab.workdir / f"rx_lower_r{router.index}" for router in lab.routers}
    # VRID 61: ours the master with the script, keepalived the deaf lower one; VRID 62 the other way round.
    deaf_to(keepalived_router, our_router, 61)
    deaf_to(our_router, keepalived_router, 62)
    for router, (first, second) in ((our_router, (200, 100)), (keepalived_router, (100, 200))):
        script = str(marks[router.index])
        config = f"global_defs {{\n router_id r{router.index}\n}}\n"
        config += instance("VI_61", 61, first, "10.99.6.1", script if first == 200 else None)
        config += instance("VI_62", 62, second, "10.99.6.2", script if second == 200 else None)
        lab.start_router(router, config, daemon=["keepalived"] if router is keepalived_router else None)
    deadline = time.monotonic() + 8
    while not all(mark.exists() for mark in marks.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    for router in lab.routers:
        assert marks[router.index].exists(), (router.index, list(lab.log_lines(router))[-20:])
