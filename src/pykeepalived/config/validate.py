"""Checks that need the whole configuration, with keepalived's corrections applied to the model.

keepalived reports many problems and runs anyway with a corrected value: a track script it cannot find is
dropped, authentication is ignored under VRRPv3, nopreempt is cleared for an initial MASTER. pykeepalived
runs what keepalived runs: each correction is a warning, in keepalived's words, at the line it concerns,
naming the value used, and the model returned holds that value, so the daemon runs exactly what `-t`
said. Errors are left for what keepalived itself will not run.

Over 400 lines: keepalived's corrections of one instance run in its order, one after the other, on the value
the previous one left.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

from ..core.diagnostics import DiagnosticSink, Location, Status
from .items import Tracked, VirtualAddress
from .model import PRIORITY_OWNER, AuthType, Config, State, SyncGroup, VrrpInstance
from .not_provided import check_not_provided
from .validate_lvs import check_virtual_servers

# keepalived's limits for advert_int: VRRPv2 whole seconds below 256, VRRPv3 centiseconds below 4096.
V2_MAX_ADVERT = 255
V3_MAX_ADVERT = Decimal("40.95")
LOOPBACK = "lo"


class InterfaceCheck:
    """Reports references to interfaces that do not exist on this machine."""

    def __init__(self, existing: frozenset[str] | None, sink: DiagnosticSink, dynamic: bool) -> None:
        self.existing = existing
        self.sink = sink
        self.dynamic = dynamic
        self.missing = False

    def check(self, name: str | None, message: str, where: Location | None, waited_for: bool = False) -> None:
        """`waited_for`: an instance's own interface, which the VRRP process waits for under dynamic_interfaces."""
        if name is None or self.existing is None or name in self.existing:
            return
        if self.dynamic and waited_for:
            # keepalived waits for it silently, and so do we: the exit status stays keepalived's.
            self.sink.warning(f"{message} (dynamic_interfaces: the instance waits for it)", where, Status.OK)
            return
        self.missing = True
        if self.dynamic:
            # keepalived waits for it silently; pykeepalived follows only instances' own interfaces.
            self.sink.error(f"{message} (dynamic_interfaces: pykeepalived does not wait for it)", where, Status.OK)
        else:
            self.sink.error(message, where)


def validate(config: Config, sink: DiagnosticSink, interfaces: frozenset[str] | None) -> Config:
    """Report what keepalived's validation reports and return the configuration keepalived would run.

    `interfaces`: the interface names present on this machine, or None to skip those checks.
    """
    ifaces = InterfaceCheck(interfaces, sink, config.global_defs.dynamic_interfaces)
    _check_static(config, ifaces)
    scripts = _check_scripts(config, sink)
    config = replace(config, vrrp_script=tuple(s for s in config.vrrp_script if s.name in scripts))
    config = replace(
        config,
        vrrp_instance=tuple(_check_instances(config, sink, ifaces)),
        virtual_server=tuple(check_virtual_servers(config, sink)),
    )
    config = replace(config, vrrp_sync_group=tuple(_check_sync_groups(config, sink)))
    config = _check_sync_daemon(config, sink, ifaces)
    check_not_provided(config, sink)
    if ifaces.missing and not ifaces.dynamic:
        sink.error("Non-existent interface specified in configuration", None, Status.CANNOT_RUN)
    return config


def _check_static(config: Config, ifaces: InterfaceCheck) -> None:
    for address in config.static_ipaddress:
        ifaces.check(
            address.dev,
            f"WARNING - interface {address.dev} for ip address {address.address.ip} doesn't exist",
            address.where,
        )
    for route in config.static_routes:
        ifaces.check(route.dev, f"WARNING - interface {route.dev} for VROUTE nexthop doesn't exist", route.where)


