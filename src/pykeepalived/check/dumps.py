"""keepalived 2.2.7's checker dump, /tmp/keepalived_check.data (SIGUSR1 to the checker, or to the parent that
passes it on): Global definitions, LVS Topology (check_data.c dump_vs()/dump_rs()) and Health checkers
(check_api.c dump_checker() and each checker's own lines), from a snapshot of the running checker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..config.global_dump import ProcessFacts, global_definitions
from ..config.model import (
    Checker,
    Config,
    DnsCheck,
    FileCheck,
    HttpCheck,
    MiscCheck,
    RealServer,
    SmtpCheck,
    UdpCheck,
    VirtualServer,
)
from .compile import DEFAULT_CONNECT_TIMEOUT
from .policy import CheckerPolicy, RealServerPolicy, VirtualServerPolicy

# The IPVS version keepalived reports (the kernel's since 2.6).
LVS_VERSION = "1.2.1"
MICROSECONDS = 1_000_000


@dataclass(frozen=True)
class RealServerView:
    config: RealServer
    policy: RealServerPolicy
    # In the data plane now (keepalived's `RS set`).
    in_table: bool
    # Notify scripts as keepalived prints them: (command, uid, gid).
    notify_up: tuple[str, int, int] | None = None
    notify_down: tuple[str, int, int] | None = None


@dataclass(frozen=True)
class VirtualServerView:
    config: VirtualServer
    policy: VirtualServerPolicy
    real_servers: tuple[RealServerView, ...]
    in_table: bool
    smtp_alert: bool


@dataclass(frozen=True)
class CheckerView:
    """One health checker: its policy's state and the settings it runs with."""

    service: str
    target: str
    kind: str
    policy: CheckerPolicy
    alpha: bool
    delay_loop: float
    warmup: float
    delay_before_retry: float
    log_all_failures: bool
    # Where it connects ([address]:port), from where if bound, and its connect timeout.
    destination: str
    bound_to: str | None
    timeout: float
    config: Checker
    weight: int = 0
    # HTTP_GET / SSL_GET: each url's path and the runs of status codes it accepts.
    urls: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = ()
    # SMTP_CHECK: the HELO name it sends.
    helo: str = ""
    # MISC_CHECK: its command (as keepalived quotes it) and whom it runs as; when it last ran (wall clock)
    # and its exit status then.
    script: tuple[str, int, int] | None = None
    last_ran: float = 0.0
    last_status: int = 0


@dataclass(frozen=True)
class CheckSnapshot:
    config: Config
    facts: ProcessFacts
    virtual_servers: tuple[VirtualServerView, ...]
    checkers: tuple[CheckerView, ...]


def _decimal(seconds: float) -> str:
    """keepalived's format_decimal(value, TIMER_HZ_DIGITS)."""
    return f"{seconds:.6f}"


def _on(value: bool) -> str:
    return "ON" if value else "OFF"


def _abled(value: bool) -> str:
    return "enabled" if value else "disabled"


