"""The typed, frozen model of a keepalived.conf, with its keyword tables.

Each block is a frozen dataclass. A field declared with `kw(...)` is a keyword: its converter says
the type and range, `default` is what keepalived uses when the keyword is absent, `deprecated` lists
old spellings keepalived still accepts. Keywords keepalived accepts but whose meaning belongs to a later
part of pykeepalived are listed in RAW_KEYWORDS and kept, as written, in `options`.

Blocks are declared with repr=False and eq=False: `dump-config` prints the model, nothing compares blocks
by value (a Script, kept once per command, does compare), and generating those methods for each block
class would slow every start (`-t` on a small file is mostly imports).

Over 400 lines: every block's keyword table, kept together so that the reader, `-t`, dump-config and
`pykeepalivedctl keywords` see one declaration of each keyword.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from ..core.diagnostics import Location
from ..core.frozen import frozen_dataclass
from . import items
from .items import GroupMember, Route, Rule, Tracked, UnicastPeer, VirtualAddress
from .schema import Block as B
from .schema import (
    BuildContext,
    Choice,
    Custom,
    CustomValues,
    Either,
    Flag,
    Int,
    Invalid,
    IPAddress,
    Node,
    RawOption,
    Seconds,
    Text,
    Values,
    Word,
    arg,
    kw,
    parse_decimal,
    parse_int,
    parse_ip,
)

IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address
IFNAMSIZ = 15
TIMER_MAX_SEC = "4294.967295"


class State(enum.Enum):
    MASTER = "MASTER"
    BACKUP = "BACKUP"


class AuthType(enum.Enum):
    PASS = "PASS"
    AH = "AH"


class Protocol(enum.Enum):
    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"


class Forwarding(enum.Enum):
    NAT = "NAT"
    DR = "DR"
    TUN = "TUN"


SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo", "ovf", "lblcr", "sed", "nq", "twos")
LVS_MAX_TIMEOUT = 86400 * 31  # seconds: keepalived's bound for persistence_timeout and lvs_timeouts
IPVS_WEIGHT_LIMIT = 65535
PRIORITY_OWNER = 255
PRIORITY_DEFAULT = 100


@dataclass(frozen=True, repr=False)
class Script:
    """A notify / check command as written, with the user (and group) to run it as."""

    command: str
    user: str | None = None
    group: str | None = None


def script(node: Node, ctx: BuildContext) -> Script:
    words = node.args
    if not words:
        raise Invalid(f"{node.keyword} needs a script")
    if len(words) > 3:
        raise Invalid(
            f"too many words for {node.keyword}: quote a command with arguments, e.g. "
            f'{node.keyword} "{" ".join(words)}"'
        )
    return Script(words[0], *words[1:])


SCRIPT = Custom(script, '"command [args]" [user [group]]')


def weight_with_reverse(low: int, high: int) -> Custom[tuple[int, bool]]:
    def convert(node: Node, ctx: BuildContext) -> tuple[int, bool]:
        weight = parse_int(arg(node), low, high)
        if len(node.args) > 1:
            if node.args[1:] != ("reverse",):
                raise Invalid(f"unknown weight option '{' '.join(node.args[1:])}'")
            return weight, True
        return weight, False

    return Custom(convert, f"integer {low}..{high} [reverse]")


def ip_and_port(node: Node, ctx: BuildContext) -> tuple[IPAddr, int]:
    address = parse_ip(arg(node))
    port = parse_int(node.args[1], 0, 65535) if len(node.args) > 1 else 0
    return address, port


IP_PORT = Custom(ip_and_port, "IP address [port]")


# ----- global_defs ------------------------------------------------------------------------------


@frozen_dataclass
class LvsSyncDaemon:
    """`lvs_sync_daemon INTERFACE [[inst] VRRP_INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDRESS]`:
    IPVS's connection-sync daemon. Unset numbers are left to the kernel; an unset id is the instance's VRID."""

    interface: str
    instance: str | None = None
    syncid: int | None = None
    maxlen: int = 0
    port: int = 0
    ttl: int = 0
    group: IPAddr | None = None
    where: Location | None = None


# IPVS_IFNAME_MAXLEN is 16 bytes with the terminating NUL; maxlen leaves room for the IP and UDP headers.
SYNC_OPTIONS = {"id": (0, 255), "maxlen": (1, 65535 - 20 - 8), "port": (1, 65535), "ttl": (1, 255)}


def lvs_sync_daemon(node: Node, ctx: BuildContext) -> LvsSyncDaemon:
    interface = arg(node)
    if len(interface) > IFNAMSIZ:
        raise Invalid(f"lvs_sync_daemon interface name '{interface}' too long (at most {IFNAMSIZ} characters)")
    words = node.args
    given: dict[str, Any] = {}
    index = 1
    while index < len(words):
        word = words[index]
        if word in ("inst", "group", *SYNC_OPTIONS):
            if index + 1 == len(words):
                raise Invalid(f"No value specified for lvs_sync_daemon {word}")
            index += 1
            value = words[index]
            if word == "inst":
                given["instance"] = value
            elif word == "group":
                group = parse_ip(value)
                if not group.is_multicast:
                    raise Invalid(f"lvs_sync_daemon group address {value} is not multicast")
                given["group"] = group
            else:
                given["syncid" if word == "id" else word] = parse_int(value, *SYNC_OPTIONS[word])
        elif index == 1:
            # The older form: INTERFACE VRRP_INSTANCE [SYNC_ID].
            given["instance"] = word
        elif index == 2:
            given["syncid"] = parse_int(word, *SYNC_OPTIONS["id"])
            ctx.warn('Please use keyword "id" before lvs_sync_daemon SYNCID', node.where)
        else:
            raise Invalid(f"Unknown option {word} specified for lvs_sync_daemon")
        index += 1
    return LvsSyncDaemon(interface, **given, where=node.where)


LVS_TIMEOUT_NAMES = ("tcp", "tcpfin", "udp")


def lvs_timeouts(node: Node, ctx: BuildContext) -> tuple[int, int, int]:
    """`lvs_timeouts [tcp N] [tcpfin N] [udp N]`: IPVS's timeouts in seconds; 0 (or left out) keeps the kernel's."""
    if len(node.args) < 2:
        raise Invalid("lvs_timeouts requires at least one option")
    given = dict.fromkeys(LVS_TIMEOUT_NAMES, 0)
    for index in range(0, len(node.args), 2):
        name = node.args[index]
        if name not in given:
            raise Invalid(f"Unknown option {name} specified for lvs_timeouts")
        if index + 1 == len(node.args):
            raise Invalid(f"No value specified for lvs_timeout {name}")
        given[name] = parse_int(node.args[index + 1], 0, LVS_MAX_TIMEOUT)
    tcp, tcp_fin, udp = (given[name] for name in LVS_TIMEOUT_NAMES)
    return tcp, tcp_fin, udp


def notification_emails(node: Node, ctx: BuildContext) -> tuple[str, ...]:
    if not node.items:
        ctx.warn("Warning - empty notification_email block", node.end or node.where)
    return Values(items.email, "").convert(node, ctx)


def dynamic_interfaces_value(node: Node, ctx: BuildContext) -> bool:
    if node.args and node.args[0] != "allow_if_changes":
        ctx.warn(f"Unknown dynamic_interfaces option '{node.args[0]}'", node.where)
    return True


# keepalived's VRRP groups (RFC 3768 / RFC 5798).
MCAST_GROUP4 = ipaddress.IPv4Address("224.0.0.18")
MCAST_GROUP6 = ipaddress.IPv6Address("ff02::12")


def mcast_group(version: int, default: IPAddr) -> Custom[IPAddr]:
    """vrrp_mcast_group4/6: keepalived skips an address of the other family or not multicast (the default stays),
    and takes an IPv6 group that is not link-local with a warning."""

    def convert(node: Node, ctx: BuildContext) -> IPAddr:
        text = arg(node)
        try:
            group = ipaddress.ip_address(text)
        except ValueError:
            ctx.warn(f"Can't parse {node.keyword} [{text}]. Skipping", node.where)
            return default
        if group.version != version:
            ctx.warn(f"{node.keyword} [{text}] is not IPv{version}. Skipping", node.where)
            return default
        if not group.is_multicast:
            ctx.warn(f"{node.keyword} [{text}] is not multicast. Skipping", node.where)
            return default
        if version == 6 and group.packed[1] & 0x0F != 2:
            ctx.warn(f"{node.keyword} [{text}] should be link-local multicast.", node.where)
        return group

    return Custom(convert, f"IPv{version} multicast address")


def refresh_repeat(node: Node, ctx: BuildContext) -> int:
    """garp_master_refresh_repeat: 0 is taken (pre-2.0.7 files have it) and run as 1."""
    repeats = parse_int(arg(node), 0, 2**32 - 1)
    if repeats:
        return repeats
    where = "vrrp_" if node.keyword.startswith("vrrp_") else f"({ctx.block_name}): "
    ctx.warn(f"{where}garp_master_refresh_repeat must be greater than 0, setting to 1", node.where)
    return 1


def iptables_value(node: Node, ctx: BuildContext) -> tuple[str, ...]:
    # Debian's keepalived is built with nftables only; it says so and uses nftables.
    ctx.warn(
        "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' "
        "with 'nftables' config option",
        node.where,
    )
    return node.args


def include_check_value(node: Node, ctx: BuildContext) -> tuple[str, ...]:
    # The reader applies include_check while reading (it governs later includes); keep what was written.
    return node.args


# global_defs keywords of keepalived's SNMP and DBus interfaces, which pykeepalived does not provide.
SNMP_KEYWORDS = frozenset(
    ("snmp_socket", "enable_traps", "enable_snmp_vrrp", "enable_snmp_keepalived", "enable_snmp_rfc",
     "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_snmp_checker")
)  # fmt: skip
DBUS_KEYWORDS = frozenset(("enable_dbus", "dbus_service_name"))


@frozen_dataclass
class GlobalDefs:
    """The `global_defs` block."""

    RAW_KEYWORDS: ClassVar[frozenset[str]] = frozenset(
        [
            "process_names",
            "process_name",
            "vrrp_process_name",
            "checker_process_name",
            "lvs_process_name",
            "bfd_process_name",
            "startup_script",
            "startup_script_timeout",
            "shutdown_script",
            "shutdown_script_timeout",
            "min_auto_priority_delay",
            "checker_log_all_failures",
            "no_email_faults",
            "default_interface",
            "disable_local_igmp",
            "lvs_flush_on_stop",
            "lvs_flush_onstop",
            "vrrp_down_timer_adverts",
            "vrrp_min_garp",
            "vrrp_garp_extra_if",
            "vrrp_vmac_garp_intvl",
            "nftables",
            "nftables_priority",
            "nftables_ifindex",
            "nftables_ipvs",
            "nftables_ipvs_priority",
            "nftables_ipvs_start_fwmark",
            "nftables_counters",
            "vrrp_check_unicast_src",
            "vrrp_no_swap",
            "vrrp_cpu_affinity",
            "vrrp_rlimit_rtime",
            "vrrp_notify_priority_changes",
            "fifo_write_vrrp_states_on_reload",
            "checker_no_swap",
            "checker_rt_priority",
            "checker_cpu_affinity",
            "checker_rlimit_rttime",
            "checker_rlimit_rtime",
            "bfd_priority",
            "bfd_no_swap",
            "bfd_rt_priority",
            "bfd_cpu_affinity",
            "bfd_rlimit_rttime",
            "bfd_rlimit_rtime",
            "snmp_socket",
            "enable_traps",
            "enable_snmp_vrrp",
            "enable_snmp_keepalived",
            "enable_snmp_rfc",
            "enable_snmp_rfcv2",
            "enable_snmp_rfcv3",
            "enable_snmp_checker",
            "enable_dbus",
            "dbus_service_name",
            "vrrp_netlink_cmd_rcv_bufs",
            "vrrp_netlink_cmd_rcv_bufs_force",
            "vrrp_netlink_monitor_rcv_bufs",
            "vrrp_netlink_monitor_rcv_bufs_force",
            "process_monitor_rcv_bufs",
            "process_monitor_rcv_bufs_force",
            "lvs_netlink_cmd_rcv_bufs",
            "lvs_netlink_cmd_rcv_bufs_force",
            "lvs_netlink_monitor_rcv_bufs",
            "lvs_netlink_monitor_rcv_bufs_force",
            "rs_init_notifies",
            "no_checker_emails",
            "vrrp_rx_bufs_policy",
            "vrrp_rx_bufs_multiplier",
            "log_unknown_vrids",
            "vmac_prefix",
            "vmac_addr_prefix",
            "umask",
            "random_seed",
            "reload_check_config",
            "reload_time_file",
            "reload_repeat",
            "reload_file",
            "config_save_dir",
            "tmp_config_directory",
            "data_use_instance",
            "linkbeat_use_polling",
        ]
    )
    # data_use_instance names the dump files; the nftables keywords set up the accept-mode firewall and
    # default_interface places static addresses without dev (VRRP process); config_save_dir and
    # reload_check_config serve reloads (dump_files.ConfigSaver, the supervisor); SNMP and DBus are reported by
    # not_provided.check_not_provided.
    RAW_CONSUMED: ClassVar[frozenset[str]] = frozenset(
        {"lvs_flush_onstop", "lvs_flush_on_stop", "data_use_instance", "config_save_dir", "reload_check_config"}
        | {"nftables", "nftables_priority", "nftables_counters", "nftables_ifindex", "default_interface"}
        | SNMP_KEYWORDS
        | DBUS_KEYWORDS
    )

    where: Location | None = None
    # Where each keyword was written, for messages about it.
    lines: Mapping[str, Location] = field(default_factory=dict, compare=False)
    router_id: str | None = kw(Word())
    notification_email: tuple[str, ...] = kw(CustomValues(notification_emails, "e-mail addresses"), repeat=True)
    notification_email_from: str | None = kw(Word())
    smtp_server: tuple[IPAddr, int] | None = kw(IP_PORT)
    smtp_helo_name: str | None = kw(Word())
    smtp_connect_timeout: int = kw(Int(1, 2**31 - 1), default=30)
    smtp_alert: bool = kw(Flag(), default=False)
    smtp_alert_vrrp: bool = kw(Flag(), default=False)
    smtp_alert_checker: bool = kw(Flag(), default=False)
    script_user: tuple[str, ...] | None = kw(Custom(lambda n, c: n.args, "user [group]"))
    enable_script_security: bool = kw(Flag(), default=False)
    # Instances wait for their own interface (daemon/dynamic_interfaces.py); the other interfaces named must exist.
    dynamic_interfaces: bool = kw(Custom(dynamic_interfaces_value, "flag [allow_if_changes]"), default=False)
    max_auto_priority: int | None = kw(Int(-1, 99), no_effect="no realtime scheduling")
    vrrp_version: int = kw(Int(2, 3), default=2)
    vrrp_mcast_group4: IPAddr = kw(mcast_group(4, MCAST_GROUP4), default=MCAST_GROUP4)
    vrrp_mcast_group6: IPAddr = kw(mcast_group(6, MCAST_GROUP6), default=MCAST_GROUP6)
    vrrp_garp_master_delay: int = kw(Int(0, 2**31 - 1), default=5)
    vrrp_garp_master_repeat: int = kw(Int(0, 2**31 - 1), default=5)
    vrrp_garp_master_refresh: int = kw(Int(0, 2**31 - 1), default=0)
    vrrp_garp_master_refresh_repeat: int = kw(Custom(refresh_repeat, "integer, 1 or more"), default=1)
    # Unset: the same as vrrp_garp_master_delay / vrrp_garp_master_repeat (keepalived's rule).
    vrrp_garp_lower_prio_delay: int | None = kw(Int(0, 2**31 - 1))
    vrrp_garp_lower_prio_repeat: int | None = kw(Int(0, 2**31 - 1))
    vrrp_garp_interval: float = kw(Seconds("0.000001", TIMER_MAX_SEC, zero_is_default=True), default=0.0)
    vrrp_gna_interval: float = kw(Seconds("0.000001", TIMER_MAX_SEC, zero_is_default=True), default=0.0)
    vrrp_lower_prio_no_advert: bool = kw(Flag(), default=False)
    vrrp_higher_prio_send_advert: bool = kw(Flag(), default=False)
    vrrp_skip_check_adv_addr: bool = kw(Flag(), default=False)
    vrrp_strict: bool = kw(Flag(), default=False)
    vrrp_priority: int | None = kw(Int(-20, 19))
    vrrp_rt_priority: int | None = kw(Int(1, 99))
    vrrp_rlimit_rttime: int | None = kw(Int(1, 2**31 - 1))
    checker_priority: int | None = kw(Int(-20, 19), no_effect="the checker process keeps its priority")
    vrrp_startup_delay: float | None = kw(Seconds("0", "1000"))
    notify_fifo: tuple[str, ...] | None = kw(Custom(lambda n, c: n.args, "path [user [group]]"))
    notify_fifo_script: Script | None = kw(SCRIPT)
    vrrp_notify_fifo: tuple[str, ...] | None = kw(Custom(lambda n, c: n.args, "path [user [group]]"))
    vrrp_notify_fifo_script: Script | None = kw(SCRIPT)
    lvs_notify_fifo: tuple[str, ...] | None = kw(
        Custom(lambda n, c: n.args, "path [user [group]]"), no_effect="checker events are not written to a FIFO"
    )
    lvs_notify_fifo_script: Script | None = kw(SCRIPT, no_effect="checker events are not written to a FIFO")
    lvs_flush: bool = kw(Flag(), default=False)
    lvs_timeouts: tuple[int, int, int] | None = kw(Custom(lvs_timeouts, "[tcp N] [tcpfin N] [udp N]"))
    lvs_sync_daemon: LvsSyncDaemon | None = kw(
        Custom(lvs_sync_daemon, "INTERFACE [[inst] VRRP_INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDRESS]")
    )
    include_check: tuple[str, ...] | None = kw(Custom(include_check_value, "read|match|wildcard_match|..."))
    vrrp_iptables: tuple[str, ...] | None = kw(Custom(iptables_value, "[inchain [outchain]]"))
    options: tuple[RawOption, ...] = ()


# ----- VRRP ---------------------------------------------------------------------------------------


@frozen_dataclass
class VrrpScript:
    """A `vrrp_script` block: a command whose exit status is tracked."""

    where: Location
    name: str
    end: Location | None = None
    script: str | None = kw(Text(), doc="command to run; exit 0 is success")
    interval: float = kw(Seconds("0.000001", TIMER_MAX_SEC), default=1.0)
    timeout: float | None = kw(Seconds("0.000001", TIMER_MAX_SEC))
    weight: tuple[int, bool] = kw(weight_with_reverse(-253, 253), default=(0, False))
    rise: int = kw(Int(1, 2**31 - 1), default=1)
    fall: int = kw(Int(1, 2**31 - 1), default=1)
    user: tuple[str, ...] | None = kw(Custom(lambda n, c: n.args, "user [group]"))
    init_fail: bool = kw(Flag(), default=False)


def name_header(node: Node, ctx: BuildContext) -> dict[str, Any]:
    if not node.args:
        raise Invalid(f"{node.keyword} needs a name")
    return {"name": node.args[0]}


@frozen_dataclass
class TrackProcess:
    """A `vrrp_track_process` block: a process whose presence is tracked."""

    where: Location
    name: str
    end: Location | None = None
    process: str | None = kw(Word())
    param_match: str | None = kw(Choice({"initial": "initial", "partial": "partial"}))
    weight: tuple[int, bool] = kw(weight_with_reverse(-254, 254), default=(0, False))
    quorum: int = kw(Int(1, 2**31 - 1), default=1)
    quorum_max: int | None = kw(Int(0, 2**31 - 1))
    delay: float | None = kw(Seconds("0", TIMER_MAX_SEC), no_effect="a change counts at once")
    terminate_delay: float | None = kw(Seconds("0", TIMER_MAX_SEC), no_effect="a change counts at once")
    fork_delay: float | None = kw(Seconds("0", TIMER_MAX_SEC), no_effect="a change counts at once")
    full_command: bool = kw(Flag(), default=False)


def init_file_value(node: Node, ctx: BuildContext) -> tuple[int, bool]:
    value = parse_int(node.args[0], -(2**31), 2**31 - 1) if node.args and node.args[0] != "overwrite" else 0
    return value, "overwrite" in node.args


@frozen_dataclass
class TrackFile:
    """A `track_file` block: a file whose number is tracked."""

    where: Location
    name: str
    end: Location | None = None
    file: str | None = kw(Word())
    weight: tuple[int, bool] = kw(weight_with_reverse(-254, 254), default=(1, False))
    init_file: tuple[int, bool] | None = kw(Custom(init_file_value, "[value] [overwrite]"))


@frozen_dataclass
class Authentication:
    """A vrrp_instance's `authentication` block (VRRPv2 only)."""

    where: Location | None = None
    auth_type: AuthType | None = kw(Choice({"PASS": AuthType.PASS, "AH": AuthType.AH}))
    auth_pass: str | None = kw(Custom(lambda n, c: _auth_pass(n, c), "password (at most 8 characters)"))