def _check_scripts(config: Config, sink: DiagnosticSink) -> set[str]:
    """Report unusable vrrp_script blocks; return the names of the ones keepalived keeps."""
    usable: set[str] = set()
    for script in config.vrrp_script:
        if not script.script:
            sink.warning(f"No script set for vrrp_script {script.name} - removing", script.end or script.where)
            continue
        if script.name in usable:
            sink.error(f"vrrp_script {script.name} is defined twice", script.where)
        usable.add(script.name)
    return usable


def _kept_tracks(
    instance: VrrpInstance, entries: Iterable[Tracked], known: set[str], kind: str, sink: DiagnosticSink
) -> tuple[Tracked, ...]:
    kept = []
    for entry in entries:
        if entry.name in known:
            kept.append(entry)
        else:
            sink.warning(f"({instance.name}) track {kind} {entry.name} not found, ignoring...", entry.where)
    return tuple(kept)


def _check_instances(config: Config, sink: DiagnosticSink, ifaces: InterfaceCheck) -> Iterator[VrrpInstance]:
    scripts = {s.name for s in config.vrrp_script}
    track_files = {f.name for f in config.track_file}
    processes = {p.name for p in config.vrrp_track_process}
    seen_names: set[str] = set()
    vrids: dict[tuple[str, int, int], VrrpInstance] = {}
    for instance in config.vrrp_instance:
        name = instance.name
        if name in seen_names:
            sink.error(f"vrrp_instance {name} is defined twice", instance.where)
        seen_names.add(name)
        instance = _parsed_instance(instance, sink, ifaces)
        for tracked in instance.track_interface:
            ifaces.check(tracked.name, f"({name}) tracked interface {tracked.name} doesn't exist", tracked.where)
        for address in (*instance.virtual_ipaddress, *instance.virtual_ipaddress_excluded):
            ifaces.check(
                address.dev,
                f"WARNING - interface {address.dev} for ip address {address.address.ip} doesn't exist",
                address.where,
            )
        for route in instance.virtual_routes:
            ifaces.check(route.dev, f"WARNING - interface {route.dev} for VROUTE nexthop doesn't exist", route.where)
        kept = (
            _kept_tracks(instance, instance.track_script, scripts, "script", sink),
            _kept_tracks(instance, instance.track_file, track_files, "file", sink),
            _kept_tracks(instance, instance.track_process, processes, "process", sink),
        )
        if kept != (instance.track_script, instance.track_file, instance.track_process):
            instance = replace(instance, track_script=kept[0], track_file=kept[1], track_process=kept[2])
        instance = _complete_instance(instance, config, sink)
        if instance.virtual_router_id is not None and instance.interface is not None:
            key = (instance.interface, instance.family, instance.virtual_router_id)
            other = vrids.get(key)
            if other is not None:
                sink.error(
                    f"({name}) virtual_router_id {instance.virtual_router_id} is already used on interface "
                    f"{instance.interface} by vrrp_instance {other.name} (at {other.where})",
                    instance.where,
                )
            else:
                vrids[key] = instance
        yield instance


