"""keepalived 2.2.7's VRRP dump files, from a snapshot of the running instances: SIGUSR1's keepalived.data
(vrrp_data.c dump_data_vrrp()), SIGUSR2's keepalived.stats (vrrp_print.c), the JSON signal's keepalived.json
(vrrp_json.c). Same sections, lines, key names, order and value spellings; OpenShift's liveness check greps
`State = FAULT` and keepalived-exporter parses .stats and .json.

Over 400 lines: the instance section alone has keepalived's fifty-odd lines, each with its own condition.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..config.global_dump import ProcessFacts, global_definitions
from ..config.items import Route, Rule, VirtualAddress
from ..config.model import Config, VrrpInstance
from .instance import Instance, State
from .packet import AUTH_AH, AUTH_NONE, AUTH_PASS, IPAddr
from .tracking import Kind, Tracked

# keepalived's state numbers (vrrp.h), as the JSON file gives them.
STATE_NUMBERS = {State.INIT: 0, State.BACKUP: 1, State.MASTER: 2, State.FAULT: 3, State.STOP: 0}
MICROSECONDS = 1_000_000


@dataclass(frozen=True)
class NotifyView:
    """A notify script: the state it is for (MASTER, BACKUP, FAULT, STOP, or GENERIC for `notify`), its
    command and whom it runs as."""

    state: str
    command: str
    uid: int
    gid: int


@dataclass(frozen=True)
class InstanceView:
    """One instance as the dumps show it: its configuration, its engine, and what the process knows of it."""

    config: VrrpInstance
    engine: Instance
    interface: str
    # The address adverts go from (None: an IPv6 interface that has lost its link-local address).
    source: IPAddr | None
    # The socket's descriptors (keepalived's fd_in, fd_out): ours reads and sends on one.
    socket_fd: int | None
    tracked: tuple[Tracked, ...] = ()
    # How many tracked objects (and the interface itself) are failing now.
    faults: int = 0
    sync_group: str | None = None
    vmac: str | None = None
    smtp_alert: bool = False
    notify_scripts: tuple[NotifyView, ...] = ()
    # The engine's clock (monotonic) minus the wall clock: the dumps print wall-clock times.
    clock_offset: float = 0.0
    interface_index: int = 0
    accept: bool = True


@dataclass(frozen=True)
class SyncGroupView:
    name: str
    state: State
    members: tuple[str, ...]
    faults: int = 0
    smtp_alert: bool = False
    notify_scripts: tuple[NotifyView, ...] = ()


@dataclass(frozen=True)
class SocketView:
    """A VRRP socket (keepalived's sockpool entry) and the instances it carries."""

    fd: int
    interface: str
    family: int
    protocol: int
    unicast_source: IPAddr | None
    members: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ScriptView:
    """A vrrp_script with what its watcher has seen."""

    name: str
    command: str
    interval: float
    timeout: float
    weight: int
    reverse: bool
    rise: int
    fall: int
    # keepalived's `result`: consecutive successes counted towards rise (rise..rise+fall-1 while good).
    result: int
    good: bool
    # Whether it has reported a first result (keepalived's init state INIT until then).
    started: bool
    uid: int
    gid: int
    running: bool
    instances: tuple[tuple[str, int, bool], ...] = ()


@dataclass(frozen=True)
class LinkView:
    """An interface as keepalived.data's Interfaces section shows it, with the instances that follow it."""

    name: str
    index: int
    flags: int
    mtu: int
    hardware_type: int
    mac: bytes | None
    broadcast: bytes | None
    address: IPAddr | None
    link_local: IPAddr | None
    # (instance, weight, reverse): its own interface (weight 0) or a track_interface.
    tracking: tuple[tuple[str, int, bool], ...] = ()
    arp_ignore: int = 0
    arp_filter: int = 0
    promote_secondaries: int = 0
    # keepalived reads rp_filter with the first link change it hears of (and prints it from then on).
    rp_filter: int | None = None
    # Up now, or up at some time since the start (a link that changed state was up before or after).
    seen_up: bool = False
    # When we last sent an unsolicited neighbour advert on it (wall clock), and whether it forwards IPv6
    # (keepalived checks that then, for the advert's router flag).
    ipv6_forwarding_checked: tuple[float, bool] | None = None


@dataclass(frozen=True)
class VrrpSnapshot:
    config: Config
    facts: ProcessFacts
    instances: tuple[InstanceView, ...]
    groups: tuple[SyncGroupView, ...] = ()
    sockets: tuple[SocketView, ...] = ()
    scripts: tuple[ScriptView, ...] = ()
    links: tuple[LinkView, ...] = ()


def command_text(argv: Sequence[str]) -> str:
    """keepalived's cmd_str(): every word in single quotes (a leading redirection alone stays bare)."""
    return " ".join(w if i == 0 and w[:1] in ("<", ">") else f"'{w}'" for i, w in enumerate(argv))


# ----- .stats -------------------------------------------------------------------------------------------

# keepalived's counters and ours, in keepalived's order (vrrp_json.c's names).
STATS_COUNTERS = (
    ("advert_rcvd", "adverts_received"),
    ("advert_sent", "adverts_sent"),
    ("become_master", "became_master"),
    ("release_master", "released_master"),
    ("packet_len_err", "drop_length"),
    ("advert_interval_err", "drop_interval"),
    ("ip_ttl_err", "drop_ttl"),
    ("invalid_type_rcvd", "drop_type"),
    ("addr_list_err", "drop_addresses"),
    ("invalid_authtype", "drop_auth_type"),
    ("authtype_mismatch", "drop_auth_mismatch"),
    ("auth_failure", "drop_auth"),
    ("pri_zero_rcvd", "priority_zero_received"),
    ("pri_zero_sent", "priority_zero_sent"),
)


def keepalived_counters(engine: Instance) -> dict[str, int]:
    return {theirs: engine.counters[ours] for theirs, ours in STATS_COUNTERS}


def stats_text(instances: Sequence[InstanceView]) -> str:
    lines: list[str] = []
    for view in instances:
        c = keepalived_counters(view.engine)
        lines += [
            f"VRRP Instance: {view.config.name}",
            "  Advertisements:",
            f"    Received: {c['advert_rcvd']}",
            f"    Sent: {c['advert_sent']}",
            f"  Became master: {c['become_master']}",
            f"  Released master: {c['release_master']}",
            "  Packet Errors:",
            f"    Length: {c['packet_len_err']}",
            f"    TTL: {c['ip_ttl_err']}",
            f"    Invalid Type: {c['invalid_type_rcvd']}",
            f"    Advertisement Interval: {c['advert_interval_err']}",
            f"    Address List: {c['addr_list_err']}",
            "  Authentication Errors:",
            f"    Invalid Type: {c['invalid_authtype']}",
            f"    Type Mismatch: {c['authtype_mismatch']}",
            f"    Failure: {c['auth_failure']}",
            "  Priority Zero:",
            f"    Received: {c['pri_zero_rcvd']}",
            f"    Sent: {c['pri_zero_sent']}",
        ]
    return "".join(f"{line}\n" for line in lines)


# ----- .data --------------------------------------------------------------------------------------------


def _state(state: State) -> str:
    return state.value if state is not State.STOP else "unknown"


def want_state(engine: Instance) -> State:
    """keepalived's wantstate: where the instance is heading (MASTER once it has decided to take over)."""
    return State.MASTER if engine.wants_master else engine.state


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _time(wall: float) -> str:
    """keepalived's `sec.usec (ctime with microseconds)`."""
    seconds, micro = divmod(round(wall * MICROSECONDS), MICROSECONDS)
    moment = datetime.fromtimestamp(seconds)
    return f"{seconds}.{micro:06d} ({moment:%a %b} {moment.day:2d} {moment:%H:%M:%S}.{micro:06d} {moment:%Y})"


def address_text(vip: VirtualAddress, interface: str, is_set: bool) -> str:
    """keepalived's format_ipaddress()."""
    address = vip.address
    text = str(address.ip) if address.network.prefixlen == address.max_prefixlen else str(address)
    if vip.broadcast is not None and address.version == 4:
        text += f" brd {vip.broadcast}"
    text += f" dev {vip.dev or interface} scope {vip.scope or 'global'}"
    if vip.label:
        text += f" label {vip.label}"
    if vip.peer is not None:
        text += f" peer {vip.peer}"
    if "home" in vip.flags:
        text += " home"
    if "-nodad" in vip.flags or "nodad" in vip.flags:
        text += " -nodad"
    for flag in ("mngtmpaddr", "noprefixroute", "autojoin", "no_track"):
        if flag in vip.flags:
            text += f" {flag}"
    if address.version == 6:
        text += " deprecated" if "deprecated" in vip.flags else " preferred_lft forever"
    return text + (" set" if is_set else "")


# Route scopes by name, as keepalived prints them (numbers).
SCOPES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
RTPROT_KEEPALIVED = 18


def route_text(route: Route) -> str:
    """keepalived's format_iproute(), for what a virtual_routes line holds (routes are added with our
    protocol number, keepalived's)."""
    destination = route.destination
    text = "prepend " + ("" if route.route_type == "unicast" else f"{route.route_type} ")
    if destination.network.prefixlen == 0:
        text += "default"
    else:
        text += str(destination.ip) if destination.network.prefixlen == destination.max_prefixlen else str(destination)
    if route.source is not None:
        text += f" src {route.source}"
    if route.via is not None:
        text += f" via {'inet6' if route.via.version == 6 else 'inet'} {route.via}"
    if route.dev:
        text += f" dev {route.dev}"
    if route.table and route.table not in ("main", "254"):
        text += f" table {route.table}"
    text += f" proto {RTPROT_KEEPALIVED}"
    if route.scope:
        text += f" scope {SCOPES.get(route.scope, route.scope)}"
    if route.metric is not None:
        text += f" metric {route.metric}"
    if any(key == "onlink" for key, _ in route.options) and destination.version == 4:
        text += " onlink"
    return text


def rule_text(rule: Rule) -> str:
    text = f"preference {rule.preference}"
    if rule.source is not None:
        text += f" from {rule.source}"
    if rule.destination is not None:
        text += f" to {rule.destination}"
    if rule.table:
        text += f" table {rule.table}"
    return text


def _auth(config: VrrpInstance) -> tuple[int, str]:
    auth = config.authentication
    if auth is None or not auth.auth_pass:
        return AUTH_NONE, ""
    is_ah = auth.auth_type is not None and auth.auth_type.name == "AH"
    return (AUTH_AH if is_ah else AUTH_PASS), auth.auth_pass


def _tracked_lines(view: InstanceView) -> list[str]:
    lines: list[str] = []
    for kind, title, comma in (
        (Kind.INTERFACE, "Tracked interfaces", ""),
        (Kind.SCRIPT, "Tracked scripts", ""),
        (Kind.FILE, "Tracked files", ","),
        (Kind.PROCESS, "Tracked processes", ","),
    ):
        items = [t for t in view.tracked if t.kind is kind]
        if items:
            lines.append(f"   {title} :")
            lines += [f"     {t.name}{comma} weight {t.weight}{' reverse' if t.reverse else ''}" for t in items]
    return lines


NOTIFY_TITLES = {"BACKUP": "Backup", "MASTER": "Master", "FAULT": "Fault", "STOP": "Stop", "GENERIC": "Generic"}


def _notify_lines(scripts: Sequence[NotifyView]) -> list[str]:
    return [
        f"   {NOTIFY_TITLES[n.state]} state transition script = {n.command}, uid:gid {n.uid}:{n.gid}"
        for n in sorted(scripts, key=lambda n: list(NOTIFY_TITLES).index(n.state))
    ]


def instance_lines(view: InstanceView, snapshot: VrrpSnapshot) -> list[str]:
    config, engine, params = view.config, view.engine, view.engine.params
    global_defs = snapshot.config.global_defs
    version = params.version
    lines = [f" VRRP Instance = {config.name}", f"   VRRP Version = {version}"]
    if view.sync_group:
        lines.append(f"   Sync group = {view.sync_group}")
    family = config.family
    if family == 6:
        lines.append("   Using Native IPv6")
    lines.append(f"   State = {_state(engine.state)}")
    if engine.state is State.BACKUP:
        master = engine.master_source
        lines += [f"   Master router = {master if master is not None else '0.0.0.0'}",
                  f"   Master priority = {engine.master_priority}"]  # fmt: skip
        if version == 3:
            lines.append(f"   Master advert int = {engine.master_adver_int_cs / 100:.2f} sec")
    if params.unicast:
        lines += ["   Flags:", "     Using unicast"]
    else:
        lines.append("   Flags: none")
    last = engine.last_transition
    lines += [
        f"   Wantstate = {_state(want_state(engine))}",
        "   Number of config faults = 0",
        f"   Number of interface and track script faults = {view.faults}",
        "   Number of track scripts init = 0",
        f"   Last transition = {_time((last if last is not None else 0.0) - view.clock_offset)}",
    ]
    if engine.sands is None:
        lines.append("   Read timeout = DISABLED")
    else:
        lines.append(f"   Read timeout = {_time(engine.sands - view.clock_offset)}")
    lines.append(f"   Master down timer = {engine.ms_down_timer_us} usecs")
    if view.vmac:
        lines.append(f"   Use VMAC, i/f name {view.vmac}, is_up = true, xmit_base = {_bool(config.vmac_xmit_base)}")
        lines.append(f"   Interface = {view.interface}, vmac on {config.interface}"
                     f"{', xmit base i/f' if config.vmac_xmit_base else ''}")  # fmt: skip
    else:
        lines.append(f"   Interface = {view.interface}")
    if config.dont_track_primary:
        lines.append("   VRRP interface tracking disabled")
    if params.skip_check_adv_addr:
        lines.append("   Skip checking advert IP addresses")
    strict = config.strict_mode if config.strict_mode is not None else global_defs.vrrp_strict
    if strict:
        lines.append("   Enforcing strict VRRP compliance")
    from_config = config.unicast_src_ip is not None or config.mcast_src_ip is not None
    source = view.source if view.source is not None else "(none)"
    lines.append(f"   Using src_ip = {source}{' (from configuration)' if from_config else ''}")
    if not params.unicast:
        group = global_defs.vrrp_mcast_group4 if family == 4 else global_defs.vrrp_mcast_group6
        destination = config.mcast_dst_ip or group
        lines.append(f"   Multicast address {destination}" if family == 4 else
                     f"   Multicast address {destination}, ifindex {view.interface_index}")  # fmt: skip
    lines += [
        f"   Gratuitous ARP delay = {round(params.garp_delay)}",
        f"   Gratuitous ARP repeat = {params.garp_repeat}",
        f"   Gratuitous ARP refresh = {round(params.garp_refresh)}",
        f"   Gratuitous ARP refresh repeat = {params.garp_refresh_repeat}",
        f"   Gratuitous ARP lower priority delay = {round(params.garp_lower_prio_delay)}",
        f"   Gratuitous ARP lower priority repeat = {params.garp_lower_prio_repeat}",
        f"   Down timer adverts = {params.down_timer_adverts}",
        f"   Send advert after receive lower priority advert = {_bool(not params.lower_prio_no_advert)}",
        f"   Send advert after receive higher priority advert = {_bool(params.higher_prio_send_advert)}",
        f"   Virtual Router ID = {params.vrid}",
        f"   Priority = {params.priority}",
        f"   Effective priority = {engine.effective_priority}",
        f"   Total priority = {engine.effective_priority}",
    ]
    if version == 2:
        lines.append(f"   Advert interval = {params.advert_int_cs // 100} sec")
    else:
        lines.append(f"   Advert interval = {params.advert_int_cs * 10} milli-sec")
    if engine.state is State.BACKUP and version == 3:
        lines.append(f"   Master advert interval = {engine.master_adver_int_cs * 10} milli-sec")
    lines.append(f"   Accept = {'enabled' if view.accept else 'disabled'}")
    lines.append(f"   Preempt = {'enabled' if params.preempt else 'disabled'}")
    if params.preempt_delay:
        lines.append(f"   Preempt delay = {params.preempt_delay:g} secs")
    lines.append(f"   Promote_secondaries = {'enabled' if config.promote_secondaries else 'disabled'}")
    auth_type, password = _auth(config)
    if auth_type == AUTH_AH:
        lines.append("   Authentication type = IPSEC_AH")
    elif auth_type == AUTH_PASS:
        lines += ["   Authentication type = SIMPLE_PASSWORD", f"   Password = {password}"]
    elif version == 2:
        lines.append("   Authentication type = none")
    if config.debug:
        lines.append(f"   Debug level = {config.debug}")
    if config.virtual_ipaddress:
        lines.append(f"   Virtual IP ({len(config.virtual_ipaddress)}):")
        lines += [f"     {address_text(v, view.interface, engine.vips_set)}" for v in config.virtual_ipaddress]
    if config.virtual_ipaddress_excluded:
        lines.append("   Virtual IP Excluded :")
        lines += [f"     {address_text(v, view.interface, engine.vips_set)}" for v in config.virtual_ipaddress_excluded]
    if params.unicast:
        lines += [
            f"   Unicast TTL = {config.unicast_ttl if config.unicast_ttl is not None else 255}",
            "   Check unicast src : no",
            "   Unicast Peer :",
            *(f"     {p.address} min_ttl {p.min_ttl or 0} max_ttl {p.max_ttl if p.max_ttl is not None else 255}"
              for p in config.unicast_peer),
            "   Unicast checksum compatibility = no",
        ]  # fmt: skip
    if view.socket_fd is not None:
        lines.append(f"   fd_in {view.socket_fd}, fd_out {view.socket_fd}")
    else:
        lines.append("   No sockets allocated")
    if config.virtual_routes:
        lines.append("   Virtual Routes :")
        lines += [f"     {route_text(r)}" for r in config.virtual_routes]
    if config.virtual_rules:
        lines.append("   Virtual Rules :")
        lines += [f"     {rule_text(r)}" for r in config.virtual_rules]
    lines += _tracked_lines(view)
    lines += [f"   Using smtp notification = {_yes(view.smtp_alert)}", "   Notify deleted = Fault"]
    lines += _notify_lines(view.notify_scripts)
    lines.append(f"   Notify priority changes = {_bool(False)}")
    return lines


def socket_lines(sock: SocketView) -> list[str]:
    lines = [
        f" fd_in {sock.fd} fd_out = {sock.fd}",
        f"   Interface = {sock.interface}",
        f"   Family = IPv{sock.family}",
        f"   Protocol = {'AH' if sock.protocol == 51 else 'VRRP'}",
        f"   Type = {'Unicast' if sock.unicast_source is not None else 'Multicast'}",
    ]
    if sock.unicast_source is not None:
        lines.append(f"   Address = {sock.unicast_source}")
    lines += ["   Rx buf size = 0", "   VRRP instances"]
    lines += [f"     {name} vrid {vrid}" for name, vrid in sorted(sock.members, key=lambda m: m[1])]
    return lines


def group_lines(group: SyncGroupView) -> list[str]:
    lines = [
        f" VRRP Sync Group = {group.name}, {_state(group.state)}",
        f"   Num member fault {group.faults}, num member init 0",
    ]
    if group.members:
        lines.append("   VRRP member instances :")
        lines += [f"     {member}" for member in group.members]
    lines.append(f"   Using smtp notification = {_yes(group.smtp_alert)}")
    return lines + _notify_lines(group.notify_scripts)


def script_lines(script: ScriptView) -> list[str]:
    return [
        f" VRRP Script = {script.name}",
        f"   Command = {script.command}",
        f"   Interval = {int(script.interval)} sec",
        f"   Timeout = {int(script.timeout)} sec",
        f"   Weight = {script.weight}{' reverse' if script.reverse else ''}",
        f"   Rise = {script.rise}",
        f"   Fall = {script.fall}",
        f"   Result = {script.result}",
        "   Insecure = no",
        # keepalived's init state after the first result has no name of its own.
        f"   Init state = {'unknown' if script.started else 'INIT'}",
        f"   Status = {'GOOD' if script.good else 'BAD'}",
        f"   Script uid:gid = {script.uid}:{script.gid}",
        "   VRRP instances :",
        *(["   Tracking instances :"] if script.instances else []),
        *(f"     {name}, weight {weight}{' reverse' if reverse else ''}" for name, weight, reverse in script.instances),
        f"   State = {'running' if script.running else 'idle'}",
    ]


def script_result(rise: int, fall: int, ok: bool | None, streak: int) -> int:
    """keepalived's script `result`: it counts up on success to rise + fall - 1 and down on failure to 0, and
    the script is good from rise up. Ours keeps the status and the streak against it."""
    if ok:
        return rise + fall - 1 - streak
    return streak


# linux/if.h and if_arp.h: what the Interfaces section spells out.
IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_POINTOPOINT = 0x1, 0x2, 0x8, 0x10
IFF_RUNNING, IFF_NOARP, IFF_MULTICAST = 0x40, 0x80, 0x1000
HARDWARE_TYPES = {1: "ETHERNET", 772: "LOOPBACK"}


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def link_lines(link: LinkView) -> list[str]:
    """keepalived's dump_if(). Its own bookkeeping (debounce timers, counts of settings it changed for a
    VMAC) has no counterpart here: the values it prints for an interface it never touched."""
    flags = link.flags
    state = (
        f"{'' if flags & IFF_UP else 'not '}UP, {'' if flags & IFF_RUNNING else 'not '}RUNNING"
        + ("" if flags & IFF_BROADCAST else ", no broadcast")
        + (", loopback" if flags & IFF_LOOPBACK else "")
        + (", point to point" if flags & IFF_POINTOPOINT else "")
        + (", no arp" if flags & IFF_NOARP else "")
        + ("" if flags & IFF_MULTICAST else ", no multicast")
    )
    lines = [
        f" Name = {link.name}",
        f"   index = {link.index}",
        f"   IPv4 address = {link.address or '(none)'}",
        f"   IPv6 address = {link.link_local or '(none)'}",
    ]
    if link.mac is not None:
        lines.append(f"   MAC = {_mac(link.mac)}")
        lines.append(f"   MAC broadcast = {_mac(link.broadcast or bytes(len(link.mac)))}")
    hardware = HARDWARE_TYPES.get(link.hardware_type, f"UNKNOWN ({link.hardware_type})")
    lines += [
        f"   State = {state}",
        f"   Seen up = {int(link.seen_up or bool(flags & IFF_UP))}",
        "   Delayed state change running = false",
        "   Up debounce timer = 0us",
        "   Down debounce timer = 0us",
        f"   MTU = {link.mtu}",
        f"   HW Type = {hardware}",
        "   NIC netlink status update",
        "   Reset ARP config counter 0",
        f"   Original arp_ignore {link.arp_ignore}",
        f"   Original arp_filter {link.arp_filter}",
    ]
    if link.rp_filter is not None:
        lines.append(f"   rp_filter {link.rp_filter}")
    lines += [f"   Original promote_secondaries {link.promote_secondaries}", "   Reset promote_secondaries counter 0"]
    if link.ipv6_forwarding_checked is not None:
        checked, forwarding = link.ipv6_forwarding_checked
        seconds, micro = divmod(round(checked * MICROSECONDS), MICROSECONDS)
        moment = datetime.fromtimestamp(seconds)
        when = f"{seconds}.{micro:06d} ({moment:%a %b} {moment.day:2d} {moment:%H:%M:%S %Y}.{micro:06d})"
        lines.append(f"   {'' if forwarding else 'Not '}IPv6 forwarding. Last checked {when}")
    if link.tracking:
        lines.append("   Tracking VRRP instances :")
        lines += [
            f"     {name}, weight {weight}{' reverse' if reverse else ''}" for name, weight, reverse in link.tracking
        ]
    return lines


def data_text(snapshot: VrrpSnapshot) -> str:
    lines = global_definitions(snapshot.config, snapshot.facts)
    if snapshot.instances:
        lines.append("------< VRRP Topology >------")
        for view in snapshot.instances:
            lines += instance_lines(view, snapshot)
    if snapshot.sockets:
        lines.append("------< VRRP Sockpool >------")
        for sock in snapshot.sockets:
            lines += socket_lines(sock)
    if snapshot.groups:
        lines.append("------< VRRP Sync groups >------")
        for group in snapshot.groups:
            lines += group_lines(group)
    if snapshot.scripts:
        lines.append("------< VRRP Scripts >------")
        for script in snapshot.scripts:
            lines += script_lines(script)
    if snapshot.links:
        lines.append("------< Interfaces >------")
        for link in snapshot.links:
            lines += link_lines(link)
    return "".join(f"{line}\n" for line in lines)


# ----- .json --------------------------------------------------------------------------------------------


def _g(value: float) -> float | int:
    """keepalived writes its floats with "%g": whole numbers have no decimal point."""
    return int(value) if value == int(value) else value


def json_data(view: InstanceView, snapshot: VrrpSnapshot) -> dict[str, object]:
    config, engine, params = view.config, view.engine, view.engine.params
    global_defs = snapshot.config.global_defs
    strict = config.strict_mode if config.strict_mode is not None else global_defs.vrrp_strict
    last = engine.last_transition
    data: dict[str, object] = {
        "iname": config.name,
        "dont_track_primary": int(config.dont_track_primary),
        "skip_check_adv_addr": int(params.skip_check_adv_addr),
        "strict_mode": int(strict),
        "vmac_ifname": view.vmac or "",
        "ifp_ifname": view.interface,
        "master_priority": engine.master_priority,
        # keepalived's "%f": microseconds.
        "last_transition": round((last if last is not None else 0.0) - view.clock_offset, 6),
        "garp_delay": _g(params.garp_delay),
        "garp_refresh": round(params.garp_refresh),
        "garp_rep": params.garp_repeat,
        "garp_refresh_rep": params.garp_refresh_repeat,
        "garp_lower_prio_delay": round(params.garp_lower_prio_delay),
        "garp_lower_prio_rep": params.garp_lower_prio_repeat,
        "lower_prio_no_advert": int(params.lower_prio_no_advert),
        "higher_prio_send_advert": int(params.higher_prio_send_advert),
        "vrid": params.vrid,
        "base_priority": params.priority,
        "effective_priority": engine.effective_priority,
        "vipset": engine.vips_set,
        "promote_secondaries": config.promote_secondaries,
        "adver_int": _g(params.advert_int_cs / 100),
        "master_adver_int": _g(engine.master_adver_int_cs / 100),
        "accept": int(view.accept),
        "nopreempt": not params.preempt,
        "preempt_delay": int(params.preempt_delay),
        "state": STATE_NUMBERS[engine.state],
        "wantstate": STATE_NUMBERS[want_state(engine)],
        "version": params.version,
        "smtp_alert": view.smtp_alert,
        "notify_deleted": False,
    }
    keys = {"BACKUP": "script_backup", "MASTER": "script_master", "FAULT": "script_fault", "STOP": "script_stop",
            "GENERIC": "script"}  # fmt: skip
    commands = {n.state: n.command for n in view.notify_scripts}
    for state, key in keys.items():
        if state in commands:
            data[key] = commands[state]
    commands_by_name = {script.name: script.command for script in snapshot.scripts}
    lists = {
        "vips": [address_text(v, view.interface, engine.vips_set) for v in config.virtual_ipaddress],
        "evips": [address_text(v, view.interface, engine.vips_set) for v in config.virtual_ipaddress_excluded],
        "vroutes": [route_text(r) for r in config.virtual_routes],
        "vrules": [rule_text(r) for r in config.virtual_rules],
        "track_ifp": [t.name for t in view.tracked if t.kind is Kind.INTERFACE],
        # keepalived lists the scripts' commands.
        "track_script": [commands_by_name.get(t.name, t.name) for t in view.tracked if t.kind is Kind.SCRIPT],
    }
    data.update({key: values for key, values in lists.items() if values})
    auth_type, password = _auth(config)
    data["auth_type"] = auth_type
    if auth_type != AUTH_NONE:
        data["auth_data"] = password
    return data


def json_text(snapshot: VrrpSnapshot) -> str:
    """keepalived.json: an array of {"data", "stats"}, compact as keepalived's json_writer writes it."""
    entries = [{"data": json_data(v, snapshot), "stats": keepalived_counters(v.engine)} for v in snapshot.instances]
    return json.dumps(entries, separators=(",", ":")) + "\n"