def virtual_server_lines(view: VirtualServerView) -> list[str]:
    server, policy = view.config, view.policy
    lines = [" ------< Virtual server >------"]
    if server.group:
        lines.append(f" VS GROUP = {server.group}")
    elif server.fwmark is not None:
        lines.append(f" VS FWMARK = {server.fwmark}")
    else:
        lines.append(f" VS VIP = {server.address}, VPORT = {server.port}")
    if server.virtualhost:
        lines.append(f"   VirtualHost = {server.virtualhost}")
    family = server.address.version if server.address is not None else (6 if server.ip_family == "inet6" else 4)
    lines += [
        f"   Address family = inet{'' if family == 4 else '6'}",
        f"   connection timeout = {_decimal(server.connect_timeout or DEFAULT_CONNECT_TIMEOUT)}",
        f"   delay_loop = {_decimal(server.delay_loop)}",
        f"   lvs_sched = {server.lb_algo}",
        "   Hashed = disabled",
    ]
    flags = set(policy.scheduler_flags)
    if server.lb_algo in ("sh", "mh"):
        lines += [f"   {server.lb_algo}-port = {_abled(f'{server.lb_algo}-port' in flags)}",
                  f"   {server.lb_algo}-fallback = {_abled(f'{server.lb_algo}-fallback' in flags)}"]  # fmt: skip
    else:
        lines += [f"   flag-{n} = disabled" for n in (1, 2, 3)]
    protocol = server.effective_protocol.value
    one_packet = any(o.keyword == "ops" for o in server.options)
    inactive = " (inactive due to not UDP)" if one_packet and protocol != "UDP" else ""
    lines.append(f"   One packet scheduling = {_abled(one_packet)}{inactive}")
    if server.persistence_timeout:
        lines.append(f"   persistence timeout = {server.persistence_timeout}")
    if server.persistence_granularity:
        lines.append(f"   persistence granularity = {server.persistence_granularity}")
    lines += [f"   protocol = {protocol}", f"   alpha is {_on(server.alpha)}", f"   omega is {_on(server.omega)}"]
    if server.retry is not None:
        lines.append(f"   Retry count = {server.retry}")
    if server.delay_before_retry is not None:
        lines.append(f"   Retry delay = {_decimal(server.delay_before_retry)}")
    if server.warmup is not None:
        lines.append(f"   Warmup = {_decimal(server.warmup)}")
    lines += [
        f"   Inhibit on failure is {_on(server.inhibit_on_failure)}",
        f"   quorum = {server.quorum}, hysteresis = {server.hysteresis}",
    ]
    if server.ha_suspend:
        lines.append("   Using HA suspend")
    lines += [
        f"   Using smtp notification = {'yes' if view.smtp_alert else 'no'}",
        f"   default forwarding method = {server.lb_kind.value}",
    ]
    if server.sorry_server is not None:
        address, port = server.sorry_server
        lines += [
            f"   sorry server = [{address}]:{server.effective_protocol.value.lower()}:{port}",
            f"     forwarding method = {(server.sorry_server_lvs_method or server.lb_kind).value}",
            f"     Inhibit on failure is {_on(server.sorry_server_inhibit)}",
        ]
    lines += [
        f"   alive = {int(view.in_table)}",
        f"   quorum_state_up = {int(policy.quorum_up)}",
        "   reloaded = 0",
    ]
    for real in view.real_servers:
        lines += real_server_lines(real, server)
    return lines


def real_server_lines(view: RealServerView, server: VirtualServer) -> list[str]:
    real, policy = view.config, view.policy
    weight = policy.effective_weight
    timeout = real.connect_timeout or server.connect_timeout or DEFAULT_CONNECT_TIMEOUT
    lines = [
        "   ------< Real server >------",
        f"   RIP = {real.address}, RPORT = {real.port}, WEIGHT = {weight} EFF WEIGHT = {weight}",
        f"   forwarding method = {policy.forwarding}",
        f"   Alpha is {_on(bool(real.alpha if real.alpha is not None else server.alpha))}",
        f"   connection timeout = {_decimal(timeout)}",
        f"   connection limit range = {policy.lower_threshold} -> {policy.upper_threshold}",
        f"   Delay loop = {_decimal(real.delay_loop or server.delay_loop)}",
    ]
    if real.retry is not None:
        lines.append(f"   Retry count = {real.retry}")
    if real.delay_before_retry is not None:
        lines.append(f"   Retry delay = {_decimal(real.delay_before_retry)}")
    if real.warmup is not None:
        lines.append(f"   Warmup = {_decimal(real.warmup)}")
    lines.append(f"   Inhibit on failure is {_on(policy.inhibit)}")
    for title, script in (("up", view.notify_up), ("down", view.notify_down)):
        if script is not None:
            lines.append(f"     RS {title} notify script = {script[0]}, uid:gid {script[1]}:{script[2]}")
    if real.virtualhost:
        lines.append(f"    VirtualHost = '{real.virtualhost}'")
    failed = sum(not c.up for c in policy.checkers)
    lines += [
        # keepalived prints its unset (-1) as yes: the real server follows its virtual server.
        f"   Using smtp notification = {'no' if real.smtp_alert is False else 'yes'}",
        f"   initial weight = {real.weight}",
        f"   effective weight = {weight}",
        f"   previous effective_weight = {0 if view.in_table or not policy.alive else weight}",
        f"   alive = {int(policy.alive)}",
        f"   num failed checkers = {failed}",
        f"   RS set = {int(view.in_table)}",
        "   reloaded = 0",
    ]
    return lines