def _auth_pass(node: Node, ctx: BuildContext) -> str:
    password = arg(node)
    if len(password) > 8:
        ctx.warn("Truncating auth_pass to 8 characters: only the first 8 are used (as keepalived does)", node.where)
        return password[:8]
    return password


def state_value(node: Node, ctx: BuildContext) -> State:
    word = arg(node)
    if word not in ("MASTER", "BACKUP"):
        raise Invalid(f"unknown state '{word}' (expected MASTER or BACKUP)")
    return State(word)


def interface_name(node: Node, ctx: BuildContext) -> str:
    name = arg(node)
    if len(name) > IFNAMSIZ:
        raise Invalid(f"Interface name '{name}' too long (at most {IFNAMSIZ} characters)")
    return name


def priority_value(node: Node, ctx: BuildContext) -> int:
    text = arg(node)
    try:
        return parse_int(text, 1, PRIORITY_OWNER)
    except Invalid as problem:
        ctx.warn(problem.message, node.where)
        ctx.warn(
            f"({ctx.block_name}) Priority not valid! must be between 1 & {PRIORITY_OWNER}. "
            f"Using default {PRIORITY_DEFAULT}",
            node.where,
        )
        return PRIORITY_DEFAULT


def advert_interval(node: Node, ctx: BuildContext) -> float:
    value = parse_decimal(arg(node), Decimal("0.01"), Decimal("255"), 2)
    return float(value)


