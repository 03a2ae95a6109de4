"""What adverts look like on the wire, keepalived beside us: multicast groups (mcast_dst_ip, vrrp_mcast_group4)
joined and sent to, the TTL of unicast adverts (unicast_ttl), the first advert after vrrp_startup_delay."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from typing import Any

from sniffers import ARP, IPV4, IPV6, reports, sniffer

from pykeepalived.lab.netns import CLIENT_ADDRESS, Lab, Router, run, vrrp_config

# A raw socket in the client's namespace: every IPv4 VRRP packet on its link, as (source, destination, TTL, VRID,
# monotonic time: one clock for every namespace).
SNIFFER = sniffer(
    IPV4,
    """
    ip = frame[14:]
    if ip[9] == 112:
        vrrp = ip[(ip[0] & 15) * 4:]
        seen = [socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]), ip[8], vrrp[1], time.monotonic()]
        print(json.dumps(seen), flush=True)
    """,
)


def config(router: Router) -> str:
    """Three instances, VRIDs per router: one to its own group, one to the global group, one unicast."""
    base = 10 * router.index

    def instance(name: str, vrid: int, vip: str, extra: str) -> str:
        return (
            f"vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n priority 100\n advert_int 0.2\n"
            f" version 3\n{extra} virtual_ipaddress {{\n  {vip}/32\n }}\n}}\n"
        )

    return (
        f"global_defs {{\n router_id r{router.index}\n vrrp_mcast_group4 224.0.0.20\n}}\n"
        + instance("OWN_GROUP", base + 1, f"10.99.2.{base + 1}", " mcast_dst_ip 224.0.0.19\n")
        + instance("GLOBAL_GROUP", base + 2, f"10.99.2.{base + 2}", "")
        + instance(
            "UNICAST",
            base + 3,
            f"10.99.2.{base + 3}",
            f" unicast_src_ip {router.address}\n unicast_ttl 7\n unicast_peer {{\n  {CLIENT_ADDRESS}\n }}\n",
        )
    )


def sniff(lab: Lab, script: str, seconds: float) -> list[list[Any]]:
    """What `script` (a sniffer) reports in the client's namespace for `seconds`."""
    output = subprocess.run(
        ["ip", "netns", "exec", lab.client, sys.executable, "-c", script, str(seconds)],
        capture_output=True,
        text=True,
        timeout=seconds + 10,
        check=True,
    ).stdout
    return [json.loads(line) for line in reports(output)]


def joined(router: Router) -> set[str]:
    out = run("ip", "-n", router.namespace, "maddr", "show", "dev", "eth0").stdout
    # 224.0.0.1 (all hosts) is every IPv4 interface's.
    return {word for line in out.splitlines() for word in line.split() if word.startswith("224.")} - {"224.0.0.1"}


def test_groups_and_unicast_ttl_on_the_wire_as_keepalived_sends_them(lab: Lab) -> None:
    keepalived_router, our_router = lab.routers
    lab.start_router(keepalived_router, config(keepalived_router), daemon=["keepalived"])
    lab.start_router(our_router, config(our_router))
    # Masters within 3 x 0.2 s + skew; then every instance advertises.
    time.sleep(2.0)
    seen = {tuple(packet[:4]) for packet in sniff(lab, SNIFFER, 1.5)}
    for router in lab.routers:
        base = 10 * router.index
        assert (router.address, "224.0.0.19", 255, base + 1) in seen, (router.index, seen)
        assert (router.address, "224.0.0.20", 255, base + 2) in seen, (router.index, seen)
        assert (router.address, CLIENT_ADDRESS, 7, base + 3) in seen, (router.index, seen)
        assert not any(packet[1] == "224.0.0.18" for packet in seen if packet[0] == router.address)
    # Each daemon's sockets joined the groups its instances use (and keepalived's, no other).
    assert joined(our_router) == joined(keepalived_router) == {"224.0.0.19", "224.0.0.20"}


STARTUP_DELAY = 2.0


def test_the_first_advert_waits_for_vrrp_startup_delay_as_keepalived_s(lab: Lab) -> None:
    keepalived_router, our_router = lab.routers
    for router in lab.routers:
        conf = vrrp_config(router, 100, f"10.99.3.{router.index}", version=3, advert_int=0.2)
        conf = conf.replace("virtual_router_id 51", f"virtual_router_id {90 + router.index}")
        conf = conf.replace("global_defs {", f"global_defs {{\n    vrrp_startup_delay {STARTUP_DELAY:g}", 1)
        lab.start_router(router, conf, daemon=["keepalived"] if router is keepalived_router else None)
    started = time.monotonic()
    packets = sniff(lab, SNIFFER, STARTUP_DELAY + 3.0)
    first = {
        router.index: min((p[4] for p in packets if p[0] == router.address), default=None) for router in lab.routers
    }
    # Master-down interval at advert_int 0.2, priority 100: 3 x 0.2 + 156 / 256 x 0.2 = 0.72 s after the delay,
    # which counts from the VRRP process's start: ours starts about a second after launch (Python's imports
    # on two shared cores), keepalived's at once.
    for router, start_up in ((keepalived_router, 0.5), (our_router, 1.5)):
        at = first[router.index]
        assert at is not None, f"r{router.index} never advertised"
        print(f"r{router.index}: first advert {at - started:.3f} s after launch")
        assert STARTUP_DELAY + 0.72 <= at - started <= STARTUP_DELAY + 0.72 + start_up, (router.index, at - started)
    assert any("Delaying startup for 2 seconds" in line for line in lab.log_lines(our_router))


