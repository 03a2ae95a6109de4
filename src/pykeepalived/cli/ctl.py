"""`pykeepalivedctl`: administration commands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ..config.dump import dump_config, to_text
from ..config.keywords import keyword_reference
from ..config.ldirectord import convert
from ..core.exits import EXIT_CONFIG, EXIT_OK
from .common import checked_file, config_test_exit_code, report
from .daemon import DEFAULT_PIDFILE
from .demo import demo
from .ipvsadm import main as ipvsadm_main
from .lint import add_parser as add_lint_parser
from .lint import lint
from .realserver import add_parser as add_realserver_parser
from .realserver import realserver
from .status import show_status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pykeepalivedctl", description="pykeepalived administration")
    commands = parser.add_subparsers(dest="command", required=True)

    test = commands.add_parser(
        "config-test", help="check a configuration as keepalived -t does; exit 0 only if nothing is reported"
    )
    test.add_argument("file")
    test.add_argument("--strict", action="store_true", help="every correction keepalived would make is an error")
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
    add_lint_parser(commands)
    add_realserver_parser(commands)
    commands.add_parser("keywords", help="every keyword pykeepalived reads, by block, with the values it takes")
    convert = commands.add_parser("convert-ldirectord", help="write the keepalived.conf for an ldirectord.cf")
    convert.add_argument("file")
    convert.add_argument("-o", "--output", help="write here instead of standard output")

    ipvsadm = commands.add_parser(
        "ipvsadm", help="ipvsadm's command line over the active data plane (as pyipvsadm)", add_help=False
    )
    ipvsadm.add_argument("arguments", nargs=argparse.REMAINDER)

    status = commands.add_parser("status", help="what the running daemon is doing (root)")
    status.add_argument("--json", action="store_true", help="JSON instead of a listing")
    status.add_argument("-p", "--pid", default=DEFAULT_PIDFILE, help="the daemon's pidfile (%(default)s)")

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
    if args.command == "lint":
        return lint(args)
    if args.command == "realserver":
        return realserver(args)
    if args.command == "status":
        return show_status(args.pid, args.json)
    if args.command == "keywords":
        print("\n".join(keyword_reference()))
        return 0
    strict = args.command == "config-test" and args.strict
    result = checked_file(args.file, args.config_id, not args.no_interface_check, strict)
    report(result)
    if args.command == "config-test":
        code = config_test_exit_code(result, strict)
        verdict = "OK" if code == EXIT_OK else "runs, with warnings" if result.runnable else "will not run"
        print(f"{args.file}: {verdict} ({len(result.diagnostics)} messages)", file=sys.stderr)
        return code
    if result.config is None:
        return EXIT_CONFIG
    data = dump_config(result.config)
    print(json.dumps(data, indent=2) if args.json else "\n".join(to_text(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
