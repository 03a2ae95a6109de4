"""What keepalived has and pykeepalived does not provide (SNMP, DBus, IPVS in another namespace): said at its
line, and the daemon runs without it, or refuses what would run differently."""

from __future__ import annotations

from ..core.diagnostics import DiagnosticSink, Status
from .model import DBUS_KEYWORDS, SNMP_KEYWORDS, Config
from .schema import NO_EFFECT


def check_not_provided(config: Config, sink: DiagnosticSink) -> None:
    """keepalived's SNMP and DBus interfaces, which pykeepalived does not provide: said at their line (as
    keepalived built without them says "Unknown keyword"), and the daemon runs without them."""
    for option in config.global_defs.options:
        if option.keyword in SNMP_KEYWORDS:
            sink.warning(
                f"{option.keyword}: SNMP is not provided by pykeepalived - no effect (Prometheus metrics are provided "
                "instead: --metrics)",
                option.where,
            )
        elif option.keyword in DBUS_KEYWORDS:
            sink.warning(f"{option.keyword}: DBus is not provided by pykeepalived - no effect", option.where)
    for option in config.options:
        # keepalived programs IPVS in that namespace; ours would program the daemon's own: not the same table.
        if option.keyword != "net_namespace_ipvs":
            continue
        if config.virtual_server:
            sink.error(
                "net_namespace_ipvs: not provided by pykeepalived - the checker programs the data plane in the "
                "daemon's own network namespace",
                option.where,
                Status.CANNOT_RUN,
            )
        else:
            sink.warning(f"net_namespace_ipvs: {NO_EFFECT} (no virtual_server)", option.where, Status.OK)
