"""keepalived's checker dump (keepalived_check.data) from a snapshot; tests/interop/test_check_dump_file.py
compares the whole file with keepalived's."""

from __future__ import annotations

from memfs import config_from

from pykeepalived.check.dumps import (
    CheckerView,
    CheckSnapshot,
    RealServerView,
    VirtualServerView,
    check_data_text,
)
from pykeepalived.check.policy import CheckerPolicy, RealServerPolicy, VirtualServerPolicy
from pykeepalived.config.global_dump import ProcessFacts
from pykeepalived.lb.table import DestinationKey, IpProtocol, ServiceKey

FACTS = ProcessFacts("host1", 0o177, (0, 0), vrrp=False)
CONFIG = """virtual_server 10.99.1.1 80 {
    delay_loop 2
    lb_algo sh
    lb_kind NAT
    protocol TCP
    quorum 2
    sorry_server 10.99.0.99 8080
    real_server 10.99.0.12 8080 {
        weight 3
        notify_up /bin/up
        HTTP_GET {
            url {
                path /health
                status_code 200-204 301
            }
        }
    }
}
"""


def snapshot(up: bool) -> CheckSnapshot:
    config = config_from(CONFIG).config
    server = config.virtual_server[0]
    checker = CheckerPolicy(retry=1, up=up, has_run=True)
    real = RealServerPolicy(DestinationKey("10.99.0.12", 8080), 3, False, [checker])
    policy = VirtualServerPolicy(ServiceKey(IpProtocol.TCP, "10.99.1.1", 80), "sh", [real], quorum=2)
    rs_view = RealServerView(server.real_server[0], real, in_table=up, notify_up=("'/bin/up'", 0, 0))
    vs_view = VirtualServerView(server, policy, (rs_view,), in_table=True, smtp_alert=False)
    http = server.real_server[0].http_checks[0]
    check = CheckerView(
        "[10.99.1.1]:tcp:80", "[10.99.0.12]:tcp:8080", "HTTP_GET", checker, False, 2.0, 0.0, 3.0, False,
        "[10.99.0.12]:8080", None, 5.0, http, urls=(("/health", ((200, 204), (301, 301))),),
    )  # fmt: skip
    return CheckSnapshot(config, FACTS, (vs_view,), (check,))


def test_virtual_and_real_server_lines() -> None:
    text = check_data_text(snapshot(up=True))
    topology = text.split("------< LVS Topology >------\n")[1].split("------< Health checkers >------")[0]
    lines = topology.splitlines()
    assert lines[:7] == [
        " System is compiled with LVS v1.2.1",
        " ------< Virtual server >------",
        " VS VIP = 10.99.1.1, VPORT = 80",
        "   Address family = inet",
        "   connection timeout = 5.000000",
        "   delay_loop = 2.000000",
        "   lvs_sched = sh",
    ]
    assert "   sh-port = disabled" in lines and "   flag-1 = disabled" not in lines
    assert "   quorum = 2, hysteresis = 0" in lines
    assert "   sorry server = [10.99.0.99]:tcp:8080" in lines
    assert "   RIP = 10.99.0.12, RPORT = 8080, WEIGHT = 3 EFF WEIGHT = 3" in lines
    assert "     RS up notify script = '/bin/up', uid:gid 0:0" in lines
    assert lines[-4:] == ["   alive = 1", "   num failed checkers = 0", "   RS set = 1", "   reloaded = 0"]


def test_health_checker_lines() -> None:
    up = check_data_text(snapshot(up=True)).split("------< Health checkers >------\n")[1].splitlines()
    assert up[:5] == [
        " [10.99.1.1]:tcp:80 -> [10.99.0.12]:tcp:8080",
        "   Enabled = yes",
        "   Up = yes",
        "   Has run = yes",
        "   Current weight = 0",
    ]
    assert "   Delay loop = 2000000 us" in up and "   Delay before retry = 3000000 us" in up
    assert up[-8:] == [
        "     Timeout = 5.000000",
        "   Keepalive method = HTTP_GET, http protocol 1.0",
        "   Enable SNI unset",
        "   Fast recovery unset",
        "   Checked url = /health",
        "     HTTP Status Code(s)",
        "       200-204",
        "       301",
    ]
    down = check_data_text(snapshot(up=False)).splitlines()
    assert "   Up = no" in down and down[-1] == "   Failed URL = /health"
    assert "   num failed checkers = 1" in down and "   RS set = 0" in down
