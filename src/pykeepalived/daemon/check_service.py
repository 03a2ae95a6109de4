"""The checker process: probes every real server, keeps keepalived's policy, and programs the data plane.

It runs apart from the VRRP process (a checker storm never delays an advert). Each checker is a timer and
a probe that calls back with its result: feed it to the policy, then wait delay_loop (or
delay_before_retry while retrying). TCP and plain HTTP checks need no task at all (see probes/fast.py).
The data plane is the userspace proxy, in a process of its own that this one feeds (see proxy_worker.py);
`--dataplane memory` only keeps the table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import signal
import subprocess
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from ..check.policy import CheckerPolicy, Effect, Log, Next, Notify, RealServerPolicy, VirtualServerPolicy
from ..config.model import (
    CheckerCommon,
    Config,
    DnsCheck,
    FileCheck,
    HttpCheck,
    MiscCheck,
    PingCheck,
    RealServer,
    Script,
    SmtpCheck,
    UdpCheck,
    VirtualServer,
)
from ..core.exits import EXIT_CONFIG
from ..io.alerts import send_alert
from ..io.dumps import write_json_atomically
from ..io.ipvs import SYNC_BACKUP, SYNC_MASTER, IpvsBackend, kernel_has_ipvs
from ..io.nftables import (
    ConntrackWatch,
    DataplaneUnavailable,
    NftablesBackend,
    connection_counts,
    open_nftables,
)
from ..io.probes import dns, fast, file, http, misc, ping, smtp, udp
from ..io.probes.base import Result, Target, probe_raised
from ..io.script_security import Flag, RunAs, ScriptVetting
from ..io.scripts import run_command
from ..io.shared_counts import SLOTS
from ..lb.nftables import IPVS_TIMEOUTS
from ..lb.table import DestinationKey, MemoryBackend, Operation, ServiceKey, plan
from .lvs_sync import SyncDaemonControl
from .process import (
    config_is_empty,
    event_loop_factory,
    logging_arguments,
    pidfile,
    read_config,
    release_signals,
    start_child,
)
from .proxy_worker import feed_line
from .supervisor import child_command

DEFAULT_RETRY = 1
DEFAULT_DELAY_BEFORE_RETRY = 1.0
DEFAULT_CONNECT_TIMEOUT = 5.0
# How often the nftables maps of connection-count schedulers follow conntrack's counts.
REBALANCE_INTERVAL = 1.0
# keepalived's checker writes /tmp/keepalived_check.data and .stats on SIGUSR1 / SIGUSR2.
DATA_DUMP = "/tmp/pykeepalived_check.data"
STATS_DUMP = "/tmp/pykeepalived_check.stats"


ResultCallback = Callable[[Result], None]
# Starts one check and calls back with its result.
Starter = Callable[[ResultCallback], None]


@dataclass
class CheckerRun:
    label: str
    description: str
    start: Starter
    policy: CheckerPolicy
    delay_loop: float
    delay_before_retry: float
    warmup: float
    log_all_failures: bool
    real_server: RealServerPolicy
    virtual_server: VirtualServerPolicy
    last: Result | None = None
    # The probe raised and it was logged: once, until the probe runs cleanly again.
    raise_logged: bool = False


def _pick(*values: float | int | None, default: float) -> float:
    return next((float(v) for v in values if v is not None), default)


def service_keys(server: VirtualServer, config: Config) -> list[ServiceKey]:
    protocol = server.effective_protocol.value.lower()
    if server.fwmark is not None:
        return [ServiceKey(protocol, fwmark=server.fwmark)]
    if server.group is not None:
        keys = []
        for group in config.virtual_server_group:
            if group.name == server.group:
                for member in group.members:
                    if member.fwmark is not None:
                        keys.append(ServiceKey(protocol, fwmark=member.fwmark))
                    elif member.address is not None and member.last is not None:
                        for value in range(int(member.address), int(member.last) + 1):
                            address = type(member.address)(value)
                            keys.append(ServiceKey(protocol, str(address), member.port or 0))
        return keys
    return [ServiceKey(protocol, str(server.address), server.port or 0)]


def on_task(probe: Callable[[], Coroutine[Any, Any, Result]]) -> Starter:
    """A coroutine probe as a Starter: the result comes back through the task's completion."""

    def start(done: ResultCallback) -> None:
        task: asyncio.Task[Result] = asyncio.get_running_loop().create_task(probe())

        def finished(task: asyncio.Task[Result]) -> None:
            if task.cancelled():
                return
            error = task.exception()
            done(probe_raised(error) if error is not None else task.result())

        task.add_done_callback(finished)

    return start


