"""`pykeepalivedctl realserver setup|teardown|check`: the real-server side of LVS-DR and LVS-TUN
(io/realserver.py does the work)."""

from __future__ import annotations

import argparse
import sys

from ..io.realserver import MODES, RealServerError, canonical_vips, check, default_state_file, setup, teardown

EXIT_PROBLEMS = 1


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    realserver = commands.add_parser(
        "realserver", help="prepare (or check, or undo) this host as an LVS-DR or LVS-TUN real server (root)"
    )
    realserver.add_argument("action", choices=("setup", "teardown", "check"))
    realserver.add_argument(
        "--vip", action="append", required=True, metavar="ADDR", help="a virtual address (IPv4 or IPv6); repeat"
    )
    realserver.add_argument(
        "--mode", choices=MODES, default="dr", help="direct routing (VIP on lo) or IPIP tunnel (%(default)s)"
    )
    realserver.add_argument(
        "--state-file", help="where setup records what it changed, for teardown (default: one per network "
        "namespace in /run/pykeepalived/)",
    )  # fmt: skip
    realserver.add_argument(
        "--no-probe", action="store_true", help="check: judge ARP from the sysctls only, send no ARP request"
    )


def realserver(args: argparse.Namespace) -> int:
    try:
        vips = canonical_vips(args.vip)
        state_file = args.state_file or default_state_file()
        if args.action == "check":
            return report_check(args.mode, vips, not args.no_probe)
        changes = (setup if args.action == "setup" else teardown)(args.mode, vips, state_file)
    except RealServerError as error:
        print(f"realserver {args.action}: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    for change in changes:
        print(change)
    if not changes:
        done = "set up" if args.action == "setup" else "torn down"
        print(f"nothing to change: already {done} for {', '.join(vips)} ({args.mode.upper()})")
    return 0


def report_check(mode: str, vips: list[str], probe: bool) -> int:
    problems, notes = check(mode, vips, probe)
    for note in notes:
        print(f"note: {note}")
    for problem in problems:
        print(f"problem: {problem}")
    if problems:
        return EXIT_PROBLEMS
    print(f"ok: a {mode.upper()} real server for {', '.join(vips)}")
    return 0
