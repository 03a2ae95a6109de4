"""Tracking and notification in namespaces: a failing check moves the VIP; scripts and the FIFO hear of it."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from test_vrrp_failover import VIP, expect_holder

from pykeepalived.lab.netns import Lab, run, vrrp_config


def script_block(flag: Path, weight: int) -> str:
    return (
        f'vrrp_script chk_flag {{\n    script "/usr/bin/test -e {flag}"\n    interval 0.2\n    fall 2\n    rise 2\n'
        f"    weight {weight}\n}}\n"
    )


def with_script(config: str, flag: Path, weight: int) -> str:
    head, instance = config.split("vrrp_instance", 1)
    instance = instance.replace(
        "    virtual_ipaddress {", "    track_script {\n        chk_flag\n    }\n    virtual_ipaddress {"
    )
    return head + script_block(flag, weight) + "vrrp_instance" + instance


def test_failing_track_script_moves_the_vip_and_back_after_rise(lab: Lab) -> None:
    first, second = lab.routers
    flag = lab.workdir / "nginx-is-up"
    flag.touch()
    lab.start_router(first, with_script(vrrp_config(first, 200, VIP, 3, 0.1), flag, -150))
    lab.start_router(second, vrrp_config(second, 100, VIP, 3, 0.1))
    expect_holder(lab, first, within=3)
    flag.unlink()
    # fall 2 x interval 0.2 s, then the backup's preemption at its next lower-priority advert.
    expect_holder(lab, second, within=0.2 * 2 + 0.5 + 1)
    flag.touch()
    expect_holder(lab, first, within=0.2 * 2 + 0.5 + 1)
    assert "Script `chk_flag` now returning 1" in "\n".join(lab.log_lines(first))


def test_an_unsafe_track_script_is_removed_from_its_instance_as_keepalived_does(lab: Lab) -> None:
    # Under enable_script_security, a script anyone can change is disabled and tracked no more: its weight
    # no longer counts (here it would hold r1 at 200 - 150 = 50, under r2).
    first, second = lab.routers
    flag = lab.workdir / "absent"
    unsafe = lab.workdir / "check.sh"
    unsafe.write_text(f"#!/bin/sh\ntest -e {flag}\n")
    unsafe.chmod(0o1777)
    lab.workdir.chmod(0o755)
    config = with_script(vrrp_config(first, 200, VIP, 3, 0.1), flag, -150).replace(
        f'script "/usr/bin/test -e {flag}"', f'script "{unsafe}"'
    )
    config = config.replace(
        "    router_id r1\n", "    router_id r1\n    enable_script_security\n    script_user root\n"
    )
    lab.start_router(first, config)
    lab.start_router(second, vrrp_config(second, 100, VIP, 3, 0.1))
    expect_holder(lab, first, within=3)
    time.sleep(1)
    assert lab.holders(VIP) == [first]
    log = "\n".join(lab.log_lines(first))
    assert f"Unsafe permissions found for script '{unsafe}' - disabling." in log
    assert "Disabling track script chk_flag due to insecure" in log


def test_weight_zero_script_failure_is_a_fault(lab: Lab) -> None:
    first, second = lab.routers
    flag = lab.workdir / "ok"
    flag.touch()
    lab.start_router(first, with_script(vrrp_config(first, 200, VIP, 3, 0.1), flag, 0))
    lab.start_router(second, vrrp_config(second, 100, VIP, 3, 0.1))
    expect_holder(lab, first, within=3)
    flag.unlink()
    expect_holder(lab, second, within=2)
    assert "(VI_1) Entering FAULT STATE" in "\n".join(lab.log_lines(first))


def test_tracked_interface_down_is_a_fault(lab: Lab) -> None:
    first, second = lab.routers
    lab.start_router(first, vrrp_config(first, 200, VIP, 3, 0.1, "track_interface {\n    lo\n}"))
    lab.start_router(second, vrrp_config(second, 100, VIP, 3, 0.1))
    expect_holder(lab, first, within=3)
    run("ip", "-n", first.namespace, "link", "set", "lo", "down")
    expect_holder(lab, second, within=2)
    run("ip", "-n", first.namespace, "link", "set", "lo", "up")
    expect_holder(lab, first, within=3)


def test_notify_scripts_and_fifo_in_transition_order(lab: Lab) -> None:
    first, second = lab.routers
    record = lab.workdir / "notify.log"
    notify = lab.workdir / "notify.sh"
    notify.write_text(f'#!/bin/sh\necho "$@" >> {record}\n')
    notify.chmod(0o755)
    master_script = lab.workdir / "master.sh"
    master_script.write_text(f"#!/bin/sh\necho master-script >> {record}.master\n")
    master_script.chmod(0o755)
    fifo = lab.workdir / "vrrp.fifo"
    lines: list[str] = []
    config = vrrp_config(first, 200, VIP, 3, 0.1, f'notify "{notify}"\nnotify_master "{master_script}"')
    config = config.replace("global_defs {", f"global_defs {{\n    vrrp_notify_fifo {fifo}")
    lab.start_router(first, config)
    deadline = time.monotonic() + 5
    while not fifo.exists() and time.monotonic() < deadline:
        time.sleep(0.01)

    def read_fifo() -> None:
        with open(fifo) as handle:
            for line in handle:
                lines.append(line.rstrip("\n"))

    threading.Thread(target=read_fifo, daemon=True).start()
    lab.start_router(second, vrrp_config(second, 100, VIP, 3, 0.1))
    expect_holder(lab, first, within=3)
    lab.signal_router(first, signal.SIGTERM)
    expect_holder(lab, second, within=2)
    time.sleep(0.5)
    assert lines[-2:] == ['INSTANCE "VI_1" MASTER 200', 'INSTANCE "VI_1" STOP 200']
    assert record.read_text().splitlines()[-3:] == [
        "INSTANCE VI_1 BACKUP 200",
        "INSTANCE VI_1 MASTER 200",
        "INSTANCE VI_1 STOP 200",
    ]
    assert Path(f"{record}.master").read_text() == "master-script\n"
