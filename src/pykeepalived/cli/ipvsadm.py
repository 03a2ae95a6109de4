"""`pyipvsadm` (and `pykeepalivedctl ipvsadm`): ipvsadm 1.31's command line over the active data plane.

With IPVS every command works on the kernel's table as ipvsadm's does, with ipvsadm's messages and exit
status. The nftables and proxy tables belong to the checker process, which rewrites them on every change:
there they are listed (-L, -S), and changing them is refused with the reason.

Over 400 lines: ipvsadm 1.31's whole command line and its messages, command for command.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import functools
import ipaddress
import logging
import shlex
import socket
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..daemon import proxy_paths
from ..io.ipvs import (
    SYNC_BACKUP,
    SYNC_MASTER,
    SYNC_STATE_NAMES,
    IpvsPlane,
    KernelTable,
    Statistics,
    SyncDaemon,
    get_timeouts,
    ipvs_connection,
    kernel_has_ipvs,
    read_connections,
    read_kernel_table,
    set_timeouts,
    start_sync_daemon,
    stop_sync_daemon,
    sync_daemons,
    zero_counters,
)
from ..lb.listing import (
    PERSISTENT_HEADER,
    THRESHOLDS_HEADER,
    Namer,
    columns_listing,
    connection_listing,
    listing,
    numeric,
    rules,
    statistics_listing,
)
from ..lb.table import (
    AddDestination,
    AddService,
    DeleteDestination,
    DeleteService,
    Destination,
    DestinationKey,
    EditDestination,
    EditService,
    IpProtocol,
    Operation,
    Service,
    ServiceKey,
    Table,
)
from .tables import list_connections, list_table

VERSION = "pyipvsadm (pykeepalived), ipvsadm v1.31 2019/12/24 command line (IPVS v1.2.1)"
# ipvsadm exits with 255 when the kernel refuses a command, 2 on a usage error.
REFUSED, USAGE = 255, 2
DEFAULT_SCHEDULER = "wlc"
DEFAULT_PERSISTENCE = 360
FORWARDING = {"gatewaying": "DR", "ipip": "TUN", "masquerading": "NAT"}
SYNC_STATES = {"master": SYNC_MASTER, "backup": SYNC_BACKUP}
# libipvs's words for the kernel's refusals, by command and errno.
MESSAGES = {
    ("add-service", errno.EEXIST): "Service already exists",
    ("add-service", errno.ENOENT): "Scheduler or persistence engine not found",
    ("edit-service", errno.ENOENT): "Scheduler or persistence engine not found",
    ("edit-service", errno.ESRCH): "No such service",
    ("delete-service", errno.ESRCH): "No such service",
    ("add-server", errno.ESRCH): "Service not defined",
    ("add-server", errno.EEXIST): "Destination already exists",
    ("edit-server", errno.ESRCH): "Service not defined",
    ("edit-server", errno.ENOENT): "No such destination",
    ("delete-server", errno.ESRCH): "Service not defined",
    ("delete-server", errno.ENOENT): "No such destination",
    ("start-daemon", errno.EEXIST): "Daemon has already run",
    ("stop-daemon", errno.ESRCH): "No daemon is running",
}
GENERIC_MESSAGES = {
    errno.EPERM: "Permission denied (you must be root)",
    errno.EINVAL: "Invalid operation.  Possibly wrong module version, address not unicast, ...",
}


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyipvsadm", description=__doc__.splitlines()[0])
    commands = parser.add_mutually_exclusive_group()
    for flags, command in (
        (("-A", "--add-service"), "add-service"),
        (("-E", "--edit-service"), "edit-service"),
        (("-D", "--delete-service"), "delete-service"),
        (("-C", "--clear"), "clear"),
        (("-R", "--restore"), "restore"),
        (("-S", "--save"), "save"),
        (("-a", "--add-server"), "add-server"),
        (("-e", "--edit-server"), "edit-server"),
        (("-d", "--delete-server"), "delete-server"),
        (("-L", "-l", "--list"), "list"),
        (("-Z", "--zero"), "zero"),
    ):
        commands.add_argument(*flags, dest="command", action="store_const", const=command)
    commands.add_argument("--set", nargs=3, type=int, metavar=("TCP", "TCPFIN", "UDP"), help="IPVS's timeouts")
    commands.add_argument("--start-daemon", choices=SYNC_STATES, help="start a connection-sync daemon")
    commands.add_argument("--stop-daemon", choices=SYNC_STATES, help="stop a connection-sync daemon")
    commands.add_argument("-v", "--version", action="version", version=VERSION)
    service = parser.add_mutually_exclusive_group()
    service.add_argument("-t", "--tcp-service", metavar="ADDRESS:PORT")
    service.add_argument("-u", "--udp-service", metavar="ADDRESS:PORT")
    service.add_argument("--sctp-service", metavar="ADDRESS:PORT")
    service.add_argument("-f", "--fwmark-service", type=int, metavar="MARK")
    parser.add_argument("-s", "--scheduler", default=DEFAULT_SCHEDULER)
    parser.add_argument("-p", "--persistent", type=int, nargs="?", const=DEFAULT_PERSISTENCE, metavar="TIMEOUT")
    parser.add_argument("-M", "--netmask")
    parser.add_argument("-b", "--sched-flags", default="")
    parser.add_argument("-r", "--real-server", metavar="ADDRESS[:PORT]")
    method = parser.add_mutually_exclusive_group()
    for flag, name in (("-g", "gatewaying"), ("-i", "ipip"), ("-m", "masquerading")):
        method.add_argument(flag, f"--{name}", dest="forwarding", action="store_const", const=FORWARDING[name])
    parser.add_argument("--tun-type", choices=("ipip",), help="the tunnel type (-S writes it; ipip only)")
    parser.add_argument("-w", "--weight", type=int, default=1)
    parser.add_argument("-x", "--u-threshold", type=int, default=0)
    parser.add_argument("-y", "--l-threshold", type=int, default=0)
    parser.add_argument("-n", "--numeric", action="store_true", help="addresses and ports as numbers, not names")
    parser.add_argument("--stats", action="store_true")
    parser.add_argument("--rate", action="store_true")
    parser.add_argument("--exact", action="store_true")
    parser.add_argument("--thresholds", action="store_true")
    parser.add_argument("--persistent-conn", action="store_true")
    parser.add_argument("--timeout", action="store_true", help="list IPVS's timeouts")
    parser.add_argument("--sort", action="store_true", help="accepted: the listing is always sorted")
    parser.add_argument("--daemon", action="store_true", help="list the connection-sync daemons")
    parser.add_argument("-c", "--connection", action="store_true", help="list the connections")
    parser.add_argument("--mcast-interface", help="the sync daemon's multicast interface")
    parser.add_argument("--syncid", type=int, default=0)
    parser.add_argument("--sync-maxlen", type=int, default=0)
    parser.add_argument("--mcast-group")
    parser.add_argument("--mcast-port", type=int, default=0)
    parser.add_argument("--mcast-ttl", type=int, default=0)
    parser.add_argument("--pidfile", default=proxy_paths.DEFAULT_PIDFILE, help="the proxy process's pidfile")
    return parser


def split_address(text: str, default_port: int) -> tuple[str, int]:
    """ADDRESS, ADDRESS:PORT, [IPv6] or [IPv6]:PORT."""
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else default_port
    elif text.count(":") == 1:
        address, port_text = text.split(":")
        port = int(port_text)
    else:
        address, port = text, default_port
    try:
        return str(ipaddress.ip_address(address)), port
    except ValueError as error:
        raise UsageError(f"illegal address: {text}") from error


def service_key(args: argparse.Namespace) -> ServiceKey | None:
    if args.fwmark_service is not None:
        return ServiceKey(IpProtocol.TCP, fwmark=args.fwmark_service)
    for protocol, text in (
        (IpProtocol.TCP, args.tcp_service),
        (IpProtocol.UDP, args.udp_service),
        (IpProtocol.SCTP, args.sctp_service),
    ):
        if text is not None:
            address, port = split_address(text, 0)
            return ServiceKey(protocol, address, port)
    return None


def service_settings(args: argparse.Namespace) -> Service:
    flags = tuple(flag for flag in args.sched_flags.split(",") if flag)
    granularity = args.netmask if args.persistent else None
    return Service(args.scheduler, args.persistent or 0, granularity, None, flags)


def operation_for(args: argparse.Namespace, key: ServiceKey) -> Operation:
    if args.command in ("add-service", "edit-service"):
        kind = AddService if args.command == "add-service" else EditService
        return kind(key, service_settings(args))
    if args.command == "delete-service":
        return DeleteService(key)
    if args.real_server is None:
        raise UsageError("You need to supply the 'real-server' option for this command")
    member = DestinationKey(*split_address(args.real_server, key.port))
    if args.command == "delete-server":
        return DeleteDestination(key, member)
    destination = Destination(args.weight, args.forwarding or "DR", args.u_threshold, args.l_threshold)
    kind_of_change = AddDestination if args.command == "add-server" else EditDestination
    return kind_of_change(key, member, destination)


@functools.lru_cache(maxsize=4096)
def by_name(address: str, port: int, protocol: str) -> str:
    """As ipvsadm writes an address and port without -n: the host's and the service's names where known."""
    try:
        host = socket.gethostbyaddr(address)[0]
    except OSError:
        host = address
    try:
        service = socket.getservbyport(port, protocol)
    except OSError:
        service = str(port)
    return f"[{host}]:{service}" if ":" in host else f"{host}:{service}"


def namer_for(args: argparse.Namespace) -> Namer:
    return numeric if args.numeric else by_name


def listed(args: argparse.Namespace, kernel: KernelTable, key: ServiceKey | None) -> str:
    table: Table = kernel.table if key is None else {k: s for k, s in kernel.table.items() if k == key}
    namer = namer_for(args)
    if args.stats or args.rate:
        index = slice(5, 10) if args.rate else slice(0, 5)
        services = {k: _counters(kernel.service_statistics.get(k))[index] for k in table}
        destinations = {
            k: {m: _counters(counters)[index] for m, counters in kernel.destination_statistics.get(k, {}).items()}
            for k in table
        }
        text = statistics_listing(table, services, destinations, args.rate, args.exact, namer)
    elif args.thresholds:
        text = columns_listing(table, THRESHOLDS_HEADER, lambda k, m: _threshold_columns(table, kernel, k, m), namer)
    elif args.persistent_conn:
        text = columns_listing(table, PERSISTENT_HEADER, lambda k, m: _persistent_columns(table, kernel, k, m), namer)
    else:
        text = listing(table, kernel.counts, namer)
    # Listing one service leaves out the version line, as ipvsadm does.
    return text if key is None else text.split("\n", 1)[1]


def _counters(statistics: Statistics | None) -> tuple[int, ...]:
    return dataclasses.astuple(statistics) if statistics is not None else (0,) * 10


def _threshold_columns(table: Table, kernel: KernelTable, key: ServiceKey, member: DestinationKey) -> list[str]:
    destination = table[key].members()[member]
    active, inactive = kernel.counts.get(key, {}).get(member, (0, 0))
    values = (destination.upper_threshold, destination.lower_threshold, active)
    return [*(f"{value:<10}" for value in values), f"{inactive:<10}"]


def _persistent_columns(table: Table, kernel: KernelTable, key: ServiceKey, member: DestinationKey) -> list[str]:
    active, inactive = kernel.counts.get(key, {}).get(member, (0, 0))
    persistent = kernel.persistent.get(key, {}).get(member, 0)
    return [f"{table[key].members()[member].weight:<9}", f"{persistent:<11}", f"{active:<10}", f"{inactive:<10}"]


def daemon_listing(daemons: list[SyncDaemon]) -> str:
    """ipvsadm -L --daemon: a line per running daemon, master first."""
    lines = []
    for daemon in sorted(daemons, key=lambda d: d.state):
        details = [f"mcast={daemon.interface}", f"syncid={daemon.syncid}"]
        if daemon.maxlen:
            details.append(f"maxlen={daemon.maxlen}")
        if daemon.group is not None:
            details.append(f"group={daemon.group}")
        if daemon.port:
            details.append(f"port={daemon.port}")
        if daemon.ttl:
            details.append(f"ttl={daemon.ttl}")
        lines.append(f"{SYNC_STATE_NAMES[daemon.state]} sync daemon ({', '.join(details)})\n")
    return "".join(lines)


def daemon_request(args: argparse.Namespace) -> tuple[str, Callable[[Any], None]]:
    """--start-daemon / --stop-daemon as a request on an IPVS connection, with its name for messages."""
    if args.start_daemon is not None:
        if args.mcast_interface is None:
            raise UsageError("You need to supply the 'mcast-interface' option for this command")
        daemon = SyncDaemon(
            SYNC_STATES[args.start_daemon], args.mcast_interface, args.syncid, args.sync_maxlen,
            args.mcast_group, args.mcast_port, args.mcast_ttl,
        )  # fmt: skip
        return "start-daemon", lambda connection: start_sync_daemon(connection, daemon)
    state = SYNC_STATES[args.stop_daemon]
    return "stop-daemon", lambda connection: stop_sync_daemon(connection, state)


def refused(command: str, error: Exception) -> int:
    """ipvsadm's message for the kernel's refusal, and its exit status; other errors go on up."""
    code = getattr(error, "code", None)
    if not isinstance(code, int):
        raise error
    print(MESSAGES.get((command, code)) or GENERIC_MESSAGES.get(code) or str(error), file=sys.stderr)
    return REFUSED


def run_ipvs(args: argparse.Namespace, plane: IpvsPlane | None) -> int:
    key = service_key(args)
    if args.start_daemon is not None or args.stop_daemon is not None:
        command, request = daemon_request(args)
        try:
            with ipvs_connection() as connection:
                request(connection)
        except Exception as error:
            return refused(command, error)
        return 0
    if args.command in (None, "list") and args.set is None:
        if args.connection:
            print(connection_listing(read_connections(), namer_for(args)), end="")
            return 0
        if args.daemon:
            with ipvs_connection() as connection:
                print(daemon_listing(sync_daemons(connection)), end="")
            return 0
        if args.timeout:
            with ipvs_connection() as connection:
                print("Timeout (tcp tcpfin udp): {} {} {}".format(*get_timeouts(connection)))
            return 0
        print(listed(args, read_kernel_table(), key), end="")
        return 0
    if args.command == "save":
        print(rules(read_kernel_table().table, namer_for(args)), end="")
        return 0
    assert plane is not None
    if args.set is not None:
        plane.run(set_timeouts, tuple(args.set))
        return 0
    if args.command == "zero":
        if key is not None and key not in plane.mirror.services:
            print("No such service", file=sys.stderr)
            return REFUSED
        plane.run(zero_counters, key)
        return 0
    if args.command == "clear":
        for service in sorted(plane.mirror.services):
            plane.execute(DeleteService(service))
        return 0
    if key is None:
        raise UsageError("You need to supply the 'service' option for this command")
    try:
        plane.execute(operation_for(args, key))
    except Exception as error:
        return refused(args.command, error)
    return 0


def run_restore(parser: argparse.ArgumentParser, plane: IpvsPlane | None) -> int:
    """-R: one ipvsadm command per line of standard input, as -S writes them."""
    for line in sys.stdin:
        words = shlex.split(line)
        if not words:
            continue
        status = run_ipvs(parser.parse_args(words), plane)
        if status:
            return status
    return 0


def run_other_dataplane(args: argparse.Namespace) -> int:
    ipvs_only = (args.stats, args.rate, args.thresholds, args.persistent_conn, args.timeout, args.daemon)
    listing_only = not any(ipvs_only) and args.start_daemon is None and args.stop_daemon is None
    if args.command in (None, "list") and args.set is None and listing_only:
        namer = namer_for(args)
        return list_connections(args.pidfile, namer) if args.connection else list_table(args.pidfile, namer)
    print(
        "pyipvsadm: the kernel has no IPVS; the nftables or proxy table is the checker's, rebuilt from "
        "keepalived.conf on every change: only listing it (-L -n) is possible",
        file=sys.stderr,
    )
    return USAGE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not kernel_has_ipvs():
        return run_other_dataplane(args)
    changes = args.command not in (None, "list", "save") or args.set is not None
    plane = IpvsPlane(logging.getLogger("pyipvsadm")) if changes else None
    if plane is not None:
        # What the kernel has, once: the plane keeps it up to date command by command (-R).
        plane.read()
    try:
        if args.command == "restore":
            return run_restore(parser, plane)
        return run_ipvs(args, plane)
    except UsageError as problem:
        print(problem, file=sys.stderr)
        return USAGE
    finally:
        if plane is not None:
            plane.shutdown()


if __name__ == "__main__":
    sys.exit(main())
