"""Checks that need the whole configuration: references, duplicates, and keepalived's instance rules.

Where keepalived 2.2.7 would quietly run something other than what was written (drop a track script
it cannot find, ignore authentication under vrrp_strict, reset accept mode), the message keeps
keepalived's words so log-watchers and habits carry over, and the severity is ERROR: pykeepalived
refuses to start rather than run a different configuration.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..core.diagnostics import DiagnosticSink, Location
from .items import Route, Tracked
from .model import PRIORITY_OWNER, AuthType, Config, State, VrrpInstance


class InterfaceCheck:
    """Collects references to interfaces that do not exist on this machine."""

    def __init__(self, existing: frozenset[str] | None, sink: DiagnosticSink) -> None:
        self.existing = existing
        self.sink = sink
        self.missing = False

    def check(self, name: str | None, message: str, where: Location | None) -> None:
        if name is None or self.existing is None or name in self.existing:
            return
        self.missing = True
        self.sink.error(message, where)


def validate(config: Config, sink: DiagnosticSink, interfaces: frozenset[str] | None) -> None:
    """Report what keepalived's validation reports, plus what it lets slip.

    `interfaces`: the interface names present on this machine, or None to skip those checks.
    """
    ifaces = InterfaceCheck(interfaces, sink)
    _check_static(config, ifaces)
    scripts = _check_scripts(config, sink)
    _check_instances(config, sink, ifaces, scripts)
    _check_sync_groups(config, sink)
    _check_virtual_servers(config, sink)
    _check_sync_daemon(config, sink, ifaces)
    _check_not_provided(config, sink)
    if ifaces.missing:
        if config.global_defs.dynamic_interfaces:
            sink.warning("Non-existent interface specified in configuration (dynamic_interfaces is set)", None)
        else:
            sink.error("Non-existent interface specified in configuration", None)


# global_defs keywords of keepalived's SNMP and DBus interfaces, which pykeepalived does not provide: read, said
# at their line (as keepalived built without them says "Unknown keyword"), and the daemon runs without them.
SNMP_KEYWORDS = frozenset(
    ("snmp_socket", "enable_traps", "enable_snmp_vrrp", "enable_snmp_keepalived", "enable_snmp_rfc",
     "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_snmp_checker")
)  # fmt: skip
DBUS_KEYWORDS = frozenset(("enable_dbus", "dbus_service_name"))


def _check_not_provided(config: Config, sink: DiagnosticSink) -> None:
    for option in config.global_defs.options:
        if option.keyword in SNMP_KEYWORDS:
            sink.warning(
                f"{option.keyword}: SNMP is not provided by pykeepalived - no effect (Prometheus metrics are planned "
                "instead: --metrics)",
                option.where,
            )
        elif option.keyword in DBUS_KEYWORDS:
            sink.warning(f"{option.keyword}: DBus is not provided by pykeepalived - no effect", option.where)
    for option in config.options:
        # keepalived programs IPVS in that namespace; ours would program the daemon's own: not the same table.
        if option.keyword == "net_namespace_ipvs" and config.virtual_server:
            sink.error(
                "net_namespace_ipvs: not provided by pykeepalived - the checker programs the data plane in the "
                "daemon's own network namespace",
                option.where,
            )


def _check_routes(routes: Iterable[Route], ifaces: InterfaceCheck) -> None:
    for route in routes:
        ifaces.check(route.dev, f"WARNING - interface {route.dev} for VROUTE nexthop doesn't exist", route.where)


def _check_static(config: Config, ifaces: InterfaceCheck) -> None:
    for address in config.static_ipaddress:
        ifaces.check(
            address.dev,
            f"WARNING - interface {address.dev} for ip address {address.address.ip} doesn't exist",
            address.where,
        )
    _check_routes(config.static_routes, ifaces)


def _check_scripts(config: Config, sink: DiagnosticSink) -> set[str]:
    """Report unusable vrrp_script blocks; return the names of the usable ones."""
    usable: set[str] = set()
    for script in config.vrrp_script:
        if not script.script:
            sink.error(
                f"No script set for vrrp_script {script.name} - removing (keepalived would drop it "
                "and every track_script that names it)",
                script.end or script.where,
            )
            continue
        if script.name in usable:
            sink.error(f"vrrp_script {script.name} is defined twice", script.where)
        usable.add(script.name)
    return usable


def _check_tracked(
    instance: VrrpInstance,
    entries: Iterable[Tracked],
    known: set[str],
    kind: str,
    sink: DiagnosticSink,
) -> None:
    for entry in entries:
        if entry.name not in known:
            sink.error(f"({instance.name}) track {kind} {entry.name} not found, ignoring...", entry.where)


def _check_instances(config: Config, sink: DiagnosticSink, ifaces: InterfaceCheck, scripts: set[str]) -> None:
    track_files = {f.name for f in config.track_file}
    processes = {p.name for p in config.vrrp_track_process}
    seen_names: set[str] = set()
    vrids: dict[tuple[str, int, int], VrrpInstance] = {}
    for instance in config.vrrp_instance:
        name = instance.name
        if name in seen_names:
            sink.error(f"vrrp_instance {name} is defined twice", instance.where)
        seen_names.add(name)
        ifaces.check(
            instance.interface,
            f"WARNING - interface {instance.interface} for vrrp_instance {name} doesn't exist",
            instance.lines.get("interface", instance.where),
        )
        for tracked in instance.track_interface:
            ifaces.check(tracked.name, f"({name}) tracked interface {tracked.name} doesn't exist", tracked.where)
        for address in (*instance.virtual_ipaddress, *instance.virtual_ipaddress_excluded):
            ifaces.check(
                address.dev,
                f"WARNING - interface {address.dev} for ip address {address.address.ip} doesn't exist",
                address.where,
            )
        _check_routes(instance.virtual_routes, ifaces)
        for route in instance.virtual_routes:
            if route.dev is None:
                sink.warning(
                    f"Warning - cannot track route {route.destination} with no interface specified, not tracking",
                    route.where,
                )
        _check_tracked(instance, instance.track_script, scripts, "script", sink)
        _check_tracked(instance, instance.track_file, track_files, "file", sink)
        _check_tracked(instance, instance.track_process, processes, "process", sink)
        _check_instance_rules(instance, config, sink)
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


def _check_instance_rules(instance: VrrpInstance, config: Config, sink: DiagnosticSink) -> None:
    """keepalived's vrrp_complete_instance() rules, in its order and words."""
    name = instance.name
    where = instance.where
    strict = instance.strict_mode if instance.strict_mode is not None else config.global_defs.vrrp_strict
    version = instance.effective_version(config.global_defs.vrrp_version)
    priority = instance.effective_priority
    if instance.virtual_router_id is None:
        sink.error(f"({name}) the virtual router id must be set", where)
    if instance.interface is None and not instance.unicast:
        sink.error(f"({name}) Unknown interface! (set 'interface' or give unicast peers)", where)
    if instance.family == 6 and version == 2:
        sink.error(f"({name}) VRRP version 2 cannot carry IPv6 addresses; use version 3", where)
    if not instance.virtual_ipaddress:
        if version == 3 or strict:
            sink.error(f"({name}) No VIP specified; at least one is required", where)
        else:
            sink.warning(f"({name}) No VIP specified; at least one is sensible", where)
    if strict and instance.state is not None and (instance.state is State.MASTER) != (priority == PRIORITY_OWNER):
        sink.warning(f"({name}) State MASTER must match being address owner", where)
    auth = instance.authentication
    auth_type = auth.auth_type if auth else None
    if auth_type is not None and auth is not None:
        if strict:
            sink.error(f"({name}) Strict mode does not support authentication. Ignoring.", auth.where or where)
        elif version == 3:
            sink.error(f"({name}) VRRP version 3 does not support authentication. Ignoring.", auth.where or where)
        elif not auth.auth_pass:
            sink.error(f"({name}) Authentication specified but no password given. Ignoring", auth.where or where)
        elif instance.family == 6 and auth_type is AuthType.AH:
            sink.error(f"({name}) Cannot use AH authentication with IPv6. ignoring", auth.where or where)
        elif auth_type is AuthType.AH and instance.state is State.MASTER and priority != PRIORITY_OWNER:
            sink.warning(
                f"({name}) Initial state master is incompatible with AH authentication - clearing "
                "(it starts as BACKUP, as keepalived always does)",
                where,
            )
    if strict and instance.unicast:
        sink.error(f"({name}) Unicast peers are not supported in strict mode", where)
    if priority == PRIORITY_OWNER and instance.nopreempt:
        sink.error(f"({name}) nopreempt is incompatible with priority {PRIORITY_OWNER}. resetting nopreempt", where)
    if instance.effective_state is State.MASTER and instance.nopreempt:
        sink.error(f"({name}) Warning - nopreempt will not work with initial state MASTER - clearing", where)
    if instance.effective_state is State.MASTER and instance.preempt_delay:
        sink.error(f"({name}) Warning - preempt delay will not work with initial state MASTER - clearing", where)
    if instance.preempt_delay and strict:
        sink.error(f"({name}) preempt_delay is incompatible with strict mode - resetting", where)
    if instance.preempt_delay and instance.nopreempt:
        sink.error(f"({name}) preempt_delay is incompatible with nopreempt mode - resetting", where)
    if instance.accept and priority != PRIORITY_OWNER and strict and version == 2:
        sink.error(f"({name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting", where)


