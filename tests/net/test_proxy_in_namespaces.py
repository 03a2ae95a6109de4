"""`pykeepalived -C` with the userspace proxy in a namespace lab: a client's requests to the virtual server
reach the real servers round robin, `pykeepalivedctl ipvsadm -Ln` lists them, and a server that fails its
check stops getting them."""

from __future__ import annotations

import glob
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter

from servers import PORT, VIP, finish, hold_connection, requests, start_named_web_server, wait_for_answers

from pykeepalived.lab.netns import Lab, Router, run


def config(lab: Lab) -> str:
    reals = "".join(
        f"""    real_server {r.address} 8080 {{
        weight 1
        TCP_CHECK {{
            connect_timeout 0.5
        }}
    }}
"""
        for r in lab.routers[1:]
    )
    return f"""virtual_server {VIP} {PORT} {{
    delay_loop 0.5
    lb_algo rr
    lb_kind NAT
    protocol TCP
{reals}}}
"""


def test_the_proxy_balances_round_robin_and_follows_the_checks() -> None:
    with Lab(f"px{secrets.token_hex(3)}", routers=3) as lab:
        balancer = lab.routers[0]
        servers = serve_behind_the_balancer(lab)
        lab.start_router(balancer, config(lab), "-C", "--dataplane", "proxy", "-c", str(lab.workdir / "r1.vrrp.pid"))
        wait_for_answers(lab, {"r2", "r3"}, within=10)
        assert Counter(requests(lab, 40)) == {"r2": 20, "r3": 20}
        listed = run(sys.executable, "-m", "pykeepalived.cli.ctl", "ipvsadm", "-Ln").stdout
        assert listed.splitlines()[3:] == [
            "TCP  10.99.1.1:80 rr",
            "  -> 10.99.0.12:8080              Masq    1      0          0         ",
            "  -> 10.99.0.13:8080              Masq    1      0          0         ",
        ]
        servers[2].send_signal(signal.SIGTERM)
        wait_for_answers(lab, {"r3"}, within=5)
        assert Counter(requests(lab, 20)) == {"r3": 20}
        log = "\n".join(lab.log_lines(balancer))
        assert "Removing service [10.99.0.12]:tcp:8080 from VS [10.99.1.1]:tcp:80" in log
        ours = [pid for pid in proxy_pids() if in_namespace(pid, balancer)]
        assert len(ours) == 1, ours
    assert not os.path.exists(f"/proc/{ours[0]}"), "the proxy process outlived the daemon"


def serve_behind_the_balancer(lab: Lab) -> dict[int, subprocess.Popen[bytes]]:
    """What VRRP would do on the master (the VIP on the balancer, the client's route to it), and a named
    web server on each real server."""
    balancer = lab.routers[0]
    run("ip", "-n", balancer.namespace, "addr", "add", f"{VIP}/32", "dev", "lo")
    run("ip", "-n", lab.client, "route", "add", f"{VIP}/32", "via", balancer.address)
    return {real.index: start_named_web_server(lab, real) for real in lab.routers[1:]}


def in_namespace(pid: int, router: Router) -> bool:
    identify = run("ip", "netns", "identify", str(pid), check=False).stdout.strip()
    return identify == router.namespace


def test_several_proxy_workers_share_the_virtual_server() -> None:
    with Lab(f"pw{secrets.token_hex(3)}", routers=3) as lab:
        balancer = lab.routers[0]
        serve_behind_the_balancer(lab)
        lab.start_router(balancer, config(lab), "-C", "--dataplane", "proxy", "--proxy-workers", "2",
                         "-c", str(lab.workdir / "r1.vrrp.pid"))  # fmt: skip
        wait_for_answers(lab, {"r2", "r3"}, within=10)
        assert set(requests(lab, 40)) == {"r2", "r3"}
        workers = [pid for pid in proxy_pids() if in_namespace(pid, balancer)]
        assert len(workers) == 2, workers
        shared = glob.glob("/dev/shm/pykeepalived-proxy-*")
        assert shared, "no shared connection counts"
        listed = run(sys.executable, "-m", "pykeepalived.cli.ctl", "ipvsadm", "-Ln").stdout
        assert listed.count("  -> 10.99.0.1") == 2, listed
    assert not any(os.path.exists(f"/proc/{pid}") for pid in workers), "a proxy worker outlived the daemon"
    assert not any(os.path.exists(path) for path in shared), "the shared counts file was left behind"


