"""`pykeepalivedctl realserver` on namespace real servers behind a director in DR mode (the nftables data
plane): the director holds the VIP on its LAN interface and the client finds it by ARP, as on a real LAN.
Real servers prepared by the command serve the client through the VIP; setup twice changes nothing the
second time; teardown puts every sysctl back; `check` catches a real server prepared by hand without the
ARP settings (the client's own ARP requests for the VIP are then answered by it too); an IPv6 VIP needs
only its address on lo."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
from collections import Counter

from servers import CLIENT_SCRIPT, PORT, VIP, requests, start_named_web_server, start_web_server, wait_for_answers
from test_nftables_in_namespaces import HEALTH_PORT, LAN6, VIP6, start_balancer, virtual_server, wait_for_servers

from pykeepalived.lab.netns import Lab, Router, run

ARP_SYSCTLS = [f"net.ipv4.conf.{scope}.arp_{name}" for scope in ("all", "eth0") for name in ("ignore", "announce")]


def realserver(router: Router, *arguments: str, vip: str = VIP) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pykeepalived.cli.ctl", "realserver", *arguments, "--vip", vip]
    return run("ip", "netns", "exec", router.namespace, *command, check=False)


def sysctls(router: Router) -> dict[str, str]:
    out = run("ip", "netns", "exec", router.namespace, "sysctl", *ARP_SYSCTLS).stdout
    return dict(line.split(" = ") for line in out.splitlines())


def build_director(lab: Lab) -> None:
    """The director holds the VIP on eth0 (as its VRRP instance would); the client reaches it on the link."""
    run("ip", "-n", lab.routers[0].namespace, "addr", "add", f"{VIP}/32", "dev", "eth0")
    run("ip", "-n", lab.client, "route", "add", f"{VIP}/32", "dev", "eth0")


def macs_answering_for_the_vip(lab: Lab) -> set[str]:
    """The MAC addresses that answer the client's ARP requests for the VIP (every answer, for 1.5 s)."""
    out = run("ip", "netns", "exec", lab.client, "arping", "-c", "3", "-W", "0.3", "-w", "1.5", "-i", "eth0", VIP,
              check=False).stdout  # fmt: skip
    return set(re.findall(r"bytes from ([0-9a-f:]{17}) ", out))


def test_real_servers_prepared_by_the_command_serve_a_client_through_the_directors_vip() -> None:
    with Lab(f"rs{secrets.token_hex(3)}", routers=3) as lab:
        build_director(lab)
        reals = lab.routers[1:]
        before = {real.index: sysctls(real) for real in reals}
        for real in reals:
            first = realserver(real, "setup")
            assert first.returncode == 0, first.stderr
            assert f"added {VIP} to lo" in first.stdout.splitlines(), first.stdout
            assert "net.ipv4.conf.eth0.arp_ignore: 0 -> 1" in first.stdout.splitlines(), first.stdout
            again = realserver(real, "setup")
            assert (again.returncode, again.stdout) == (0, f"nothing to change: already set up for {VIP} (DR)\n")
            checked = realserver(real, "check")
            assert (checked.returncode, checked.stdout) == (0, f"ok: a DR real server for {VIP}\n"), checked.stdout
            assert set(sysctls(real).values()) == {"1", "2"}
            start_named_web_server(lab, real, PORT, VIP)
            start_web_server(lab, real, lab.workdir, HEALTH_PORT)
        start_balancer(lab, virtual_server(lab, f"{VIP} {PORT}", PORT, kind="DR"))
        wait_for_answers(lab, {"r2", "r3"}, within=15)
        answers = Counter(requests(lab, 40))
        assert set(answers) == {"r2", "r3"} and min(answers.values()) >= 5, answers
        # The client reached the VIP at the director's MAC address alone: the real servers kept quiet.
        assert macs_answering_for_the_vip(lab) == {lab.routers[0].mac}
        assert lab.client_neighbour_mac(VIP) == lab.routers[0].mac

        for real in reals:
            undone = realserver(real, "teardown")
            assert undone.returncode == 0 and f"removed {VIP}/32 on lo" in undone.stdout, undone.stdout
            assert sysctls(real) == before[real.index]
            assert realserver(real, "teardown").stdout == f"nothing to change: already torn down for {VIP} (DR)\n"
            checked = realserver(real, "check")
            assert checked.returncode == 1 and f"problem: {VIP} is not on lo" in checked.stdout, checked.stdout
        # Their health checks still pass (they are on the servers' own addresses), but without the VIP the
        # real servers drop what the director sends them.
        wait_for_servers(lab, 2)
        assert all(answer.startswith("failed") for answer in requests(lab, 2))


