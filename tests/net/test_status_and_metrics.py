"""`pykeepalivedctl status` and the Prometheus endpoint of a running daemon, asked from inside its namespace."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from prometheus_client.parser import text_string_to_metric_families
from test_tracking_in_namespaces import with_script
from test_vrrp_failover import VIP, expect_holder

from pykeepalived.lab.netns import Lab, Router, vrrp_config

METRICS_PORT = 9650
VIRTUAL_SERVER = """virtual_server 10.99.2.1 80 {{
    delay_loop 0.2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {address} 8080 {{
        TCP_CHECK {{
            connect_timeout 0.2
        }}
    }}
}}
"""
SCRAPE = (
    "import urllib.request; "
    f"print(urllib.request.urlopen('http://127.0.0.1:{METRICS_PORT}/metrics', timeout=5).read().decode())"
)


def in_router(router: Router, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", router.namespace, *command], capture_output=True, text=True, timeout=30
    )


def test_status_and_metrics_show_the_instance_the_tracking_and_the_real_server(lab: Lab) -> None:
    first, second = lab.routers
    flag = lab.workdir / "up"
    flag.touch()
    config = with_script(vrrp_config(first, 200, VIP, 3, 0.1), flag, -150) + VIRTUAL_SERVER.format(
        address=second.address
    )
    checker_pidfile = str(lab.workdir / "r1.check.pid")
    lab.start_router(
        first, config, "-C", "-c", checker_pidfile, "--dataplane", "memory", "--metrics", f"127.0.0.1:{METRICS_PORT}"
    )
    expect_holder(lab, first, within=3)
    pidfile = str(lab.workdir / "r1.pid")
    ctl = [sys.executable, "-m", "pykeepalived.cli.ctl", "status", "-p", pidfile]

    # Nothing listens on the real server: its check fails and it is DOWN.
    deadline = time.monotonic() + 5
    while True:
        answer = in_router(first, *ctl, "--json")
        assert answer.returncode == 0, answer.stderr
        status = json.loads(answer.stdout)
        real = status["checker"]["virtual_servers"][0]["real_servers"][0]
        if real["alive"] is False:
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    instance = status["vrrp"]["instances"][0]
    assert (instance["name"], instance["state"], instance["vrid"], instance["effective_priority"]) == (
        "VI_1",
        "MASTER",
        51,
        200,
    )
    assert instance["vips"] == [VIP] and instance["vips_set"]
    assert instance["tracking"] == [{"kind": "script", "name": "chk_flag", "weight": -150, "status": True}]
    assert status["checker"]["dataplane"] == "memory"
    assert (real["address"], real["port"], real["in_table"]) == (second.address, 8080, False)

    listing = in_router(first, *ctl).stdout
    assert "  VI_1: MASTER, VRID 51 on eth0, priority 200, master" in listing
    assert f"    [{second.address}]:8080 DOWN, weight 1" in listing

    scraped = in_router(first, sys.executable, "-c", SCRAPE)
    assert scraped.returncode == 0, scraped.stderr
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scraped.stdout)
        for sample in family.samples
    }
    assert samples[("keepalived_up", ())] == 1
    vrrp_labels = (("iname", "VI_1"), ("intf", "eth0"), ("state", "MASTER"), ("vrid", "51"))
    assert (
        samples[("keepalived_vrrp_state", (("iname", "VI_1"), ("intf", "eth0"), ("ip_address", VIP), ("vrid", "51")))]
        == 2
    )
    assert samples[("keepalived_advertisements_sent_total", vrrp_labels)] >= 1
    assert samples[("keepalived_become_master_total", vrrp_labels)] == 1
    assert samples[("keepalived_script_status", (("name", "chk_flag"),))] == 1
    real_labels = (("local_address", "10.99.2.1"), ("local_mark", ""), ("local_port", "80"), ("proto", "TCP"),
                   ("remote_address", second.address), ("remote_port", "8080"))  # fmt: skip
    assert samples[("pykeepalived_real_server_up", real_labels)] == 0
    assert samples[("pykeepalived_check_failures_total", (("checker", "TCP_CHECK"), ("reason", "refused")))] >= 1


def test_status_says_when_the_daemon_is_not_running() -> None:
    answer = subprocess.run(
        [sys.executable, "-m", "pykeepalived.cli.ctl", "status", "-p", "/nonexistent/keepalived.pid"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert answer.returncode == 3
    assert "pykeepalived is not running" in answer.stderr