def proxy_pids() -> list[int]:
    return [int(pid) for pid in run("pgrep", "-f", "pykeepalived.daemon.proxy_worker", check=False).stdout.split()]


def test_sighup_reloads_the_table_keeping_open_connections_and_a_bad_file_changes_nothing() -> None:
    with Lab(f"ph{secrets.token_hex(3)}", routers=3) as lab:
        balancer = lab.routers[0]
        serve_behind_the_balancer(lab)
        lab.start_router(balancer, config(lab), "-C", "--dataplane", "proxy", "-c", str(lab.workdir / "r1.vrrp.pid"))
        wait_for_answers(lab, {"r2", "r3"}, within=10)
        held = [hold_connection(lab) for _ in range(4)]
        proxy_before = [pid for pid in proxy_pids() if in_namespace(pid, balancer)]
        supervisor = lab.router_pids(balancer)[0]

        (lab.workdir / "r1.conf").write_text(config(lab).replace("weight 1", "weight 3", 1))
        os.kill(supervisor, signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "10.99.0.12:8080              Masq    3" not in (listed := ipvsadm_lines()):
            assert time.monotonic() < deadline, listed
            time.sleep(0.1)
        assert sorted(finish(holder) for holder in held) == ["r2", "r2", "r3", "r3"]
        assert [pid for pid in proxy_pids() if in_namespace(pid, balancer)] == proxy_before

        # A keyword without its value: keepalived's parser gives up on the file (a bad value it would only ignore).
        (lab.workdir / "r1.conf").write_text("virtual_server 10.99.1.1 80 {\n    lb_algo\n")
        os.kill(supervisor, signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "Reload failed" not in (log := "\n".join(lab.log_lines(balancer))):
            assert time.monotonic() < deadline, log
            time.sleep(0.1)
        assert "10.99.0.12:8080              Masq    3" in ipvsadm_lines()
        assert set(requests(lab, 8)) == {"r2", "r3"}
        assert log.count("Reloading configuration file") == 2
        assert log.count("Activating healthchecker") == 2  # at start only: the reload kept both servers


def ipvsadm_lines() -> str:
    return run(sys.executable, "-m", "pykeepalived.cli.ctl", "ipvsadm", "-Ln").stdout


def test_the_proxy_keeps_relaying_while_its_checker_restarts() -> None:
    with Lab(f"pk{secrets.token_hex(3)}", routers=3) as lab:
        balancer = lab.routers[0]
        servers = serve_behind_the_balancer(lab)
        lab.start_router(balancer, config(lab), "-C", "--dataplane", "proxy", "-c", str(lab.workdir / "r1.vrrp.pid"))
        wait_for_answers(lab, {"r2", "r3"}, within=10)
        workers = [pid for pid in proxy_pids() if in_namespace(pid, balancer)]
        held = hold_connection(lab)
        checker = lab.router_pids(balancer)[1]

        os.kill(checker, signal.SIGKILL)
        # The workers are the supervisor's: they relay with the last table while the checker is gone.
        assert set(requests(lab, 6)) == {"r2", "r3"}
        assert finish(held) in ("r2", "r3")
        deadline = time.monotonic() + 10
        while lab.router_pids(balancer)[1:] in ([checker], []):
            assert time.monotonic() < deadline, "the checker was not respawned"
            time.sleep(0.05)

        # The new checker's table reaches the same worker.
        servers[2].send_signal(signal.SIGTERM)
        wait_for_answers(lab, {"r3"}, within=10)
        assert [pid for pid in proxy_pids() if in_namespace(pid, balancer)] == workers