def _parsed_instance(instance: VrrpInstance, sink: DiagnosticSink, ifaces: InterfaceCheck) -> VrrpInstance:
    """What keepalived's parser corrects while reading the block (vrrp_parser.c's handlers and end handler)."""
    name = instance.name
    lines = instance.lines
    end = instance.end or instance.where
    if instance.interface == LOOPBACK and ifaces.existing is not None and LOOPBACK in ifaces.existing:
        sink.warning(
            f"({name}) cannot use a loopback interface ({LOOPBACK}) for vrrp - ignoring; the instance has no interface",
            lines.get("interface", instance.where),
        )
        instance = replace(instance, interface=None)
    else:
        ifaces.check(
            instance.interface,
            f"WARNING - interface {instance.interface} for vrrp_instance {name} doesn't exist",
            lines.get("interface", instance.where),
            waited_for=True,
        )
    # The family is set by the first address, or by a native_ipv6 written before any address.
    native_line = lines.get("native_ipv6")
    vips = instance.virtual_ipaddress
    native_first = native_line is not None and (not vips or native_line.line < vips[0].where.line)
    if instance.native_ipv6 and not native_first and vips[0].family == 4:
        sink.warning(f"({name}) Cannot specify native_ipv6 with IPv4 addresses; native_ipv6 ignored", native_line)
        instance = replace(instance, native_ipv6=False)
    family = 6 if instance.native_ipv6 and native_first else (vips[0].family if vips else None)
    if family is not None:
        instance = replace(instance, virtual_ipaddress=_same_family(name, vips, family, sink))
    if instance.interface is not None:
        own = [t for t in instance.track_interface if t.name == instance.interface]
        for tracked in own:
            sink.warning(f"({name}) Ignoring track_interface {tracked.name} since own interface", tracked.where)
        if own:
            instance = replace(instance, track_interface=tuple(t for t in instance.track_interface if t not in own))
    if instance.unicast_ttl is not None and not instance.unicast_peer:
        sink.warning(f"({name}): Cannot use unicast_ttl without unicast peers - resetting", end)
        instance = replace(instance, unicast_ttl=None)
    instance = _checked_mcast_destination(instance, family if native_first else None, sink)
    if instance.unicast_peer and instance.use_vmac is not None:
        if instance.interface is None:
            sink.warning(f"({name}): Cannot use VMAC/ipvlan with unicast and no interface - clearing use_vmac", end)
            instance = replace(instance, use_vmac=None)
        elif not instance.vmac_xmit_base:
            sink.warning(f"({name}) unicast with use_vmac requires vmac_xmit_base - setting", end)
            instance = replace(instance, vmac_xmit_base=True)
    return instance


# The scope nibble of an IPv6 multicast address that keepalived requires of mcast_dst_ip (IN6_IS_ADDR_MC_LINKLOCAL).
LINK_LOCAL_SCOPE = 2


def _checked_mcast_destination(instance: VrrpInstance, native_family: int | None, sink: DiagnosticSink) -> VrrpInstance:
    """keepalived's checks of mcast_dst_ip: a multicast group (IPv6: link-local), of the instance's family as
    known at its line (set by a virtual address or native_ipv6 above it), and no use with unicast peers."""
    group = instance.mcast_dst_ip
    if group is None:
        return instance
    name, where = instance.name, instance.lines.get("mcast_dst_ip", instance.where)
    vips = instance.virtual_ipaddress
    family = vips[0].family if vips and vips[0].where.line < where.line else native_family
    problem = None
    if family is not None and group.version != family:
        problem = f"({name}) mcast dest address {group} MUST match VRRP instance family. Skipping..."
    elif not group.is_multicast or (group.version == 6 and group.packed[1] & 0x0F != LINK_LOCAL_SCOPE):
        problem = (
            f"({name}) mcast_dst_ip {group} not{' link-local' if group.version == 6 else ''} multicast. Skipping..."
        )
    elif instance.unicast_peer:
        problem = f"({name}) multicast destination specified with unicast - ignoring"
    if problem is None:
        return instance
    sink.warning(problem, where)
    return replace(instance, mcast_dst_ip=None)


def _same_family(
    name: str, addresses: tuple[VirtualAddress, ...], family: int, sink: DiagnosticSink
) -> tuple[VirtualAddress, ...]:
    kept = []
    for address in addresses:
        if address.family == family:
            kept.append(address)
        else:
            sink.warning(
                f"({name}): address family must match VRRP instance [{address.address}] - ignoring", address.where
            )
    return tuple(kept)


