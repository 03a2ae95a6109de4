"""keepalived's dump files, as each of its processes writes them: the parent's keepalived_parent.data
(SIGUSR1); the VRRP process's keepalived.data, .stats and .json (SIGUSR1, SIGUSR2 or STATS_CLEAR, the JSON
signal); the checker's keepalived_check.data (SIGUSR1). Each is a snapshot of the process's state,
formatted by the pure vrrp/dumps.py, check/dumps.py and config/global_dump.py, written whole under
keepalived's file names."""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

from ..check.compile import real_server_key
from ..check.dumps import CheckerView, CheckSnapshot, RealServerView, VirtualServerView, check_data_text
from ..config.global_dump import ProcessFacts, data_file, global_definitions, global_option, tmp_dir
from ..config.model import Config, HttpCheck, Script, SmtpCheck, SyncGroup, Url, VrrpInstance
from ..io.dumps import write_text_atomically
from ..io.netdev import ipv4_setting, link_local, links
from ..io.probes.base import Result
from ..io.script_security import ScriptUsers, ScriptVetting
from ..vrrp.dumps import (
    InstanceView,
    LinkView,
    NotifyView,
    ScriptView,
    SocketView,
    SyncGroupView,
    VrrpSnapshot,
    command_text,
    data_text,
    json_text,
    script_result,
    stats_text,
)
from ..vrrp.packet import IPAddr
from ..vrrp.tracking import Kind, contribution

if TYPE_CHECKING:
    from .check_service import CheckService
    from .vrrp_service import VrrpService