def use_vmac_value(node: Node, ctx: BuildContext) -> str:
    # An empty name means keepalived's default vrrp.<VRID>.
    name = node.args[0] if node.args else ""
    if len(name) > IFNAMSIZ:
        raise Invalid(f"VMAC interface name '{name}' too long (at most {IFNAMSIZ} characters)")
    return name


def lvs_sync_daemon_interface(node: Node, ctx: BuildContext) -> str:
    ctx.warn(f"({ctx.block_name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.", node.where)
    ctx.warn("        Please use global lvs_sync_daemon", node.where)
    return arg(node)


TRACKED = Values(items.tracked, "NAME [weight N [reverse]] per line")


@frozen_dataclass
class VrrpInstance:
    """A `vrrp_instance` block."""

    RAW_KEYWORDS: ClassVar[frozenset[str]] = frozenset(
        [
            "use_vmac_addr",
            "use_ipvlan",
            "vrf",
            "unicast_fault_no_peer",
            "check_unicast_src",
            "old_unicast_checksum",
            "track_bfd",
            "linkbeat_use_polling",
            "notify_deleted",
            "notify_priority_changes",
            "down_timer_adverts",
            "garp_extra_if",
            "vmac_garp_intvl",
            "kernel_rx_buf_size",
        ]
    )

    where: Location
    name: str
    end: Location | None = None
    # Where each keyword was written, for messages about it.
    lines: Mapping[str, Location] = field(default_factory=dict, compare=False)
    state: State | None = kw(Custom(state_value, "MASTER|BACKUP"))
    interface: str | None = kw(Custom(interface_name, "interface name"))
    virtual_router_id: int | None = kw(Int(1, 255))
    priority: int | None = kw(Custom(priority_value, f"integer 1..{PRIORITY_OWNER}"))
    advert_int: float = kw(Custom(advert_interval, "seconds 0.01..255"), default=1.0)
    version: int | None = kw(Int(2, 3))
    nopreempt: bool = kw(Either("nopreempt"), names=("nopreempt", "preempt"), default=False)
    preempt_delay: float = kw(Seconds("0", TIMER_MAX_SEC), default=0.0)
    authentication: Authentication | None = kw(B(Authentication))
    virtual_ipaddress: tuple[VirtualAddress, ...] = kw(
        Values(items.virtual_address, "IP[/prefix] [dev X] [label Y] [scope Z] [brd B] per line"), repeat=True
    )
    virtual_ipaddress_excluded: tuple[VirtualAddress, ...] = kw(
        Values(items.virtual_address, "IP[/prefix] [dev X] ... per line"), repeat=True
    )
    virtual_routes: tuple[Route, ...] = kw(Values(items.route, "route per line"), repeat=True)
    virtual_rules: tuple[Rule, ...] = kw(Values(items.rule, "rule per line"), repeat=True)
    track_interface: tuple[Tracked, ...] = kw(TRACKED, repeat=True)
    track_script: tuple[Tracked, ...] = kw(TRACKED, repeat=True)
    track_file: tuple[Tracked, ...] = kw(TRACKED, repeat=True)
    track_process: tuple[Tracked, ...] = kw(TRACKED, repeat=True)
    unicast_peer: tuple[UnicastPeer, ...] = kw(
        Values(items.unicast_peer, "IP [min_ttl N] [max_ttl N] per line"), repeat=True
    )
    unicast_src_ip: IPAddr | None = kw(IPAddress())
    mcast_src_ip: IPAddr | None = kw(IPAddress())
    mcast_dst_ip: IPAddr | None = kw(IPAddress())
    # Meant to put the instance in FAULT when its configured source leaves the interface; keepalived 2.2.7's
    # check compares the address with the start of a sockaddr and never matches (tests/net/test_vrrp_track_src_ip.py).
    track_src_ip: bool = kw(
        Flag(), default=False, no_effect="as in keepalived 2.2.7, the instance runs on when its source address goes"
    )
    unicast_ttl: int | None = kw(Int(0, 255))
    use_vmac: str | None = kw(Custom(use_vmac_value, "[interface name]"))
    vmac_xmit_base: bool = kw(Flag(), default=False)
    accept: bool | None = kw(Either("accept"), names=("accept", "no_accept"))
    dont_track_primary: bool = kw(Flag(), default=False)
    skip_check_adv_addr: bool | None = kw(Flag())
    strict_mode: bool | None = kw(Flag())
    native_ipv6: bool = kw(Flag(), default=False)
    promote_secondaries: bool = kw(Flag(), default=False, no_effect="the interface's setting is left as it is")
    garp_master_delay: int | None = kw(Int(0, 2**31 - 1))
    garp_master_repeat: int | None = kw(Int(0, 2**31 - 1))
    garp_master_refresh: int | None = kw(Int(0, 2**31 - 1))
    garp_master_refresh_repeat: int | None = kw(Custom(refresh_repeat, "integer, 1 or more"))
    garp_lower_prio_delay: int | None = kw(Int(0, 2**31 - 1))
    garp_lower_prio_repeat: int | None = kw(Int(0, 2**31 - 1))
    lower_prio_no_advert: bool | None = kw(Flag())
    higher_prio_send_advert: bool | None = kw(Flag())
    notify_master: Script | None = kw(SCRIPT)
    notify_backup: Script | None = kw(SCRIPT)
    notify_fault: Script | None = kw(SCRIPT)
    notify_stop: Script | None = kw(SCRIPT)
    notify: Script | None = kw(SCRIPT)
    # Run each time this instance, MASTER, hears a lower priority advert (a master elsewhere that missed ours).
    notify_master_rx_lower_pri: Script | None = kw(SCRIPT)
    smtp_alert: bool | None = kw(Flag())
    debug: int = kw(Int(0, 4), default=0, no_effect="no per-instance debug output")
    lvs_sync_daemon_interface: str | None = kw(Custom(lvs_sync_daemon_interface, "interface (deprecated)"))
    options: tuple[RawOption, ...] = ()

    @property
    def family(self) -> int:
        """4 or 6, from the first virtual address (keepalived's rule), or native_ipv6; 4 when neither."""
        if self.virtual_ipaddress:
            return self.virtual_ipaddress[0].family
        return 6 if self.native_ipv6 else 4

    def effective_version(self, global_version: int) -> int:
        return self.version or (3 if self.family == 6 else global_version)

    @property
    def effective_priority(self) -> int:
        """keepalived: an unset priority is 255 with state MASTER, else 100."""
        if self.priority is not None:
            return self.priority
        return PRIORITY_OWNER if self.state is State.MASTER else PRIORITY_DEFAULT

    @property
    def effective_state(self) -> State:
        """keepalived: an unset state is MASTER for the address owner (priority 255), else BACKUP."""
        if self.state is not None:
            return self.state
        return State.MASTER if self.effective_priority == PRIORITY_OWNER else State.BACKUP

    @property
    def unicast(self) -> bool:
        return bool(self.unicast_peer)


