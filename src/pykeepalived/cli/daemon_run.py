"""Running the daemon once `pykeepalived` has read its options: the namespace, the logger, the pid files, the
supervisor and its children. Imported only then (cli/daemon.py), so that `-t` starts fast."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import resource
import sys
from collections.abc import Iterator

from ..config import LoadResult
from ..config.global_dump import global_option
from ..config.model import Config
from ..core.exits import EXIT_CONFIG
from ..daemon import logs, running_config
from ..daemon.dataplanes import proxy_workers, resolve_auto
from ..daemon.dump_files import write_parent_data
from ..daemon.dynamic_interfaces import ready_instances
from ..daemon.metrics import start_metrics
from ..daemon.process import logging_arguments, pidfile, process_running
from ..daemon.readiness import Readiness
from ..daemon.supervisor import ChildSpec, ReloadCheck, Supervisor, banner, child_command, daemonize
from ..daemon.vrrp_setup import SetupError, instance_spec, routing_messages
from ..io.namespaces import NamespaceError, enter_network_namespace
from ..io.netdev import interface
from ..io.systemd import SystemdNotifier
from .common import load_file, report
from .daemon import DEFAULT_CHECKERS_PIDFILE, DEFAULT_PIDFILE, DEFAULT_VRRP_PIDFILE, PID_DIRECTORY


def start(args: argparse.Namespace) -> int:
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
    return [child_keeping_its_config("Healthcheck", "pykeepalived.daemon.check_service", arguments), *workers]


def child_keeping_its_config(name: str, module: str, arguments: list[str]) -> ChildSpec:
    """A child whose configuration outlives it: a memfd the parent holds (daemon/running_config.py)."""
    kept = running_config.create(name)
    return ChildSpec(name, child_command(module, [*arguments, "--running-config-fd", str(kept)]), pass_fds=(kept,))


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
        # dynamic_interfaces: an instance whose interface does not exist yet waits for it in the VRRP process.
        for instance in ready_instances(config):
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
        children.append(child_keeping_its_config("VRRP", "pykeepalived.daemon.vrrp_service", arguments))
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
    create_config_save_dir(config, logger)
    started = None if args.dont_fork else daemonize()
    if run_checks:
        children += checker_children(args, checkers_pidfile, readiness, logger)
    if args.metrics:
        start_metrics(args.metrics, os.getpid())
    try:
        with pid_directories(pidfiles), pidfile(main_pidfile):
            if started is not None:
                started()
            return asyncio.run(
                Supervisor(
                    children,
                    logger,
                    not args.dont_respawn,
                    readiness,
                    lambda: write_parent_data(config, logger),
                    reload_check(config),
                ).run()
            )
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(proxy_shared_counts())


def reload_check(config: Config) -> ReloadCheck | None:
    """reload_check_config [LOG_FILE]: this command line again, as `-t` reporting to LOG_FILE (/dev/null by
    default)."""
    given = global_option(config.global_defs, "reload_check_config")
    if given is None:
        return None
    log = given[0] if given else "/dev/null"
    return ReloadCheck([sys.executable, "-m", "pykeepalived.cli.daemon", *sys.argv[1:], f"--config-test={log}"], log)


def create_config_save_dir(config: Config, logger: logging.Logger) -> None:
    """config_save_dir: the parent makes it (rwx------) if it is not there, as keepalived's does."""
    given = global_option(config.global_defs, "config_save_dir")
    if not given or os.path.isdir(given[0]):
        return
    try:
        os.mkdir(given[0], 0o700)
    except OSError as error:
        logger.warning(f"Unable to create config_save_dir {given[0]} (error {error.errno} - {error.strerror})")


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
