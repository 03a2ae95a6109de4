"""Value lines inside blocks: addresses, routes, rules, tracked objects, peers, group members (repr=False and
eq=False, as the blocks of model.py: `dump-config` prints them, nothing compares them by value)."""

from __future__ import annotations

import ipaddress

from ..core.diagnostics import Location
from ..core.frozen import frozen_dataclass
from .reader import Line
from .schema import BuildContext, Invalid, parse_int, parse_interface, parse_ip

IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address
IPIface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

SCOPES = ("site", "link", "host", "nowhere", "global")
ROUTE_TYPES = (
    "unicast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "local",
    "broadcast",
    "anycast",
    "multicast",
    "nat",
)
ADDRESS_FLAGS = ("home", "-nodad", "nodad", "optimistic", "noprefixroute", "autojoin", "no_track")


ADDRESS_OPTIONS = ("dev", "label", "scope", "brd", "broadcast", "peer", "preferred_lft")


def _pairs(words: tuple[str, ...], address: str) -> dict[str, str]:
    """`key value` pairs and flags after the leading address."""
    options: dict[str, str] = {}
    i = 0
    while i < len(words):
        key = words[i]
        if key not in ADDRESS_OPTIONS and key not in ADDRESS_FLAGS:
            raise Invalid(f"unknown option '{key}' for ip address {address} (one address per line)")
        if key in ADDRESS_FLAGS:
            options[key] = ""
            i += 1
            continue
        if i + 1 >= len(words):
            raise Invalid(f"'{key}' needs a value")
        options[key] = words[i + 1]
        i += 2
    return options


@frozen_dataclass
class VirtualAddress:
    """A `virtual_ipaddress` / `static_ipaddress` line."""

    address: IPIface
    where: Location
    dev: str | None = None
    label: str | None = None
    scope: str | None = None
    broadcast: IPAddr | None = None
    peer: IPIface | None = None
    flags: tuple[str, ...] = ()

    @property
    def family(self) -> int:
        return self.address.version


def virtual_address(line: Line, ctx: BuildContext) -> VirtualAddress:
    words = line.words
    text = words[0]
    try:
        address = ipaddress.ip_interface(text)
    except ValueError:
        raise Invalid(f"VRRP parsed invalid IP {text}. skipping IP... (not an IP address[/prefix])") from None
    options = _pairs(words[1:], text)
    scope = options.get("scope")
    if scope is not None and scope not in SCOPES and not scope.isdigit():
        raise Invalid(f"invalid scope '{scope}' for ip address {text}")
    label = options.get("label")
    if address.version == 6:
        if scope is not None:
            ctx.warn(f"Cannot specify scope for IPv6 addresses ({text}) - ignoring scope", line.where)
            scope = None
        if label is not None:
            ctx.warn(f"Cannot specify label for IPv6 addresses ({text}) - ignoring label", line.where)
            label = None
    brd = options.get("brd", options.get("broadcast"))
    if brd == "+" or brd == "-":
        brd = None
    return VirtualAddress(
        address=address,
        where=line.where,
        dev=options.get("dev"),
        label=label,
        scope=scope,
        broadcast=parse_ip(brd) if brd else None,
        peer=parse_interface(options["peer"]) if "peer" in options else None,
        flags=tuple(k for k in options if k in ADDRESS_FLAGS),
    )


@frozen_dataclass
class Route:
    """A `virtual_routes` / `static_routes` line."""

    destination: IPIface
    where: Location
    route_type: str = "unicast"
    source: IPAddr | None = None
    via: IPAddr | None = None
    alternatives: tuple[IPAddr, ...] = ()
    dev: str | None = None
    scope: str | None = None
    table: str | None = None
    metric: int | None = None
    options: tuple[tuple[str, str], ...] = ()
    # keepalived tracks a route (restores it if removed, faults the instance) unless no_track or no interface.
    tracked: bool = True

    @property
    def nexthop_devs(self) -> tuple[str, ...]:
        return (self.dev,) if self.dev else ()


