"""`pyipvsadm` (and `pykeepalivedctl ipvsadm`): ipvsadm 1.31's command line over the active data plane.

With IPVS every command works on the kernel's table as ipvsadm's does, with ipvsadm's messages and exit
status. The nftables and proxy tables belong to the checker process, which rewrites them on every change:
there they are listed (-L, -S), and changing them is refused with the reason.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import ipaddress
import logging
import shlex
import sys
from collections.abc import Sequence

from ..daemon import proxy_worker
from ..io.ipvs import (
    IpvsBackend,
    KernelTable,
    Statistics,
    get_timeouts,
    ipvs_connection,
    kernel_has_ipvs,
    read_kernel_table,
    set_timeouts,
    zero_counters,
)
from ..lb.listing import (
    PERSISTENT_HEADER,
    THRESHOLDS_HEADER,
    columns_listing,
    listing,
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
    Operation,
    Service,
    ServiceKey,
    Table,
)

VERSION = "pyipvsadm (pykeepalived), ipvsadm v1.31 2019/12/24 command line (IPVS v1.2.1)"
# ipvsadm exits with 255 when the kernel refuses a command, 2 on a usage error.
REFUSED, USAGE = 255, 2
DEFAULT_SCHEDULER = "wlc"
DEFAULT_PERSISTENCE = 360
FORWARDING = {"gatewaying": "DR", "ipip": "TUN", "masquerading": "NAT"}
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
    parser.add_argument("-n", "--numeric", action="store_true", help="numeric output (names are never resolved)")
    parser.add_argument("--stats", action="store_true")
    parser.add_argument("--rate", action="store_true")
    parser.add_argument("--exact", action="store_true")
    parser.add_argument("--thresholds", action="store_true")
    parser.add_argument("--persistent-conn", action="store_true")
    parser.add_argument("--timeout", action="store_true", help="list IPVS's timeouts")
    parser.add_argument("--sort", action="store_true", help="accepted: the listing is always sorted")
    parser.add_argument("--pidfile", default=proxy_worker.DEFAULT_PIDFILE, help="the proxy process's pidfile")
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
        return ServiceKey("TCP", fwmark=args.fwmark_service)
    for protocol, text in (("TCP", args.tcp_service), ("UDP", args.udp_service), ("SCTP", args.sctp_service)):
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


def listed(args: argparse.Namespace, kernel: KernelTable, key: ServiceKey | None) -> str:
    table: Table = kernel.table if key is None else {k: s for k, s in kernel.table.items() if k == key}
    if args.stats or args.rate:
        index = slice(5, 10) if args.rate else slice(0, 5)
        services = {k: _counters(kernel.service_statistics.get(k))[index] for k in table}
        destinations = {
            k: {m: _counters(counters)[index] for m, counters in kernel.destination_statistics.get(k, {}).items()}
            for k in table
        }
        text = statistics_listing(table, services, destinations, args.rate, args.exact)
    elif args.thresholds:
        text = columns_listing(table, THRESHOLDS_HEADER, lambda k, m: _threshold_columns(table, kernel, k, m))
    elif args.persistent_conn:
        text = columns_listing(table, PERSISTENT_HEADER, lambda k, m: _persistent_columns(table, kernel, k, m))
    else:
        text = listing(table, kernel.counts)
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


def run_ipvs(args: argparse.Namespace, backend: IpvsBackend | None) -> int:
    key = service_key(args)
    if args.command in (None, "list") and args.set is None:
        if args.timeout:
            with ipvs_connection() as connection:
                print("Timeout (tcp tcpfin udp): {} {} {}".format(*get_timeouts(connection)))
            return 0
        print(listed(args, read_kernel_table(), key), end="")
        return 0
    if args.command == "save":
        print(rules(read_kernel_table().table), end="")
        return 0
    assert backend is not None
    if args.set is not None:
        backend.run(set_timeouts, tuple(args.set))
        return 0
    if args.command == "zero":
        if key is not None and key not in backend.services:
            print("No such service", file=sys.stderr)
            return REFUSED
        backend.run(zero_counters, key)
        return 0
    if args.command == "clear":
        for service in sorted(backend.services):
            backend.execute(DeleteService(service))
        return 0
    if key is None:
        raise UsageError("You need to supply the 'service' option for this command")
    try:
        backend.execute(operation_for(args, key))
    except Exception as error:
        code = getattr(error, "code", None)
        if not isinstance(code, int):
            raise
        print(MESSAGES.get((args.command, code)) or GENERIC_MESSAGES.get(code) or str(error), file=sys.stderr)
        return REFUSED
    return 0


def run_restore(parser: argparse.ArgumentParser, backend: IpvsBackend | None) -> int:
    """-R: one ipvsadm command per line of standard input, as -S writes them."""
    for line in sys.stdin:
        words = shlex.split(line)
        if not words:
            continue
        status = run_ipvs(parser.parse_args(words), backend)
        if status:
            return status
    return 0


def run_other_dataplane(args: argparse.Namespace) -> int:
    from .ctl import list_table

    listing_only = not (args.stats or args.rate or args.thresholds or args.persistent_conn or args.timeout)
    if args.command in (None, "list") and args.set is None and listing_only:
        return list_table(args.pidfile)
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
    backend = IpvsBackend(logging.getLogger("pyipvsadm")) if changes else None
    if backend is not None:
        # What the kernel has, once: the backend keeps it up to date command by command (-R).
        backend.services = dict(read_kernel_table().table)
    try:
        if args.command == "restore":
            return run_restore(parser, backend)
        return run_ipvs(args, backend)
    except UsageError as problem:
        print(problem, file=sys.stderr)
        return USAGE
    finally:
        if backend is not None:
            backend.shutdown()


if __name__ == "__main__":
    sys.exit(main())
