"""keepalived's checks of virtual servers (check_data.c's validate_check_config), each correction applied to
the model: the defaults it announces for what was left out, the port of a fwmark service's real server,
HTTP/SSL_GET checkers without a url."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TypeVar

from ..core.diagnostics import DiagnosticSink
from .model import CheckerCommon, Config, Forwarding, HttpCheck, Protocol, RealServer, VirtualServer


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
