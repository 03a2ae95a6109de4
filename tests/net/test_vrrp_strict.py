"""vrrp_strict and accept mode on a real kernel, keepalived beside us: a master that is not the address owner
drops the traffic to its VIP without `accept` (keepalived's nftables table, the same ruleset), and answers with
it; leaving MASTER empties the set, stopping removes the table."""

from __future__ import annotations

import re
import signal
import time

import pytest

from pykeepalived.lab.netns import Lab, Router, run, vrrp_config

# keepalived in r1, pykeepalived in r2: two virtual routers of their own, each master alone.
VIPS = {1: "10.99.1.1", 2: "10.99.1.2"}
STARTUP = 5.0


def strict_config(router: Router, accept: str) -> str:
    """vrrp_strict, VRRPv3 (keepalived resets accept under VRRPv2), a VRID per router."""
    config = vrrp_config(router, 100, VIPS[router.index], version=3, extra=accept)
    config = config.replace("virtual_router_id 51", f"virtual_router_id {50 + router.index}")
    return config.replace("global_defs {", "global_defs {\n    vrrp_strict", 1)


def ruleset(router: Router) -> str:
    """The router's nftables ruleset without its own addresses and counters: what both daemons must agree on."""
    text = run("ip", "netns", "exec", router.namespace, "nft", "list", "ruleset").stdout
    return re.sub(r"10\.99\.1\.\d+", "VIP", text)


def answered(lab: Lab, vip: str, seconds: float = 1.0) -> int:
    prober = lab.start_prober(vip, duration=seconds)
    prober.process.wait(timeout=seconds + 5)
    time.sleep(0.1)
    return len(prober.replies)


@pytest.mark.parametrize("accept", ["", "accept"])
def test_a_strict_master_without_accept_drops_traffic_to_its_vip_as_keepalived_does(lab: Lab, accept: str) -> None:
    keepalived_router, our_router = lab.routers
    lab.start_router(keepalived_router, strict_config(keepalived_router, accept), daemon=["keepalived"])
    lab.start_router(our_router, strict_config(our_router, accept))
    for router in lab.routers:
        vip = VIPS[router.index]
        deadline = time.monotonic() + STARTUP
        while router not in lab.holders(vip) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert router in lab.holders(vip), f"r{router.index} never became master: {list(lab.log_lines(router))}"
    replies = {router.index: answered(lab, VIPS[router.index]) for router in lab.routers}
    theirs, ours = ruleset(keepalived_router), ruleset(our_router)
    if accept:
        assert replies[1] > 0 and replies[2] > 0, replies
        assert theirs == ours == ""
    else:
        assert replies == {1: 0, 2: 0}
        assert "ip daddr @vips drop" in theirs
        assert ours == theirs
        # Leaving MASTER (the link goes: FAULT), the addresses leave the set; the table stays until stop.
        for router in lab.routers:
            lab.set_link(router, up=False)
        time.sleep(1.0)
        theirs, ours = ruleset(keepalived_router), ruleset(our_router)
        assert "type ipv4_addr" in theirs and "elements" not in theirs
        assert ours == theirs
    # Leaving: the rules go with the daemon.
    for router in lab.routers:
        lab.signal_router(router, signal.SIGTERM)
    for router in lab.routers:
        assert router.process is not None
        router.process.wait(timeout=10)
        assert ruleset(router) == "", f"r{router.index} left its firewall table"
