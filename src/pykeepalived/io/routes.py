"""Routes and policy rules as rtnetlink messages (built with pyroute2), for virtual and static routes/rules."""

from __future__ import annotations

import socket
from pathlib import Path

from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST
from pyroute2.netlink.rtnl import RTM_DELROUTE, RTM_DELRULE, RTM_NEWROUTE, RTM_NEWRULE
from pyroute2.netlink.rtnl.fibmsg import fibmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from ..config.items import Route, Rule

# keepalived marks its routes with its own protocol number (RTPROT_KEEPALIVED).
RTPROT_KEEPALIVED = 18
FR_ACT_TO_TBL = 1
RT_TABLE_COMPAT = 252
TABLES = {"main": 254, "local": 255, "default": 253}
ROUTE_TYPES = {"unicast": 1, "local": 2, "broadcast": 3, "anycast": 4, "multicast": 5, "blackhole": 6,
               "unreachable": 7, "prohibit": 8, "throw": 9, "nat": 10}  # fmt: skip
SCOPES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
RT_TABLES = Path("/etc/iproute2/rt_tables")


class RouteError(ValueError):
    """A route or rule this build cannot express."""


def table_number(table: str | None) -> int:
    """A routing table by number or by name (/etc/iproute2/rt_tables); main when unset."""
    if table is None:
        return TABLES["main"]
    if table.isdigit():
        return int(table)
    if table in TABLES:
        return int(TABLES[table])
    if RT_TABLES.exists():
        for line in RT_TABLES.read_text().splitlines():
            fields = line.split("#")[0].split()
            if len(fields) == 2 and fields[1] == table and fields[0].isdigit():
                return int(fields[0])
    raise RouteError(f"unknown routing table '{table}'")


def _flags(add: bool) -> int:
    flags: int = NLM_F_REQUEST | NLM_F_ACK
    return flags | NLM_F_CREATE | NLM_F_REPLACE if add else flags


def route_message(route: Route, ifindex: int | None, add: bool) -> bytes:
    if route.alternatives:
        raise RouteError(f"route {route.destination}: 'or' gateways (multipath) are not supported by this build yet")
    destination = route.destination.network
    message = rtmsg()
    message["family"] = socket.AF_INET if destination.version == 4 else socket.AF_INET6
    message["dst_len"] = destination.prefixlen
    table = table_number(route.table)
    message["table"] = table if table < 256 else RT_TABLE_COMPAT
    message["proto"] = RTPROT_KEEPALIVED
    message["type"] = ROUTE_TYPES[route.route_type]
    if route.scope is not None:
        message["scope"] = SCOPES[route.scope] if route.scope in SCOPES else int(route.scope)
    else:
        # As `ip route`: a unicast route straight onto a link is link-scoped.
        direct = route.route_type == "unicast" and route.via is None and ifindex is not None
        message["scope"] = SCOPES["link"] if direct else SCOPES["global"]
    attributes: list[tuple[str, object]] = [("RTA_TABLE", table)]
    if destination.prefixlen:
        attributes.append(("RTA_DST", str(destination.network_address)))
    if route.via is not None:
        attributes.append(("RTA_GATEWAY", str(route.via)))
    if ifindex is not None:
        attributes.append(("RTA_OIF", ifindex))
    if route.source is not None:
        attributes.append(("RTA_PREFSRC", str(route.source)))
    if route.metric is not None:
        attributes.append(("RTA_PRIORITY", route.metric))
    message["attrs"] = attributes
    message["header"]["type"] = RTM_NEWROUTE if add else RTM_DELROUTE
    message["header"]["flags"] = _flags(add)
    message.encode()
    return bytes(message.data)


def rule_message(rule: Rule, add: bool) -> bytes:
    versions = {a.version for a in (rule.source, rule.destination) if a is not None}
    message = fibmsg()
    message["family"] = socket.AF_INET6 if versions == {6} else socket.AF_INET
    table = table_number(rule.table)
    message["table"] = table if table < 256 else RT_TABLE_COMPAT
    message["action"] = FR_ACT_TO_TBL
    attributes: list[tuple[str, object]] = [("FRA_TABLE", table), ("FRA_PRIORITY", rule.preference)]
    if rule.source is not None:
        message["src_len"] = rule.source.network.prefixlen
        attributes.append(("FRA_SRC", str(rule.source.network.network_address)))
    if rule.destination is not None:
        message["dst_len"] = rule.destination.network.prefixlen
        attributes.append(("FRA_DST", str(rule.destination.network.network_address)))
    message["attrs"] = attributes
    message["header"]["type"] = RTM_NEWRULE if add else RTM_DELRULE
    message["header"]["flags"] = _flags(add)
    message.encode()
    return bytes(message.data)
