"""The checker process: probes every real server, keeps keepalived's policy, and programs the data plane.

It runs apart from the VRRP process (a checker storm never delays an advert). Each checker is a timer and
a probe that calls back with its result: feed it to the policy, then wait delay_loop (or
delay_before_retry while retrying). TCP and plain HTTP checks need no task at all (see probes/fast.py).
The checkers come from checkers.py (a probe registry keyed by checker type), the data plane from
dataplanes.py (IPVS, nftables, or the userspace proxy's worker processes this one feeds).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import random
import signal
import sys
import time
from collections.abc import Sequence

from ..check.compile import real_server_key, service_keys
from ..check.policy import Effect, Log, Next, Notify, VirtualServerPolicy
from ..config.model import (
    Config,
    MiscCheck,
    Script,
)
from ..core.exits import EXIT_CONFIG
from ..io.alerts import send_alert
from ..io.dumps import write_json_atomically
from ..io.ipvs import SYNC_BACKUP, SYNC_MASTER, IpvsPlane
from ..io.nftables import (
    ConntrackWatch,
    NftablesPlane,
    connection_counts,
)
from ..io.probes.base import Result, probe_raised
from ..io.script_security import Runnable, ScriptVetting
from ..io.scripts import run_command
from ..lb.dataplane import DataPlane
from ..lb.table import DestinationKey, ServiceKey, Table, plan
from .address_log import log_address_changes
from .background import BackgroundTasks
from .checkers import CheckerRun, build
from .dataplanes import ProxyPlane, open_plane
from .dont_release import close_dataplane
from .dump_files import ConfigSaver, check_data, write_check_data
from .lvs_sync import SyncDaemonControl
from .process import (
    config_is_empty,
    event_loop_factory,
    keep_running_config,
    pidfile,
    read_config,
    release_signals,
    start_child,
    tolerate_realtime_signals,
)
from .readiness import report_config_read, reporting
from .snapshots import CheckCounts, checker_snapshot
from .status import serve_status

# How often the nftables maps of connection-count schedulers follow conntrack's counts.
REBALANCE_INTERVAL = 1.0
# Ours (keepalived's checker has no SIGUSR2 dump): its view and the table as JSON, for the tests and tools.
STATS_DUMP = "/tmp/pykeepalived_check.stats"


class CheckService:
    def __init__(self, config: Config, logger: logging.Logger, plane: DataPlane) -> None:
        self.config = config
        self.logger = logger
        self.vetting = ScriptVetting(config.global_defs, logger.warning)
        self.policies, self.runs = build(config, self._vet_misc)
        self.plane = plane
        # What this service has applied: the next change is planned from it (see lb/dataplane.py).
        self.held: Table = {}
        self.check_counts: collections.defaultdict[str, CheckCounts] = collections.defaultdict(CheckCounts)
        self.handles: dict[int, asyncio.TimerHandle] = {}
        self.stopping = False
        self.scripts_running = BackgroundTasks(logger)
        self.alerts = BackgroundTasks(logger)
        self.scripts = self._scripts()
        for script in self.scripts.values():
            self.vetting.vet_notify(script)
        if config.virtual_server:
            self.vetting.report_violation("check scripts")
        self.servers = {key: server for server in config.virtual_server for key in service_keys(server, config)}

    def _vet_misc(self, checker: MiscCheck) -> Runnable | None:
        command = checker.misc_path or "/bin/false"
        return self.vetting.vet_removable(
            command,
            checker.user,
            lambda own: (
                f"Failed to set uid/gid for misc checker script {command} - removing"
                if own
                else f"Unable to set default user for misc script {command} - removing"
            ),
            "misc script " + " ".join(f"'{word}'" for word in command.split()),
        )

    def _scripts(self) -> dict[tuple[ServiceKey, str, DestinationKey | None], Script]:
        found: dict[tuple[ServiceKey, str, DestinationKey | None], Script] = {}
        for server in self.config.virtual_server:
            for key in service_keys(server, self.config):
                if server.quorum_up:
                    found[(key, "quorum_up", None)] = server.quorum_up
                if server.quorum_down:
                    found[(key, "quorum_down", None)] = server.quorum_down
                for real in server.real_server:
                    rs_key = real_server_key(key, real)
                    if real.notify_up:
                        found[(key, "rs_up", rs_key)] = real.notify_up
                    if real.notify_down:
                        found[(key, "rs_down", rs_key)] = real.notify_down
        return found

    def start(self, previous: CheckService | None = None) -> None:
        """Start checking; after a reload, `previous` (already halted) hands over its real servers' states.
        The table is planned from what the data plane holds: a change by hand or a restart is put right."""
        if previous is not None:
            self.check_counts = previous.check_counts  # counters only go up, across reloads too
        known = set(previous.held) if previous is not None else set()
        self.held = self.plane.read(known | {policy.key for policy in self.policies})
        before = {policy.key: policy for policy in previous.policies} if previous is not None else {}
        for policy in self.policies:
            kept = {rs.key for rs in before[policy.key].real_servers} if policy.key in before else set()
            for rs in policy.real_servers:
                if rs.key not in kept:
                    self.logger.info(f"Activating healthchecker for service {rs.key.text(policy.key.protocol)} "
                                     f"for VS {policy.key}")  # fmt: skip
            if policy.key in before:
                self._apply(policy, policy.take_over(before[policy.key]))
            else:
                self._apply(policy, policy.start())
        self._program()
        for run in self.runs:
            self._schedule(run, random.uniform(0, run.warmup) if run.warmup else 0.0)

    def halt(self) -> None:
        """No more checks (the alerts and scripts already under way finish)."""
        self.stopping = True
        for handle in self.handles.values():
            handle.cancel()

    async def stop(self) -> None:
        self.halt()
        await self.alerts.finish(self.config.global_defs.smtp_connect_timeout)

    def _schedule(self, run: CheckerRun, delay: float) -> None:
        if not self.stopping:
            self.handles[id(run)] = asyncio.get_running_loop().call_later(delay, self._start, run)

    def _start(self, run: CheckerRun) -> None:
        run.started = asyncio.get_running_loop().time()
        try:
            run.start(lambda result: self._done(run, result))
        except Exception as error:
            self._done(run, probe_raised(error))

    def _done(self, run: CheckerRun, result: Result) -> None:
        """One check finished: keepalived's policy, then the next check after delay_loop or delay_before_retry."""
        run.last, run.last_at = result, time.time()
        self.check_counts[run.label].count(result, asyncio.get_running_loop().time() - run.started)
        if result.raised is not None and not run.raise_logged:
            run.raise_logged = True
            self.logger.error(f"{run.label} on service {run.description}: {result.detail}", exc_info=result.raised)
        elif result.raised is None:
            run.raise_logged = False
        if not result.ok and run.log_all_failures and run.policy.up:
            self.logger.info(f"{run.label} on service {run.description} failed: {result.detail}.")
        if result.weight is not None and result.weight != run.real_server.dynamic_weight:
            run.real_server.dynamic_weight = result.weight
            self._program()
        changed, next_run = run.policy.result(result.ok)
        if changed is not None:
            self._report(run, changed, result)
        self._schedule(run, run.delay_loop if next_run is Next.LOOP else run.delay_before_retry)

    def _alerts_on(self, policy: VirtualServerPolicy, rs: DestinationKey | None) -> bool:
        """smtp_alert of the real server, else of the virtual server, else the global settings."""
        server = self.servers[policy.key]
        real = next((r for r in server.real_server if real_server_key(policy.key, r) == rs), None)
        chosen = real.smtp_alert if real is not None and real.smtp_alert is not None else server.smtp_alert
        global_defs = self.config.global_defs
        return bool(chosen if chosen is not None else global_defs.smtp_alert_checker or global_defs.smtp_alert)

    def _alert(self, subject: str, body: str) -> None:
        self.alerts.start(send_alert(self.config.global_defs, subject, body, self.logger), f"alert '{subject}'")

    def _report(self, run: CheckerRun, up: bool, result: Result) -> None:
        if run.label == "TCP_CHECK" and up:
            self.logger.info(f"TCP connection to {run.description} success.")
        elif up:
            self.logger.info(f"{run.label} on service {run.description} success.")
        elif run.policy.retry and run.policy.has_run:
            self.logger.info(f"{run.label} on service {run.description} failed after {run.policy.retry} retries.")
        else:
            self.logger.info(f"{run.label} on service {run.description} failed.")
        was_alive = run.virtual_server.rs_alive.get(run.real_server.key)
        self._apply(run.virtual_server, run.virtual_server.checker_changed(run.real_server))
        self._program()
        if was_alive != run.real_server.alive and self._alerts_on(run.virtual_server, run.real_server.key):
            policy = run.virtual_server
            state = "UP" if run.real_server.alive else "DOWN"
            self._alert(
                f"Realserver {run.real_server.key.text(policy.key.protocol)} of virtual server {policy.key} - {state}",
                f"=> {run.label.replace('_', ' ')} {'succeed' if up else 'failed'} on service <=",
            )

    def _apply(self, policy: VirtualServerPolicy, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Log):
                self.logger.info(effect.message)
            elif isinstance(effect, Notify):
                if effect.what.startswith("quorum") and self._alerts_on(policy, None):
                    up = effect.what == "quorum_up"
                    self._alert(f"Virtualserver {policy.key} - {'UP' if up else 'DOWN'}",
                                f"=> {'Gained' if up else 'Lost'} quorum <=")  # fmt: skip
                script = self.scripts.get((policy.key, effect.what, effect.real_server))
                vetted = self.vetting.vet_notify(script) if script is not None else None
                if vetted is not None:
                    self.scripts_running.start(run_command(vetted[1], vetted[0], None), f"notify script {effect.what}")

    def _program(self) -> None:
        desired = {policy.key: policy.desired() for policy in self.policies}
        self.plane.apply(plan(desired, self.held))
        self.held = desired

    def snapshot(self) -> dict[str, object]:
        return {
            str(policy.key): {
                "quorum_up": policy.quorum_up,
                "sorry_server_active": policy.sorry_active,
                "real_servers": {
                    rs.key.text(policy.key.protocol): {
                        "alive": policy.rs_alive.get(rs.key),
                        "weight": rs.effective_weight,
                    }
                    for rs in policy.real_servers
                },
                "table": {
                    f"[{k.address}]:{k.port}": {"weight": d.weight, "forwarding": d.forwarding}
                    for k, d in self.held.get(policy.key, policy.desired()).members().items()
                },
            }
            for policy in self.policies
        }

    def write_dump(self, path: str) -> None:
        write_json_atomically(path, self.snapshot(), self.logger)


