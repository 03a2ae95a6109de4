"""The checkers of the checker process: a probe registry keyed by checker type, and the runs built from the
configuration (each a probe, its policy and its delays)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from ..check.compile import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_DELAY_BEFORE_RETRY,
    DEFAULT_RETRY,
    pick,
    real_server_key,
    scheduler_flags,
    service_keys,
)
from ..check.dumps import CheckerConfig
from ..check.policy import CheckerPolicy, RealServerPolicy, VirtualServerPolicy
from ..config.model import (
    CheckerCommon,
    Config,
    DnsCheck,
    FileCheck,
    HttpCheck,
    MiscCheck,
    PingCheck,
    RealServer,
    SmtpCheck,
    TcpCheck,
    UdpCheck,
)
from ..io.probes import dns, fast, file, http, misc, ping, smtp, udp
from ..io.probes.base import Result, Target, probe_raised
from ..io.script_security import Runnable
from ..lb.table import DestinationKey

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
    # What the checker dump (keepalived_check.data) shows: where it connects, alpha, its configuration, who
    # runs a MISC_CHECK's script, and when the last result came (wall clock).
    target: Target
    alpha: bool
    checker: CheckerConfig
    misc_run: Runnable | None = None
    last: Result | None = None
    last_at: float = 0.0
    # The probe raised and it was logged: once, until the probe runs cleanly again.
    raise_logged: bool = False
    # When the check under way started (loop time), for its duration.
    started: float = 0.0


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


# What a checker's dump shows beside its policy: its target, alpha, configuration and vetted MISC_CHECK script.
DumpFacts = tuple[Target, bool, CheckerConfig, "Runnable | None"]
# A MISC_CHECK's script as vetted: who runs it and its command line; None when keepalived removes the checker.
MiscVetting = Callable[[MiscCheck], "Runnable | None"]


@dataclass(frozen=True)
class ProbeContext:
    """What a probe factory may need beside its checker's own settings."""

    target: Target
    real: RealServer
    config: Config
    # MISC_CHECK: who runs its script, and its command line (as script security vetted them).
    misc_run: Runnable | None = None


# Each factory gives the checker's label in log lines and how to start one check.
Probe = tuple[str, Starter]


def http_probe(checker: HttpCheck, context: ProbeContext) -> Probe:
    target, real = context.target, context.real
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


def smtp_probe(checker: SmtpCheck, context: ProbeContext) -> Probe:
    helo = checker.helo_name or context.config.global_defs.smtp_helo_name or "localhost"
    return "SMTP_CHECK", on_task(lambda: smtp.check(context.target, helo))


def dns_probe(checker: DnsCheck, context: ProbeContext) -> Probe:
    return "DNS_CHECK", on_task(lambda: dns.check(context.target, checker.type, checker.name))


def ping_probe(checker: PingCheck, context: ProbeContext) -> Probe:
    return "PING_CHECK", on_task(lambda: ping.check(context.target))


def udp_probe(checker: UdpCheck, context: ProbeContext) -> Probe:
    payload, low, high = checker.payload or b"", checker.min_reply_length, checker.max_reply_length
    return "UDP_CHECK", on_task(lambda: udp.check(context.target, payload, checker.require_reply, low, high))


def misc_probe(checker: MiscCheck, context: ProbeContext) -> Probe:
    assert context.misc_run is not None, "a MISC_CHECK is built only once its script is vetted"
    run_as, argv = context.misc_run
    timeout = context.target.timeout
    return "MISC_CHECK", on_task(lambda: misc.check(argv, timeout, checker.misc_dynamic, run_as))


def file_probe(checker: FileCheck, context: ProbeContext) -> Probe:
    track = next((t for t in context.config.track_file if t.name == checker.track_file), None)
    weight, reverse = checker.weight or (track.weight if track else (0, False))
    path = track.file if track and track.file else ""
    return "FILE_CHECK", lambda done: done(file.check(path, weight, reverse))


def tcp_probe(checker: TcpCheck, context: ProbeContext) -> Probe:
    target = context.target
    return "TCP_CHECK", lambda done: fast.tcp_check(target, done)


PROBES: dict[type, Callable[[Any, ProbeContext], Probe]] = {
    TcpCheck: tcp_probe,
    HttpCheck: http_probe,
    SmtpCheck: smtp_probe,
    DnsCheck: dns_probe,
    PingCheck: ping_probe,
    UdpCheck: udp_probe,
    MiscCheck: misc_probe,
    FileCheck: file_probe,
}


def build(config: Config, vet_misc: MiscVetting) -> tuple[list[VirtualServerPolicy], list[CheckerRun]]:
    policies: list[VirtualServerPolicy] = []
    runs: list[CheckerRun] = []
    for server in config.virtual_server:
        for key in service_keys(server, config):
            reals: list[RealServerPolicy] = []
            pending: list[tuple[str, str, Starter, CheckerPolicy, tuple[float, float, float], bool,
                                RealServerPolicy, DumpFacts]] = []  # fmt: skip
            for real in server.real_server:
                checkers: list[CheckerConfig] = [
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
                    delay_loop = pick(common.delay_loop, real.delay_loop, default=server.delay_loop)
                    timeout = pick(common.connect_timeout, real.connect_timeout, server.connect_timeout,
                                    default=DEFAULT_CONNECT_TIMEOUT)  # fmt: skip
                    if isinstance(checker, MiscCheck):
                        timeout = pick(checker.misc_timeout, default=delay_loop)
                    target = Target(
                        str(common.connect_ip or real.address),
                        common.connect_port if common.connect_port is not None else real.port,
                        timeout,
                        str(common.bindto) if common.bindto else None,
                        common.bind_port,
                    )
                    label, probe = PROBES[type(checker)](checker, ProbeContext(target, real, config, misc_run))
                    retry = int(pick(common.retry, real.retry, server.retry, default=DEFAULT_RETRY))
                    checker_alpha = bool(common.alpha if common.alpha is not None else alpha)
                    checker_policy = CheckerPolicy(retry, up=not checker_alpha)
                    rs_policy.checkers.append(checker_policy)
                    delays = (
                        delay_loop,
                        pick(common.delay_before_retry, real.delay_before_retry, server.delay_before_retry,
                              default=DEFAULT_DELAY_BEFORE_RETRY),
                        pick(common.warmup, real.warmup, server.warmup, default=0.0),
                    )  # fmt: skip
                    description = f"[{target.address}]:{key.protocol.lower()}:{target.port}"
                    pending.append((label, description, probe, checker_policy, delays, bool(common.log_all_failures),
                                    rs_policy, (target, checker_alpha, checker, misc_run)))  # fmt: skip
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
            for label, description, probe, checker_policy, delays, log_all, rs_policy, shown in pending:
                target, checker_alpha, checker, misc_run = shown
                runs.append(CheckerRun(label, description, probe, checker_policy, *delays, log_all, rs_policy, policy,
                                       target, checker_alpha, checker, misc_run))  # fmt: skip
    return policies, runs
