"""`pykeepalived`: the daemon, with keepalived 2.2.7's command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from .. import KEEPALIVED_COMPAT_VERSION, __version__
from ..core.exits import EXIT_CONFIG
from .common import DEFAULT_CONFIG, checked_file, config_test_exit_code, load_file, report

if TYPE_CHECKING:
    from ..config.model import Config

# The daemon (asyncio, netlink, the VRRP and checker services) is imported only to run it: `-t` reads the
# configuration and nothing else, and starts in a third of the time.

# Accepted for compatibility; what they control arrives with a later part of pykeepalived.
NOT_YET = {
    "no_bfd": "-B/--no_bfd",
    "all": "--all",
    "umask": "-u/--umask",
    "release_vips": "-X/--release-vips",
    "dont_release_vrrp": "-V/--dont-release-vrrp",
    "dont_release_ipvs": "-I/--dont-release-ipvs",
    "bfd_pid": "-b/--bfd_pid",
    "address_monitoring": "-a/--address-monitoring",
    "snmp": "-x/--snmp",
    "snmp_agent_socket": "-A/--snmp-agent-socket",
    "namespace": "-s/--namespace",
    "core_dump": "-m/--core-dump",
    "core_dump_pattern": "-M/--core-dump-pattern",
}
# keepalived's (RUNSTATEDIR/keepalived.pid, vrrp.pid, checkers.pid): scripts and units signal through them.
DEFAULT_PIDFILE = "/run/keepalived.pid"
DEFAULT_VRRP_PIDFILE = "/run/vrrp.pid"
DEFAULT_CHECKERS_PIDFILE = "/run/checkers.pid"
LDIRECTORD_CONVERTED = "/run/pykeepalived-ldirectord.conf"


class DataplaneChoices(Sequence[str]):
    """The daemon's data planes, looked up when --dataplane is given or the help printed."""

    def _names(self) -> tuple[str, ...]:
        from ..daemon.process import DATAPLANES

        return DATAPLANES

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()


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
    add("-u", "--umask", metavar="MASK", help="umask for file creation")
    add("-X", "--release-vips", action="store_true", help="drop VIPs on transition from signal")
    add("-V", "--dont-release-vrrp", action="store_true", help="don't remove VIPs and routes on stop")
    add("-I", "--dont-release-ipvs", action="store_true", help="don't remove IPVS topology on stop")
    add("-R", "--dont-respawn", action="store_true", help="don't respawn child processes")
    add("-n", "--dont-fork", action="store_true", help="stay in the foreground")
    add("-d", "--dump-conf", action="store_true", help="dump the resolved configuration")
    add("-p", "--pid", metavar="FILE", help="pidfile of the parent process")
    add("-r", "--vrrp_pid", metavar="FILE", help="pidfile of the VRRP process")
    add("-c", "--checkers_pid", metavar="FILE", help="pidfile of the checker process")
    add("-b", "--bfd_pid", metavar="FILE", help="pidfile of the BFD process")
    add("-a", "--address-monitoring", action="store_true", help="report all address changes")
    add("-x", "--snmp", action="store_true", help="enable SNMP")
    add("-A", "--snmp-agent-socket", metavar="FILE", help="SNMP master agent socket")
    add("-s", "--namespace", metavar="NAME", help="run in network namespace NAME")
    add("-m", "--core-dump", action="store_true", help="produce a core dump on abnormal exit")
    add("-M", "--core-dump-pattern", metavar="PATTERN", nargs="?", const="core", help="core_pattern")
    add("-e", "--all-config", action="store_true", help="error if any configuration file is missing")
    add("-i", "--config-id", metavar="ID", help="config id for '@' conditional lines (default: host name)")
    add("--dataplane", choices=DataplaneChoices(), default="auto", metavar="PLANE",
        help="load balancer: ipvs, nftables, proxy (auto: the first that works), memory (table only)")  # fmt: skip
    add("--proxy-workers", metavar="N", type=at_least_one, default=1,
        help="proxy worker processes sharing the listeners (SO_REUSEPORT); rr and wrr are exact with one")  # fmt: skip
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
    if args.ldirectord:
        args.use_file = converted_ldirectord(args.ldirectord)
    if args.config_test is not None:
        result = checked_file(args.use_file, args.config_id, strict=args.strict)
        if args.config_test == "-":
            report(result)
        else:
            with open(args.config_test, "a", encoding="utf-8") as log:
                report(result, log)
        return config_test_exit_code(result, args.strict)
    result = load_file(args.use_file, args.config_id, strict=args.strict)
    report(result)
    if args.dump_conf and result.config is not None:
        from ..config.dump import dump_config, to_text

        print("\n".join(to_text(dump_config(result.config))))
    if not result.runnable or result.config is None:
        print("pykeepalived: not starting: the configuration has errors (listed above)", file=sys.stderr)
        return EXIT_CONFIG
    pending = [flag for name, flag in NOT_YET.items() if getattr(args, name)]
    if pending:
        print(f"pykeepalived: accepted, not acted on yet: {', '.join(pending)}", file=sys.stderr)
    return run_daemon(args, result.config)


