"""`pykeepalived`: the daemon, with keepalived 2.2.7's command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import resource
import sys
from collections.abc import Iterator, Sequence

from .. import KEEPALIVED_COMPAT_VERSION, __version__
from ..config import LoadResult
from ..config.ldirectord import convert
from ..config.model import Config
from ..core.exits import EXIT_CONFIG
from ..daemon import logs
from ..daemon.dataplanes import proxy_workers, resolve_auto
from ..daemon.dump_files import write_parent_data
from ..daemon.metrics import start_metrics
from ..daemon.process import DATAPLANES, logging_arguments, pidfile, process_running
from ..daemon.readiness import Readiness
from ..daemon.supervisor import ChildSpec, Supervisor, banner, child_command, daemonize
from ..daemon.vrrp_setup import SetupError, instance_spec, routing_messages
from ..io.namespaces import NamespaceError, enter_network_namespace
from ..io.netdev import interface
from ..io.systemd import SystemdNotifier
from .common import DEFAULT_CONFIG, checked_file, config_test_exit_code, load_file, report

# keepalived's flags for what pykeepalived does not provide: refused at start, as keepalived built without
# the feature refuses them (a message, exit status 1), rather than accepted and silently ignored.
NOT_PROVIDED = {
    "snmp": "-x/--snmp: SNMP is not provided by pykeepalived; Prometheus metrics (--metrics) are planned instead",
    "snmp_agent_socket": "-A/--snmp-agent-socket: SNMP is not provided by pykeepalived; Prometheus metrics "
    "(--metrics) are planned instead",
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
    if logs.facility_code(args.log_facility) is None:
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
    # Before entering a namespace: systemd's socket may be an abstract one, which belongs to this namespace.
    notifier = SystemdNotifier.from_environment(os.environ)
    try:
        result = load_in_namespace(args)
    except NamespaceError as problem:
        print(f"pykeepalived: {problem}", file=sys.stderr)
        print(f"Unable to set network namespace {args.namespace} - exiting", file=sys.stderr)
        return 1
    logger = logs.setup(args.log_console, not args.no_syslog, args.log_facility, logs.IDENT_PARENT)
    banner(logger, [sys.argv[0], *sys.argv[1:]], args.use_file)
    if not args.log_console:
        report(result)
    logs.log_diagnostics(logger, result.diagnostics)
    configured = result.config.net_namespace if result.config is not None else None
    if configured and configured != args.namespace:
        logger.info(f"Overriding config net_namespace '{configured}' with command line namespace '{args.namespace}'")
    args.log_ident_suffix = logs.ident_suffix(
        args.namespace, result.config.instance if result.config is not None else None
    )
    if args.log_ident_suffix:
        # As keepalived, once the file has named them: the ident gets the namespace and the instance.
        logger.info(f"Changing syslog ident to {logs.IDENT_PARENT + args.log_ident_suffix}")
        logger = logs.setup(
            args.log_console, not args.no_syslog, args.log_facility, logs.IDENT_PARENT + args.log_ident_suffix
        )
    if args.dump_conf and result.config is not None:
        from ..config.dump import dump_config, to_text

        print("\n".join(to_text(dump_config(result.config))))
    if not result.runnable or result.config is None:
        print("pykeepalived: not starting: the configuration has errors (listed above)", file=sys.stderr)
        return EXIT_CONFIG
    return run_daemon(args, result.config, logger, notifier)


def load_in_namespace(args: argparse.Namespace) -> LoadResult:
    """The configuration, read in the network namespace the daemon runs in (-s, else net_namespace): its
    interfaces are the ones checked. Sets args.namespace to the namespace entered."""
    if args.namespace:
        enter_network_namespace(args.namespace)
        return load_file(args.use_file, args.config_id, all_config=args.all_config, strict=args.strict)
    result = load_file(args.use_file, args.config_id, all_config=args.all_config, strict=args.strict)
    if result.config is None or result.config.net_namespace is None:
        return result
    args.namespace = result.config.net_namespace
    enter_network_namespace(args.namespace)
    return load_file(args.use_file, args.config_id, all_config=args.all_config, strict=args.strict)


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


def child_arguments(args: argparse.Namespace, pidfile: str, readiness: Readiness) -> list[str]:
    arguments = ["--config", args.use_file, "--pidfile", pidfile, *readiness.child_arguments()]
    if args.config_id:
        arguments += ["--config-id", args.config_id]
    if args.all_config:
        arguments.append("--all-config")
    if args.address_monitoring:
        arguments.append("--address-monitoring")
    if args.log_detail:
        arguments.append("--log-detail")
    return [*arguments, *logging_arguments(args)]


def checker_children(
    args: argparse.Namespace, pidfile: str, readiness: Readiness, logger: logging.Logger
) -> list[ChildSpec]:
    """The checker, and the proxy workers when the userspace proxy is the data plane ("auto" is resolved once,
    here, so that both agree)."""
    dataplane = resolve_auto(logger) if args.dataplane == "auto" else args.dataplane
    arguments = [*child_arguments(args, pidfile, readiness), "--dataplane", dataplane]
    if args.dont_release_ipvs:
        arguments.append("--dont-release-ipvs")
    workers: list[ChildSpec] = []
    if dataplane == "proxy":
        # Abstract socket: private to this network namespace, and gone with the last process holding it.
        feed, shared_counts = f"@pykeepalived-proxy-feed-{os.getpid()}", proxy_shared_counts()
        arguments += ["--proxy-workers", str(args.proxy_workers), "--proxy-feed", feed]
        arguments += ["--shared-counts", shared_counts]
        workers = proxy_workers(args, feed, shared_counts)
    return [ChildSpec("Healthcheck", child_command("pykeepalived.daemon.check_service", arguments)), *workers]


def proxy_shared_counts() -> str:
    return f"/dev/shm/pykeepalived-proxy-{os.getpid()}"


def pidfile_names(args: argparse.Namespace, config: Config) -> tuple[str, str, str]:
    """The parent's, VRRP's and checker's pid files, named as keepalived names them: -p -r -c, else in
    /run/keepalived/ with a namespace, an instance or use_pid_dir (`keepalived_INSTANCE.pid` ... with an
    instance), else /run/keepalived.pid, /run/vrrp.pid, /run/checkers.pid. keepalived mounts
    /run/keepalived/NAMESPACE over /run/keepalived for itself: from outside, that is where its files are."""
    use_pid_dir = bool(args.namespace or config.instance) or any(o.keyword == "use_pid_dir" for o in config.options)
    if use_pid_dir:
        directory = os.path.join(PID_DIRECTORY, args.namespace) if args.namespace else PID_DIRECTORY
        suffix = f"_{config.instance}" if config.instance else ""
        defaults = [os.path.join(directory, f"{name}{suffix}.pid") for name in ("keepalived", "vrrp", "checkers")]
    else:
        defaults = [DEFAULT_PIDFILE, DEFAULT_VRRP_PIDFILE, DEFAULT_CHECKERS_PIDFILE]
    main, vrrp, checkers = (
        given or default for given, default in zip((args.pid, args.vrrp_pid, args.checkers_pid), defaults, strict=True)
    )
    return main, vrrp, checkers


def run_daemon(args: argparse.Namespace, config: Config, logger: logging.Logger, notifier: SystemdNotifier) -> int:
    children: list[ChildSpec] = []
    try:
        for instance in config.vrrp_instance:
            instance_spec(config, instance, interface)
        routing_messages(config.static_routes, config.static_rules, interface, "static")
    except (SetupError, OSError) as problem:
        print(f"pykeepalived: not starting: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    # keepalived: -P and -C each add a subsystem; neither means all of them; --all runs each even unconfigured.
    run_vrrp, run_checker = (args.vrrp, args.check) if args.vrrp or args.check else (True, True)
    main_pidfile, vrrp_pidfile, checkers_pidfile = pidfile_names(args, config)
    pidfiles = [main_pidfile]
    readiness = Readiness(notifier, logger)
    if (config.vrrp_instance or args.all) and (run_vrrp or args.all):
        pidfiles.append(vrrp_pidfile)
        arguments = child_arguments(args, vrrp_pidfile, readiness)
        if args.dont_release_vrrp:
            arguments.append("--dont-release-vrrp")
        children.append(ChildSpec("VRRP", child_command("pykeepalived.daemon.vrrp_service", arguments)))
    run_checks = bool((config.virtual_server or args.all) and (run_checker or args.all))
    if run_checks:
        pidfiles.append(checkers_pidfile)
    if not children and not run_checks:
        print("pykeepalived: nothing to run (no vrrp_instance or virtual_server in the configuration)", file=sys.stderr)
        return 0
    # As keepalived: a second daemon beside the first would hold the VIPs twice; it logs and exits 0.
    if any(process_running(path, logger) for path in pidfiles):
        logger.info("daemon is already running")
        return 0
    if args.core_dump:
        allow_core_dumps(logger)
    if not args.dont_fork:
        daemonize()
    if run_checks:
        children += checker_children(args, checkers_pidfile, readiness, logger)
    if args.metrics:
        start_metrics(args.metrics, os.getpid())
    try:
        with pid_directories(pidfiles), pidfile(main_pidfile):
            return asyncio.run(
                Supervisor(
                    children, logger, not args.dont_respawn, readiness, lambda: write_parent_data(config, logger)
                ).run()
            )
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(proxy_shared_counts())


@contextlib.contextmanager
def pid_directories(pidfiles: list[str]) -> Iterator[None]:
    """The directories of the pid files (/run/keepalived, /run/keepalived/NAMESPACE), made rwxr-xr-x if
    missing, and removed when the daemon stops if it made them and they are empty, as keepalived does."""
    created: list[str] = []
    for path in pidfiles:
        missing: list[str] = []
        directory = os.path.dirname(path)
        while directory and not os.path.isdir(directory):
            missing.append(directory)
            directory = os.path.dirname(directory)
        for directory in reversed(missing):
            os.mkdir(directory)
            os.chmod(directory, 0o755)  # whatever -u says, as keepalived's create_pid_dir()
            created.append(directory)
    try:
        yield
    finally:
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                os.rmdir(directory)


def allow_core_dumps(logger: logging.Logger) -> None:
    """keepalived's -m: no limit on the size of the daemon's core files."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (OSError, ValueError):
        logger.warning("Failed to set core file size")


if __name__ == "__main__":
    sys.exit(main())
