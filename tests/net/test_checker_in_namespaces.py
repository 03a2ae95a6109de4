"""The checker process against real servers in namespaces: servers leave and rejoin the table, quorum and
the sorry server follow, notify scripts run."""

from __future__ import annotations

import json
import mailbox
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

from servers import start_web_server

from pykeepalived.lab.netns import Lab

STATS = Path("/tmp/pykeepalived_check.stats")
DELAY_LOOP, RETRY, CONNECT_TIMEOUT, DELAY_BEFORE_RETRY = 0.5, 1, 0.5, 0.2
# keepalived's bound for noticing a dead server: delay_loop + retry x (connect_timeout + delay_before_retry)
DETECTION = DELAY_LOOP + RETRY * (CONNECT_TIMEOUT + DELAY_BEFORE_RETRY)
SMTP_HOST, SMTP_PORT = "10.99.0.100", 2525


def checker_config(lab: Lab, notify: Path, sorry: str) -> str:
    reals = "".join(
        f"""    real_server {r.address} 8080 {{
        weight 1
        notify_up "{notify} up {r.address}"
        notify_down "{notify} down {r.address}"
        HTTP_GET {{
            url {{
                path /
                status_code 200
            }}
            connect_timeout {CONNECT_TIMEOUT}
            retry {RETRY}
            delay_before_retry {DELAY_BEFORE_RETRY}
        }}
    }}
"""
        for r in lab.routers[1:]
    )
    return f"""global_defs {{
    router_id lb1
    notification_email {{
        ops@example.org
    }}
    notification_email_from lb1@example.org
    smtp_server {SMTP_HOST} {SMTP_PORT}
    smtp_alert_checker
}}
virtual_server 10.99.1.1 80 {{
    delay_loop {DELAY_LOOP}
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    quorum_up "{notify} quorum up"
    quorum_down "{notify} quorum down"
    sorry_server {sorry} 8080
{reals}}}
"""


def table(lab: Lab) -> dict[str, object]:
    STATS.unlink(missing_ok=True)
    deadline = time.monotonic() + 5
    while len(pids := lab.router_pids(lab.routers[0])) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(pids[1], signal.SIGUSR2)
    deadline = time.monotonic() + 2
    while not STATS.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    data = json.loads(STATS.read_text())
    STATS.unlink()
    return data["[10.99.1.1]:tcp:80"]  # type: ignore[no-any-return]


def wait_for_table(lab: Lab, members: set[str], within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if set(cast(dict[str, object], table(lab)["table"])) == members:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"table is {table(lab)['table']}, expected {members}")


def test_real_servers_quorum_sorry_server_and_notify() -> None:
    with Lab(f"pc{secrets.token_hex(3)}", routers=3) as lab:
        run_scenario(lab)


def run_scenario(lab: Lab) -> None:
    balancer = lab.routers[0]
    notify = lab.workdir / "notify.sh"
    record = lab.workdir / "notify.log"
    notify.write_text(f'#!/bin/sh\necho "$@" >> {record}\n')
    notify.chmod(0o755)
    servers = {r.index: start_web_server(lab, r, lab.workdir) for r in lab.routers[1:]}
    maildir = lab.workdir / "maildir"
    mail_server = subprocess.Popen(
        ["ip", "netns", "exec", lab.client, sys.executable, "-m", "aiosmtpd", "-n", "-l", f"{SMTP_HOST}:{SMTP_PORT}",
         "-c", "aiosmtpd.handlers.Mailbox", str(maildir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    lab.started.append(mail_server)
    time.sleep(0.3)
    # The lab finds a router's processes by its pidfiles: the checker's goes where the VRRP one would.
    config = checker_config(lab, notify, "10.99.0.99")
    lab.start_router(balancer, config, "-C", "-c", str(lab.workdir / "r1.vrrp.pid"))
    both = {"[10.99.0.12]:8080", "[10.99.0.13]:8080"}
    wait_for_table(lab, both, within=5)
    stopped_at = time.monotonic()
    servers[2].send_signal(signal.SIGTERM)
    taken = wait_for_table(lab, {"[10.99.0.99]:8080"}, within=DETECTION + 2)
    assert time.monotonic() - stopped_at <= DETECTION + 0.5, taken
    log = "\n".join(lab.log_lines(balancer))
    assert "HTTP_GET on service [10.99.0.12]:tcp:8080 failed after 1 retries." in log
    assert "Removing service [10.99.0.12]:tcp:8080 from VS [10.99.1.1]:tcp:80" in log
    assert "Lost quorum 2-0=2 > 1 for VS [10.99.1.1]:tcp:80" in log
    assert "Adding sorry server [10.99.0.99]:tcp:8080 to VS [10.99.1.1]:tcp:80" in log
    servers[2] = start_web_server(lab, lab.routers[1], lab.workdir)
    wait_for_table(lab, both, within=DELAY_LOOP + 3)
    time.sleep(0.3)
    lines = record.read_text().splitlines()
    assert lines[:2] == ["down 10.99.0.12", "quorum down"]
    assert "up 10.99.0.12" in lines and "quorum up" in lines
    mails = mailbox_messages(maildir)
    subjects = [unfold(m["Subject"]) for m in mails]
    assert "[lb1] Realserver [10.99.0.12]:tcp:8080 of virtual server [10.99.1.1]:tcp:80 - DOWN" in subjects
    assert "[lb1] Virtualserver [10.99.1.1]:tcp:80 - DOWN" in subjects
    assert "[lb1] Realserver [10.99.0.12]:tcp:8080 of virtual server [10.99.1.1]:tcp:80 - UP" in subjects
    down = next(m for m in mails if unfold(m["Subject"]).endswith("8080 of virtual server [10.99.1.1]:tcp:80 - DOWN"))
    assert down["From"] == "lb1@example.org" and down["To"] == "ops@example.org"
    assert "=> HTTP GET failed on service <=" in down.get_payload()


def unfold(header: str) -> str:
    """Long subjects are folded onto several lines in the mail, as RFC 5322 allows."""
    return " ".join(str(header).split())


def mailbox_messages(path: Path) -> list[mailbox.MaildirMessage]:
    return list(mailbox.Maildir(str(path), create=False)) if path.exists() else []
