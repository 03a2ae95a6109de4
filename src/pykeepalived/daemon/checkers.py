"""The checkers of the checker process: a probe registry keyed by checker type, and the runs: each check
`check/compile.py` plans from the configuration, bound to its probe."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import astuple, dataclass
from typing import Any

from ..check.compile import compile_checks
from ..check.policy import CheckerPolicy, RealServerPolicy, VirtualServerPolicy
from ..config.model import (
    Checker,
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
    checker: Checker
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
    """The policies `check/` compiles from the configuration, and each planned check bound to its probe."""
    misc_runs: dict[MiscCheck, Runnable] = {}

    def keep_misc(checker: MiscCheck) -> bool:
        run = vet_misc(checker)
        if run is not None:
            misc_runs[checker] = run
        return run is not None

    policies, planned = compile_checks(config, keep_misc)
    runs = []
    for check in planned:
        target = Target(*astuple(check.endpoint))
        misc_run = misc_runs.get(check.checker) if isinstance(check.checker, MiscCheck) else None
        label, probe = PROBES[type(check.checker)](check.checker, ProbeContext(target, check.real, config, misc_run))
        runs.append(CheckerRun(label, check.description, probe, check.policy, check.delay_loop,
                               check.delay_before_retry, check.warmup, check.log_all_failures, check.real_server,
                               check.virtual_server, target, check.alpha, check.checker, misc_run))  # fmt: skip
    return policies, runs