def current_umask() -> int:
    """The process's umask, read without setting it (another thread may be creating a file meanwhile)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    raise OSError("no Umask line in /proc/self/status")


def process_facts(users: ScriptUsers, vrrp: bool) -> ProcessFacts:
    mask = current_umask()
    user = users.default()
    return ProcessFacts(os.uname().nodename, mask, (user.uid, user.gid) if user else None, vrrp)


def _notify(vetting: ScriptVetting, block: VrrpInstance | SyncGroup) -> tuple[NotifyView, ...]:
    """A vrrp_instance's or sync group's notify scripts, with whom each runs as."""
    scripts = {"BACKUP": block.notify_backup, "MASTER": block.notify_master, "FAULT": block.notify_fault,
               "STOP": block.notify_stop, "GENERIC": block.notify}  # fmt: skip
    views = []
    for state, script in scripts.items():
        if script is None:
            continue
        vetted = vetting.vet_notify(script)
        if vetted is not None:
            run_as, argv = vetted
            views.append(NotifyView(state, command_text(argv), run_as.uid, run_as.gid))
    return tuple(views)


def _source(configured: VrrpInstance, source: IPAddr, interface: str) -> IPAddr | None:
    """The advert source as keepalived shows it: an IPv6 instance's is its interface's link-local address now
    (gone while the link is down)."""
    written = configured.unicast_src_ip or configured.mcast_src_ip
    if source.version == 4 or written is not None:
        return source
    return link_local(interface)


def snapshot(service: VrrpService) -> VrrpSnapshot:
    config = service.config
    offset = service.loop.time() - time.time()
    by_name = {i.name: i for i in config.vrrp_instance}
    tracker = service.tracker
    instances = []
    for running in service.running:
        spec = running.spec
        name = spec.params.name
        tracked = tuple(t for t in spec.tracked if (t.kind, t.name) not in tracker.removed)
        faults = sum(contribution(t, tracker.status.get((t.kind, t.name), True))[1] for t in tracked)
        faults += spec.track_primary and not running.link_up
        sock = service.sockets.get(running.channel)
        configured = by_name[name]
        group = service.engines.group_of.get(name)
        instances.append(
            InstanceView(
                configured,
                running.engine,
                spec.interface.name,
                _source(configured, spec.source, spec.interface.name),
                sock.fileno() if sock is not None else None,
                tracked,
                faults,
                group.name if group is not None else None,
                spec.vmac,
                spec.smtp_alert,
                _notify(service.vetting, configured),
                offset,
                spec.interface.index,
                spec.accept,
            )
        )
    sockets = []
    for channel, sock in service.sockets.items():
        interface, family, protocol, to = channel
        # keepalived's sockpool shows the address of unicast sockets only.
        unicast_to = None if to.is_multicast else to
        members = tuple((r.spec.params.name, r.spec.params.vrid) for r in service.running if r.channel == channel)
        sockets.append(SocketView(sock.fileno(), interface, family, protocol, unicast_to, members))
    groups = []
    for configured_group in config.vrrp_sync_group:
        group = next(g for g in service.engines.groups if g.name == configured_group.name)
        smtp = configured_group.smtp_alert
        groups.append(
            SyncGroupView(
                group.name,
                group.state,
                tuple(m.params.name for m in group.members),
                sum(m.faulted for m in group.members),
                bool(smtp if smtp is not None else config.global_defs.smtp_alert),
                _notify(service.vetting, configured_group),
            )
        )
    watchers = {w.script.name: w for w in tracker.watchers}
    scripts = []
    for script in config.vrrp_script:
        watcher = watchers.get(script.name)
        if watcher is None or script.script is None:
            continue
        users = [(r.spec.params.name, t) for r in service.running for t in r.spec.tracked]
        status = watcher.status
        weight, reverse = script.weight
        scripts.append(
            ScriptView(
                script.name,
                command_text(watcher.argv),
                script.interval,
                # Unset, as keepalived prints it: the script then has its interval to run.
                script.timeout or 0.0,
                weight,
                reverse,
                script.rise,
                script.fall,
                script_result(script.rise, script.fall, status.ok, status.streak),
                bool(status.ok),
                status.ok is not None,
                watcher.run_as.uid,
                watcher.run_as.gid,
                watcher.running,
                tuple((n, t.weight, t.reverse) for n, t in users if t.kind is Kind.SCRIPT and t.name == script.name),
            )
        )
    facts = process_facts(service.vetting.users, vrrp=True)
    return VrrpSnapshot(
        config, facts, tuple(instances), tuple(groups), tuple(sockets), tuple(scripts), link_views(service)
    )


def link_views(service: VrrpService) -> tuple[LinkView, ...]:
    """The namespace's interfaces, each with the instances on it (weight 0, unless dont_track_primary) and
    those tracking it."""
    views = []
    for link in links():
        own = [(r.spec.params.name, 0, False) for r in service.running
               if r.spec.interface.name == link.name and r.spec.track_primary]  # fmt: skip
        tracking = [(r.spec.params.name, t.weight, t.reverse) for r in service.running for t in r.spec.tracked
                    if t.kind is Kind.INTERFACE and t.name == link.name]  # fmt: skip
        addresses = (link.mac, link.broadcast, link.address, link.link_local)
        settings = (link.arp_ignore, link.arp_filter, link.promote_secondaries)
        changed = link.index in service.links_changed
        rp_filter = link.rp_filter if changed else None
        sent = service.na_sent_at.get(link.name)
        forwarding = (sent, bool(ipv4_setting(link.name, "forwarding", "ipv6"))) if sent is not None else None
        views.append(LinkView(link.name, link.index, link.flags, link.mtu, link.hardware_type, *addresses,
                              tuple(own + tracking), *settings, rp_filter, changed, forwarding))  # fmt: skip
    return tuple(views)


def _directory() -> str:
    return tmp_dir(os.environ.get("TMPDIR"))


def write_data(service: VrrpService) -> None:
    service.logger.info(f"Printing VRRP data for process({os.getpid()}) on signal")
    path = data_file(_directory(), service.config, "keepalived.data")
    write_text_atomically(path, vrrp_data_text(service), service.logger)


def write_stats(service: VrrpService, clear: bool) -> None:
    """keepalived.stats; keepalived's STATS_CLEAR writes it and then clears the counters."""
    service.logger.info(f"Printing {'and clearing ' if clear else ''}VRRP stats for process({os.getpid()}) on signal")
    write_text_atomically(f"{_directory()}/keepalived.stats", stats_text(snapshot(service).instances), service.logger)
    if clear:
        service.clear_counters()


def write_json(service: VrrpService) -> None:
    service.logger.info(f"Printing VRRP as json for process({os.getpid()}) on signal")
    if service.running:
        write_text_atomically(f"{_directory()}/keepalived.json", json_text(snapshot(service)), service.logger)


class ConfigSaver:
    """keepalived's config_save_dir: each reload writes the process's data dump before and after it, to
    DIR/keepalived_PROCESS.PID.RELOAD.pre and .post, to see what a reload changed."""

    def __init__(self, process: str) -> None:
        self.process = process
        self.reloads = 0

    def save(self, config: Config, text: str, post: bool, logger: logging.Logger) -> None:
        directory = global_option(config.global_defs, "config_save_dir")
        if not directory:
            return
        if not post:
            self.reloads += 1
        path = f"{directory[0]}/keepalived_{self.process}.{os.getpid()}.{self.reloads}.{'post' if post else 'pre'}"
        write_text_atomically(path, text, logger)


