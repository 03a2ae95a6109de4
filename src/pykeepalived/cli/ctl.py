"""`pykeepalivedctl`: administration commands."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Sequence

from ..config.dump import dump_config, to_text
from ..config.ldirectord import convert
from ..daemon import proxy_paths
from ..io import nftables
from ..io.nftables import connection_counts, conntrack_connections
from ..lb.listing import Namer, connection_listing, listing, numeric
from ..lb.table import DestinationKey, ServiceKey, Table, table_from_data
from .common import config_test_exit_code, load_file, report
from .demo import demo
from .ipvsadm import main as ipvsadm_main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pykeepalivedctl", description="pykeepalived administration")
    commands = parser.add_subparsers(dest="command", required=True)

    test = commands.add_parser("config-test", help="check a configuration; exit 0 only if nothing is reported")
    test.add_argument("file")
    test.add_argument("-i", "--config-id", help="config id for '@' conditional lines (default: host name)")
    test.add_argument(
        "--no-interface-check", action="store_true", help="don't require interfaces to exist on this machine"
    )

    dump = commands.add_parser("dump-config", help="print the configuration as pykeepalived understood it")
    dump.add_argument("file")
    dump.add_argument("-i", "--config-id", help="config id for '@' conditional lines (default: host name)")
    dump.add_argument("--json", action="store_true", help="JSON instead of an indented listing")
    dump.add_argument(
        "--no-interface-check", action="store_true", help="don't require interfaces to exist on this machine"
    )
    convert = commands.add_parser("convert-ldirectord", help="write the keepalived.conf for an ldirectord.cf")
    convert.add_argument("file")
    convert.add_argument("-o", "--output", help="write here instead of standard output")

    ipvsadm = commands.add_parser(
        "ipvsadm", help="ipvsadm's command line over the active data plane (as pyipvsadm)", add_help=False
    )
    ipvsadm.add_argument("arguments", nargs=argparse.REMAINDER)

    lab = commands.add_parser("lab", help="network-namespace labs on this machine (root)")
    lab_commands = lab.add_subparsers(dest="lab_command", required=True)
    lab_commands.add_parser("demo", help="two routers and a client: a real failover, measured by the client")
    return parser


def convert_ldirectord(path: str, output: str | None) -> int:
    with open(path, encoding="utf-8") as handle:
        text, problems = convert(handle.read(), path)
    for problem in problems:
        print(problem, file=sys.stderr)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        print(text, end="")
    return 0


def list_proxy_table(pidfile: str, namer: Namer = numeric) -> int:
    """Ask the proxy process for its table and counts (SIGUSR2), then print them as ipvsadm -Ln would."""
    try:
        with open(pidfile, encoding="ascii") as handle:
            pid = int(handle.read().strip())
        with contextlib.suppress(FileNotFoundError):
            os.unlink(proxy_paths.STATS_DUMP)
        os.kill(pid, signal.SIGUSR2)
    except (OSError, ValueError) as error:
        print(f"pykeepalivedctl: no proxy data plane is running ({pidfile}: {error})", file=sys.stderr)
        return 1
    deadline = time.monotonic() + 5
    while not os.path.exists(proxy_paths.STATS_DUMP):
        if time.monotonic() > deadline:
            print(f"pykeepalivedctl: process {pid} wrote no {proxy_paths.STATS_DUMP}", file=sys.stderr)
            return 1
        time.sleep(0.02)
    with open(proxy_paths.STATS_DUMP, encoding="utf-8") as handle:
        snapshot = json.load(handle)
    table = table_from_data(snapshot["table"])
    counts: dict[ServiceKey, dict[DestinationKey, tuple[int, int]]] = {}
    for entry in snapshot["counts"]:
        service = counts.setdefault(ServiceKey(**entry["service"]), {})
        service[DestinationKey(**entry["destination"])] = (entry["active"], entry.get("inactive", 0))
    print(listing(table, counts, namer), end="")
    return 0


def committed_table(state_file: str) -> Table:
    """The table the checker last committed to nftables."""
    with open(state_file, encoding="utf-8") as handle:
        return table_from_data(json.load(handle)["table"])


def list_nftables_table(state_file: str, namer: Namer = numeric) -> int:
    """The nftables table with conntrack's connection counts."""
    table = committed_table(state_file)
    print(listing(table, connection_counts(table), namer), end="")
    return 0


def list_connections(pidfile: str, namer: Namer = numeric) -> int:
    """ipvsadm -Lnc: conntrack's connections through the nftables table (the proxy keeps its own)."""
    if os.path.exists(pidfile) or not os.path.exists(nftables.STATE_FILE):
        print("pykeepalivedctl: connections are listed for IPVS and nftables, not for the proxy", file=sys.stderr)
        return 1
    print(connection_listing(conntrack_connections(committed_table(nftables.STATE_FILE)), namer), end="")
    return 0


def list_table(pidfile: str, namer: Namer = numeric) -> int:
    """The proxy's table if its process runs, else the nftables table (IPVS is pyipvsadm's own)."""
    if not os.path.exists(pidfile) and os.path.exists(nftables.STATE_FILE):
        return list_nftables_table(nftables.STATE_FILE, namer)
    return list_proxy_table(pidfile, namer)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["ipvsadm"]:
        # ipvsadm's own options (-Ln...) would be taken for ours by the subcommand parser.
        return ipvsadm_main(arguments[1:])
    args = build_parser().parse_args(arguments)
    if args.command == "lab":
        return demo()
    if args.command == "convert-ldirectord":
        return convert_ldirectord(args.file, args.output)
    result = load_file(args.file, args.config_id, check_interfaces=not args.no_interface_check)
    report(result)
    if args.command == "config-test":
        code = config_test_exit_code(result)
        verdict = {0: "OK", 5: "runs, with warnings"}.get(code, "will not run")
        print(f"{args.file}: {verdict} ({len(result.diagnostics)} messages)", file=sys.stderr)
        return code
    if result.config is None:
        return 4
    data = dump_config(result.config)
    print(json.dumps(data, indent=2) if args.json else "\n".join(to_text(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