class Checker:
    """The running CheckService, replaced on SIGHUP by one built from the re-read configuration."""

    def __init__(self, args: argparse.Namespace, config: Config, logger: logging.Logger, plane: DataPlane):
        self.args = args
        self.logger = logger
        self.plane = plane
        self.service = CheckService(config, logger, plane)
        self.saver = ConfigSaver("check")

    def reload(self) -> None:
        self.logger.info(f"Reloading configuration file {self.args.config}")
        if config_is_empty(self.args.config):
            # Usually a copy that failed half-way: running it would empty the whole table.
            self.logger.error(f"Reload failed: {self.args.config} is empty - keeping the running configuration")
            return
        config = read_config(self.args, self.logger)
        if config is None:
            self.logger.error("Reload failed: the configuration cannot run - keeping the running one")
            return
        previous = self.service
        self.saver.save(previous.config, check_data(previous), False, self.logger)
        previous.halt()
        self.service = CheckService(config, self.logger, self.plane)
        self.service.start(previous)
        self.saver.save(config, check_data(self.service), True, self.logger)
        keep_running_config(self.args, config)

    def write_dump(self, path: str) -> None:
        self.service.write_dump(path)


async def serve(args: argparse.Namespace, config: Config, logger: logging.Logger, plane: DataPlane) -> int:
    if isinstance(plane, ProxyPlane):
        await plane.start()
    checker = Checker(args, config, logger, plane)
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: write_check_data(checker.service))
    loop.add_signal_handler(signal.SIGUSR2, checker.write_dump, STATS_DUMP)
    loop.add_signal_handler(signal.SIGHUP, reporting(checker.reload, args.ready_fd))
    tolerate_realtime_signals(loop, logger)
    release_signals()
    if args.address_monitoring:
        log_address_changes(logger, False)
    checker.service.start()
    report_config_read(args.ready_fd)
    keep_running_config(args, config)
    status = await serve_status("checker", lambda: checker_snapshot(checker.service), logger)
    syncing = sync_daemons_without_vrrp(config, logger, plane)
    # An exception in a long-running task ends the group, and so the process (logged with its traceback by
    # main): the supervisor starts it again, rather than it running on without that task.
    async with asyncio.TaskGroup() as tasks:
        following = (
            tasks.create_task(follow_connection_counts(plane, logger)) if isinstance(plane, NftablesPlane) else None
        )
        await stopped.wait()
        if following is not None:
            following.cancel()
    status.close()
    if syncing is not None:
        syncing.close()
    await checker.service.stop()
    return 0


