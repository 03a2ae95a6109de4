"""A VRRP child process killed on the master comes back without the VIP moving, beside Debian's keepalived in the
same place: a client pings the VIP all along and counts how often the answering router changes."""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import time
from pathlib import Path

import pytest

from pykeepalived.lab.netns import Lab, vrrp_config

VIP = "10.99.1.1"


def respawn(daemon: list[str] | None) -> tuple[float, int]:
    """Seconds from the kill to the new VRRP process's pid file, and the VIP moves the client saw."""
    with Lab(f"rs{secrets.token_hex(3)}", routers=2) as lab:
        first, second = lab.routers
        lab.start_router(second, vrrp_config(second, 100, VIP, 2, 1))
        lab.start_router(first, vrrp_config(first, 150, VIP, 2, 1), daemon=daemon)
        assert lab.wait_for_holder(VIP, 10, first) is first
        time.sleep(2)
        prober = lab.start_prober(VIP, 8)
        time.sleep(1)
        pidfile = Path(lab.workdir / f"r{first.index}.vrrp.pid")
        child = int(pidfile.read_text())
        killed = time.monotonic()
        os.kill(child, signal.SIGKILL)
        back = None
        while time.monotonic() - killed < 6:
            try:
                if int(pidfile.read_text()) != child:
                    back = back or time.monotonic() - killed
            except (OSError, ValueError):
                pass
            time.sleep(0.005)
        prober.process.wait(timeout=15)
        assert back is not None, "the VRRP process did not come back"
        assert lab.holders(VIP) == [first]
        macs = [reply.mac for reply in prober.replies]
        return back, sum(1 for a, b in itertools.pairwise(macs) if a != b)


@pytest.mark.oracle
def test_a_killed_vrrp_process_comes_back_without_moving_the_vip() -> None:
    theirs = respawn(["keepalived"])
    ours = respawn(None)
    print(f"keepalived: back in {theirs[0] * 1000:.0f} ms, {theirs[1]} VIP moves; "
          f"pykeepalived: back in {ours[0] * 1000:.0f} ms, {ours[1]} VIP moves")  # fmt: skip
    assert ours[1] == 0, (theirs, ours)