# A MISC_CHECK's script as vetted: who runs it and its command line; None when keepalived removes the checker.
MiscVetting = Callable[[MiscCheck], "tuple[RunAs, tuple[str, ...]] | None"]


def make_probe(
    checker: object, target: Target, real: RealServer, config: Config, misc_run: tuple[RunAs, tuple[str, ...]] | None
) -> tuple[str, Starter]:
    """The checker's label in log lines and how to start it."""
    if isinstance(checker, HttpCheck):
        urls = tuple(
            http.UrlCheck(u.path or "/", u.status_code, u.digest, u.virtualhost, u.regex, u.regex_no_match)
            for u in checker.url
        )
        tls = checker in real.ssl_checks
        vhost = checker.virtualhost or real.virtualhost
        protocol = checker.http_protocol or "1.0"
        if not tls and len(urls) == 1:
            url = urls[0]
            host = url.virtualhost or vhost or target.address
            return "HTTP_GET", lambda done: fast.http_check(target, url, host, protocol, done)
        return ("SSL_GET" if tls else "HTTP_GET"), on_task(
            lambda: http.check(target, urls, tls, vhost, checker.enable_sni, protocol)
        )
    if isinstance(checker, SmtpCheck):
        helo = checker.helo_name or config.global_defs.smtp_helo_name or "localhost"
        return "SMTP_CHECK", on_task(lambda: smtp.check(target, helo))
    if isinstance(checker, DnsCheck):
        return "DNS_CHECK", on_task(lambda: dns.check(target, checker.type, checker.name))
    if isinstance(checker, PingCheck):
        return "PING_CHECK", on_task(lambda: ping.check(target))
    if isinstance(checker, UdpCheck):
        return "UDP_CHECK", on_task(
            lambda: udp.check(
                target, checker.payload or b"", checker.require_reply, checker.min_reply_length,
                checker.max_reply_length,
            )
        )  # fmt: skip
    if isinstance(checker, MiscCheck) and misc_run is not None:
        run_as, argv = misc_run
        return "MISC_CHECK", on_task(lambda: misc.check(argv, target.timeout, checker.misc_dynamic, run_as))
    if isinstance(checker, FileCheck):
        track = next((t for t in config.track_file if t.name == checker.track_file), None)
        weight, reverse = checker.weight or (track.weight if track else (0, False))
        path = track.file if track and track.file else ""

        return "FILE_CHECK", lambda done: done(file.check(path, weight, reverse))
    return "TCP_CHECK", lambda done: fast.tcp_check(target, done)


def build(config: Config, vet_misc: MiscVetting) -> tuple[list[VirtualServerPolicy], list[CheckerRun]]:
    policies: list[VirtualServerPolicy] = []
    runs: list[CheckerRun] = []
    for server in config.virtual_server:
        for key in service_keys(server, config):
            reals: list[RealServerPolicy] = []
            pending: list[tuple[str, str, Starter, CheckerPolicy, tuple[float, float, float], bool,
                                RealServerPolicy]] = []  # fmt: skip
            for real in server.real_server:
                checkers = [
                    *real.tcp_checks, *real.http_checks, *real.ssl_checks, *real.smtp_checks, *real.dns_checks,
                    *real.ping_checks, *real.udp_checks, *real.misc_checks, *real.file_checks,
                ]  # fmt: skip
                alpha = bool(real.alpha if real.alpha is not None else server.alpha)
                inhibit = real.inhibit_on_failure if real.inhibit_on_failure is not None else server.inhibit_on_failure
                rs_policy = RealServerPolicy(
                    real_server_key(key, real),
                    real.weight,
                    bool(inhibit),
                    [],
                    (real.lvs_method or server.lb_kind).value,
                    real.uthreshold or 0,
                    real.lthreshold or 0,
                )
                for checker in checkers:
                    misc_run = vet_misc(checker) if isinstance(checker, MiscCheck) else None
                    if isinstance(checker, MiscCheck) and misc_run is None:
                        continue
                    common = checker if isinstance(checker, CheckerCommon) else CheckerCommon()
                    delay_loop = _pick(common.delay_loop, real.delay_loop, default=server.delay_loop)
                    timeout = _pick(common.connect_timeout, real.connect_timeout, server.connect_timeout,
                                    default=DEFAULT_CONNECT_TIMEOUT)  # fmt: skip
                    if isinstance(checker, MiscCheck):
                        timeout = _pick(checker.misc_timeout, default=delay_loop)
                    target = Target(
                        str(common.connect_ip or real.address),
                        common.connect_port if common.connect_port is not None else real.port,
                        timeout,
                        str(common.bindto) if common.bindto else None,
                        common.bind_port,
                    )
                    label, probe = make_probe(checker, target, real, config, misc_run)
                    retry = int(_pick(common.retry, real.retry, server.retry, default=DEFAULT_RETRY))
                    checker_policy = CheckerPolicy(retry, up=not (common.alpha if common.alpha is not None else alpha))
                    rs_policy.checkers.append(checker_policy)
                    delays = (
                        delay_loop,
                        _pick(common.delay_before_retry, real.delay_before_retry, server.delay_before_retry,
                              default=DEFAULT_DELAY_BEFORE_RETRY),
                        _pick(common.warmup, real.warmup, server.warmup, default=0.0),
                    )  # fmt: skip
                    description = f"[{target.address}]:{key.protocol}:{target.port}"
                    pending.append((label, description, probe, checker_policy, delays, bool(common.log_all_failures),
                                    rs_policy))  # fmt: skip
                reals.append(rs_policy)
            sorry = server.sorry_server
            policy = VirtualServerPolicy(
                key,
                server.lb_algo,
                reals,
                quorum=server.quorum,
                hysteresis=server.hysteresis,
                sorry_server=DestinationKey(str(sorry[0]), sorry[1]) if sorry else None,
                sorry_inhibit=server.sorry_server_inhibit,
                persistence_timeout=server.persistence_timeout or 0,
                persistence_granularity=server.persistence_granularity,
                scheduler_flags=scheduler_flags(server),
            )
            policies.append(policy)
            for label, description, probe, checker_policy, delays, log_all, rs_policy in pending:
                runs.append(CheckerRun(label, description, probe, checker_policy, *delays, log_all, rs_policy, policy))
    return policies, runs