def route(line: Line, ctx: BuildContext) -> Route:
    words = list(line.words)
    route_type = "unicast"
    if words and words[0] in ROUTE_TYPES:
        route_type = words.pop(0)
    source: IPAddr | None = None
    if words[:1] == ["src"]:
        if len(words) < 2:
            raise Invalid("'src' needs an address")
        source = parse_ip(words[1])
        words = words[2:]
    if words[:1] == ["to"]:
        words = words[1:]
    if not words:
        raise Invalid("route has no destination")
    destination_text = words.pop(0)
    destination = parse_interface("0.0.0.0/0" if destination_text == "default" else destination_text)
    via: IPAddr | None = None
    alternatives: list[IPAddr] = []
    values: dict[str, str] = {}
    options: list[tuple[str, str]] = []
    i = 0
    flag_words = {"onlink", "nexthop", "no_track", "rtt_lock", "rttvar_lock", "quickack", "fastopen_no_cookie"}
    # keepalived takes the route's interface from a `dev` before any `nexthop` only.
    route_dev: str | None = None
    while i < len(words):
        key = words[i]
        if key in flag_words:
            options.append((key, ""))
            i += 1
            continue
        if i + 1 >= len(words):
            raise Invalid(f"'{key}' needs a value")
        value = words[i + 1]
        if key in ("via", "gw"):
            if key == "gw":
                ctx.warn('"gw" for routes is deprecated. Please use "via"', line.where)
            try:
                via = ipaddress.ip_address(value)
            except ValueError:
                raise Invalid(
                    f"VRRP parsed invalid IP {value}. skipping IP...; invalid route via address {value}"
                ) from None
        elif key == "or":
            ctx.warn('"or" for routes is deprecated. Please use "nexthop"', line.where)
            alternatives.append(parse_ip(value))
        elif key in ("dev", "scope", "table", "metric", "src"):
            values[key] = value
            if key == "dev" and ("nexthop", "") not in options:
                route_dev = value
        else:
            options.append((key, value))
        i += 2
    if "src" in values:
        source = parse_ip(values["src"])
    tracked = ("no_track", "") not in options
    if tracked:
        protocol = next((v for k, v in options if k in ("protocol", "proto")), None)
        if protocol is not None and protocol not in ("keepalived", "18"):
            ctx.warn("Route cannot be tracked if protocol is not RTPROT_KEEPALIVED(18), resetting protocol", line.where)
            options = [(k, "keepalived" if k in ("protocol", "proto") else v) for k, v in options]
        if route_dev is None:
            ctx.warn(
                f"Warning - cannot track route {destination} with no interface specified, not tracking", line.where
            )
            tracked = False
    return Route(
        destination=destination,
        where=line.where,
        route_type=route_type,
        source=source,
        via=via,
        alternatives=tuple(alternatives),
        dev=values.get("dev"),
        scope=values.get("scope"),
        table=values.get("table"),
        metric=parse_int(values["metric"], 0, 2**32 - 1) if "metric" in values else None,
        options=tuple(options),
        tracked=tracked,
    )


@frozen_dataclass
class Rule:
    """A `virtual_rules` / `static_rules` line."""

    where: Location
    preference: int
    source: IPIface | None = None
    destination: IPIface | None = None
    table: str | None = None
    options: tuple[tuple[str, str], ...] = ()


RULE_FLAGS = {"not", "no_track", "l3mdev", "blackhole", "prohibit", "unreachable"}


def rule(line: Line, ctx: BuildContext) -> Rule:
    words = line.words
    values: dict[str, str] = {}
    options: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        key = words[i]
        if key in RULE_FLAGS:
            options.append((key, ""))
            i += 1
            continue
        if i + 1 >= len(words):
            raise Invalid(f"'{key}' needs a value")
        value = words[i + 1]
        if key in ("preference", "priority", "prio"):
            key = "preference"
        if key in ("from", "to") and value != "all":
            try:
                ipaddress.ip_interface(value)
            except ValueError:
                raise Invalid(
                    f"VRRP parsed invalid IP {value}. skipping IP... Invalid rule {key} address {value}"
                ) from None
        if key in ("from", "to", "table", "preference"):
            values[key] = value
        else:
            options.append((key, value))
        i += 2
    if "preference" in values:
        preference = parse_int(values["preference"], 0, 2**32 - 1)
    else:
        preference = ctx.next_rule_preference
        ctx.next_rule_preference -= 1
        ctx.warn(
            f"Rule has no preference specified - setting to {preference}. This is probably not what you want.",
            line.where,
        )

    def address(key: str) -> IPIface | None:
        value = values.get(key)
        return None if value in (None, "all") else ipaddress.ip_interface(value)

    return Rule(line.where, preference, address("from"), address("to"), values.get("table"), tuple(options))