def converted_ldirectord(path: str) -> str:
    """Convert an ldirectord.cf next to our pidfile and return the keepalived.conf's path."""
    from ..config.ldirectord import convert

    with open(path, encoding="utf-8") as handle:
        text, problems = convert(handle.read(), path)
    for problem in problems:
        print(problem, file=sys.stderr)
    target = LDIRECTORD_CONVERTED
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(text)
    return target


def child_arguments(args: argparse.Namespace, pidfile: str) -> list[str]:
    from ..daemon.process import logging_arguments

    arguments = ["--config", args.use_file, "--pidfile", pidfile]
    if args.config_id:
        arguments += ["--config-id", args.config_id]
    if args.log_detail:
        arguments.append("--log-detail")
    dataplane = ["--dataplane", args.dataplane, "--proxy-workers", str(args.proxy_workers)]
    return [*arguments, *logging_arguments(args), *dataplane]


def run_daemon(args: argparse.Namespace, config: Config) -> int:
    import asyncio

    from ..daemon import logs
    from ..daemon.process import pidfile, process_running
    from ..daemon.supervisor import ChildSpec, Supervisor, banner, child_command, daemonize
    from ..daemon.vrrp_setup import SetupError, instance_spec, routing_messages
    from ..io.netdev import interface

    children: list[ChildSpec] = []
    try:
        for instance in config.vrrp_instance:
            instance_spec(config, instance, interface)
        routing_messages(config.static_routes, config.static_rules, interface, "static")
    except (SetupError, OSError) as problem:
        print(f"pykeepalived: not starting: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    # keepalived: -P and -C each add a subsystem; neither means all of them.
    run_vrrp, run_checker = (args.vrrp, args.check) if args.vrrp or args.check else (True, True)
    main_pidfile = args.pid or DEFAULT_PIDFILE
    pidfiles = [main_pidfile]
    if config.vrrp_instance and run_vrrp:
        pidfiles.append(args.vrrp_pid or DEFAULT_VRRP_PIDFILE)
        command = child_command("pykeepalived.daemon.vrrp_service", child_arguments(args, pidfiles[-1]))
        children.append(ChildSpec("VRRP", command))
    if config.virtual_server and run_checker:
        pidfiles.append(args.checkers_pid or DEFAULT_CHECKERS_PIDFILE)
        arguments = child_arguments(args, pidfiles[-1])
        children.append(ChildSpec("Healthcheck", child_command("pykeepalived.daemon.check_service", arguments)))
    if not children:
        print("pykeepalived: nothing to run (no vrrp_instance or virtual_server in the configuration)", file=sys.stderr)
        return 0
    logger = logs.setup(args.log_console, not args.no_syslog, args.log_facility, "pykeepalived")
    # As keepalived: a second daemon beside the first would hold the VIPs twice; it logs and exits 0.
    if any(process_running(path, logger) for path in pidfiles):
        logger.info("daemon is already running")
        return 0
    if not args.dont_fork:
        daemonize()
    banner(logger, [sys.argv[0], *sys.argv[1:]], args.use_file)
    with pidfile(main_pidfile):
        return asyncio.run(Supervisor(children, logger, respawn=not args.dont_respawn).run())


if __name__ == "__main__":
    sys.exit(main())