@frozen_dataclass
class SyncGroup:
    """A `vrrp_sync_group` block: instances that change state together."""

    where: Location
    name: str
    end: Location | None = None
    group: tuple[tuple[str, ...], ...] = kw(Values(items.names, "instance names"), repeat=True)
    track_interface: tuple[Tracked, ...] = kw(TRACKED, repeat=True)
    track_script: tuple[Tracked, ...] = kw(TRACKED, repeat=True)
    track_file: tuple[Tracked, ...] = kw(TRACKED, repeat=True)
    track_process: tuple[Tracked, ...] = kw(TRACKED, repeat=True)
    notify_master: Script | None = kw(SCRIPT)
    notify_backup: Script | None = kw(SCRIPT)
    notify_fault: Script | None = kw(SCRIPT)
    notify_stop: Script | None = kw(SCRIPT)
    notify: Script | None = kw(SCRIPT)
    smtp_alert: bool | None = kw(Flag())
    global_tracking: bool = kw(Flag(), default=False, no_effect="members' tracking is not shared")
    sync_group_tracking_weight: bool = kw(
        Flag(), default=False, no_effect="a weighted tracker of a member does not move the group"
    )
    notify_priority_changes: bool = kw(Flag(), default=False, no_effect="no notification on priority changes")

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(name for line in self.group for name in line)


