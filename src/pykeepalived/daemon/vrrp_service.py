"""The VRRP process: runs the instance state machines on real sockets, timers and netlink.

One asyncio loop. Each instance has one precise timer at the engine's next deadline. Every side effect
is a non-blocking send (adverts, gratuitous ARPs, netlink address messages), carried out in the order
the engine asked for it, so nothing an instance does can hold up another's advert.

Over 400 lines: sockets, timers, the execution of every kind of action and the reload that rewires them all
share the service's state; an instance's own part is in vrrp_instances.py, tracking and notifications in
tracking.py and notifier.py, the engines' wiring in vrrp/node.py.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import ipaddress
import logging
import signal
import sys
import time
from collections.abc import Sequence

from ..config.model import Config
from ..core.exits import EXIT_CONFIG
from ..io.addresses import AddressManager, PlacedAddress, address_message, expiring_addresses
from ..io.links import LinkMonitor
from ..io.netdev import Interface, interface, is_up
from ..io.script_security import ScriptVetting
from ..io.timers import PreciseTimers, TimerHandle
from ..io.vrrp_firewall import VipFirewall
from ..io.vrrp_socket import ArpSocket, NeighbourAdvertSocket, VrrpSocketV4, VrrpSocketV6
from ..vrrp.gratuitous import garp_frame, unsolicited_na
from ..vrrp.instance import (
    Action,
    AddAddresses,
    AdvertIn,
    Event,
    Log,
    MasterRxLowerPriority,
    PriorityChange,
    Reconfigure,
    RemoveAddresses,
    SendAdvert,
    SendGratuitous,
    SplitBrain,
    Start,
    State,
    StateChange,
    Stop,
    Timer,
)
from ..vrrp.node import NodeEngines
from ..vrrp.packet import (
    MCAST_GROUP6,
    DecodeError,
)
from ..vrrp.sync_group import Reaction, SyncGroup
from ..vrrp.validate import Received, parse_ipv4, parse_ipv6
from .address_log import log_address_changes
from .dump_files import ConfigSaver, vrrp_data_text, write_data, write_json, write_stats
from .dynamic_interfaces import ready_instances, waiting_instances
from .garp_pacing import GarpPacing, garp_delays
from .lvs_sync import SyncDaemonControl
from .notifier import Notifier
from .process import (
    SIGJSON,
    SIGSTATS_CLEAR,
    config_is_empty,
    keep_running_config,
    pidfile,
    read_config,
    release_signals,
    start_child,
    tolerate_realtime_signals,
)
from .readiness import report_config_read, reporting
from .snapshots import vrrp_snapshot
from .status import serve_status
from .tracking import Tracker
from .vmacs import VmacInterfaces
from .vrrp_instances import Channel, Running, new_running, router_identity
from .vrrp_setup import (
    InstanceSpec,
    SetupError,
    apply_scheduling,
    default_interface,
    firewall_configured,
    firewall_settings,
    instance_spec,
    routing_messages,
)

NOTIFY_STOP_WAIT_SECONDS = 1.0
LINK_LOCAL_WAIT_SECONDS = 5.0


class VrrpService:
    def __init__(self, config: Config, specs: Sequence[InstanceSpec], logger: logging.Logger, log_detail: bool) -> None:
        self.config = config
        self.loop = asyncio.get_running_loop()
        self.logger = logger
        self.log_detail = log_detail
        self.running = [new_running(spec) for spec in specs]
        self.sockets: dict[Channel, VrrpSocketV4 | VrrpSocketV6] = {}
        self.arp_sockets: dict[str, ArpSocket] = {}
        self.na_sockets: dict[str, NeighbourAdvertSocket] = {}
        self.by_vrid: dict[tuple[Channel, int], Running] = {}
        self.addresses = AddressManager(logger)
        self.links: LinkMonitor | None = None
        # Interfaces whose state changed since start (keepalived's dump shows their rp_filter from then on),
        # and when we last sent a neighbour advert on each (its dump shows that it checked IPv6 forwarding).
        self.links_changed: set[int] = set()
        self.na_sent_at: dict[str, float] = {}
        self.dropped: collections.Counter[str] = collections.Counter()
        self.stopped = asyncio.Event()
        # keepalived's --dont-release-vrrp (-V): stopping leaves the addresses, routes and rules in place.
        self.release_on_stop = True
        self.timers = PreciseTimers(self.loop)
        # One script vetting for tracked and notify scripts: one SECURITY VIOLATION line covers both.
        self.vetting = ScriptVetting(config.global_defs, logger.warning)
        self.tracker = Tracker(config, self.vetting, self._reevaluate_named, logger)
        self.notifier = Notifier(config, self.vetting, logger)
        self.by_name = {r.spec.params.name: r for r in self.running}
        sync_settings = config.sync_daemon()
        self.lvs_sync = (
            SyncDaemonControl(sync_settings, logger)
            if sync_settings is not None and sync_settings.instance is not None
            else None
        )
        self.engines = self._wire_engines()
        self.firewall: VipFirewall | None = None
        self._open_firewall()
        self.waiting: set[str] = set()
        self.waiting_timer: TimerHandle | None = None
        self.pacing = self._garp_pacing()

    def _garp_pacing(self) -> GarpPacing:
        """garp_interval / gna_interval between the gratuitous ARPs and neighbour adverts of an interface."""
        interfaces = sorted({target.name for r in self.running for target, _ in r.spec.garp_targets})
        delays = garp_delays(self.config, interfaces, self.logger)
        return GarpPacing(delays, self.loop.time, self.timers.call_at)

    def _open_firewall(self) -> None:
        """keepalived's accept-mode firewall, set up once an instance runs without accept mode."""
        if self.firewall is not None or not any(r.spec.firewall for r in self.running):
            return
        if not firewall_configured(self.config.global_defs):
            self.logger.info("use_vmac or no_accept/strict specified, but no firewall configured - using nftables")
        self.firewall = VipFirewall(firewall_settings(self.config.global_defs), self.logger)

    def _wire_engines(self) -> NodeEngines:
        """The engines and their sync groups, wired as the lint's simulated LAN wires them too."""
        return NodeEngines(
            {r.spec.params.name: r.engine for r in self.running},
            [(g.name, g.members) for g in self.config.vrrp_sync_group],
            self._act,
            self._settle,
            self._group_changed,
        )

    # ----- lifecycle ------------------------------------------------------------------------------

    def open(self) -> None:
        self._open_sockets()
        self.links = LinkMonitor()
        self.loop.add_reader(self.links.fileno(), self._on_link_change)
        self.loop.add_reader(self.addresses.fileno(), self.addresses.read_answers)
        self._add_static()
        specs = [r.spec for r in self.running]
        self.tracker.open(specs)
        self.notifier.vet(specs)
        self.vetting.report_violation()
        if self.lvs_sync is not None:
            self.lvs_sync.clear()
        self.notifier.open()

    def _open_sockets(self) -> None:
        """A socket for every channel the instances use, and none for the others."""
        self.by_vrid = {}
        for running in self.running:
            spec = running.spec
            channel = running.channel
            if channel not in self.sockets:
                multicast = not spec.params.unicast
                # The group, or a unicast peer: of the source's family (instance_spec checks it).
                group = spec.destinations[0].packed
                sock: VrrpSocketV4 | VrrpSocketV6
                if isinstance(spec.source, ipaddress.IPv4Address):
                    sock = VrrpSocketV4(
                        spec.interface.name,
                        spec.interface.index,
                        multicast,
                        running.protocol,
                        spec.source,
                        ipaddress.IPv4Address(group),
                    )
                else:
                    sock = VrrpSocketV6(
                        spec.interface.name, spec.interface.index, spec.source, multicast, ipaddress.IPv6Address(group)
                    )
                self.sockets[channel] = sock
                self.loop.add_reader(sock.fileno(), self._on_readable, channel)
            for target, address in spec.garp_targets:
                if address.version == 4 and target.name not in self.arp_sockets:
                    self.arp_sockets[target.name] = ArpSocket(target.name)
                if address.version == 6 and target.name not in self.na_sockets:
                    self.na_sockets[target.name] = NeighbourAdvertSocket(target.index)
            self.by_vrid[(channel, spec.params.vrid)] = running
        for channel in set(self.sockets) - {running.channel for running in self.running}:
            sock = self.sockets.pop(channel)
            self.loop.remove_reader(sock.fileno())
            sock.close()

    def _add_static(self) -> None:
        """static_ipaddress, static_routes, static_rules: added at start, whatever the VRRP states."""
        messages: list[tuple[bytes, str]] = []
        for vip in self.config.static_ipaddress:
            try:
                where = interface(vip.dev or default_interface(self.config.global_defs))
            except OSError:
                self.logger.error(
                    f"Static address {vip.address} requires either an interface or default interface must exist"
                )
                continue
            messages.append(
                (address_message(PlacedAddress(vip, where.index), True, None), f"static address {vip.address}")
            )
        routing = routing_messages(self.config.static_routes, self.config.static_rules, interface, "static")
        messages += [(add, f"adding {what}") for add, _, what in routing]
        if messages:
            self.addresses.send(messages)

    def _health(self, name: str) -> tuple[int, bool]:
        running = self.by_name[name]
        return self.tracker.health(running.spec, running.link_up)

    def _reevaluate_named(self, names: list[str]) -> None:
        for name in names:
            self._reevaluate(self.by_name[name])

    def _reevaluate(self, running: Running) -> None:
        self.engines.reevaluate(running.spec.params.name, self._health, self.loop.time())

    def _group_changed(self, group: SyncGroup, reaction: Reaction) -> None:
        """Log and notify what a sync group decided (NodeEngines moves the other members)."""
        if reaction.log:
            self.logger.info(reaction.log)
        if reaction.new_state is not None:
            self.notifier.group_changed(group.name, reaction.new_state)

    def start(self, expiring: set[tuple[int, str]]) -> None:
        """Start every instance; `expiring`: the addresses with a lifetime on this machine (io.addresses)."""
        for running in self.running:
            running.link_up = is_up(running.spec.interface.name)
        held = [
            r.spec.params.name
            for r in self.running
            if r.spec.addresses
            and all((where.index, str(vip.address.ip)) in expiring for vip, where in r.spec.addresses)
        ]
        delay = self.config.global_defs.vrrp_startup_delay or 0.0
        if delay:
            self.logger.info(f"Delaying startup for {delay:g} seconds")
        self.engines.start(self._health, self.loop.time(), held, delay)
        self.tracker.start()

    def reload(self, config: Config, specs: Sequence[InstanceSpec]) -> None:
        """Run a new configuration as keepalived reloads one: an instance it keeps (same name, interface, VRID,
        family, version, authentication kind) keeps its state, its addresses and its timers and takes the
        new settings; a removed one stops as on shutdown (priority 0, its addresses removed); a new one
        starts as at start-up."""
        now = self.loop.time()
        before = {r.spec.params.name: r for r in self.running}
        wanted = {spec.params.name: spec for spec in specs}
        kept = {
            name: running
            for name, running in before.items()
            if name in wanted and router_identity(running.spec) == router_identity(wanted[name])
        }
        for name, running in before.items():
            if name not in kept:
                self.logger.info(f"({name}) removed by the reload - stopping it")
                self._feed(running, Stop(now))
        removals: list[tuple[bytes, str]] = []
        self.running = []
        for spec in specs:
            same = kept.get(spec.params.name)
            if same is None:
                self.running.append(new_running(spec))
                continue
            gone = same.respec(spec)
            if same.engine.vips_set:
                removals += gone
            self.running.append(same)
        if removals:
            self.addresses.send(removals)
        self.by_name = {r.spec.params.name: r for r in self.running}
        groups = {group.name: group.state for group in self.engines.groups}
        self.config = config
        self.engines = self._wire_engines()
        for group in self.engines.groups:
            group.state = groups.get(group.name, group.state)
        self._open_sockets()
        self._open_firewall()
        self.pacing.close()
        self.pacing = self._garp_pacing()
        self._reload_tracking_and_notify(config, specs)
        for running in self.running:
            name = running.spec.params.name
            if name in kept:
                self.engines.feed(name, Reconfigure(running.spec.params, now))
                if running.engine.vips_set:
                    # Added addresses and routes (the kept ones are renewed); their ARP caches told.
                    self._do(running, AddAddresses())
                    self._do(running, SendGratuitous(running.spec.params.garp_repeat))
                self._reevaluate(running)
            else:
                running.link_up = is_up(running.spec.interface.name)
                priority, fault = self._health(name)
                self.engines.feed(name, PriorityChange(priority, now))
                self.engines.feed(name, Start(now, fault=fault))
        self.tracker.start()

    def _reload_tracking_and_notify(self, config: Config, specs: Sequence[InstanceSpec]) -> None:
        """What the instances track and whom they notify, from the new configuration; a tracked script of the
        same name and command keeps its status (no flap while it is run again)."""
        previous = self.tracker
        previous.stop()
        self.vetting = ScriptVetting(config.global_defs, self.logger.warning)
        self.tracker = Tracker(config, self.vetting, self._reevaluate_named, self.logger)
        self.tracker.open(list(specs))
        self.tracker.take_over(previous)
        self.notifier.close()
        self.notifier = Notifier(config, self.vetting, self.logger)
        self.notifier.vet(list(specs))
        self.vetting.report_violation()
        self.notifier.open()

    def stop(self) -> None:
        now = self.loop.time()
        self.tracker.stop()
        for running in self.running:
            if running.timer is not None:
                running.timer.cancel()
            self._feed(running, Stop(now, release=self.release_on_stop))
        if not self.release_on_stop:
            # Without lifetime: nothing will renew them once this process is gone.
            self.addresses.send([(add, f"keeping {what}") for r in self.running if r.engine.vips_set
                                 for add, what in r.permanent_messages])  # fmt: skip
        self.addresses.read_answers()
        self.loop.remove_reader(self.addresses.fileno())
        for sock in self.sockets.values():
            self.loop.remove_reader(sock.fileno())
            sock.close()
        for arp in self.arp_sockets.values():
            arp.close()
        for na in self.na_sockets.values():
            na.close()
        if self.links is not None:
            self.loop.remove_reader(self.links.fileno())
            self.links.close()
        self.addresses.close()
        if self.firewall is not None:
            self.firewall.close()
        self.pacing.close()
        self.timers.close()
        self.notifier.close()
        if self.lvs_sync is not None:
            self.lvs_sync.close()

    # ----- input ----------------------------------------------------------------------------------

    def _on_readable(self, channel: Channel) -> None:
        sock = self.sockets[channel]
        received_packets: list[Received] = []
        if isinstance(sock, VrrpSocketV4):
            for packet in sock.receive_all():
                try:
                    received_packets.append(parse_ipv4(packet))
                except DecodeError as problem:
                    self.dropped[problem.reason] += 1
        else:
            for payload, source, destination, hop_limit in sock.receive_all():
                try:
                    received_packets.append(parse_ipv6(payload, source, destination or MCAST_GROUP6, hop_limit))
                except DecodeError as problem:
                    self.dropped[problem.reason] += 1
        for received in received_packets:
            running = self.by_vrid.get((channel, received.advert.vrid))
            if running is None:
                self.dropped["vrid"] += 1
                continue
            self._feed(running, AdvertIn(received, self.loop.time()))

    def _on_link_change(self) -> None:
        assert self.links is not None
        for index, up in self.links.read():
            self.links_changed.add(index)
            for running in self.running:
                if running.spec.interface.index == index and running.link_up != up:
                    running.link_up = up
                    self._reevaluate(running)
            self.tracker.link_changed(index, up)
        if self.waiting:
            self.start_waiting()

    def start_waiting(self) -> None:
        """dynamic_interfaces: start the instances whose interface appeared; look again in a second while some
        still wait."""
        if self.waiting_timer is not None:
            self.waiting_timer.cancel()
            self.waiting_timer = None
        waiting = waiting_instances(self.config)
        for instance in waiting:
            if instance.name not in self.waiting:
                self.logger.info(f"({instance.name}) interface {instance.interface} doesn't exist - waiting for it")
        self.waiting = {i.name for i in waiting}
        ready = ready_instances(self.config)
        appeared = {i.name for i in ready} - set(self.by_name)
        if appeared:
            try:
                specs = [instance_spec(self.config, i, interface) for i in ready]
            except (SetupError, OSError) as problem:
                # The interface is there but not usable yet (no address to send from): look again.
                self.logger.warning(f"VRRP: {problem} - trying again")
                self.waiting |= appeared
            else:
                for name in sorted(appeared):
                    self.logger.info(f"({name}) its interface exists now - starting")
                self.reload(self.config, specs)
        if self.waiting:
            self.waiting_timer = self.timers.call_at(self.loop.time() + 1.0, self.start_waiting)

    def _on_timer(self, running: Running) -> None:
        running.timer = None
        self._feed(running, Timer(self.loop.time()))

    def _feed(self, running: Running, event: Event) -> None:
        self.engines.feed(running.spec.params.name, event)

    def _act(self, name: str, actions: list[Action]) -> None:
        running = self.by_name[name]
        for action in actions:
            self._do(running, action)

    def _settle(self, name: str, actions: list[Action]) -> None:
        """What follows an event's actions: the VIP's kernel lifetime, and the instance's next timer."""
        running = self.by_name[name]
        if running.lifetime.follow(actions, running.engine.vips_set, self.loop.time()):
            self.addresses.send(running.add_messages)
        if running.timer is not None:
            running.timer.cancel()
            running.timer = None
        deadline = running.engine.next_deadline
        if deadline is not None:
            running.timer = self.timers.call_at(deadline, lambda: self._on_timer(running))

    # ----- output ---------------------------------------------------------------------------------

    def _do(self, running: Running, action: Action) -> None:
        spec = running.spec
        if isinstance(action, AddAddresses):
            if self.firewall is not None:
                self.firewall.hold(spec.params.name, spec.firewall)
            self.addresses.send(running.add_messages + [(add, f"adding {what}") for add, _, what in spec.routing])
        elif isinstance(action, RemoveAddresses):
            # keepalived's order: rules, routes, then addresses.
            removals = [(remove, f"removing {what}") for _, remove, what in reversed(spec.routing)]
            self.addresses.send(removals + running.remove_messages)
            if self.firewall is not None:
                self.firewall.hold(spec.params.name, ())
            self.pacing.forget(spec.params.name)
        elif isinstance(action, SendAdvert):
            sock = self.sockets[running.channel]
            for destination in spec.destinations:
                text = str(destination)
                try:
                    if isinstance(sock, VrrpSocketV6):
                        sock.send(running.wire(action, destination), text, spec.unicast_ttl)
                    else:
                        sock.send(running.wire(action, destination), text)
                except OSError as error:
                    self.logger.warning(f"({spec.params.name}) sending advert to {destination} failed: {error}")
        elif isinstance(action, SendGratuitous):
            for _ in range(action.repeat):
                for target, address in spec.garp_targets:
                    send = functools.partial(self._send_gratuitous, target, address)
                    self.pacing.send(spec.params.name, target.name, address, send)
        elif isinstance(action, Log) and (self.log_detail or not action.detail):
            self.logger.log(logging.DEBUG if action.detail else logging.INFO, action.message)
        elif isinstance(action, SplitBrain):
            self.notifier.split_brain(spec, action)
        elif isinstance(action, MasterRxLowerPriority):
            self.notifier.master_rx_lower_priority(spec, action)
        elif isinstance(action, StateChange) and action.new is not State.INIT:
            self.notifier.instance_changed(spec, action)
            if self.lvs_sync is not None:
                self.lvs_sync.instance_changed(spec.params.name, action.new.value)

    def _send_gratuitous(self, target: Interface, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
        if isinstance(address, ipaddress.IPv4Address):
            self.arp_sockets[target.name].send(garp_frame(target.mac, address))
        else:
            self.na_sockets[target.name].send(unsolicited_na(target.mac, address), address)
            self.na_sent_at[target.name] = time.time()

    def clear_counters(self) -> None:
        """keepalived's STATS_CLEAR: every instance's counters from zero."""
        for running in self.running:
            running.engine.counters.clear()
        self.dropped.clear()


async def serve(args: argparse.Namespace, logger: logging.Logger, config: Config, vmacs: VmacInterfaces) -> int:
    # An IPv6 link-local address may still be tentative (duplicate address detection) just after boot.
    deadline = time.monotonic() + LINK_LOCAL_WAIT_SECONDS
    while True:
        try:
            specs = [instance_spec(config, i, interface) for i in ready_instances(config)]
            break
        except SetupError as problem:
            if "link-local" not in str(problem) or time.monotonic() > deadline:
                logger.error(f"VRRP: cannot start: {problem}")
                return EXIT_CONFIG
            await asyncio.sleep(0.1)
        except OSError as problem:
            logger.error(f"VRRP: cannot start: {problem}")
            return EXIT_CONFIG
    apply_scheduling(config.global_defs, logger)
    service = VrrpService(config, specs, logger, args.log_detail)
    service.release_on_stop = not args.dont_release_vrrp
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, service.stopped.set)
    loop.add_signal_handler(signal.SIGHUP, reporting(lambda: reload(service, args, logger, vmacs), args.ready_fd))
    loop.add_signal_handler(signal.SIGUSR1, write_data, service)
    loop.add_signal_handler(signal.SIGUSR2, write_stats, service, False)
    loop.add_signal_handler(SIGSTATS_CLEAR, write_stats, service, True)
    loop.add_signal_handler(SIGJSON, write_json, service)
    tolerate_realtime_signals(loop, logger, (SIGJSON, SIGSTATS_CLEAR))
    release_signals()
    service.open()
    if args.address_monitoring:
        log_address_changes(logger, True, service.addresses.sock.getsockname()[0])
    # pyroute2's synchronous socket runs an event loop of its own: not in this one's thread.
    service.start(await asyncio.to_thread(expiring_addresses))
    service.start_waiting()
    status = await serve_status("vrrp", lambda: vrrp_snapshot(service), logger)
    report_config_read(args.ready_fd)
    keep_running_config(args, config)
    await service.stopped.wait()
    status.close()
    service.stop()
    # Give notify_stop scripts and the last alerts the moment they need before the process exits.
    await service.notifier.pending.finish(NOTIFY_STOP_WAIT_SECONDS)
    return 0


