"""`pykeepalivedctl lint`: a cluster's node configurations, checked together and run through its scenarios."""

from __future__ import annotations

import argparse
import json
import sys

from ..core.exits import EXIT_CONFIG
from ..lint.cluster import LintError, read_cluster
from ..lint.report import Report, as_json, text
from ..lint.rules import check
from ..lint.scenarios import run_all
from ..lint.timeline import write_png

EXIT_LINT_FAILED = 1


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lint = commands.add_parser(
        "lint",
        help="check the node configurations of a cluster together, and run them through failover scenarios",
        description="Each FILE is one node's configuration, read as that node reads it (-i per file for '@' "
        "lines); or one FILE read as each node of --nodes. Exits 1 when a rule finds an error or a scenario "
        "does not end as a cluster should.",
    )
    lint.add_argument("files", nargs="+", metavar="FILE")
    lint.add_argument(
        "-i", "--config-id", action="append", default=[], help="a file's config id (node name), once per FILE in order"
    )
    lint.add_argument("--nodes", help="comma-separated config ids: the one FILE read as each of these nodes")
    lint.add_argument("--json", action="store_true", help="the report as JSON")
    lint.add_argument(
        "--timeline", metavar="SCENARIO", help="draw the first scenario whose name contains SCENARIO (PNG)"
    )
    lint.add_argument("--png", default="lint-timeline.png", help="where --timeline writes (default: %(default)s)")


def lint(args: argparse.Namespace) -> int:
    paths: list[str] = list(args.files)
    ids: list[str | None] = list(args.config_id)
    if args.nodes:
        if len(paths) != 1 or ids:
            print("lint: --nodes takes one FILE and no -i", file=sys.stderr)
            return EXIT_CONFIG
        ids = [name.strip() for name in args.nodes.split(",") if name.strip()]
        paths = paths * len(ids)
    elif not ids:
        ids = [None] * len(paths)
    elif len(ids) != len(paths):
        print(f"lint: {len(paths)} files but {len(ids)} -i: give one -i per file, in order", file=sys.stderr)
        return EXIT_CONFIG
    if len(paths) < 2:
        print("lint: a cluster needs at least two nodes (two files, or --nodes a,b)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        cluster = read_cluster(paths, ids)
    except LintError as problem:
        print(f"lint: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    report = Report(cluster, tuple(check(cluster)), tuple(run_all(cluster)))
    if args.json:
        print(json.dumps(as_json(report), indent=2))
    else:
        print("\n".join(text(report)))
    if args.timeline:
        run = next((r for r in report.runs if args.timeline in r.scenario), None)
        if run is None:
            print(f"lint: no scenario named like '{args.timeline}'", file=sys.stderr)
            return EXIT_CONFIG
        write_png(run, args.png)
        print(f"lint: timeline of '{run.scenario}' written to {args.png}", file=sys.stderr)
    return 0 if report.ok else EXIT_LINT_FAILED
