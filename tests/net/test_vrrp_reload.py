"""Reloading the VRRP side (SIGHUP) as configuration management does it, with Debian's keepalived run through
the same changes as the reference: a client pings the VIP all along, and each change must take effect
without moving the VIP (no flap) where keepalived does not move it.

The matrix runs on r1, the master (priority 150); r2 (priority 100, pykeepalived) stays as it is.
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


def config(router: Router, priority: int = 150, vips: tuple[str, ...] = (VIP,), second: bool = False,
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
    new_config: Callable[[Router], str]
    # Where each address must be once the change has taken effect: {address: holder index or None}.
    expected: dict[str, int | None]
    # Whether the VIP the client pings moves (lowering r1 under r2 must move it).
    moves: bool = False


CHANGES = [
    Change("add a VIP", lambda r: config(r, vips=(VIP, VIP2)), {VIP: 1, VIP2: 1}),
    Change("remove a VIP", lambda r: config(r), {VIP: 1, VIP2: None}),
    Change("change the priority", lambda r: config(r, priority=120), {VIP: 1}),
    Change("add an instance", lambda r: config(r, second=True), {VIP: 1, VIP3: 1}),
    Change("remove an instance", lambda r: config(r), {VIP: 1, VIP3: None}),
    Change("add a tracking script", lambda r: config(r, track=True), {VIP: 1}),
    Change("a file that cannot run", lambda r: "vrrp_instance VI_1 {\n    priority 150\n", {VIP: 1}),
    Change("lower the priority under the backup's", lambda r: config(r, priority=50), {VIP: 2}, moves=True),
]


@dataclass
class Outcome:
    flaps: int
    applied_in: float | None
    longest_gap: float


def holder_of(lab: Lab, address: str) -> int | None:
    holders = lab.holders(address)
    return holders[0].index if len(holders) == 1 else None


def apply(lab: Lab, first: Router, change: Change, window: float = 3.0) -> Outcome:
    """Write the change, SIGHUP r1's parent, and watch: the client's replies, and when the change shows."""
    prober = lab.start_prober(VIP, window + 1.0)
    time.sleep(0.5)
    started = time.monotonic()
    (lab.workdir / f"r{first.index}.conf").write_text(change.new_config(first))
    # The parent forwards it to its VRRP process (keepalived's and ours).
    os.kill(lab.router_pids(first)[0], signal.SIGHUP)
    applied_in = None
    while time.monotonic() - started < window:
        if applied_in is None and all(holder_of(lab, a) == h for a, h in change.expected.items()):
            applied_in = time.monotonic() - started
        time.sleep(0.02)
    prober.process.wait(timeout=10)
    macs = [reply.mac for reply in prober.replies]
    flaps = sum(1 for a, b in itertools.pairwise(macs) if a != b)
    return Outcome(flaps, applied_in, prober.longest_gap(0.0))


@pytest.mark.oracle
def test_reload_matrix_beside_keepalived() -> None:
    results: dict[str, dict[str, Outcome]] = {}
    for daemon, command in DAEMONS.items():
        with Lab(f"rl{secrets.token_hex(3)}", routers=2) as lab:
            first, second = lab.routers
            lab.start_router(second, config(second, priority=100))
            lab.start_router(first, config(first), daemon=command)
            assert lab.wait_for_holder(VIP, 10, first) is first
            results[daemon] = {}
            for change in CHANGES:
                results[daemon][change.name] = apply(lab, first, change)
            if daemon == "pykeepalived":
                log = "\n".join(lab.log_lines(first))
                assert "Reload failed: the configuration cannot run - keeping the running one" in log
                assert first.process is not None and first.process.poll() is None
    table = [f"{'change':<40} {'keepalived flaps/applied s':>28} {'pykeepalived flaps/applied s':>30}"]
    for change in CHANGES:
        cells = []
        for daemon in DAEMONS:
            outcome = results[daemon][change.name]
            applied = f"{outcome.applied_in:.2f}" if outcome.applied_in is not None else "never"
            cells.append(f"{outcome.flaps} / {applied}")
        table.append(f"{change.name:<40} {cells[1]:>28} {cells[0]:>30}")
    print("\n".join(table))
    for change in CHANGES:
        ours, theirs = results["pykeepalived"][change.name], results["keepalived"][change.name]
        assert ours.applied_in is not None, (change.name, "\n".join(table))
        if not change.moves:
            assert ours.flaps <= theirs.flaps, (change.name, "\n".join(table))
            assert ours.flaps == 0, (change.name, "\n".join(table))