def vrrp_data_text(service: VrrpService) -> str:
    return data_text(snapshot(service))


def check_data(service: CheckService) -> str:
    return check_data_text(check_snapshot(service))


def write_parent_data(config: Config, logger: logging.Logger) -> None:
    """The parent's SIGUSR1 (it also passes the signal on): its global definitions."""
    logger.info(f"Printing parent data for process({os.getpid()}) on signal")
    lines = global_definitions(config, process_facts(ScriptUsers(config.global_defs), vrrp=False))
    path = data_file(_directory(), config, "keepalived_parent.data")
    write_text_atomically(path, "".join(f"{line}\n" for line in lines), logger)


def _run_as(vetting: ScriptVetting, script: Script | None) -> tuple[str, int, int] | None:
    vetted = vetting.vet_notify(script) if script is not None else None
    return (command_text(vetted[1]), vetted[0].uid, vetted[0].gid) if vetted is not None else None


def status_codes(url: Url) -> tuple[tuple[int, int], ...]:
    """The codes a url accepts as keepalived lists them: runs of consecutive codes (2xx when none is given)."""
    codes = sorted({code for low, high in (url.status_code or ((200, 299),)) for code in range(low, high + 1)})
    runs: list[tuple[int, int]] = []
    for code in codes:
        if runs and runs[-1][1] == code - 1:
            runs[-1] = (runs[-1][0], code)
        else:
            runs.append((code, code))
    return tuple(runs)


def check_snapshot(service: CheckService) -> CheckSnapshot:
    config, table = service.config, service.held
    global_defs = config.global_defs
    servers = []
    for policy in service.policies:
        server = service.servers[policy.key]
        members = table[policy.key].members() if policy.key in table else {}
        reals = {real_server_key(policy.key, real): real for real in server.real_server}
        views = tuple(
            RealServerView(
                reals[rs.key],
                rs,
                rs.key in members,
                _run_as(service.vetting, reals[rs.key].notify_up),
                _run_as(service.vetting, reals[rs.key].notify_down),
            )
            for rs in policy.real_servers
        )
        smtp = server.smtp_alert if server.smtp_alert is not None else global_defs.smtp_alert_checker
        servers.append(VirtualServerView(server, policy, views, policy.key in table, bool(smtp)))
    checkers = []
    for run in service.runs:
        target, checker = run.target, run.checker
        urls = tuple((u.path or "/", status_codes(u)) for u in checker.url) if isinstance(checker, HttpCheck) else ()
        helo = ""
        if isinstance(checker, SmtpCheck):
            helo = checker.helo_name or global_defs.smtp_helo_name or "localhost"
        script = None
        if run.misc_run is not None:
            run_as, argv = run.misc_run
            script = (command_text(argv), run_as.uid, run_as.gid)
        bound = f"[{target.bind_address}]:{target.bind_port or 0}" if target.bind_address else None
        checkers.append(
            CheckerView(
                str(run.virtual_server.key),
                run.description,
                run.label,
                run.policy,
                run.alpha,
                run.delay_loop,
                run.warmup,
                run.delay_before_retry,
                run.log_all_failures,
                f"[{target.address}]:{target.port}",
                bound,
                target.timeout,
                checker,
                run.real_server.dynamic_weight or 0,
                urls,
                helo,
                script,
                run.last_at,
                misc_status(run.last),
            )
        )
    facts = process_facts(service.vetting.users, vrrp=False)
    return CheckSnapshot(config, facts, tuple(servers), tuple(checkers))


def misc_status(result: Result | None) -> int:
    """A MISC_CHECK's exit status as keepalived reads it: 0 good, 1 bad, 2 + weight with misc_dynamic."""
    if result is None:
        return 0
    if result.weight is not None:
        return result.weight + 2
    return 0 if result.ok else 1


def write_check_data(service: CheckService) -> None:
    service.logger.info(f"Printing checker data for process({os.getpid()}) on signal")
    path = data_file(_directory(), service.config, "keepalived_check.data")
    write_text_atomically(path, check_data(service), service.logger)
