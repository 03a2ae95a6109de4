"""What every child process of the supervisor does."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import logging
import os
import signal
from collections.abc import Callable, Collection, Iterator, Sequence

from ..config import load
from ..config.model import Config
from ..config.reader import INCLUDE_ALL
from ..io.files import FileSystem, default_config_id, local_interfaces
from ..lb import DATAPLANES
from . import logs, running_config

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to SIGTERM us if the supervisor dies, so no VRRP process outlives it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def add_logging_options(parser: argparse.ArgumentParser) -> None:
    """Where a child process logs: the options every child takes."""
    parser.add_argument("--log-console", action="store_true")
    parser.add_argument("--no-syslog", action="store_true")
    parser.add_argument("--log-facility")
    # `_NAMESPACE_INSTANCE` after keepalived's process idents (see logs.ident_suffix).
    parser.add_argument("--log-ident-suffix", default="")


def logging_arguments(args: argparse.Namespace) -> list[str]:
    """The logging options of `args` (the daemon's or a child's), as a child's command line takes them."""
    arguments = ["--log-console"] if args.log_console else []
    if args.no_syslog:
        arguments.append("--no-syslog")
    if args.log_facility:
        arguments += ["--log-facility", args.log_facility]
    if args.log_ident_suffix:
        arguments += ["--log-ident-suffix", args.log_ident_suffix]
    return arguments


def parse_child_arguments(prog: str, argv: Sequence[str]) -> argparse.Namespace:
    """The options the supervisor passes to a child process."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--config", required=True)
    parser.add_argument("--config-id")
    parser.add_argument("--all-config", action="store_true")
    parser.add_argument("--pidfile")
    add_logging_options(parser)
    parser.add_argument("--log-detail", action="store_true")
    # The supervisor has resolved "auto": a child is told which data plane runs.
    parser.add_argument("--dataplane", choices=DATAPLANES[1:], default="memory")
    parser.add_argument("--proxy-workers", type=int, default=1)
    parser.add_argument("--proxy-feed", help="the unix socket the proxy workers read the table from")
    parser.add_argument("--shared-counts", help="the file where the proxy workers count their connections")
    # The supervisor's eventfd: written once the child runs its configuration (readiness.report_config_read).
    parser.add_argument("--ready-fd", type=int)
    # The supervisor's memfd for this child: the configuration it runs, kept across its respawns (running_config).
    parser.add_argument("--running-config-fd", type=int)
    parser.add_argument("--dont-release-vrrp", action="store_true")
    parser.add_argument("--dont-release-ipvs", action="store_true")
    parser.add_argument("--address-monitoring", action="store_true")
    return parser.parse_args(argv)


# keepalived's real-time signals (lib/signals.h): keepalived-exporter sends SIGJSON on every scrape.
SIGJSON = signal.SIGRTMIN + 2
SIGSTATS_CLEAR = signal.SIGRTMAX - 1
# `--signum NAME` prints these numbers, as keepalived's does (Debian's build: no TDUMP).
SIGNALS_BY_NAME = {
    "STOP": signal.SIGTERM,
    "RELOAD": signal.SIGHUP,
    "DATA": signal.SIGUSR1,
    "STATS": signal.SIGUSR2,
    "STATS_CLEAR": SIGSTATS_CLEAR,
    "JSON": SIGJSON,
}
# Their default action ends the process: one sent between writing the pidfile and installing the handlers
# (a reader of the pidfile cannot tell the difference) waits, blocked, until release_signals().
# The real-time ones too: tolerate_realtime_signals() gives each a handler before release_signals().
HELD_SIGNALS = (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, *range(signal.SIGRTMIN, signal.SIGRTMAX + 1))


def tolerate_realtime_signals(
    loop: asyncio.AbstractEventLoop, logger: logging.Logger, handled: Collection[int] = ()
) -> None:
    """A real-time signal the process has no use for (all but `handled`) is logged and ignored: their default
    action kills, and a monitoring tool's signal must never take a VIP away."""
    for signum in range(signal.SIGRTMIN, signal.SIGRTMAX + 1):
        if signum not in handled:
            loop.add_signal_handler(signum, logger.info, f"Signal {signum} ignored")


def release_signals() -> None:
    """Deliver the held signals: call once a handler is installed for each of them."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)


@contextlib.contextmanager
def pidfile(path: str | None) -> Iterator[None]:
    """Write our pid to `path` (if given) for as long as the block runs; hold HELD_SIGNALS from now on."""
    signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    if path:
        # Whole or not at all: a script that reads it as soon as it appears must not get half a pid.
        partial = f"{path}.{os.getpid()}.tmp"
        with open(partial, "w", encoding="ascii") as handle:
            handle.write(f"{os.getpid()}\n")
        os.replace(partial, path)
    try:
        yield
    finally:
        if path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


def process_running(path: str, logger: logging.Logger) -> bool:
    """keepalived's process_running(): whether the pidfile names a live process. A pidfile that cannot be read
    counts as running (keepalived cannot tell either); one whose process is gone is removed."""
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        pid = int(text.split()[0])
    except (IndexError, ValueError):
        logger.warning(f"Error reading pid file {path}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        logger.info(f"Remove a zombie pid file {path}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return False
    except PermissionError:
        pass
    return True


def start_child(prog: str, ident: str, argv: Sequence[str]) -> tuple[argparse.Namespace, logging.Logger, Config | None]:
    """A child's start: its options, its logger, and its own reading of the configuration (None if it
    cannot run; the reasons are logged)."""
    args = parse_child_arguments(prog, argv)
    die_with_parent()
    logger = logs.setup(args.log_console, not args.no_syslog, args.log_facility, ident + args.log_ident_suffix)
    kept = None if args.running_config_fd is None else running_config.load(args.running_config_fd)
    if kept is not None:
        logger.info(f"Running the configuration the previous process ran ({args.config} is read on reload)")
        return args, logger, kept
    return args, logger, read_config(args, logger)


def keep_running_config(args: argparse.Namespace, config: Config) -> None:
    """What this child runs from now on, for its respawn. Kept once it runs (at start and after a reload):
    pickling a large configuration takes a tenth of a second that its instances need not wait for."""
    if args.running_config_fd is not None:
        running_config.save(args.running_config_fd, config)


def read_config(args: argparse.Namespace, logger: logging.Logger) -> Config | None:
    """The configuration the child's options name, or None if it cannot run; its messages are logged, each at
    its severity, as each of keepalived's processes logs what it finds reading the file."""
    include_check = INCLUDE_ALL if args.all_config else 0
    result = load(
        args.config,
        FileSystem(),
        args.config_id or default_config_id(),
        local_interfaces(),
        include_check=include_check,
    )
    logs.log_diagnostics(logger, result.diagnostics)
    if not result.runnable or result.config is None:
        return None
    return result.config


def config_is_empty(path: str) -> bool:
    """Whether the file holds nothing but white space and comments (a reload refuses it rather than run
    nothing)."""
    try:
        with open(path, "rb") as file:
            return all(not line.strip() or line.lstrip()[:1] in (b"!", b"#") for line in file)
    except OSError:
        return False


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (it halves the cost of a check), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