def _complete_instance(instance: VrrpInstance, config: Config, sink: DiagnosticSink) -> VrrpInstance:
    """keepalived's vrrp_complete_instance(): its rules, in its order and words, each applied to the model."""
    name = instance.name
    where = instance.where
    lines = instance.lines
    strict = instance.strict_mode if instance.strict_mode is not None else config.global_defs.vrrp_strict
    version = instance.effective_version(config.global_defs.vrrp_version)
    if instance.virtual_router_id is None:
        sink.error(f"({name}) the virtual router id must be set", where)
    if instance.interface is None and not instance.unicast:
        sink.error(f"({name}) Unknown interface!", where)
    if instance.family == 6 and version == 2:
        sink.error(f"({name}) VRRP version 2 cannot carry IPv6 addresses in pykeepalived; use version 3", where)
    if not instance.virtual_ipaddress:
        if version == 3 or strict:
            sink.error(f"({name}) No VIP specified; at least one is required", where)
        else:
            sink.warning(f"({name}) No VIP specified; at least one is sensible", where)
    priority = instance.effective_priority
    if strict and instance.state is not None and (instance.state is State.MASTER) != (priority == PRIORITY_OWNER):
        state = State.MASTER if priority == PRIORITY_OWNER else State.BACKUP
        sink.warning(
            f"({name}) State MASTER must match being address owner; using state {state.value}",
            lines.get("state", where),
        )
        instance = replace(instance, state=state)
    instance = _checked_authentication(instance, strict, version, sink)
    if strict and instance.unicast:
        sink.error(f"({name}) Unicast peers are not supported in strict mode", where)
    if instance.unicast and instance.interface is None and instance.unicast_src_ip is None:
        sink.error(f"({name}): Unicast instances must have unicast_src_ip or interface", where)
    nopreempt_line = lines.get("nopreempt", where)
    delay_line = lines.get("preempt_delay", where)
    if priority == PRIORITY_OWNER and instance.nopreempt:
        sink.warning(
            f"({name}) nopreempt is incompatible with priority {PRIORITY_OWNER}. resetting nopreempt; using preempt",
            nopreempt_line,
        )
        instance = replace(instance, nopreempt=False)
    if instance.effective_state is State.MASTER:
        if instance.nopreempt:
            sink.warning(
                f"({name}) Warning - nopreempt will not work with initial state MASTER - clearing; using preempt",
                nopreempt_line,
            )
            instance = replace(instance, nopreempt=False)
        if instance.preempt_delay:
            sink.warning(
                f"({name}) Warning - preempt delay will not work with initial state MASTER - clearing; "
                "using preempt_delay 0",
                delay_line,
            )
            instance = replace(instance, preempt_delay=0.0)
    if instance.preempt_delay and strict:
        sink.warning(
            f"({name}) preempt_delay is incompatible with strict mode - resetting; using preempt_delay 0", delay_line
        )
        instance = replace(instance, preempt_delay=0.0)
    if instance.preempt_delay and instance.nopreempt:
        sink.warning(
            f"({name}) preempt_delay is incompatible with nopreempt mode - resetting; using preempt_delay 0",
            delay_line,
        )
        instance = replace(instance, preempt_delay=0.0)
    if instance.accept and priority != PRIORITY_OWNER and strict and version == 2:
        sink.warning(
            f"({name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting; "
            "using no_accept",
            lines.get("accept", where),
        )
        instance = replace(instance, accept=False)
    return _checked_advert_interval(instance, version, sink)


def _checked_authentication(instance: VrrpInstance, strict: bool, version: int, sink: DiagnosticSink) -> VrrpInstance:
    auth = instance.authentication
    if auth is None or auth.auth_type is None:
        return instance
    name = instance.name
    where = auth.where or instance.where
    problem = None
    if strict:
        problem = "Strict mode does not support authentication. Ignoring."
    elif version == 3:
        problem = "VRRP version 3 does not support authentication. Ignoring."
    elif not auth.auth_pass:
        problem = "Authentication specified but no password given. Ignoring"
    elif instance.family == 6 and auth.auth_type is AuthType.AH:
        problem = "Cannot use AH authentication with IPv6. ignoring"
    if problem is not None:
        sink.warning(f"({name}) {problem} (runs without authentication)", where)
        return replace(instance, authentication=None)
    master = instance.effective_state is State.MASTER and instance.effective_priority != PRIORITY_OWNER
    if auth.auth_type is AuthType.AH and master:
        sink.warning(
            f"({name}) Initial state master is incompatible with AH authentication - clearing; using state BACKUP",
            instance.lines.get("state", instance.where),
        )
        return replace(instance, state=State.BACKUP)
    return instance


