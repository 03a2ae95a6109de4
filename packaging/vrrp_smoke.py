"""The packaged daemon as its maintainer scripts drive it, in network namespaces of its own (pykeepalived.lab).

    python3 packaging/vrrp_smoke.py DAEMON      (root; DAEMON: e.g. /usr/sbin/pykeepalived)

Two routers (priorities 150 and 100, advert_int 1, as the sample) run DAEMON. Then what an upgrade does
(the postinst kills every process of the service with SIGKILL and starts the new daemon): the VIP must stay
on the master throughout and the backup must never take it. Then what a removal does (the prerm stops the
service: SIGTERM): the master's VIP goes and the backup takes it at once. Exits 1 when any of it fails.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import sys
import time

from pykeepalived.lab.netns import Lab, Router, vrrp_config

VIP = "10.99.1.1"


def fail(message: str, lab: Lab) -> int:
    print(f"FAIL: {message}")
    for router in lab.routers:
        print(f"--- r{router.index}'s log")
        print("\n".join(lab.log_lines(router)))
    return 1


def kill_service(lab: Lab, router: Router) -> None:
    """SIGKILL to every process of the daemon, as `systemctl kill --kill-who=all --signal=SIGKILL` sends it."""
    assert router.process is not None
    os.killpg(router.process.pid, signal.SIGKILL)
    router.process.wait(timeout=5)
    for pid in lab.router_pids(router):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def main() -> int:
    daemon = sys.argv[1:]
    if not daemon:
        print(__doc__, file=sys.stderr)
        return 2
    with Lab(f"pkd{secrets.token_hex(2)}", routers=2) as lab:
        master, backup = lab.routers
        lab.start_router(master, vrrp_config(master, 150, VIP, advert_int=1), daemon=daemon)
        lab.start_router(backup, vrrp_config(backup, 100, VIP, advert_int=1), daemon=daemon)
        if lab.wait_for_holder(VIP, timeout=20, expected=master) is None:
            return fail(f"r1 (priority 150) did not take {VIP}", lab)
        time.sleep(2)
        print(f"r1 holds {VIP}, r2 is its backup")

        # r2 may have been master for a moment at start-up (r1 started later): only what follows counts.
        backup_was_master = sum("Entering MASTER STATE" in line for line in lab.log_lines(backup))
        killed = time.monotonic()
        kill_service(lab, master)
        lab.start_router(master, vrrp_config(master, 150, VIP, advert_int=1), daemon=daemon)
        holders_seen = set()
        taken_back: list[str] = []
        taken_back_after = 0.0
        while time.monotonic() - killed < 8:
            holders_seen.add(tuple(f"r{router.index}" for router in lab.holders(VIP)))
            if not taken_back:
                taken_back = [line for line in lab.log_lines(master) if "taking them back at once" in line]
                taken_back_after = time.monotonic() - killed
            time.sleep(0.05)
        backup_master = [line for line in lab.log_lines(backup) if "Entering MASTER STATE" in line]
        backup_master = backup_master[backup_was_master:]
        if holders_seen != {("r1",)} or backup_master or not taken_back:
            return fail(f"after the kill and restart: holders seen {sorted(holders_seen)}, r2 became master "
                        f"{len(backup_master)} times, r1 took its addresses back: {bool(taken_back)}", lab)  # fmt: skip
        print(f"upgrade (SIGKILL to every process, new daemon started): {VIP} stayed on r1 for 8 s, "
              f"r2 never became master; {taken_back_after:.2f} s after the kill r1 logged: "
              + taken_back[0].split(": ", 1)[-1])  # fmt: skip

        assert master.process is not None
        stopped = time.monotonic()
        master.process.send_signal(signal.SIGTERM)
        moved = lab.wait_for_holder(VIP, timeout=5, expected=backup)
        took = time.monotonic() - stopped
        status = master.process.wait(timeout=10)
        if moved is None or status != 0:
            return fail(f"after SIGTERM: holders {[r.index for r in lab.holders(VIP)]}, r1 exited {status}", lab)
        print(f"stop (SIGTERM): r1 exited 0 with {VIP} removed, r2 held it {took:.2f} s later")
    return 0


if __name__ == "__main__":
    sys.exit(main())
