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


@pytest.mark.oracle
@pytest.mark.parametrize("daemon", ["keepalived", "pykeepalived"])
def test_a_respawned_vrrp_process_runs_the_configuration_it_had_not_a_broken_file(daemon: str) -> None:
    """The file broken on disk after the start (a half-done edit), then the VRRP process killed: the new one runs
    the configuration the daemon had, as keepalived's, rather than exit and take the VIP down with the daemon."""
    with Lab(f"rb{secrets.token_hex(3)}", routers=1) as lab:
        router = lab.routers[0]
        lab.start_router(
            router, vrrp_config(router, 150, VIP, 2, 1), daemon=["keepalived"] if daemon == "keepalived" else None
        )
        assert lab.wait_for_holder(VIP, 10, router) is router
        (lab.workdir / f"r{router.index}.conf").write_text("vrrp_instance VI_1 {\n    virtual_router_id 300\n")
        pidfile = lab.workdir / f"r{router.index}.vrrp.pid"
        child = int(pidfile.read_text())
        os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not pidfile.exists() or pidfile.read_text().strip() in ("", str(child)):
            assert time.monotonic() < deadline, "the VRRP process did not come back"
            time.sleep(0.05)
        # Beyond the lifetime our VIPs carry (4 s at advert_int 1): a daemon that had stopped would have lost it.
        time.sleep(4.5)
        assert Path(f"/proc/{int(pidfile.read_text())}").exists(), "the new VRRP process is gone"
        assert router.process is not None and router.process.poll() is None, "\n".join(lab.log_lines(router))
        assert lab.holders(VIP) == [router], "\n".join(lab.log_lines(router))
        if daemon == "pykeepalived":
            assert any("Running the configuration the previous process ran" in line for line in lab.log_lines(router))