def checker_lines(view: CheckerView) -> list[str]:
    policy = view.policy
    lines = [
        f" {view.service} -> {view.target}",
        "   Enabled = yes",
        f"   Up = {'yes' if policy.up else 'no'}",
        f"   Has run = {'yes' if policy.has_run else 'no'}",
        f"   Current weight = {view.weight}",
    ]
    if view.kind != "FILE_CHECK":
        lines += [
            f"   Alpha = {'yes' if view.alpha else 'no'}",
            f"   Delay loop = {round(view.delay_loop * MICROSECONDS)} us",
            f"   Warmup = {round(view.warmup * MICROSECONDS)} us",
            f"   Retries = {policy.retry}",
        ]
        if policy.retry:
            lines += [
                f"   Delay before retry = {round(view.delay_before_retry * MICROSECONDS)} us",
                f"   Retries iterations = {policy.attempts_failed}",
            ]
        lines.append(f"   Default delay before retry = {round(view.delay_before_retry * MICROSECONDS)} us")
    lines.append(f"   Log all failures = {'yes' if view.log_all_failures else 'no'}")
    if view.kind not in ("MISC_CHECK", "FILE_CHECK"):
        lines += ["   Connection", f"     Dest = {view.destination}"]
        if view.bound_to is not None:
            lines.append(f"     Bind to = {view.bound_to}")
        lines.append(f"     Timeout = {_decimal(view.timeout)}")
    return lines + method_lines(view)


def method_lines(view: CheckerView) -> list[str]:
    """Each checker type's own lines (check_http.c, check_misc.c, ... dump functions)."""
    config = view.config
    if isinstance(config, HttpCheck):
        lines = [f"   Keepalive method = {view.kind}, http protocol {config.http_protocol or '1.0'}"]
        lines += [f"   Enable SNI {'set' if config.enable_sni else 'unset'}",
                  f"   Fast recovery {'set' if config.fast_recovery else 'unset'}"]  # fmt: skip
        for path, codes in view.urls:
            lines += [f"   Checked url = {path}", "     HTTP Status Code(s)"]
            lines += [f"       {low}" if low == high else f"       {low}-{high}" for low, high in codes]
        if view.urls and view.policy.has_run and not view.policy.up:
            # The url that failed last: ours stops at the first failing one, in the configured order.
            lines.append(f"   Failed URL = {view.urls[0][0]}")
        return lines
    lines = [f"   Keepalive method = {view.kind}"]
    if isinstance(config, SmtpCheck):
        lines.append(f"   helo = {view.helo}")
    elif isinstance(config, DnsCheck):
        lines += [f"   Type = {config.type.upper()}", f"   Name = {config.name}"]
    elif isinstance(config, UdpCheck):
        payload = config.payload
        lines.append(f"   Payload len = {len(payload)}" if payload else "   Payload specified = no")
        lines.append(f"   Require reply = {'yes' if config.require_reply is not None else 'no'}")
        if config.require_reply is not None:
            low, high = config.min_reply_length or 0, config.max_reply_length or 0
            lines += [f"     Min reply length = {low}", f"     Max reply length = {high}",
                      f"     Reply data len = {len(config.require_reply)}"]  # fmt: skip
            if config.require_reply:
                lines.append("     Reply data mask = no")
    elif isinstance(config, MiscCheck) and view.script is not None:
        command, uid, gid = view.script
        seconds, micro = divmod(round(view.last_ran * MICROSECONDS), MICROSECONDS)
        moment = datetime.fromtimestamp(seconds)
        when = f"{seconds}.{micro:06d} ({moment:%a %b} {moment.day:2d} {moment:%H:%M:%S %Y}.{micro:06d})"
        lines += [
            f"   script = {command}",
            f"   timeout = {int(view.timeout)}",
            f"   dynamic = {'YES' if config.misc_dynamic else 'NO'}",
            f"   uid:gid = {uid}:{gid}",
            f"   Last ran = {when}",
            f"   Last status = {view.last_status}",
        ]
    elif isinstance(config, FileCheck):
        lines += [f"     Tracked file = {config.track_file}", "     Reloaded = No"]
    return lines


def check_data_text(snapshot: CheckSnapshot) -> str:
    lines = global_definitions(snapshot.config, snapshot.facts)
    if snapshot.virtual_servers:
        lines += ["------< LVS Topology >------", f" System is compiled with LVS v{LVS_VERSION}"]
        for view in snapshot.virtual_servers:
            lines += virtual_server_lines(view)
    if snapshot.checkers:
        lines.append("------< Health checkers >------")
        for checker in snapshot.checkers:
            lines += checker_lines(checker)
    return "".join(f"{line}\n" for line in lines)
