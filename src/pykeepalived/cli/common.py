"""What both commands do with a configuration file: load it, report, exit with keepalived's codes."""

from __future__ import annotations

import sys
from typing import TextIO

from ..config import LoadResult, load
from ..config.reader import INCLUDE_ALL
from ..core.diagnostics import Severity
from ..core.exits import EXIT_CONFIG, EXIT_CONFIG_TEST, EXIT_OK
from ..io.files import FileSystem, default_config_id, local_interfaces

DEFAULT_CONFIG = "/etc/keepalived/keepalived.conf"


def load_file(path: str, config_id: str | None, check_interfaces: bool = True, all_config: bool = False) -> LoadResult:
    """`all_config`: keepalived's -e, every include must be there (as `include_check` with no value)."""
    return load(
        path,
        FileSystem(),
        config_id if config_id is not None else default_config_id(),
        local_interfaces() if check_interfaces else None,
        include_check=INCLUDE_ALL if all_config else 0,
    )


def report(result: LoadResult, out: TextIO | None = None) -> None:
    for diagnostic in result.diagnostics:
        print(diagnostic, file=out or sys.stderr)


def config_test_exit_code(result: LoadResult) -> int:
    worst = result.worst
    if result.config is None or worst == Severity.ERROR:
        return EXIT_CONFIG
    if worst == Severity.WARNING:
        return EXIT_CONFIG_TEST
    return EXIT_OK