def sync_daemons_without_vrrp(config: Config, logger: logging.Logger, plane: DataPlane) -> SyncDaemonControl | None:
    """lvs_sync_daemon naming no VRRP instance: both sync daemons run while the checker does, as in keepalived."""
    settings = config.sync_daemon()
    if settings is None or settings.instance is not None:
        return None
    if not isinstance(plane, IpvsPlane):
        logger.warning("lvs_sync_daemon: IPVS's sync daemon needs the IPVS data plane - not started")
        return None
    control = SyncDaemonControl(settings, logger)
    control.clear()
    control.run_only(SYNC_MASTER, SYNC_BACKUP)
    return control


async def follow_connection_counts(plane: NftablesPlane, logger: logging.Logger) -> None:
    """lc, wlc, the other connection-count schedulers and thresholds: re-plan their nftables maps from
    conntrack; direct routing: follow the real servers' MAC addresses; and warn before conntrack is full."""
    conntrack = ConntrackWatch(logger)
    while True:
        await asyncio.sleep(REBALANCE_INTERVAL)
        conntrack.check()
        if plane.follows_load():
            table = plane.mirror.table()
            plane.rebalance(await asyncio.to_thread(connection_counts, table))
        elif plane.routes_directly():
            plane.commit()


def main(argv: Sequence[str] | None = None) -> int:
    args, logger, config = start_child(
        "pykeepalived-checker", "Keepalived_healthcheckers", sys.argv[1:] if argv is None else argv
    )
    if config is None:
        return EXIT_CONFIG
    plane = open_plane(args, logger, config)
    if plane is None:
        return EXIT_CONFIG
    try:
        with pidfile(args.pidfile), asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(serve(args, config, logger, plane))
    except Exception:
        logger.exception("Healthcheck child process failed")
        raise
    finally:
        close_dataplane(plane, not args.dont_release_ipvs, logger)


if __name__ == "__main__":
    sys.exit(main())