def scheduler_flags(server: VirtualServer) -> tuple[str, ...]:
    """The sh-/mh- flags the virtual server sets that its scheduler takes, in IPVS's order."""
    given = {option.keyword for option in server.options}
    return tuple(flag for flag in (f"{server.lb_algo}-fallback", f"{server.lb_algo}-port") if flag in given)


def ipvs_timeouts(configured: tuple[int, int, int] | None) -> tuple[int, int, int]:
    """lvs_timeouts over IPVS's defaults (0 keeps the default), for data planes that apply them themselves."""
    tcp, tcp_fin, udp = configured or (0, 0, 0)
    default_tcp, default_tcp_fin, default_udp = IPVS_TIMEOUTS
    return tcp or default_tcp, tcp_fin or default_tcp_fin, udp or default_udp


def flushes_on_stop(config: Config) -> bool:
    """keepalived's lvs_flush_onstop (also spelt lvs_flush_on_stop): clear all of IPVS when stopping."""
    return any(option.keyword in ("lvs_flush_onstop", "lvs_flush_on_stop") for option in config.global_defs.options)


def real_server_key(service: ServiceKey, real: RealServer) -> DestinationKey:
    """As keepalived: a fwmark service's real servers have no port."""
    return DestinationKey(str(real.address), 0 if service.fwmark else real.port)


class ProxyFeed(MemoryBackend):
    """The table as this process keeps it, handed whole to the proxy worker processes after every change.

    A worker starts with the first table and again (given the whole table) if it has died. With several
    workers (SO_REUSEPORT spreads the clients over them), each (service, real server) gets a slot in a
    shared-counts file, so every worker's scheduler sees all the connections.
    """

    def __init__(self, command: list[str], logger: logging.Logger, workers: int = 1) -> None:
        super().__init__()
        self.command = command
        self.logger = logger
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * workers
        self.shared_counts = f"/dev/shm/pykeepalived-proxy-{os.getpid()}" if workers > 1 else None
        self.slots: dict[tuple[ServiceKey, DestinationKey], int] = {}

    def apply(self, operations: list[Operation]) -> None:
        super().apply(operations)
        if operations:
            self.send()

    def worker_command(self, index: int) -> list[str]:
        if self.shared_counts is None:
            return self.command
        workers = ["--workers", str(len(self.processes)), "--index", str(index), "--shared-counts", self.shared_counts]
        # The first worker's pidfile is the one `pykeepalivedctl ipvsadm` signals; its dump has every count.
        return [*self.command, *workers, *([] if index == 0 else ["--pidfile", ""])]

    def line(self) -> bytes:
        table = self.read()
        for key, service in sorted(table.items()):
            for member in sorted(service.members()):
                if (key, member) not in self.slots and len(self.slots) < SLOTS:
                    self.slots[(key, member)] = len(self.slots)
        current = {
            (key, member): slot
            for (key, member), slot in self.slots.items()
            if key in table and member in table[key].members()
        }
        return feed_line(table, current)

    def send(self) -> None:
        line = self.line()
        for index, process in enumerate(self.processes):
            for _ in range(2):
                if process is None or process.poll() is not None:
                    if process is not None:
                        self.logger.info(f"proxy process exited with status {process.returncode} - restarting")
                    process = subprocess.Popen(self.worker_command(index), stdin=subprocess.PIPE)
                    self.processes[index] = process
                assert process.stdin is not None
                try:
                    process.stdin.write(line)
                    process.stdin.flush()
                    break
                except BrokenPipeError:
                    process.wait()

    def close(self) -> None:
        for process in self.processes:
            if process is not None and process.stdin is not None:
                process.stdin.close()
        for process in self.processes:
            if process is None:
                continue
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.shared_counts is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.shared_counts)


