"""What both commands do with a configuration file: load it, report, exit with keepalived's codes."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TextIO

from ..config import LoadResult, load
from ..config.reader import INCLUDE_ALL
from ..core.diagnostics import Severity, Status
from ..core.exits import CONFIG_TEST_EXITS, EXIT_CONFIG
from ..io.files import FileSystem, default_config_id, local_interfaces

DEFAULT_CONFIG = "/etc/keepalived/keepalived.conf"


def load_file(
    path: str, config_id: str | None, check_interfaces: bool = True, all_config: bool = False, strict: bool = False
) -> LoadResult:
    """`all_config`: keepalived's -e, every include must be there (as `include_check` with no value)."""
    # The commands keep their configuration to the end (a daemon runs it, -t exits after it).
    return load(
        path,
        FileSystem(),
        config_id if config_id is not None else default_config_id(),
        local_interfaces() if check_interfaces else None,
        include_check=INCLUDE_ALL if all_config else 0,
        strict=strict,
        keep=True,
    )


def checked_file(
    path: str, config_id: str | None, check_interfaces: bool = True, strict: bool = False, all_config: bool = False
) -> LoadResult:
    """`-t`'s view: the file as load_file reads it, plus keepalived's script checks (users, existence,
    permissions, script security); the model then holds what keepalived would run."""
    from .script_check import check_scripts

    result = load_file(path, config_id, check_interfaces, all_config)
    if result.config is not None:
        # keepalived's VRRP process stops at a missing interface, before it vets its scripts.
        vrrp = not any(d.exit_status == Status.CANNOT_RUN for d in result.diagnostics)
        config, diagnostics = check_scripts(result.config, vrrp)
        result = replace(result, config=config, diagnostics=result.diagnostics + tuple(diagnostics))
    return result.strict() if strict else result


def report(result: LoadResult, out: TextIO | None = None) -> None:
    for diagnostic in result.diagnostics:
        print(diagnostic, file=out or sys.stderr)


def config_test_exit_code(result: LoadResult, strict: bool = False) -> int:
    """keepalived's `-t` status: the highest class of what was reported (0, 4, 5, 6, or 2 when its parser
    gave up). Under --strict a correction is an error: 4, the configuration will not run."""
    if result.config is None:
        return EXIT_CONFIG
    status = max((d.exit_status for d in result.diagnostics), default=Status.OK)
    if strict and status != Status.GAVE_UP and result.worst == Severity.ERROR:
        return EXIT_CONFIG
    return CONFIG_TEST_EXITS[status]
