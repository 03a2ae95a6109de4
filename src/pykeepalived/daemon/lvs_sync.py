"""lvs_sync_daemon: IPVS's connection-sync daemon run as keepalived runs it.

Tied to a VRRP instance (the VRRP process): the backup daemon while the instance is not master, the master
daemon while it is, none once it stops. Without an instance (the checker process): both from start to stop.
The kernel's netlink requests wait in a thread of their own, so a state change never holds up an advert.
"""

from __future__ import annotations

import concurrent.futures
import logging

from ..config.model import LvsSyncDaemon
from ..io.ipvs import SYNC_BACKUP, SYNC_MASTER, SYNC_STATE_NAMES, SyncDaemon, ipvs_connection, start_sync_daemon
from ..io.ipvs import stop_sync_daemon as stop_in_kernel


def kernel_daemon(settings: LvsSyncDaemon, state: int) -> SyncDaemon:
    group = str(settings.group) if settings.group is not None else None
    return SyncDaemon(
        state, settings.interface, settings.syncid or 0, settings.maxlen, group, settings.port, settings.ttl
    )


class SyncDaemonControl:
    def __init__(self, settings: LvsSyncDaemon, logger: logging.Logger) -> None:
        self.settings = settings
        self.logger = logger
        self.running: set[int] = set()
        self.worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="lvs-sync")

    def clear(self) -> None:
        """Stop what an earlier run that ended abruptly may have left, as keepalived does at start."""
        for state in (SYNC_MASTER, SYNC_BACKUP):
            self.worker.submit(self._in_kernel, "stop", state, quiet=True)

    def run_only(self, *states: int) -> None:
        """Stop the daemons not in `states`, start the ones that are not running yet."""
        for state in sorted(self.running - set(states)):
            self.running.discard(state)
            self.worker.submit(self._in_kernel, "stop", state)
        for state in states:
            if state not in self.running:
                self.running.add(state)
                self.worker.submit(self._in_kernel, "start", state)

    def instance_changed(self, instance: str, vrrp_state: str) -> None:
        """A VRRP instance's new state (MASTER, BACKUP, FAULT or STOP): followed if it is the one tied to
        the sync daemon."""
        if instance != self.settings.instance:
            return
        if vrrp_state == "STOP":
            self.run_only()
        else:
            self.run_only(SYNC_MASTER if vrrp_state == "MASTER" else SYNC_BACKUP)

    def close(self) -> None:
        self.run_only()
        self.worker.shutdown(wait=True)

    def _in_kernel(self, action: str, state: int, quiet: bool = False) -> None:
        """Start or stop the daemon of `state`; failures are logged (unless `quiet`), never raised."""
        what = f"{action} {SYNC_STATE_NAMES[state]} sync daemon"
        try:
            with ipvs_connection() as connection:
                if action == "start":
                    start_sync_daemon(connection, kernel_daemon(self.settings, state))
                else:
                    stop_in_kernel(connection, state)
        except Exception as error:  # pyroute2's NetlinkError, or OSError without IPVS
            if not quiet:
                self.logger.error(f"IPVS: cannot {what}: {error}")
            return
        if not quiet:
            self.logger.info(f"IPVS: {what} on {self.settings.interface}, syncid {self.settings.syncid or 0}")
