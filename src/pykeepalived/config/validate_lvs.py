"""keepalived's checks of virtual servers (check_data.c's validate_check_config), each correction applied to
the model: the defaults it announces for what was left out, the port of a fwmark service's real server,
HTTP/SSL_GET checkers without a url, a persistence granularity of the wrong kind."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import replace
from typing import TypeVar

from ..core.diagnostics import DiagnosticSink, Status
from .model import (
    PERSISTENCE_TIMEOUT_DEFAULT,
    CheckerCommon,
    Config,
    Forwarding,
    HttpCheck,
    Protocol,
    RealServer,
    VirtualServer,
)


def check_virtual_servers(config: Config, sink: DiagnosticSink) -> Iterator[VirtualServer]:
    groups = {g.name: g for g in config.virtual_server_group}
    for server in config.virtual_server:
        group = groups.get(server.group) if server.group is not None else None
        if server.group is not None and group is None:
            sink.error(f"virtual_server group {server.group}: no virtual_server_group of that name", server.where)
        # keepalived's rules for services given by address (rather than only by firewall mark).
        if group is not None:
            by_address = any(m.fwmark is None for m in group.members)
            by_fwmark_only = not by_address and bool(group.members)
        else:
            by_address = server.fwmark is None and server.group is None
            by_fwmark_only = server.fwmark is not None
        if by_address and server.protocol is None:
            sink.warning(f"Virtual server {server.label}: no protocol set - defaulting to UDP", server.where)
            server = replace(server, protocol=Protocol.UDP)
        if by_fwmark_only and server.protocol is not None:
            sink.warning(
                f"Warning: Virtual server {server.label}: protocol specified for fwmark - protocol will be ignored",
                server.lines.get("protocol", server.where),
            )
            server = replace(server, protocol=None)
        if server.persistence_granularity is not None:
            server = _with_granularity_checked(server, sink)
        if "lb_algo" not in server.lines:
            sink.warning(
                f"Virtual server {server.label}: no scheduler set, setting default '{server.lb_algo}'", server.where
            )
        reals = tuple(_checked_real_servers(server, sink))
        if "lb_kind" not in server.lines and any(r.lvs_method is None for r in reals):
            sink.warning(
                f"Virtual server {server.label}: no forwarding method set, setting default {Forwarding.NAT.value}",
                server.where,
            )
        if reals != server.real_server:
            server = replace(server, real_server=reals)
        if server.quorum > max(1, sum(r.weight for r in server.real_server)) and server.real_server:
            sink.warning(
                f"virtual_server {server.label}: quorum {server.quorum} is more than the total weight of its "
                "real servers, so it can never be reached",
                server.where,
            )
        yield server


def _with_granularity_checked(server: VirtualServer, sink: DiagnosticSink) -> VirtualServer:
    """keepalived's pgr_handler: an IPv4 service's granularity is read as inet_aton reads an address (so `64` is
    the netmask 0.0.0.64), an IPv6 one's is a prefix length 1..128 (a service without an address: the family
    its `ip_family` says, else the one the value looks like); one that cannot be read is reported and
    ignored. A granularity makes the service persistent: 360 s unless persistence_timeout says otherwise."""
    granularity = server.persistence_granularity
    assert granularity is not None
    where = server.lines.get("persistence_granularity", server.where)
    if server.address is not None:
        version = server.address.version
    elif server.ip_family is not None:
        version = 6 if server.ip_family == "inet6" else 4
    else:
        version = 4 if "." in granularity else 6
    if version == 6:
        problem = _prefix_problem(granularity)
        if problem is not None:
            sink.warning(problem, where)
        valid = problem is None
    else:
        mask = _inet_aton(granularity)
        valid = mask is not None
        if mask is not None and str(mask) != granularity:
            sink.warning(f"persistence_granularity {granularity} is read as netmask {mask}, as keepalived reads it",
                         where, Status.OK)  # fmt: skip
            server = replace(server, persistence_granularity=str(mask))
    if not valid:
        sink.warning(f"Invalid IPv{version} persistence_granularity specified - {granularity}", where)
        return replace(server, persistence_granularity=None)
    if server.persistence_timeout is None:
        sink.notice(
            f"Virtual server {server.label}: persistence_granularity makes it persistent: "
            f"persistence_timeout {PERSISTENCE_TIMEOUT_DEFAULT}",
            where,
        )
        return replace(server, persistence_timeout=PERSISTENCE_TIMEOUT_DEFAULT)
    return server


def _prefix_problem(text: str) -> str | None:
    """What keepalived's read_unsigned says of a prefix length that is not 1..128, None for one that is."""
    if text.lstrip(" \t").startswith("-"):
        return f"negative number '{text}'"
    if not text.isdigit():
        return f"invalid number '{text}'"
    if not 1 <= int(text) <= 128:
        return f"number '{text}' outside range [1, 128]"
    return None


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address as inet_aton reads it (what keepalived's getaddrinfo does with a numeric host): one to
    four parts, each decimal, octal (0...) or hex (0x...); the last part fills the bytes left."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        if not (part.isascii() and part.isalnum()):
            return None
        hexadecimal = part[:2].lower() == "0x"
        try:
            numbers.append(int(part[2:], 16) if hexadecimal else int(part, 8 if part.startswith("0") else 10))
        except ValueError:
            return None
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 1 << (8 * (5 - len(parts))):
        return None
    value = last
    for position, number in enumerate(leading):
        value |= number << (24 - 8 * position)
    return ipaddress.IPv4Address(value)


CheckT = TypeVar("CheckT", bound=CheckerCommon)


def _at_port(checks: tuple[CheckT, ...], port: int) -> tuple[CheckT, ...]:
    return tuple(check if check.connect_port is not None else replace(check, connect_port=port) for check in checks)


def _without_port(real: RealServer) -> RealServer:
    """The port cleared from a fwmark service's real server; its checks still connect to it, as keepalived's
    do (they took the real server's address, port included, when their block was read)."""
    port = real.port
    return replace(
        real,
        port=0,
        tcp_checks=_at_port(real.tcp_checks, port),
        http_checks=_at_port(real.http_checks, port),
        ssl_checks=_at_port(real.ssl_checks, port),
        smtp_checks=_at_port(real.smtp_checks, port),
        dns_checks=_at_port(real.dns_checks, port),
        ping_checks=_at_port(real.ping_checks, port),
        udp_checks=_at_port(real.udp_checks, port),
    )


def _checked_real_servers(server: VirtualServer, sink: DiagnosticSink) -> Iterator[RealServer]:
    seen: set[tuple[bytes, int]] = set()
    for real in server.real_server:
        if server.fwmark is not None and real.port:
            host = f"[{real.address}]"
            sink.warning(
                f"WARNING - fwmark virtual server {server.label}, real server {host}:none:{real.port} has port "
                "specified - clearing; using port 0",
                real.where,
            )
            real = _without_port(real)
        key = (real.address.packed, real.port)  # not str(): 1.5 µs an address
        if key in seen:
            sink.warning(
                f"VS {server.label}: real server {real.address} {real.port} is duplicated - removing second rs",
                real.where,
            )
            continue
        seen.add(key)
        if any(not check.url for check in (*real.http_checks, *real.ssl_checks)):
            real = replace(
                real,
                http_checks=_checkers_with_urls(real.http_checks, sink),
                ssl_checks=_checkers_with_urls(real.ssl_checks, sink),
            )
        yield real


def _checkers_with_urls(checks: tuple[HttpCheck, ...], sink: DiagnosticSink) -> tuple[HttpCheck, ...]:
    kept = []
    for check in checks:
        if check.url:
            kept.append(check)
        else:
            sink.warning("HTTP/SSL_GET checker has no urls specified - ignoring", check.end or check.where)
    return tuple(kept)
