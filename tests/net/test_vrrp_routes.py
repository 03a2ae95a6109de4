"""virtual_routes and virtual_rules follow the MASTER; static routes and rules stay put."""

from __future__ import annotations

import signal

from test_vrrp_failover import VIP, expect_holder

from pykeepalived.lab.netns import Lab, run, vrrp_config

ROUTING = """virtual_routes {
    10.98.0.0/16 via 10.99.0.1 dev eth0
    blackhole 10.97.1.0/24
}
virtual_rules {
    from 10.99.1.1/32 table 100 preference 1000
}"""


def routes(lab: Lab, index: int) -> str:
    router = lab.routers[index - 1]
    return run("ip", "-n", router.namespace, "route", "show", "table", "all", check=False).stdout


def rules(lab: Lab, index: int) -> str:
    return run("ip", "-n", lab.routers[index - 1].namespace, "rule", "show", check=False).stdout


def test_virtual_routes_and_rules_move_with_the_master(lab: Lab) -> None:
    first, second = lab.routers
    static = "static_routes {\n    10.96.0.0/16 via 10.99.0.1 dev eth0\n}\n"
    lab.start_router(first, static + vrrp_config(first, 200, VIP, 3, 0.1, ROUTING))
    lab.start_router(second, vrrp_config(second, 100, VIP, 3, 0.1, ROUTING))
    expect_holder(lab, first, within=3)
    assert "10.98.0.0/16 via 10.99.0.1 dev eth0 proto keepalived" in routes(lab, 1)
    assert "blackhole 10.97.1.0/24 proto keepalived" in routes(lab, 1)
    assert "1000:\tfrom 10.99.1.1 lookup 100" in rules(lab, 1)
    assert "10.98.0.0/16" not in routes(lab, 2)
    lab.signal_router(first, signal.SIGTERM)
    expect_holder(lab, second, within=2)
    assert "10.98.0.0/16 via 10.99.0.1 dev eth0 proto keepalived" in routes(lab, 2)
    assert "1000:\tfrom 10.99.1.1 lookup 100" in rules(lab, 2)
    assert "10.98.0.0/16" not in routes(lab, 1) and "1000:" not in rules(lab, 1)
    # static routes are not VRRP's: they stay after the daemon stops
    assert "10.96.0.0/16 via 10.99.0.1 dev eth0" in routes(lab, 1)