def proxy_command(args: argparse.Namespace) -> list[str]:
    return child_command("pykeepalived.daemon.proxy_worker", logging_arguments(args))


def open_backend(args: argparse.Namespace, logger: logging.Logger, config: Config) -> MemoryBackend | None:
    """The data plane --dataplane asks for (None if it cannot run here); auto takes IPVS if the kernel has
    it, else nftables, else the userspace proxy."""
    if args.dataplane == "memory":
        return MemoryBackend()
    kernel_planes: dict[str, Callable[[], MemoryBackend]] = {
        "ipvs": lambda: IpvsBackend(
            logger, config.global_defs.lvs_flush, flushes_on_stop(config), config.global_defs.lvs_timeouts
        ),
        "nftables": lambda: NftablesBackend(
            open_nftables(), logger, timeouts=ipvs_timeouts(config.global_defs.lvs_timeouts)
        ),
    }
    wanted = list(kernel_planes) if args.dataplane == "auto" else [args.dataplane]
    for name in wanted:
        if name not in kernel_planes:
            break
        if name == "ipvs" and args.dataplane == "auto" and not kernel_has_ipvs():
            continue
        try:
            backend = kernel_planes[name]()
        except DataplaneUnavailable as reason:
            if args.dataplane != "auto":
                logger.info(f"{name} data plane: {reason}")
                return None
            logger.info(f"{name} data plane unavailable ({reason})")
        else:
            logger.info(f"Using the {name} data plane")
            return backend
    logger.info("Using the userspace proxy data plane")
    return ProxyFeed(proxy_command(args), logger, args.proxy_workers)


class CheckService:
    def __init__(self, config: Config, logger: logging.Logger, backend: MemoryBackend) -> None:
        self.config = config
        self.logger = logger
        self.vetting = ScriptVetting(config.global_defs, logger)
        self.policies, self.runs = build(config, self._vet_misc)
        self.backend = backend
        self.handles: dict[int, asyncio.TimerHandle] = {}
        self.stopping = False
        self.background: set[asyncio.Task[int | None]] = set()
        self.alerts: set[asyncio.Task[None]] = set()
        self.scripts = self._scripts()
        for script in self.scripts.values():
            self.vetting.vet_notify(script)
        if config.virtual_server:
            self.vetting.report_violation("check scripts")
        self.servers = {key: server for server in config.virtual_server for key in service_keys(server, config)}

    def _vet_misc(self, checker: MiscCheck) -> tuple[RunAs, tuple[str, ...]] | None:
        command = checker.misc_path or "/bin/false"
        vetted = self.vetting.vet(
            command,
            checker.user,
            lambda own: (
                f"Failed to set uid/gid for misc checker script {command} - removing"
                if own
                else f"Unable to set default user for misc script {command} - removing"
            ),
        )
        if vetted is None:
            return None
        run_as, verdict = vetted
        quoted = " ".join(f"'{word}'" for word in command.split())
        if Flag.INHIBIT in verdict.flags:
            self.logger.info(f"Disabling misc script {quoted} due to insecure")
        elif Flag.NOT_FOUND in verdict.flags:
            self.logger.info(f"Disabling misc script {quoted} since not found/accessible")
        return (run_as, verdict.argv) if verdict.runnable else None

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
        """Start checking; after a reload, `previous` (already halted) hands over its real servers' states."""
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
        if self.alerts:
            await asyncio.wait(self.alerts, timeout=self.config.global_defs.smtp_connect_timeout)

    def _schedule(self, run: CheckerRun, delay: float) -> None:
        if not self.stopping:
            self.handles[id(run)] = asyncio.get_running_loop().call_later(delay, self._start, run)

    def _start(self, run: CheckerRun) -> None:
        try:
            run.start(lambda result: self._done(run, result))
        except Exception as error:
            self._done(run, probe_raised(error))

    def _done(self, run: CheckerRun, result: Result) -> None:
        """One check finished: keepalived's policy, then the next check after delay_loop or delay_before_retry."""
        run.last = result
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
        task = asyncio.get_running_loop().create_task(send_alert(self.config.global_defs, subject, body, self.logger))
        self.alerts.add(task)
        task.add_done_callback(self.alerts.discard)

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
                    task = asyncio.get_running_loop().create_task(run_command(vetted[1], vetted[0], None))
                    self.background.add(task)
                    task.add_done_callback(self.background.discard)

    def _program(self) -> None:
        desired = {policy.key: policy.desired() for policy in self.policies}
        self.backend.apply(plan(desired, self.backend.read()))

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
                    for k, d in self.backend.read().get(policy.key, policy.desired()).members().items()
                },
            }
            for policy in self.policies
        }

    def write_dump(self, path: str) -> None:
        write_json_atomically(path, self.snapshot(), self.logger)


