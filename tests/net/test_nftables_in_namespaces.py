"""`pykeepalived -C --dataplane nftables` in a namespace lab, as LVS-NAT is deployed: the client reaches the
virtual server through the balancer, which DNATs to the real servers; their replies route back through it.
rr is exact, wrr keeps the weights, sh keeps each source on its server across a restart, a server that fails
its check gets no new connection while its open ones finish, ipvsadm -Ln lists the table, UDP flows are
balanced, persistence keeps each client on its server across a reload, a server at its threshold gets no
new connection, direct routing works over IPv4 and IPv6, and a reload to 1,000 real servers keeps the open
connections."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter

from servers import (
    CLIENT_SCRIPT,
    PORT,
    VIP,
    finish,
    hold_connection,
    requests,
    start_named_web_server,
    start_web_server,
    wait_for_answers,
)

from pykeepalived.lab.netns import CLIENT_ADDRESS, Lab, run
from pykeepalived.lb.listing import CONNECTIONS_HEADER

HEALTH_PORT = 8081
SH_SOURCES = [f"10.99.0.{host}" for host in range(150, 158)]


def virtual_server(
    lab: Lab,
    header: str,
    port: int,
    scheduler: str = "rr",
    kind: str = "NAT",
    weights: tuple[int, int] = (1, 1),
    protocol: str = "TCP",
) -> str:
    """`virtual_server HEADER` over the two real servers on `port`, checked on their HEALTH_PORT."""
    reals = "".join(
        f"""    real_server {router.address} {port} {{
        weight {weight}
        TCP_CHECK {{
            connect_port {HEALTH_PORT}
            connect_timeout 0.5
        }}
    }}
"""
        for router, weight in zip(lab.routers[1:], weights, strict=True)
    )
    settings = f"    delay_loop 0.5\n    lb_algo {scheduler}\n    lb_kind {kind}\n"
    if not header.startswith("fwmark"):
        settings += f"    protocol {protocol}\n"
    return f"virtual_server {header} {{\n{settings}{reals}}}\n"


def config(lab: Lab, scheduler: str, weights: tuple[int, int] = (1, 1)) -> str:
    return virtual_server(lab, f"{VIP} {PORT}", 8080, scheduler, weights=weights)


def build_nat(lab: Lab) -> None:
    """The balancer holds the VIP and forwards; the real servers route the client's replies through it."""
    balancer = lab.routers[0]
    run("ip", "-n", balancer.namespace, "addr", "add", f"{VIP}/32", "dev", "lo")
    run("ip", "-n", lab.client, "route", "add", f"{VIP}/32", "via", balancer.address)
    for source in SH_SOURCES:
        run("ip", "-n", lab.client, "addr", "add", f"{source}/32", "dev", "eth0")
    forwarding = ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.eth0.send_redirects=0")
    for setting in forwarding:
        run("ip", "netns", "exec", balancer.namespace, "sysctl", "-q", "-w", setting)
    for real in lab.routers[1:]:
        run("ip", "netns", "exec", real.namespace, "sysctl", "-q", "-w", "net.ipv4.conf.all.accept_redirects=0")
        for clients in (f"{CLIENT_ADDRESS}/32", "10.99.0.144/28"):
            run("ip", "-n", real.namespace, "route", "add", clients, "via", balancer.address)


def start_checked_web_servers(lab: Lab) -> dict[int, subprocess.Popen[bytes]]:
    """A named web server on each real server, and the one on HEALTH_PORT its check connects to (returned)."""
    health = {}
    for real in lab.routers[1:]:
        start_named_web_server(lab, real)
        health[real.index] = start_web_server(lab, real, lab.workdir, HEALTH_PORT)
    return health


def start_balancer(lab: Lab, configuration: str) -> subprocess.Popen[bytes]:
    balancer = lab.routers[0]
    lab.start_router(balancer, configuration, "-C", "--dataplane", "nftables", "-c", str(lab.workdir / "r1.vrrp.pid"))
    assert balancer.process is not None
    return balancer.process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)


ESTABLISHED_TIMEOUTS = """
import json
from pyroute2 import Conntrack
conntrack = Conntrack()
entries = [e for e in conntrack.dump_entries() if e.tuple_orig.dport == 80 and e.protoinfo and e.protoinfo.state == 3]
print(json.dumps([entry.timeout for entry in entries]))
"""