# Gratuitous ARPs on the client's link, as (sender MAC, sender IP, monotonic time).
ARP_SNIFFER = sniffer(
    ARP,
    """
    arp = frame[14:]
    if arp[14:18] == arp[24:28]:
        print(json.dumps([arp[8:14].hex(":"), socket.inet_ntoa(arp[14:18]), time.monotonic()]), flush=True)
    """,
)


def test_gratuitous_arps_of_a_burst_are_spaced_by_vrrp_garp_interval_as_keepalived_s(lab: Lab) -> None:
    keepalived_router = lab.routers[0]
    sniffer = subprocess.Popen(
        ["ip", "netns", "exec", lab.client, sys.executable, "-c", ARP_SNIFFER, "6"],
        stdout=subprocess.PIPE,
        text=True,
    )
    lab.started.append(sniffer)
    assert sniffer.stdout is not None and sniffer.stdout.readline() == "listening\n"
    for router in lab.routers:
        conf = vrrp_config(router, 100, f"10.99.4.{router.index}", version=3, advert_int=0.2)
        conf = conf.replace("virtual_router_id 51", f"virtual_router_id {100 + router.index}")
        conf = conf.replace("/32 dev eth0", f"/32 dev eth0\n        10.99.5.{router.index}/32 dev eth0")
        conf = conf.replace(
            "global_defs {", "global_defs {\n    vrrp_garp_interval 0.1\n    vrrp_garp_master_repeat 3", 1
        )
        lab.start_router(router, conf, daemon=["keepalived"] if router is keepalived_router else None)
    output, _ = sniffer.communicate(timeout=15)
    arps = [json.loads(line) for line in reports(output)]
    for router in lab.routers:
        times = [at for mac, _, at in arps if mac == router.mac]
        assert times, (router.index, arps)
        # The first burst: 2 addresses x 3 repeats asked for at once; as keepalived, an address waits once, so
        # one goes at once and each address once more, one per 0.1 s (timer slack: 20 ms).
        burst = [at for at in times if at - times[0] < 1.0]
        gaps = [b - a for a, b in itertools.pairwise(burst)]
        print(f"r{router.index}: gaps between gratuitous ARPs {[round(g, 3) for g in gaps]}")
        assert len(burst) == 3, (router.index, arps)
        assert all(0.1 - 0.02 <= gap <= 0.1 + 0.05 for gap in gaps), (router.index, gaps)


# IPv6 VRRP packets on the client's link, as (source, destination, hop limit, VRID).
SNIFFER6 = sniffer(
    IPV6,
    """
    ip = frame[14:]
    if ip[6] == 112:
        source, destination = (socket.inet_ntop(socket.AF_INET6, ip[at:at + 16]) for at in (8, 24))
        print(json.dumps([source, destination, ip[7], ip[41]]), flush=True)
    """,
)
CLIENT_LINK_LOCAL = "fe80::99:ff:fe00:fe"


def test_ipv6_unicast_hop_limit_is_unicast_ttl_else_the_kernel_s_as_keepalived_s(lab: Lab) -> None:
    keepalived_router = lab.routers[0]
    for router in lab.routers:
        base = 140 + 10 * router.index
        conf = f"global_defs {{\n router_id r{router.index}\n}}\n"
        for vrid, ttl in ((base + 1, " unicast_ttl 9\n"), (base + 2, "")):
            conf += (
                f"vrrp_instance V{vrid} {{\n interface eth0\n virtual_router_id {vrid}\n priority 100\n"
                f" advert_int 0.2\n version 3\n{ttl} unicast_peer {{\n  {CLIENT_LINK_LOCAL}\n }}\n"
                f" virtual_ipaddress {{\n  fd99::{vrid:x}/128\n }}\n}}\n"
            )
        lab.start_router(router, conf, daemon=["keepalived"] if router is keepalived_router else None)
    time.sleep(2.0)
    seen = {(destination, hop_limit, vrid) for _, destination, hop_limit, vrid in sniff(lab, SNIFFER6, 1.5)}
    for router in lab.routers:
        base = 140 + 10 * router.index
        # unicast_ttl, else the kernel's default hop limit (64): keepalived sets none.
        assert (CLIENT_LINK_LOCAL, 9, base + 1) in seen, (router.index, seen)
        assert (CLIENT_LINK_LOCAL, 64, base + 2) in seen, (router.index, seen)