def _check_sync_groups(config: Config, sink: DiagnosticSink) -> None:
    instances = {i.name for i in config.vrrp_instance}
    claimed: dict[str, str] = {}
    for group in config.vrrp_sync_group:
        if not group.members:
            sink.error(f"vrrp_sync_group {group.name} has no 'group {{ ... }}' of instances", group.where)
        for member in group.members:
            if member not in instances:
                sink.error(f"vrrp_sync_group {group.name}: vrrp_instance {member} is not defined", group.where)
            elif member in claimed:
                sink.error(
                    f"vrrp_instance {member} is already in sync group {claimed[member]}; "
                    f"an instance can be in one sync group only",
                    group.where,
                )
            else:
                claimed[member] = group.name


def _check_virtual_servers(config: Config, sink: DiagnosticSink) -> None:
    groups = {g.name for g in config.virtual_server_group}
    for server in config.virtual_server:
        if server.group is not None and server.group not in groups:
            sink.error(f"virtual_server group {server.group}: no virtual_server_group of that name", server.where)
        if server.fwmark is not None and server.protocol is not None:
            sink.warning(
                f"Warning: Virtual server {server.label}: protocol specified for fwmark - protocol will be ignored",
                server.where,
            )
        seen: set[tuple[str, int]] = set()
        for real in server.real_server:
            key = (str(real.address), real.port)
            if key in seen:
                sink.error(f"real_server {real.address} {real.port} appears twice in {server.label}", real.where)
            seen.add(key)
        if server.quorum > max(1, sum(r.weight for r in server.real_server)) and server.real_server:
            sink.warning(
                f"virtual_server {server.label}: quorum {server.quorum} is more than the total weight of its "
                "real servers, so it can never be reached",
                server.where,
            )


def _check_sync_daemon(config: Config, sink: DiagnosticSink, ifaces: InterfaceCheck) -> None:
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
        return
    interface = configured.interface
    ifaces.check(interface, f"WARNING - interface {interface} for lvs_sync_daemon doesn't exist", configured.where)
    names = {instance.name for instance in config.vrrp_instance}
    if configured.instance is not None and configured.instance not in names:
        sink.error(
            f"Unable to find vrrp instance {configured.instance} for lvs_syncd - clearing lvs_syncd config",
            configured.where,
        )
