"""Run inside the user-mode-linux guest (tests/net/test_ipvs_in_user_mode_linux.py boots it): a kernel with
IPVS and IPIP tunnels. Real servers prepared by `pykeepalivedctl realserver` serve a client through the
VIP behind pykeepalived's IPVS data plane, in DR mode and in TUN mode (where setup relaxes a strict
rp_filter on the tunnel and teardown puts it back)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections import Counter

from servers import PORT, VIP, requests, start_named_web_server, start_web_server, wait_for_answers

from pykeepalived.lab.netns import Lab, Router, run

HEALTH_PORT = 8081
STRICT_RP_FILTER = ("net.ipv4.conf.all.rp_filter=1", "net.ipv4.conf.default.rp_filter=1")

if os.environ.get("PYKEEPALIVED_IN_UML") != "1":
    raise RuntimeError("this runs inside the IPVS guest: tests/net/test_ipvs_in_user_mode_linux.py boots it")


def realserver(router: Router, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pykeepalived.cli.ctl", "realserver", *arguments, "--vip", VIP]
    return run("ip", "netns", "exec", router.namespace, *command, check=False)


def sysctl(router: Router, name: str) -> str:
    return run("ip", "netns", "exec", router.namespace, "sysctl", "-n", name).stdout.strip()


def director_config(lab: Lab, kind: str) -> str:
    reals = "".join(
        f"    real_server {real.address} {PORT} {{\n        TCP_CHECK {{\n            connect_port {HEALTH_PORT}\n"
        "            connect_timeout 0.5\n        }\n    }\n"
        for real in lab.routers[1:]
    )
    return (
        f"virtual_server {VIP} {PORT} {{\n    delay_loop 0.5\n    lb_algo rr\n    lb_kind {kind}\n"
        f"    protocol TCP\n{reals}}}\n"
    )


def ipvs_table(lab: Lab) -> str:
    return run("ip", "netns", "exec", lab.routers[0].namespace, "ipvsadm", "-Ln").stdout


def director_state(lab: Lab) -> str:
    """The director's IPVS table and log."""
    return "\n".join([ipvs_table(lab), *lab.log_lines(lab.routers[0])])


def serve_through_the_director(lab: Lab, kind: str) -> Counter[str]:
    director = lab.routers[0]
    lab.start_router(director, director_config(lab, kind), "-C", "--dataplane", "ipvs",
                     "-c", str(lab.workdir / "r1.checkers.pid"))  # fmt: skip
    try:
        try:
            wait_for_answers(lab, {"r2", "r3"}, within=15)
        except AssertionError as failure:
            raise AssertionError("\n".join([str(failure), director_state(lab)])) from failure
        assert ipvs_table(lab).count("Tunnel" if kind == "TUN" else "Route") == 2, director_state(lab)
        return Counter(requests(lab, 20))
    finally:
        assert director.process is not None
        director.process.terminate()
        director.process.wait(timeout=10)


def test_real_servers_prepared_by_the_command_serve_behind_ipvs_in_dr_then_tun_mode() -> None:
    with Lab(f"ug{secrets.token_hex(3)}", routers=3) as lab:
        run("ip", "-n", lab.routers[0].namespace, "addr", "add", f"{VIP}/32", "dev", "eth0")
        run("ip", "-n", lab.client, "route", "add", f"{VIP}/32", "dev", "eth0")
        reals = lab.routers[1:]
        for real in reals:
            run("ip", "netns", "exec", real.namespace, "sysctl", "-q", "-w", *STRICT_RP_FILTER)
            # On every address: the VIP moves from lo to tunl0 between the two halves.
            start_named_web_server(lab, real, PORT, "0.0.0.0")
            start_web_server(lab, real, lab.workdir, HEALTH_PORT)

        for real in reals:
            assert realserver(real, "setup").returncode == 0
            assert realserver(real, "check").stdout == f"ok: a DR real server for {VIP}\n"
        answers = serve_through_the_director(lab, "DR")
        assert answers == {"r2": 10, "r3": 10}, answers
        print(f"DR behind IPVS: {dict(answers)}")

        for real in reals:
            assert realserver(real, "teardown").returncode == 0
            assert sysctl(real, "net.ipv4.conf.all.arp_ignore") == "0"
            before = realserver(real, "check", "--mode", "tun")
            assert before.returncode == 1, before.stdout
            tun = realserver(real, "setup", "--mode", "tun")
            assert tun.returncode == 0, tun.stderr
            changes = tun.stdout.splitlines()
            assert {"brought tunl0 up", f"added {VIP} to tunl0", "net.ipv4.conf.all.rp_filter: 1 -> 2",
                    "net.ipv4.conf.tunl0.rp_filter: 1 -> 0"} <= set(changes), changes  # fmt: skip
            assert realserver(real, "setup", "--mode", "tun").stdout.startswith("nothing to change")
            checked = realserver(real, "check", "--mode", "tun")
            assert checked.stdout == f"ok: a TUN real server for {VIP}\n", checked.stdout
        answers = serve_through_the_director(lab, "TUN")
        assert answers == {"r2": 10, "r3": 10}, answers
        print(f"TUN behind IPVS: {dict(answers)}")

        for real in reals:
            undone = realserver(real, "teardown", "--mode", "tun")
            assert "brought tunl0 down" in undone.stdout.splitlines(), undone.stdout
            assert sysctl(real, "net.ipv4.conf.all.rp_filter") == "1"
            assert sysctl(real, "net.ipv4.conf.tunl0.rp_filter") == "1"
