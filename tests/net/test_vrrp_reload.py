"""Reloading the VRRP side (SIGHUP) as configuration management does it, a pair of Debian's keepalived run
through the same changes as a pair of pykeepalived for the reference: a client pings the VIP all along, and
each change must take effect without moving the VIP (no flap) where keepalived does not move it.

r1 is the master (priority 150), r2 the backup (100); a change goes to both, as to a cluster, unless it is
one node's own (its priority, a broken file).
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from pykeepalived.lab.netns import Lab, Router

VIP, VIP2, VIP3 = "10.99.1.1", "10.99.1.2", "10.99.1.3"
DAEMONS = {"pykeepalived": None, "keepalived": ["keepalived"]}


def instance(name: str, vrid: int, priority: int, vips: list[str], extra: str = "") -> str:
    addresses = "".join(f"        {vip}/32 dev eth0\n" for vip in vips)
    return (
        f"vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n"
        f"    priority {priority}\n    advert_int 0.1\n    version 3\n{extra}"
        f"    virtual_ipaddress {{\n{addresses}    }}\n}}\n"
    )


def config(router: Router, priority: int, vips: tuple[str, ...] = (VIP,), second: bool = False,
           track: bool = False) -> str:  # fmt: skip
    head = f"global_defs {{\n    router_id r{router.index}\n    enable_script_security\n    script_user root\n}}\n"
    script = 'vrrp_script chk_true {\n    script "/bin/true"\n    interval 0.2\n    weight -60\n}\n' if track else ""
    tracking = "    track_script {\n        chk_true\n    }\n" if track else ""
    text = head + script + instance("VI_1", 51, priority, list(vips), tracking)
    if second:
        text += instance("VI_2", 52, priority, [VIP3])
    return text


@dataclass(frozen=True)
class Change:
    name: str
    # The node's new file, from the node and its priority (r1 150, r2 100).
    new_config: Callable[[Router, int], str]
    # Where each address must be once the change has taken effect: {address: holder index or None}.
    expected: dict[str, int | None]
    # Whether the VIP the client pings moves (lowering r1 under r2 must move it).
    moves: bool = False
    # Only r1's file changes.
    r1_only: bool = False


CHANGES = [
    Change("add a VIP", lambda r, p: config(r, p, vips=(VIP, VIP2)), {VIP: 1, VIP2: 1}),
    Change("remove a VIP", lambda r, p: config(r, p), {VIP: 1, VIP2: None}),
    Change("change the master's priority", lambda r, p: config(r, 120), {VIP: 1}, r1_only=True),
    Change("add an instance", lambda r, p: config(r, p, second=True), {VIP: 1, VIP3: 1}),
    Change("remove an instance", lambda r, p: config(r, p), {VIP: 1, VIP3: None}),
    Change("add a tracking script", lambda r, p: config(r, p, track=True), {VIP: 1}),
    # keepalived 2.2.7 exits on it (its parser gives up) and its VIP goes to the backup: after it, keepalived
    # has no daemon left to reload.
    Change("a file that cannot run", lambda r, p: "vrrp_instance VI_1 {\n    priority 50\n", {VIP: 1}, r1_only=True),
    Change("lower the master's priority under the backup's", lambda r, p: config(r, 50), {VIP: 2}, True, True),
]
PRIORITIES = {1: 150, 2: 100}


@dataclass
class Outcome:
    flaps: int
    applied_in: float | None
    longest_gap: float
    # The daemon's exit status if the change ended it.
    exited: int | None = None


def holder_of(lab: Lab, address: str) -> int | None:
    holders = lab.holders(address)
    return holders[0].index if len(holders) == 1 else None


def apply(lab: Lab, change: Change, window: float = 3.0) -> Outcome:
    """Write the change, SIGHUP the parents, and watch: the client's replies, and when the change shows."""
    first = lab.routers[0]
    prober = lab.start_prober(VIP, window + 1.0)
    time.sleep(0.5)
    started = time.monotonic()
    for router in lab.routers[:1] if change.r1_only else lab.routers:
        (lab.workdir / f"r{router.index}.conf").write_text(change.new_config(router, PRIORITIES[router.index]))
        # The parent forwards it to its VRRP process (keepalived's and ours).
        os.kill(lab.router_pids(router)[0], signal.SIGHUP)
    applied_in = None
    while time.monotonic() - started < window:
        if applied_in is None and all(holder_of(lab, a) == h for a, h in change.expected.items()):
            applied_in = time.monotonic() - started
        time.sleep(0.02)
    prober.process.wait(timeout=10)
    macs = [reply.mac for reply in prober.replies]
    flaps = sum(1 for a, b in itertools.pairwise(macs) if a != b)
    assert first.process is not None
    return Outcome(flaps, applied_in, prober.longest_gap(0.0), first.process.poll())