@frozen_dataclass
class Tracked:
    """A `track_script` / `track_interface` / `track_file` / `track_process` line: a name and its weight."""

    name: str
    where: Location
    weight: int | None = None
    reverse: bool = False


def tracked(line: Line, ctx: BuildContext) -> Tracked:
    words = line.words
    if len(words) == 1:
        return Tracked(words[0], line.where)
    if words[1] != "weight" or len(words) < 3:
        raise Invalid(f"expected '{words[0]} [weight N [reverse]]'")
    weight = parse_int(words[2], -254, 254)
    reverse = False
    if len(words) > 3:
        if words[3] != "reverse" or len(words) > 4:
            raise Invalid(f"unknown weight option '{' '.join(words[3:])}'")
        reverse = True
    return Tracked(words[0], line.where, weight, reverse)


@frozen_dataclass
class UnicastPeer:
    """A `unicast_peer` line."""

    address: IPAddr
    where: Location
    min_ttl: int | None = None
    max_ttl: int | None = None


def unicast_peer(line: Line, ctx: BuildContext) -> UnicastPeer:
    words = line.words
    address = parse_ip(words[0])
    ttl: dict[str, int] = {}
    for i in range(1, len(words), 2):
        if words[i] not in ("min_ttl", "max_ttl") or i + 1 >= len(words):
            raise Invalid(f"unknown unicast_peer option '{words[i]}'")
        ttl[words[i]] = parse_int(words[i + 1], 0, 255)
    return UnicastPeer(address, line.where, ttl.get("min_ttl"), ttl.get("max_ttl"))


def names(line: Line, ctx: BuildContext) -> tuple[str, ...]:
    return line.words


def email(line: Line, ctx: BuildContext) -> str:
    if len(line.words) != 1:
        raise Invalid("one e-mail address per line")
    return line.words[0]


@frozen_dataclass
class GroupMember:
    """A `virtual_server_group` line: an address (range) and port, or a firewall mark."""

    where: Location
    address: IPAddr | None = None
    # The last address of a range `10.0.0.1-10` (inclusive), or the address itself.
    last: IPAddr | None = None
    port: int | None = None
    fwmark: int | None = None


def group_member(line: Line, ctx: BuildContext) -> GroupMember:
    words = line.words
    if words[0] == "fwmark":
        if len(words) < 2:
            raise Invalid("fwmark needs a value")
        return GroupMember(line.where, fwmark=parse_int(words[1], 1, 2**32 - 1))
    text = words[0]
    first_text, dash, end_text = text.partition("-")
    if "/" in first_text and not dash:
        # keepalived takes IP/prefix as the range of the prefix's addresses.
        address_text, _, prefix = first_text.partition("/")
        if not prefix.isdigit() or int(prefix) == 0:
            raise Invalid(f"Invalid netmask - {first_text} - skipping")
        try:
            network = ipaddress.ip_network(first_text)
        except ValueError as problem:
            if "host bits set" in str(problem):
                raise Invalid(f"Address mask bits not empty - {first_text} - skipping") from None
            raise Invalid(f"Invalid virtual server group IP address {address_text} - skipping") from None
        port = parse_int(words[1], 0, 65535) if len(words) > 1 else 0
        return GroupMember(line.where, network.network_address, network.broadcast_address, port)
    first = parse_ip(first_text)
    last = first
    if dash:
        try:
            if first.version == 4:
                last = ipaddress.IPv4Address((int(first) & ~0xFF) | parse_int(end_text, 0, 255))
            else:
                last = ipaddress.IPv6Address((int(first) & ~0xFFFF) | int(end_text, 16))
        except ValueError:
            raise Invalid(f"invalid address range '{text}'") from None
        if int(last) < int(first):
            raise Invalid(f"address range '{text}' ends before it starts")
    port = parse_int(words[1], 0, 65535) if len(words) > 1 else 0
    return GroupMember(line.where, first, last, port)