def established_timeouts(lab: Lab) -> list[int]:
    """The seconds conntrack gives the balancer's established connections to the virtual server."""
    command = [sys.executable, "-c", ESTABLISHED_TIMEOUTS]
    timeouts = json.loads(run("ip", "netns", "exec", lab.routers[0].namespace, *command).stdout)
    assert timeouts, "no established connection through the balancer"
    return list(timeouts)


def ipvsadm_listing(lab: Lab, option: str = "-Ln") -> str:
    command = [sys.executable, "-m", "pykeepalived.cli.ctl", "ipvsadm", option]
    return run("ip", "netns", "exec", lab.routers[0].namespace, *command, check=False).stdout


def wait_for_both_servers(lab: Lab) -> None:
    """Until both real servers are in the table (with sh, one client address only ever sees one)."""
    wait_for_servers(lab, 2)


def wait_for_servers(lab: Lab, count: int) -> None:
    deadline = time.monotonic() + 10
    while ipvsadm_listing(lab).count("  -> 10.99.") != count:
        assert time.monotonic() < deadline, ipvsadm_listing(lab)
        time.sleep(0.1)


def test_nftables_data_plane_schedules_drains_and_lists() -> None:
    with Lab(f"nf{secrets.token_hex(3)}", routers=3) as lab:
        build_nat(lab)
        health = start_checked_web_servers(lab)

        daemon = start_balancer(lab, config(lab, "rr"))
        wait_for_answers(lab, {"r2", "r3"}, within=10)
        assert Counter(requests(lab, 40)) == {"r2": 20, "r3": 20}
        listed = ipvsadm_listing(lab)
        rows = [line.split() for line in listed.splitlines()[3:]]
        assert [row[:5] for row in rows] == [
            ["TCP", "10.99.1.1:80", "rr"],
            ["->", "10.99.0.12:8080", "Masq", "1", "0"],
            ["->", "10.99.0.13:8080", "Masq", "1", "0"],
        ], listed
        # The closed connections are conntrack's TIME_WAIT entries: ipvsadm counts them as InActConn too.
        assert all(int(row[5]) >= 20 for row in rows[1:]), listed

        held = [hold_connection(lab), hold_connection(lab)]
        # IPVS's 900 s for an established connection, not conntrack's five days.
        assert all(0 < timeout <= 900 for timeout in established_timeouts(lab)), established_timeouts(lab)
        stopped_at = time.monotonic()
        health[2].terminate()
        wait_for_answers(lab, {"r3"}, within=5)
        removed_after = time.monotonic() - stopped_at
        assert Counter(requests(lab, 20)) == {"r3": 20}
        assert sorted(finish(holder) for holder in held) == ["r2", "r3"], "an open connection did not finish"
        assert "Removing service [10.99.0.12]:tcp:8080 from VS [10.99.1.1]:tcp:80" in "\n".join(
            lab.log_lines(lab.routers[0])
        )
        health[2] = start_web_server(lab, lab.routers[1], lab.workdir, HEALTH_PORT)
        stop(daemon)
        tables = run("ip", "netns", "exec", lab.routers[0].namespace, "nft", "list", "tables").stdout
        assert "pykeepalived" not in tables, "the table outlived the daemon"

        daemon = start_balancer(lab, config(lab, "wrr", (1, 3)))
        wait_for_answers(lab, {"r2", "r3"}, within=10)
        answers = Counter(requests(lab, 400))
        assert abs(answers["r3"] / 400 - 0.75) <= 0.02, answers
        stop(daemon)

        daemon = start_balancer(lab, config(lab, "sh"))
        wait_for_both_servers(lab)
        before = {source: set(requests(lab, 3, source)) for source in SH_SOURCES}
        assert all(len(servers) == 1 for servers in before.values()), before
        stop(daemon)
        start_balancer(lab, config(lab, "sh"))
        wait_for_both_servers(lab)
        after = {source: set(requests(lab, 3, source)) for source in SH_SOURCES}
        assert after == before
        print(f"removed from the table {removed_after:.2f} s after its check port closed")