@pytest.mark.oracle
def test_reload_matrix_beside_keepalived() -> None:
    results: dict[str, dict[str, Outcome | None]] = {}
    for daemon, command in DAEMONS.items():
        with Lab(f"rl{secrets.token_hex(3)}", routers=2) as lab:
            first, second = lab.routers
            lab.start_router(second, config(second, 100), daemon=command)
            lab.start_router(first, config(first, 150), daemon=command)
            assert lab.wait_for_holder(VIP, 10, first) is first
            results[daemon] = {}
            for change in CHANGES:
                gone = first.process is None or first.process.poll() is not None
                results[daemon][change.name] = None if gone else apply(lab, change)
            if daemon == "pykeepalived":
                log = "\n".join(lab.log_lines(first))
                assert "Reload failed: the configuration cannot run - keeping the running one" in log
                assert first.process is not None and first.process.poll() is None
    table = [f"{'change':<40} {'keepalived flaps/applied s':>28} {'pykeepalived flaps/applied s':>30}"]
    for change in CHANGES:
        cells = []
        for daemon in DAEMONS:
            outcome = results[daemon][change.name]
            if outcome is None:
                cells.append("no daemon left")
                continue
            applied = f"{outcome.applied_in:.2f}" if outcome.applied_in is not None else "never"
            if outcome.exited is not None:
                applied += f", exited {outcome.exited}"
            cells.append(f"{outcome.flaps} / {applied}")
        table.append(f"{change.name:<40} {cells[1]:>28} {cells[0]:>30}")
    print("\n".join(table))
    for change in CHANGES:
        ours = results["pykeepalived"][change.name]
        assert ours is not None and ours.applied_in is not None and ours.exited is None, (change.name, "\n".join(table))
        if not change.moves:
            assert ours.flaps == 0, (change.name, "\n".join(table))


def test_reload_check_config_and_config_save_dir(lab: Lab) -> None:
    first = lab.routers[0]
    check_log, saved = lab.workdir / "check.log", lab.workdir / "saved"
    head = f"global_defs {{\n    reload_check_config {check_log}\n    config_save_dir {saved}\n}}\n"
    lab.start_router(first, head + config(first, 150).split("}\n", 1)[1])
    assert lab.wait_for_holder(VIP, 10, first) is first
    supervisor = lab.router_pids(first)[0]

    # A file that fails the check: the children are not asked to reload at all.
    (lab.workdir / "r1.conf").write_text(head + "vrrp_instance VI_1 {\n    priority 50\n")
    os.kill(supervisor, signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "New config failed validation" not in (log := "\n".join(lab.log_lines(first))):
        assert time.monotonic() < deadline, log
        time.sleep(0.1)
    assert f"New config failed validation, see {check_log} for details" in log
    assert "Reloading configuration file" not in log
    assert "error" in check_log.read_text()

    # A good one passes the check and is reloaded; each process saves its state before and after.
    (lab.workdir / "r1.conf").write_text(head + config(first, 150, vips=(VIP, VIP2)).split("}\n", 1)[1])
    os.kill(supervisor, signal.SIGHUP)
    assert lab.wait_for_holder(VIP2, 10, first) is first
    names = sorted(path.name.split(".", 2)[2] for path in saved.iterdir())
    assert names == ["1.post", "1.pre"], names
    assert VIP2 in next(saved.glob("*.post")).read_text() and VIP2 not in next(saved.glob("*.pre")).read_text()