# ----- health checkers ----------------------------------------------------------------------------


@frozen_dataclass
class CheckerCommon:
    """What every health checker's block accepts."""

    where: Location | None = None
    connect_ip: IPAddr | None = kw(IPAddress())
    connect_port: int | None = kw(Int(0, 65535))
    bindto: IPAddr | None = kw(IPAddress())
    bind_port: int | None = kw(Int(0, 65535))
    bind_if: str | None = kw(
        Custom(interface_name, "interface name"), no_effect="the check is not bound to an interface"
    )
    connect_timeout: float | None = kw(Seconds("0.000001", TIMER_MAX_SEC))
    fwmark: int | None = kw(Int(0, 2**32 - 1))
    retry: int | None = kw(Int(0, 2**31 - 1))
    delay_before_retry: float | None = kw(Seconds("0", TIMER_MAX_SEC))
    warmup: float | None = kw(Seconds("0", TIMER_MAX_SEC))
    delay_loop: float | None = kw(Seconds("0.000001", TIMER_MAX_SEC))
    alpha: bool | None = kw(Flag())
    log_all_failures: bool | None = kw(Flag())


@frozen_dataclass
class TcpCheck(CheckerCommon):
    """A `TCP_CHECK` block."""


@frozen_dataclass
class PingCheck(CheckerCommon):
    """A `PING_CHECK` block."""


