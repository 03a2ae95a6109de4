"""keepalived's dump files, as each of its processes writes them: the parent's keepalived_parent.data
(SIGUSR1); the VRRP process's keepalived.data, .stats and .json (SIGUSR1, SIGUSR2 or STATS_CLEAR, the JSON
signal). Each is a snapshot of the process's state, formatted by the pure vrrp/dumps.py and
config/global_dump.py, written whole under keepalived's file names."""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

from ..config.global_dump import ProcessFacts, data_file, global_definitions, tmp_dir
from ..config.model import Config, SyncGroup, VrrpInstance
from ..io.dumps import write_text_atomically
from ..io.script_security import ScriptUsers, ScriptVetting
from ..vrrp.dumps import (
    InstanceView,
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
from ..vrrp.tracking import Kind, contribution

if TYPE_CHECKING:
    from .vrrp_service import VrrpService


def process_facts(users: ScriptUsers, vrrp: bool) -> ProcessFacts:
    mask = os.umask(0)
    os.umask(mask)
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
        group = service.group_of.get(name)
        instances.append(
            InstanceView(
                configured,
                running.engine,
                spec.interface.name,
                spec.source,
                sock.fileno() if sock is not None else None,
                tracked,
                faults,
                group.name if group is not None else None,
                spec.vmac,
                spec.smtp_alert,
                _notify(service.vetting, configured),
                offset,
            )
        )
    sockets = []
    for channel, sock in service.sockets.items():
        interface, family, protocol, unicast_to = channel
        members = tuple((r.spec.params.name, r.spec.params.vrid) for r in service.running if r.channel == channel)
        sockets.append(SocketView(sock.fileno(), interface, family, protocol, unicast_to, members))
    groups = []
    for configured_group in config.vrrp_sync_group:
        group = next(g for g in service.groups if g.name == configured_group.name)
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
    return VrrpSnapshot(config, facts, tuple(instances), tuple(groups), tuple(sockets), tuple(scripts))


def _directory() -> str:
    return tmp_dir(os.environ.get("TMPDIR"))


def write_data(service: VrrpService) -> None:
    service.logger.info(f"Printing VRRP data for process({os.getpid()}) on signal")
    path = data_file(_directory(), service.config, "keepalived.data")
    write_text_atomically(path, data_text(snapshot(service)), service.logger)


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


def write_parent_data(config: Config, logger: logging.Logger) -> None:
    """The parent's SIGUSR1 (it also passes the signal on): its global definitions."""
    logger.info(f"Printing parent data for process({os.getpid()}) on signal")
    lines = global_definitions(config, process_facts(ScriptUsers(config.global_defs), vrrp=False))
    path = data_file(_directory(), config, "keepalived_parent.data")
    write_text_atomically(path, "".join(f"{line}\n" for line in lines), logger)