def test_persistence_keeps_each_client_on_its_server_across_a_reload_until_the_server_fails() -> None:
    with Lab(f"np{secrets.token_hex(3)}", routers=3) as lab:
        build_nat(lab)
        health = start_checked_web_servers(lab)
        persistent = config(lab, "rr").replace("    lb_kind NAT\n", "    lb_kind NAT\n    persistence_timeout 300\n")
        start_balancer(lab, persistent)
        wait_for_both_servers(lab)
        first = {source: set(requests(lab, 4, source)) for source in SH_SOURCES}
        # Each client keeps its server; rr placed the clients' first connections in turn.
        assert all(len(servers) == 1 for servers in first.values()), first
        assert Counter(server for servers in first.values() for server in servers) == {"r2": 4, "r3": 4}, first

        (lab.workdir / "r1.conf").write_text(persistent.replace("weight 1", "weight 3", 1))
        os.kill(lab.router_pids(lab.routers[0])[0], signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "10.99.0.12:8080              Masq    3" not in (listed := ipvsadm_listing(lab)):
            assert time.monotonic() < deadline, listed
            time.sleep(0.1)
        assert {source: set(requests(lab, 2, source)) for source in SH_SOURCES} == first

        health[2].terminate()
        wait_for_servers(lab, 1)
        assert {server for source in SH_SOURCES for server in requests(lab, 2, source)} == {"r3"}


RELOADER = """
import logging, sys, time
from pykeepalived.io.nftables import NftablesPlane, open_nftables
from pykeepalived.lb.table import IpProtocol, Destination, DestinationKey, Service, ServiceKey, plan
vip = ServiceKey(IpProtocol.TCP, "10.99.1.1", 80)
real = {DestinationKey(address, 8080): Destination(1) for address in ("10.99.0.12", "10.99.0.13")}
plane = NftablesPlane(open_nftables(), logging.getLogger("reload"), state_file=sys.argv[1])
plane.apply(plan({vip: Service("rr", destinations=real)}, plane.read()))
# What the kernel holds reads back as the table applied.
assert plane.read() == {vip: Service("rr", destinations=real)}, plane.read()
print("serving", flush=True)
sys.stdin.readline()
many = dict(real)
many.update({DestinationKey(f"10.99.{200 + n // 250}.{1 + n % 250}", 8080): Destination(1) for n in range(998)})
started = time.perf_counter()
plane.apply(plan({vip: Service("wrr", destinations=many)}, plane.read()))
print(f"reloaded {len(many)} {1000 * (time.perf_counter() - started):.1f}", flush=True)
sys.stdin.readline()
plane.close()
assert plane.read() == {}
"""


def test_a_reload_to_1000_real_servers_drops_no_open_connection() -> None:
    with Lab(f"nr{secrets.token_hex(3)}", routers=3) as lab:
        build_nat(lab)
        for real in lab.routers[1:]:
            start_named_web_server(lab, real)
        reloader = subprocess.Popen(
            ["ip", "netns", "exec", lab.routers[0].namespace, sys.executable, "-c", RELOADER,
             str(lab.workdir / "nftables.json")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        lab.started.append(reloader)
        assert reloader.stdin is not None and reloader.stdout is not None
        assert reloader.stdout.readline().strip() == "serving"
        wait_for_answers(lab, {"r2", "r3"}, within=10)
        held = [hold_connection(lab) for _ in range(10)]
        reloader.stdin.write("reload\n")
        reloader.stdin.flush()
        _, members, milliseconds = reloader.stdout.readline().split()
        answers = Counter(finish(holder) for holder in held)
        assert answers == {"r2": 5, "r3": 5}, answers
        reloader.stdin.write("stop\n")
        reloader.stdin.flush()
        reloader.wait(timeout=10)
        print(f"one transaction to {members} real servers: {milliseconds} ms; 10 open connections all finished")


UDP_PORT = 5353
UDP_SERVER = """
import socket, sys
server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind((sys.argv[1], int(sys.argv[2])))
while True:
    _, sender = server.recvfrom(512)
    server.sendto(sys.argv[3].encode(), sender)
"""
UDP_CLIENT = """
import json, socket, sys
answers = []
for _ in range(int(sys.argv[3])):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(2)
        client.sendto(b"who", (sys.argv[1], int(sys.argv[2])))
        try:
            answers.append(client.recv(512).decode())
        except OSError as error:
            answers.append("failed: %s" % error)
print(json.dumps(answers))
"""


def udp_config(lab: Lab) -> str:
    return virtual_server(lab, f"{VIP} 53", UDP_PORT, protocol="UDP")


def test_udp_services_are_balanced_per_flow() -> None:
    with Lab(f"nu{secrets.token_hex(3)}", routers=3) as lab:
        build_nat(lab)
        for real in lab.routers[1:]:
            start_web_server(lab, real, lab.workdir, HEALTH_PORT)
            server = subprocess.Popen(
                ["ip", "netns", "exec", real.namespace, sys.executable, "-c", UDP_SERVER, real.address,
                 str(UDP_PORT), f"r{real.index}"],
            )  # fmt: skip
            lab.started.append(server)
        start_balancer(lab, udp_config(lab))
        wait_for_both_servers(lab)
        client = [sys.executable, "-c", UDP_CLIENT, VIP, "53", "20"]
        answers = json.loads(run("ip", "netns", "exec", lab.client, *client).stdout)
        assert Counter(answers) == {"r2": 10, "r3": 10}, answers


def test_wlc_follows_the_connection_counts_and_lvs_timeouts_apply() -> None:
    with Lab(f"nw{secrets.token_hex(3)}", routers=3) as lab:
        build_nat(lab)
        health = start_checked_web_servers(lab)
        health[3].terminate()
        start_balancer(lab, "global_defs {\n    lvs_timeouts tcp 100\n}\n" + config(lab, "wlc"))
        wait_for_answers(lab, {"r2"}, within=10)
        held = [hold_connection(lab) for _ in range(6)]
        assert all(0 < timeout <= 100 for timeout in established_timeouts(lab))  # lvs_timeouts
        connections = ipvsadm_listing(lab, "-Lnc")
        rows = [line.split() for line in connections.splitlines()[2:]]
        established = [row for row in rows if row[2] == "ESTABLISHED"]
        assert len(established) == 6 and connections.startswith(CONNECTIONS_HEADER), connections
        assert all(row[0] == "TCP" and row[1] <= "01:40" for row in established), connections
        assert {(row[4], row[5]) for row in established} == {("10.99.1.1:80", "10.99.0.12:8080")}, connections
        health[3] = start_web_server(lab, lab.routers[2], lab.workdir, HEALTH_PORT)
        wait_for_both_servers(lab)
        time.sleep(2.5)  # conntrack's counts reach the map within a second or two
        # r2 holds 6 open connections, r3 none: wlc gives r3 the next ones (rr would alternate).
        assert Counter(requests(lab, 6)) == {"r3": 6}
        assert sorted(finish(holder) for holder in held) == ["r2"] * 6


def test_a_server_at_its_upper_threshold_gets_no_new_connection() -> None:
    with Lab(f"nt{secrets.token_hex(3)}", routers=3) as lab:
        build_nat(lab)
        start_checked_web_servers(lab)
        start_balancer(
            lab, config(lab, "rr").replace("        weight 1\n", "        weight 1\n        uthreshold 5\n", 1)
        )
        wait_for_both_servers(lab)
        held = [hold_connection(lab) for _ in range(6)]
        assert Counter(requests(lab, 4)) == {"r2": 2, "r3": 2}
        # r2 now has 3 open connections and 2 closing ones: 5, its upper threshold (IPVS counts both kinds).
        time.sleep(2.5)
        assert Counter(requests(lab, 6)) == {"r3": 6}
        assert Counter(finish(holder) for holder in held) == {"r2": 3, "r3": 3}


MARKER = """table ip marker {
    chain prerouting {
        type filter hook prerouting priority mangle; policy accept;
        ip daddr 10.99.1.1 tcp dport 80 meta mark set 5
    }
}
"""


def test_a_fwmark_service_balances_the_packets_the_firewall_marked() -> None:
    with Lab(f"nm{secrets.token_hex(3)}", routers=3) as lab:
        build_nat(lab)
        for real in lab.routers[1:]:
            root = lab.workdir / f"www{real.index}"
            root.mkdir()
            (root / "who").write_text(f"r{real.index}")
            # A fwmark service's real servers have no port: the client's port (80) reaches them.
            start_web_server(lab, real, root, PORT)
            start_web_server(lab, real, lab.workdir, HEALTH_PORT)
        (lab.workdir / "marker.nft").write_text(MARKER)
        run("ip", "netns", "exec", lab.routers[0].namespace, "nft", "-f", str(lab.workdir / "marker.nft"))
        start_balancer(lab, virtual_server(lab, "fwmark 5", PORT))
        wait_for_both_servers(lab)
        assert Counter(requests(lab, 20)) == {"r2": 10, "r3": 10}
        assert "FWM  5 rr" in ipvsadm_listing(lab)


def test_direct_routing_sends_the_frames_to_the_real_servers_macs() -> None:
    """LVS-DR: the real servers hold the VIP on lo (not answering ARP for it) and reply to the client
    directly; the balancer only rewrites the frame's MAC addresses at its device's ingress."""
    with Lab(f"nd{secrets.token_hex(3)}", routers=3) as lab:
        balancer = lab.routers[0]
        run("ip", "-n", lab.client, "route", "add", f"{VIP}/32", "via", balancer.address)
        health = {}
        for real in lab.routers[1:]:
            for setting in ("net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"):
                run("ip", "netns", "exec", real.namespace, "sysctl", "-q", "-w", setting)
            run("ip", "-n", real.namespace, "addr", "add", f"{VIP}/32", "dev", "lo")
            start_named_web_server(lab, real, PORT, VIP)
            health[real.index] = start_web_server(lab, real, lab.workdir, HEALTH_PORT)
        start_balancer(lab, virtual_server(lab, f"{VIP} {PORT}", PORT, kind="DR"))
        wait_for_answers(lab, {"r2", "r3"}, within=15)
        answers = Counter(requests(lab, 40))
        assert set(answers) == {"r2", "r3"} and min(answers.values()) >= 5, answers
        assert "Route" in ipvsadm_listing(lab)
        health[2].terminate()
        # Hashing, a few answers from r3 alone prove nothing: wait for the table to lose r2.
        wait_for_servers(lab, 1)
        assert Counter(requests(lab, 20)) == {"r3": 20}


VIP6, LAN6 = "2001:db8:1::1", "2001:db8::{}"
CLIENT6 = LAN6.format("fe")


def test_direct_routing_over_ipv6_uses_the_neighbour_table() -> None:
    """LVS-DR for an IPv6 service: the real servers' MAC addresses come from neighbour discovery."""
    with Lab(f"n6{secrets.token_hex(3)}", routers=3) as lab:
        balancer = lab.routers[0]
        for namespace, host in ((lab.client, "fe"), *((router.namespace, str(router.index)) for router in lab.routers)):
            run("ip", "-n", namespace, "addr", "add", f"{LAN6.format(host)}/64", "dev", "eth0", "nodad")
        run("ip", "-n", lab.client, "route", "add", f"{VIP6}/128", "via", LAN6.format(balancer.index))
        health = {}
        for real in lab.routers[1:]:
            run("ip", "-n", real.namespace, "addr", "add", f"{VIP6}/128", "dev", "lo")
            start_named_web_server(lab, real, PORT, VIP6)
            health[real.index] = start_web_server(lab, real, lab.workdir, HEALTH_PORT, LAN6.format(real.index))
        reals = "".join(
            f"    real_server {LAN6.format(real.index)} {PORT} {{\n        TCP_CHECK {{\n"
            f"            connect_port {HEALTH_PORT}\n            connect_timeout 0.5\n        }}\n    }}\n"
            for real in lab.routers[1:]
        )
        start_balancer(
            lab,
            f"virtual_server {VIP6} {PORT} {{\n    delay_loop 0.5\n    lb_algo rr\n    lb_kind DR\n"
            f"    protocol TCP\n{reals}}}\n",
        )

        def ask(count: int) -> Counter[str]:
            script = [sys.executable, "-c", CLIENT_SCRIPT, str(count), VIP6, str(PORT), ""]
            return Counter(json.loads(run("ip", "netns", "exec", lab.client, *script).stdout))

        deadline = time.monotonic() + 15
        while set(answers := ask(6)) != {"r2", "r3"}:
            ruleset = run("ip", "netns", "exec", balancer.namespace, "nft", "list", "ruleset").stdout
            assert time.monotonic() < deadline, f"{answers}\n{ruleset}\n" + "\n".join(lab.log_lines(balancer))
            time.sleep(0.2)
        answers = ask(40)
        assert set(answers) == {"r2", "r3"} and min(answers.values()) >= 5, answers
        health[2].terminate()
        deadline = time.monotonic() + 10
        while "[2001:db8::2]:80" in (listed := ipvsadm_listing(lab)):
            assert time.monotonic() < deadline, listed
            time.sleep(0.1)
        assert ask(20) == {"r3": 20}