def status_codes(node: Node, ctx: BuildContext) -> tuple[tuple[int, int], ...]:
    ranges: list[tuple[int, int]] = []
    for word in node.args:
        low, dash, high = word.partition("-")
        first = parse_int(low, 100, 999)
        last = parse_int(high, 100, 999) if dash else first
        if last < first:
            raise Invalid(f"status code range '{word}' ends before it starts")
        ranges.append((first, last))
    if not ranges:
        raise Invalid("status_code needs at least one code or range")
    return tuple(ranges)


def digest_value(node: Node, ctx: BuildContext) -> str:
    digest = arg(node).lower()
    if len(digest) != 32 or digest.strip("0123456789abcdef"):
        raise Invalid(f"digest '{arg(node)}' is not an MD5 digest (32 hex digits)")
    return digest


@frozen_dataclass
class Url:
    """An HTTP_GET / SSL_GET `url` block."""

    where: Location | None = None
    path: str | None = kw(Word())
    digest: str | None = kw(Custom(digest_value, "32 hex digits"))
    status_code: tuple[tuple[int, int], ...] | None = kw(
        Custom(status_codes, "codes or ranges, e.g. 200-299", pure=True)
    )
    virtualhost: str | None = kw(Word())
    regex: str | None = kw(Text())
    regex_no_match: bool = kw(Flag(), default=False)
    regex_options: tuple[str, ...] | None = kw(
        Custom(lambda n, c: n.args, "regex options"), no_effect="the regex takes no options"
    )
    regex_min_offset: int | None = kw(Int(0, 2**31 - 1), no_effect="the whole body is searched")
    regex_max_offset: int | None = kw(Int(0, 2**31 - 1), no_effect="the whole body is searched")
    regex_stack: int | None = kw(Int(0, 2**31 - 1), no_effect="Python's regex engine has no stack size")


@frozen_dataclass
class HttpCheck(CheckerCommon):
    """An `HTTP_GET` or `SSL_GET` block."""

    # keepalived drops a checker without url when its block closes, and says so there.
    end: Location | None = None
    retry: int | None = kw(Int(0, 2**31 - 1), deprecated={"nb_get_retry": "retry"})
    virtualhost: str | None = kw(Word())
    http_protocol: str | None = kw(Choice({"1.0": "1.0", "1.1": "1.1", "1.0C": "1.0C", "1.0c": "1.0C"}))
    enable_sni: bool = kw(Flag(), default=False)
    fast_recovery: bool = kw(Flag(), default=False, no_effect="a failed server is retried at the usual pace")
    url: tuple[Url, ...] = kw(B(Url), repeat=True)


@frozen_dataclass
class SmtpHost(CheckerCommon):
    """An SMTP_CHECK's `host` block."""


@frozen_dataclass
class SmtpCheck(CheckerCommon):
    """An `SMTP_CHECK` block."""

    helo_name: str | None = kw(Word())
    host: tuple[SmtpHost, ...] = kw(B(SmtpHost), repeat=True, no_effect="the real server itself is checked")


DNS_TYPES = ("A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA")


@frozen_dataclass
class DnsCheck(CheckerCommon):
    """A `DNS_CHECK` block."""

    type: str = kw(Choice({t: t for t in DNS_TYPES}, case_insensitive=True), default="SOA")
    name: str = kw(Word(), default=".")


def hex_bytes(node: Node, ctx: BuildContext) -> bytes:
    text = "".join(node.args)
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise Invalid(f"'{text}' is not a string of hex digits") from None


@frozen_dataclass
class UdpCheck(CheckerCommon):
    """A `UDP_CHECK` block."""

    payload: bytes | None = kw(Custom(hex_bytes, "hex digits"))
    require_reply: bytes | None = kw(Custom(lambda n, c: hex_bytes(n, c) if n.args else b"", "[hex digits]"))
    min_reply_length: int | None = kw(Int(0, 65535))
    max_reply_length: int | None = kw(Int(0, 65535))


@frozen_dataclass
class MiscCheck(CheckerCommon):
    """A `MISC_CHECK` block: a command whose exit status decides."""

    misc_path: str | None = kw(Text())
    misc_timeout: float | None = kw(Seconds("0.000001", TIMER_MAX_SEC))
    misc_dynamic: bool = kw(Flag(), default=False)
    user: tuple[str, ...] | None = kw(Custom(lambda n, c: n.args, "user [group]"))


@frozen_dataclass
class FileCheck:
    """A `FILE_CHECK` block: a tracked file decides."""

    where: Location | None = None
    track_file: str | None = kw(Word())
    weight: tuple[int, bool] | None = kw(weight_with_reverse(-254, 254))


# Any checker block of a real server.
Checker = TcpCheck | HttpCheck | SmtpCheck | DnsCheck | PingCheck | UdpCheck | MiscCheck | FileCheck


# ----- virtual servers ----------------------------------------------------------------------------


def forwarding_value(node: Node, ctx: BuildContext) -> Forwarding:
    word = arg(node).upper()
    if word not in Forwarding.__members__:
        raise Invalid(f"'{arg(node)}' is not one of NAT, DR, TUN")
    return Forwarding[word]


FORWARDING = Custom(forwarding_value, "NAT|DR|TUN")


def weight_value(node: Node, ctx: BuildContext) -> int:
    text = arg(node)
    try:
        return parse_int(text, 0, IPVS_WEIGHT_LIMIT)
    except Invalid:
        raise Invalid(f"Real server weight {text} is outside range 0-{IPVS_WEIGHT_LIMIT}") from None