class Checker:
    """The running CheckService, replaced on SIGHUP by one built from the re-read configuration."""

    def __init__(self, args: argparse.Namespace, config: Config, logger: logging.Logger, backend: MemoryBackend):
        self.args = args
        self.logger = logger
        self.backend = backend
        self.service = CheckService(config, logger, backend)

    def reload(self) -> None:
        self.logger.info(f"Reloading configuration file {self.args.config}")
        if config_is_empty(self.args.config):
            # Usually a copy that failed half-way: running it would empty the whole table.
            self.logger.info(f"Reload failed: {self.args.config} is empty - keeping the running configuration")
            return
        config = read_config(self.args, self.logger)
        if config is None:
            self.logger.info("Reload failed: the configuration cannot run - keeping the running one")
            return
        previous = self.service
        previous.halt()
        self.service = CheckService(config, self.logger, self.backend)
        self.service.start(previous)

    def write_dump(self, path: str) -> None:
        self.service.write_dump(path)


async def serve(args: argparse.Namespace, config: Config, logger: logging.Logger, backend: MemoryBackend) -> int:
    checker = Checker(args, config, logger, backend)
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    loop.add_signal_handler(signal.SIGUSR1, checker.write_dump, DATA_DUMP)
    loop.add_signal_handler(signal.SIGUSR2, checker.write_dump, STATS_DUMP)
    loop.add_signal_handler(signal.SIGHUP, checker.reload)
    release_signals()
    checker.service.start()
    following = (
        loop.create_task(follow_connection_counts(backend, logger)) if isinstance(backend, NftablesBackend) else None
    )
    syncing = sync_daemons_without_vrrp(config, logger, backend)
    await stopped.wait()
    if following is not None:
        following.cancel()
    if syncing is not None:
        syncing.close()
    await checker.service.stop()
    return 0


def sync_daemons_without_vrrp(
    config: Config, logger: logging.Logger, backend: MemoryBackend
) -> SyncDaemonControl | None:
    """lvs_sync_daemon naming no VRRP instance: both sync daemons run while the checker does, as in keepalived."""
    settings = config.sync_daemon()
    if settings is None or settings.instance is not None:
        return None
    if not isinstance(backend, IpvsBackend):
        logger.info("lvs_sync_daemon: IPVS's sync daemon needs the IPVS data plane - not started")
        return None
    control = SyncDaemonControl(settings, logger)
    control.clear()
    control.run_only(SYNC_MASTER, SYNC_BACKUP)
    return control


async def follow_connection_counts(backend: NftablesBackend, logger: logging.Logger) -> None:
    """lc, wlc, the other connection-count schedulers and thresholds: re-plan their nftables maps from
    conntrack; direct routing: follow the real servers' MAC addresses; and warn before conntrack is full."""
    conntrack = ConntrackWatch(logger)
    while True:
        await asyncio.sleep(REBALANCE_INTERVAL)
        conntrack.check()
        if backend.follows_load():
            table = backend.read()
            backend.rebalance(await asyncio.to_thread(connection_counts, table))
        elif backend.routes_directly():
            backend.commit()


def main(argv: Sequence[str] | None = None) -> int:
    args, logger, config = start_child(
        "pykeepalived-checker", "pykeepalived_checker", sys.argv[1:] if argv is None else argv
    )
    if config is None:
        return EXIT_CONFIG
    backend = open_backend(args, logger, config)
    if backend is None:
        return EXIT_CONFIG
    try:
        with pidfile(args.pidfile), asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(serve(args, config, logger, backend))
    finally:
        backend.close()


if __name__ == "__main__":
    sys.exit(main())