def _checked_advert_interval(instance: VrrpInstance, version: int, sink: DiagnosticSink) -> VrrpInstance:
    name = instance.name
    where = instance.lines.get("advert_int", instance.where)
    interval = Decimal(str(instance.advert_int))
    if version == 2:
        if interval > V2_MAX_ADVERT:
            sink.warning(
                f"({name}) VRRPv2 advertisement interval {interval:.2f}s is out of range. Must be less than 256s. "
                f"Setting to {V2_MAX_ADVERT}s",
                where,
            )
            return replace(instance, advert_int=float(V2_MAX_ADVERT))
        if interval != interval.to_integral_value():
            rounded = max(interval.quantize(Decimal(1), rounding=ROUND_HALF_UP), Decimal(1))
            sink.warning(
                f"({name}) VRRPv2 advertisement interval {float(interval):f}s must be an integer. rounding; "
                f"using advert_int {rounded}",
                where,
            )
            return replace(instance, advert_int=float(rounded))
    elif interval > V3_MAX_ADVERT:
        sink.warning(
            f"({name}) VRRPv3 advertisement interval {interval:.2f}s is out of range. Must be less than 40.96s. "
            f"Setting to {V3_MAX_ADVERT}s",
            where,
        )
        return replace(instance, advert_int=float(V3_MAX_ADVERT))
    return instance


def _check_sync_groups(config: Config, sink: DiagnosticSink) -> Iterator[SyncGroup]:
    instances = {i.name for i in config.vrrp_instance}
    claimed: dict[str, str] = {}
    for group in config.vrrp_sync_group:
        if not group.members:
            sink.warning(f"vrrp_sync_group {group.name} has no 'group {{ ... }}' of instances - removing", group.where)
            continue
        kept: list[str] = []
        for member in group.members:
            if member not in instances:
                sink.warning(
                    f"Virtual router {member} specified in sync group {group.name} doesn't exist - ignoring",
                    group.where,
                )
            elif member in claimed:
                sink.error(
                    f"vrrp_instance {member} is already in sync group {claimed[member]}; "
                    f"an instance can be in one sync group only",
                    group.where,
                )
            else:
                claimed[member] = group.name
                kept.append(member)
        if len(kept) == 1:
            sink.warning(
                f"Sync group {group.name} has only 1 virtual router(s) - this probably isn't what you want",
                group.where,
            )
        yield replace(group, group=(tuple(kept),))


def _check_sync_daemon(config: Config, sink: DiagnosticSink, ifaces: InterfaceCheck) -> Config:
    configured = config.global_defs.lvs_sync_daemon
    for instance in config.vrrp_instance:
        if instance.lvs_sync_daemon_interface is not None:
            if configured is not None:
                sink.error(
                    f"({instance.name}) lvs_sync_daemon_interface has already been specified as {configured.interface}",
                    instance.where,
                )
            configured = config.sync_daemon()
    if configured is None:
        return config
    interface = configured.interface
    ifaces.check(interface, f"WARNING - interface {interface} for lvs_sync_daemon doesn't exist", configured.where)
    names = {instance.name for instance in config.vrrp_instance}
    if configured.instance is not None and configured.instance not in names:
        sink.warning(
            f"Unable to find vrrp instance {configured.instance} for lvs_syncd - clearing lvs_syncd config; "
            "no sync daemon runs",
            configured.where,
        )
        global_defs = replace(config.global_defs, lvs_sync_daemon=None)
        return replace(
            config,
            global_defs=global_defs,
            vrrp_instance=tuple(replace(i, lvs_sync_daemon_interface=None) for i in config.vrrp_instance),
        )
    return config