@frozen_dataclass
class RealServer:
    """A `real_server` block of a virtual server."""

    where: Location
    address: IPAddr
    port: int
    end: Location | None = None
    weight: int = kw(Custom(weight_value, f"integer 0..{IPVS_WEIGHT_LIMIT}", pure=True), default=1)
    lvs_method: Forwarding | None = kw(FORWARDING)
    uthreshold: int | None = kw(Int(0, 2**31 - 1))
    lthreshold: int | None = kw(Int(0, 2**31 - 1))
    inhibit_on_failure: bool | None = kw(Flag())
    notify_up: Script | None = kw(SCRIPT)
    notify_down: Script | None = kw(SCRIPT)
    alpha: bool | None = kw(Flag())
    retry: int | None = kw(Int(0, 2**31 - 1))
    delay_before_retry: float | None = kw(Seconds("0", TIMER_MAX_SEC))
    warmup: float | None = kw(Seconds("0", TIMER_MAX_SEC))
    connect_timeout: float | None = kw(Seconds("0.000001", TIMER_MAX_SEC))
    delay_loop: float | None = kw(Seconds("0.000001", TIMER_MAX_SEC))
    smtp_alert: bool | None = kw(Flag())
    virtualhost: str | None = kw(Word())
    tcp_checks: tuple[TcpCheck, ...] = kw(B(TcpCheck), names=("TCP_CHECK",), repeat=True)
    http_checks: tuple[HttpCheck, ...] = kw(B(HttpCheck), names=("HTTP_GET",), repeat=True)
    ssl_checks: tuple[HttpCheck, ...] = kw(B(HttpCheck), names=("SSL_GET",), repeat=True)
    smtp_checks: tuple[SmtpCheck, ...] = kw(B(SmtpCheck), names=("SMTP_CHECK",), repeat=True)
    dns_checks: tuple[DnsCheck, ...] = kw(B(DnsCheck), names=("DNS_CHECK",), repeat=True)
    ping_checks: tuple[PingCheck, ...] = kw(B(PingCheck), names=("PING_CHECK",), repeat=True)
    udp_checks: tuple[UdpCheck, ...] = kw(B(UdpCheck), names=("UDP_CHECK",), repeat=True)
    misc_checks: tuple[MiscCheck, ...] = kw(B(MiscCheck), names=("MISC_CHECK",), repeat=True)
    file_checks: tuple[FileCheck, ...] = kw(B(FileCheck), names=("FILE_CHECK",), repeat=True)
    options: tuple[RawOption, ...] = ()
    RAW_KEYWORDS: ClassVar[frozenset[str]] = frozenset({"snmp_name"})

    @property
    def checkers(self) -> list[Checker]:
        """Every checker block, grouped by type (the order the checker process starts them in)."""
        return [
            *self.tcp_checks, *self.http_checks, *self.ssl_checks, *self.smtp_checks, *self.dns_checks,
            *self.ping_checks, *self.udp_checks, *self.misc_checks, *self.file_checks,
        ]  # fmt: skip


def address_port_header(node: Node, ctx: BuildContext) -> dict[str, Any]:
    """`ADDRESS PORT`; the port may be left out where it means nothing (fwmark services)."""
    if not node.args:
        raise Invalid(f"{node.keyword} needs an address and a port")
    port = parse_int(node.args[1], 0, 65535) if len(node.args) > 1 else 0
    return {"address": parse_ip(node.args[0]), "port": port}


def scheduler_value(node: Node, ctx: BuildContext) -> str:
    name = arg(node)
    if name not in SCHEDULERS:
        raise Invalid(f"Invalid lvs_scheduler '{name}' - ignoring")
    return name


# keepalived's IPVS_SVC_PERSISTENT_TIMEOUT, for a bare persistence_timeout.
PERSISTENCE_TIMEOUT_DEFAULT = 360


def persistence_timeout_value(node: Node, ctx: BuildContext) -> int:
    if not node.args:
        return PERSISTENCE_TIMEOUT_DEFAULT
    try:
        return parse_int(node.args[0], 1, LVS_MAX_TIMEOUT)
    except Invalid as problem:
        raise Invalid(f"{problem.message}; persistence_timeout invalid") from None


def virtual_server_header(node: Node, ctx: BuildContext) -> dict[str, Any]:
    args = node.args
    if len(args) >= 2 and args[0] == "fwmark":
        return {"fwmark": parse_int(args[1], 1, 2**32 - 1)}
    if len(args) >= 2 and args[0] == "group":
        return {"group": args[1]}
    if len(args) < 2:
        raise Invalid("virtual_server needs ADDRESS PORT, fwmark N or group NAME")
    return address_port_header(node, ctx)