def test_check_catches_a_real_server_that_answers_arp_for_the_vip() -> None:
    with Lab(f"ra{secrets.token_hex(3)}", routers=3) as lab:
        build_director(lab)
        prepared, by_hand = lab.routers[1:]
        assert realserver(prepared, "setup").returncode == 0
        # The classic mistake: the VIP on lo, and nothing else.
        run("ip", "-n", by_hand.namespace, "addr", "add", f"{VIP}/32", "dev", "lo")

        assert realserver(prepared, "check").returncode == 0
        checked = realserver(by_hand, "check")
        assert checked.returncode == 1, checked.stdout
        problems = checked.stdout.splitlines()
        assert f"problem: eth0 answered an ARP request for {VIP}" in "\n".join(problems), checked.stdout
        assert any(line.startswith("problem: arp_ignore is 0 on eth0") for line in problems), checked.stdout
        # What it means, seen from the client: two MAC addresses answer for the VIP.
        assert macs_answering_for_the_vip(lab) == {lab.routers[0].mac, by_hand.mac}

        fixed = realserver(by_hand, "setup")
        assert fixed.returncode == 0 and f"added {VIP} to lo" not in fixed.stdout, fixed.stdout
        assert realserver(by_hand, "check").returncode == 0
        assert macs_answering_for_the_vip(lab) == {lab.routers[0].mac}
        # The probe namespaces and links are gone.
        assert not [name for name in run("ip", "netns", "list").stdout.split() if name.startswith("pykeepalived-arp-")]
        links = run("ip", "-n", by_hand.namespace, "-o", "link").stdout
        assert "pkarp" not in links, links
        for real in (prepared, by_hand):
            assert realserver(real, "teardown").returncode == 0


def test_real_servers_prepared_for_an_ipv6_vip_serve_through_the_director() -> None:
    """IPv6: setup only puts the VIP on lo (Linux answers neighbour solicitations only for the addresses of the
    interface asked on); the client finds the VIP at the director by neighbour discovery."""
    with Lab(f"r6{secrets.token_hex(3)}", routers=3) as lab:
        director, reals = lab.routers[0], lab.routers[1:]
        for namespace, host in ((lab.client, "fe"), *((router.namespace, str(router.index)) for router in lab.routers)):
            run("ip", "-n", namespace, "addr", "add", f"{LAN6.format(host)}/64", "dev", "eth0", "nodad")
        run("ip", "-n", director.namespace, "addr", "add", f"{VIP6}/128", "dev", "eth0", "nodad")
        run("ip", "-n", lab.client, "route", "add", f"{VIP6}/128", "dev", "eth0")
        for real in reals:
            prepared = realserver(real, "setup", vip=VIP6)
            assert (prepared.returncode, prepared.stdout) == (0, f"added {VIP6} to lo\n"), prepared.stdout
            checked = realserver(real, "check", vip=VIP6)
            assert checked.stdout == f"ok: a DR real server for {VIP6}\n", checked.stdout
            start_named_web_server(lab, real, PORT, VIP6)
            start_web_server(lab, real, lab.workdir, HEALTH_PORT, LAN6.format(real.index))
        reals_config = "".join(
            f"    real_server {LAN6.format(real.index)} {PORT} {{\n        TCP_CHECK {{\n"
            f"            connect_port {HEALTH_PORT}\n            connect_timeout 0.5\n        }}\n    }}\n"
            for real in reals
        )
        start_balancer(lab, f"virtual_server {VIP6} {PORT} {{\n    delay_loop 0.5\n    lb_algo rr\n    lb_kind DR\n"
                            f"    protocol TCP\n{reals_config}}}\n")  # fmt: skip

        def ask(count: int) -> Counter[str]:
            script = [sys.executable, "-c", CLIENT_SCRIPT, str(count), VIP6, str(PORT), ""]
            return Counter(json.loads(run("ip", "netns", "exec", lab.client, *script).stdout))

        deadline = time.monotonic() + 15
        while set(answers := ask(6)) != {"r2", "r3"}:
            assert time.monotonic() < deadline, answers
            time.sleep(0.2)
        # DR hashes each connection's source address and port: the split is by chance, so 40 connections
        # (one server below 5 of them: about 1 in 10 million).
        answers = ask(40)
        assert set(answers) == {"r2", "r3"} and min(answers.values()) >= 5, answers
        assert lab.client_neighbour_mac(VIP6) == director.mac
        for real in reals:
            assert realserver(real, "teardown", vip=VIP6).stdout == f"removed {VIP6}/128 on lo\n"