SAVER = ConfigSaver("vrrp")


def reload(service: VrrpService, args: argparse.Namespace, logger: logging.Logger, vmacs: VmacInterfaces) -> None:
    """SIGHUP: read and check the file first; one that cannot run changes nothing. The VMAC interfaces of new
    instances are made before the instances are set up, and those of removed ones go after they stop."""
    logger.info(f"Reloading configuration file {args.config}")
    if config_is_empty(args.config):
        # Usually a copy that failed half-way: running it would remove every instance.
        logger.error(f"Reload failed: {args.config} is empty - keeping the running configuration")
        return
    config = read_config(args, logger)
    if config is None:
        logger.error("Reload failed: the configuration cannot run - keeping the running one")
        return
    try:
        vmacs.add_missing(config)
        specs = [instance_spec(config, instance, interface) for instance in ready_instances(config)]
    except (SetupError, OSError) as problem:
        logger.error(f"Reload failed: {problem} - keeping the running configuration")
        vmacs.keep_only(service.config)
        return
    SAVER.save(service.config, vrrp_data_text(service), False, logger)
    service.reload(config, specs)
    vmacs.keep_only(config)
    service.start_waiting()
    SAVER.save(service.config, vrrp_data_text(service), True, logger)
    keep_running_config(args, config)
    logger.info("Reload finished")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    args, logger, config = start_child("pykeepalived-vrrp", "Keepalived_vrrp", arguments)
    if config is None:
        return EXIT_CONFIG
    vmacs = VmacInterfaces()
    with pidfile(args.pidfile):
        try:
            vmacs.add_missing(config)
            return asyncio.run(serve(args, logger, config, vmacs))
        except OSError as problem:
            logger.error(f"VRRP: cannot start: {problem}")
            return EXIT_CONFIG
        finally:
            if not args.dont_release_vrrp:
                vmacs.release()


if __name__ == "__main__":
    sys.exit(main())