@frozen_dataclass
class VirtualServer:
    """A `virtual_server` block (by address and port, fwmark or group)."""

    RAW_KEYWORDS: ClassVar[frozenset[str]] = frozenset(
        ["hashed", "ops", "flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback", "mh-port", "mh-fallback", "snmp_name"]
    )
    # The scheduler flags check/compile.py reads from `options`.
    RAW_CONSUMED: ClassVar[frozenset[str]] = frozenset({"sh-port", "sh-fallback", "mh-port", "mh-fallback"})

    where: Location
    end: Location | None = None
    # Where each keyword was written (keepalived announces the defaults of those left out).
    lines: Mapping[str, Location] = field(default_factory=dict, compare=False)
    address: IPAddr | None = None
    port: int | None = None
    fwmark: int | None = None
    group: str | None = None
    ip_family: str | None = kw(
        Choice({"inet": "inet", "inet6": "inet6"}), no_effect="the family comes from the addresses"
    )
    delay_loop: float = kw(Seconds("0.000001", TIMER_MAX_SEC), default=60.0)
    lb_algo: str = kw(
        Custom(scheduler_value, "|".join(SCHEDULERS), pure=True), names=("lb_algo", "lvs_sched"), default="wlc"
    )
    lb_kind: Forwarding = kw(FORWARDING, names=("lb_kind", "lvs_method"), default=Forwarding.NAT)
    persistence_timeout: int | None = kw(Custom(persistence_timeout_value, f"[seconds 1..{LVS_MAX_TIMEOUT}]"))
    persistence_granularity: str | None = kw(Word())
    persistence_engine: str | None = kw(Word(), no_effect="persistence is by client address")
    protocol: Protocol | None = kw(Choice({p.value: p for p in Protocol}, case_insensitive=True))
    ha_suspend: bool = kw(Flag(), default=False, no_effect="checks run whatever the VRRP state")
    virtualhost: str | None = kw(Word())
    alpha: bool = kw(Flag(), default=False)
    omega: bool = kw(Flag(), default=False, no_effect="nothing is done when the service goes away")
    quorum: int = kw(Int(1, 2**32 - 1), default=1)
    hysteresis: int = kw(Int(0, 2**32 - 1), default=0)
    quorum_up: Script | None = kw(SCRIPT)
    quorum_down: Script | None = kw(SCRIPT)
    weight: int | None = kw(Int(1, IPVS_WEIGHT_LIMIT))
    sorry_server: tuple[IPAddr, int] | None = kw(IP_PORT)
    sorry_server_inhibit: bool = kw(Flag(), default=False)
    sorry_server_lvs_method: Forwarding | None = kw(
        FORWARDING, no_effect="the sorry server takes the virtual server's method"
    )
    inhibit_on_failure: bool = kw(Flag(), default=False)
    retry: int | None = kw(Int(0, 2**31 - 1))
    delay_before_retry: float | None = kw(Seconds("0", TIMER_MAX_SEC))
    warmup: float | None = kw(Seconds("0", TIMER_MAX_SEC))
    connect_timeout: float | None = kw(Seconds("0.000001", TIMER_MAX_SEC))
    smtp_alert: bool | None = kw(Flag())
    real_server: tuple[RealServer, ...] = kw(B(RealServer, address_port_header), repeat=True)
    options: tuple[RawOption, ...] = ()

    @property
    def label(self) -> str:
        """The virtual server as keepalived names it in messages."""
        if self.fwmark is not None:
            return f"FWM {self.fwmark}"
        if self.group is not None:
            return f"GROUP {self.group}"
        return f"[{self.address}]:{self.effective_protocol.value.lower()}:{self.port}"

    @property
    def effective_protocol(self) -> Protocol:
        return self.protocol or Protocol.TCP


def virtual_server_group(node: Node, ctx: BuildContext) -> VirtualServerGroup:
    name = name_header(node, ctx)["name"]
    members = Values(items.group_member, "").convert(node, ctx)
    return VirtualServerGroup(node.where, name, members)


@frozen_dataclass
class VirtualServerGroup:
    """A `virtual_server_group` block: address ranges, ports and fwmarks."""

    where: Location
    name: str
    members: tuple[GroupMember, ...] = ()


@frozen_dataclass
class SslDefs:
    """The `SSL` block."""

    where: Location | None = None
    password: str | None = kw(Word())
    ca: str | None = kw(Word())
    certificate: str | None = kw(Word())
    key: str | None = kw(Word())


# ----- the whole configuration --------------------------------------------------------------------


@frozen_dataclass
class Config:
    """A whole keepalived.conf, with what it includes."""

    # use_pid_dir names the pid files; garp_group paces gratuitous ARPs (the VRRP process reads it);
    # net_namespace_ipvs is reported by not_provided.check_not_provided.
    RAW_CONSUMED: ClassVar[frozenset[str]] = frozenset({"use_pid_dir", "net_namespace_ipvs", "garp_group"})

    RAW_KEYWORDS: ClassVar[frozenset[str]] = frozenset(
        [
            "track_group",
            "garp_group",
            "linkbeat_interfaces",
            "interface_up_down_delays",
            "linkbeat_use_polling",
            "net_namespace_ipvs",
            "namespace_with_ipsets",
            "use_pid_dir",
            "child_wait_time",
            "bfd_instance",
        ]
    )

    global_defs: GlobalDefs = kw(B(GlobalDefs), default=GlobalDefs())
    # keepalived's top-level net_namespace and instance: the daemon runs in that network namespace, and both
    # name its syslog idents and pid files.
    net_namespace: str | None = kw(Word())
    instance: str | None = kw(Word())
    static_ipaddress: tuple[VirtualAddress, ...] = kw(
        Values(items.virtual_address, "IP[/prefix] [dev X] ... per line"), repeat=True
    )
    static_routes: tuple[Route, ...] = kw(Values(items.route, "route per line"), repeat=True)
    static_rules: tuple[Rule, ...] = kw(Values(items.rule, "rule per line"), repeat=True)
    vrrp_script: tuple[VrrpScript, ...] = kw(B(VrrpScript, name_header), repeat=True)
    vrrp_track_process: tuple[TrackProcess, ...] = kw(B(TrackProcess, name_header), repeat=True)
    track_file: tuple[TrackFile, ...] = kw(
        B(TrackFile, name_header), repeat=True, deprecated={"vrrp_track_file": "track_file"}
    )
    vrrp_sync_group: tuple[SyncGroup, ...] = kw(B(SyncGroup, name_header), repeat=True)
    vrrp_instance: tuple[VrrpInstance, ...] = kw(B(VrrpInstance, name_header), repeat=True)
    virtual_server_group: tuple[VirtualServerGroup, ...] = kw(
        CustomValues(virtual_server_group, "NAME { IP[-range] PORT | fwmark N ... }"), repeat=True
    )
    virtual_server: tuple[VirtualServer, ...] = kw(B(VirtualServer, virtual_server_header), repeat=True)
    SSL: SslDefs | None = kw(B(SslDefs), no_effect="SSL_GET checks present no client certificate")
    options: tuple[RawOption, ...] = ()
    files: tuple[str, ...] = ()

    def sync_daemon(self) -> LvsSyncDaemon | None:
        """The IPVS sync daemon to run, from lvs_sync_daemon (or a vrrp_instance's deprecated
        lvs_sync_daemon_interface), its id defaulting as keepalived's does: the instance's VRID, else 0."""
        configured = self.global_defs.lvs_sync_daemon
        if configured is None:
            configured = next(
                (
                    LvsSyncDaemon(i.lvs_sync_daemon_interface, i.name, where=i.where)
                    for i in self.vrrp_instance
                    if i.lvs_sync_daemon_interface is not None
                ),
                None,
            )
        if configured is None or configured.syncid is not None:
            return configured
        instance = next((i for i in self.vrrp_instance if i.name == configured.instance), None)
        vrid = instance.virtual_router_id if instance is not None else None
        return dataclasses.replace(configured, syncid=vrid or 0)
