"""`pykeepalived`: the daemon, with keepalived 2.2.7's command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .. import KEEPALIVED_COMPAT_VERSION, __version__
from ..config.ldirectord import convert
from ..daemon.facilities import facility_code
from ..lb import DATAPLANES
from .common import DEFAULT_CONFIG, checked_file, config_test_exit_code, report

# keepalived's flags for what pykeepalived does not provide: refused at start, as keepalived built without
# the feature refuses them (a message, exit status 1), rather than accepted and silently ignored.
NOT_PROVIDED = {
    "snmp": "-x/--snmp: SNMP is not provided by pykeepalived; Prometheus metrics (--metrics) are provided instead",
    "snmp_agent_socket": "-A/--snmp-agent-socket: SNMP is not provided by pykeepalived; Prometheus metrics "
    "(--metrics) are provided instead",
    "core_dump_pattern": "-M/--core-dump-pattern: not provided: pykeepalived leaves kernel.core_pattern, which is "
    "the whole machine's, as it is (set it with sysctl; -m still allows core dumps)",
    "genhash": "-T/--genhash: genhash is not provided by pykeepalived",
    "log_file": "-g requires configure option --enable-log-file (not provided by pykeepalived, as by Debian's "
    "keepalived): log to syslog or the console (-l)",
}
# keepalived's (RUNSTATEDIR/keepalived.pid, vrrp.pid, checkers.pid): scripts and units signal through them.
DEFAULT_PIDFILE = "/run/keepalived.pid"
DEFAULT_VRRP_PIDFILE = "/run/vrrp.pid"
DEFAULT_CHECKERS_PIDFILE = "/run/checkers.pid"
# keepalived's KEEPALIVED_PID_DIR, used with a namespace or an instance name.
PID_DIRECTORY = "/run/keepalived"
LDIRECTORD_CONVERTED = "/run/pykeepalived-ldirectord.conf"


def umask_value(text: str) -> int:
    """keepalived's -u: a number in C's notation (0022, 0x12, 18), permission bits only."""
    try:
        value = int(text, 8 if text.startswith("0") and text[1:2].isdigit() else 0)
    except ValueError:
        value = -1
    if not 0 <= value <= 0o777:
        raise argparse.ArgumentTypeError(f"Invalid --umask option {text}")
    return value


def at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pykeepalived",
        description="keepalived-compatible VRRP and health-checking daemon",
        add_help=False,
    )
    add = parser.add_argument
    add("-f", "--use-file", metavar="FILE", default=DEFAULT_CONFIG, help="configuration file")
    add("-P", "--vrrp", action="store_true", help="only run the VRRP subsystem")
    add("-C", "--check", action="store_true", help="only run the health-checker subsystem")
    add("-B", "--no_bfd", action="store_true", help="don't run the BFD subsystem")
    add("--all", action="store_true", help="run all child processes even without configuration")
    add("-l", "--log-console", action="store_true", help="log to the console")
    add("-D", "--log-detail", action="store_true", help="detailed log messages")
    add("-S", "--log-facility", metavar="FACILITY", help="syslog facility: 0-7, local0-7, user or daemon")
    add("-G", "--no-syslog", action="store_true", help="don't log via syslog")
    add("-u", "--umask", metavar="MASK", type=umask_value, help="umask for file creation (in numeric form)")
    add("-X", "--release-vips", action="store_true", help="drop VIPs on transition from signal")
    add("-V", "--dont-release-vrrp", action="store_true", help="don't remove VIPs and routes on stop")
    add("-I", "--dont-release-ipvs", action="store_true", help="don't remove IPVS topology on stop")
    add("-R", "--dont-respawn", action="store_true", help="don't respawn child processes")
    add("-n", "--dont-fork", action="store_true", help="stay in the foreground")
    add("-d", "--dump-conf", action="store_true", help="dump the resolved configuration")
    add("-p", "--pid", metavar="FILE", help="pidfile of the parent process")
    add("-r", "--vrrp_pid", metavar="FILE", help="pidfile of the VRRP process")
    add("-c", "--checkers_pid", metavar="FILE", help="pidfile of the checker process")
    add("-T", "--genhash", action="store_true", help="genhash (not provided)")
    add("-g", "--log-file", metavar="FILE", nargs="?", const="keepalived.log", help="log to a file (not provided)")
    add("-b", "--bfd_pid", metavar="FILE", help="pidfile of the BFD process")
    add("-a", "--address-monitoring", action="store_true", help="report all address changes")
    add("-x", "--snmp", action="store_true", help="enable SNMP")
    add("-A", "--snmp-agent-socket", metavar="FILE", help="SNMP master agent socket")
    add("-s", "--namespace", metavar="NAME", help="run in network namespace NAME")
    add("-m", "--core-dump", action="store_true", help="produce a core dump on abnormal exit")
    add("-M", "--core-dump-pattern", metavar="PATTERN", nargs="?", const="core", help="core_pattern")
    add("-e", "--all-config", action="store_true", help="error if any configuration file is missing")
    add("-i", "--config-id", metavar="ID", help="config id for '@' conditional lines (default: host name)")
    add("--dataplane", choices=DATAPLANES, default="auto", metavar="PLANE",
        help="load balancer: ipvs, nftables, proxy (auto: the first that works), memory (table only)")  # fmt: skip
    add("--proxy-workers", metavar="N", type=at_least_one, default=1,
        help="proxy worker processes sharing the listeners (SO_REUSEPORT); rr and wrr are exact with one")  # fmt: skip
    add("--metrics", metavar="ADDR:PORT", help="serve Prometheus metrics on this address (off by default)")
    add("--ldirectord", metavar="FILE", help="read an ldirectord.cf instead (converted to keepalived.conf)")
    add("-t", "--config-test", metavar="LOG_FILE", nargs="?", const="-", help="check the configuration")
    add("--strict", action="store_true",
        help="refuse every correction keepalived would make (each one is an error instead of a warning)")  # fmt: skip
    add("--signum", metavar="SIGFUNC", help="print the signal number of STOP, RELOAD, DATA, STATS, STATS_CLEAR or JSON")
    add("-v", "--version", action="store_true", help="print the version")
    add("-h", "--help", action="help", help="print this help")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.signum is not None:
        from ..daemon.process import SIGNALS_BY_NAME

        if args.signum not in SIGNALS_BY_NAME:
            print(f"Unknown sigfunc {args.signum}", file=sys.stderr)
            return 1
        print(int(SIGNALS_BY_NAME[args.signum]))
        return 0
    if args.version:
        print(f"pykeepalived {__version__} (keepalived {KEEPALIVED_COMPAT_VERSION} compatible)")
        return 0
    refused = [message for name, message in NOT_PROVIDED.items() if getattr(args, name)]
    if refused:
        for message in refused:
            print(f"pykeepalived: {message}", file=sys.stderr)
        return 1
    if facility_code(args.log_facility) is None:
        # keepalived's words; it goes on with the default facility.
        print(f"Invalid log facility '{args.log_facility}'", file=sys.stderr)
        args.log_facility = None
    if args.umask is not None:
        os.umask(args.umask)
    if args.ldirectord:
        args.use_file = converted_ldirectord(args.ldirectord)
    if args.config_test is not None:
        result = checked_file(args.use_file, args.config_id, strict=args.strict, all_config=args.all_config)
        if args.config_test == "-":
            report(result)
        else:
            with open(args.config_test, "a", encoding="utf-8") as log:
                report(result, log)
        return config_test_exit_code(result, args.strict)
    # The daemon (asyncio, netlink, the processes) is imported only to run it: -t reads the file and stops.
    from .daemon_run import start

    return start(args)


def converted_ldirectord(path: str) -> str:
    """Convert an ldirectord.cf next to our pidfile and return the keepalived.conf's path."""

    with open(path, encoding="utf-8") as handle:
        text, problems = convert(handle.read(), path)
    for problem in problems:
        print(problem, file=sys.stderr)
    target = LDIRECTORD_CONVERTED
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(text)
    return target


if __name__ == "__main__":
    sys.exit(main())
